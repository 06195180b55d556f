"""The dosing app's side of the session model: load a session's facts from the database into
``kapcare.clinical.session.SessionFacts`` and ask the model. Nothing here decides a rule.

``facts`` reads everything the model may look at in a fixed number of queries (however many
readings the session has). ``require_open`` reads only what ``step_refusal`` looks at (the
state, the route and, for the note's steps, the note), so the vitals ingest stays one read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from kapcare.assessments.models import Assessment
from kapcare.clinical import session as model
from kapcare.clinical import vitals
from kapcare.dosing import conf
from kapcare.dosing.models import (
    DosingSession,
    SessionNote,
    VitalAlert,
    VitalPhase,
    VitalReading,
)
from kapcare.errors import Conflict
from kapcare.patients.models import ConsentSignature, ConsentTemplate


def policy(session: DosingSession) -> model.SessionPolicy:
    protocol = session.course.protocol_record
    return model.SessionPolicy(
        min_observation_min=protocol.min_observation_min,
        thresholds=thresholds(session),
        fasting_min_hours=conf.fasting_hours(),
        pregnancy_test_max_age_years=conf.pregnancy_test_max_age(),
        esketamine_bp_window_min=conf.esketamine_bp_window_min(),
        pre_discharge_bp_min=conf.pre_discharge_bp_min(),
    )


def thresholds(session: DosingSession) -> vitals.VitalsThresholds:
    return vitals.VitalsThresholds(**dict(session.course.protocol_record.vitals_thresholds))


def _age_years(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def reading_of(row: VitalReading | None) -> vitals.Reading | None:
    if row is None:
        return None
    return vitals.Reading(
        systolic=row.systolic,
        diastolic=row.diastolic,
        heart_rate=row.heart_rate,
        spo2=row.spo2,
        resp_rate=row.resp_rate,
    )


def _float(value: object) -> float | None:
    return None if value is None else float(str(value))


def note_facts(note: SessionNote | None) -> model.NoteFacts | None:
    if note is None:
        return None
    return model.NoteFacts(has_text=bool(note.text.strip()), signed=note.signed_at is not None)


def _cssrs_today(session: DosingSession, now: datetime) -> model.CssrsFacts | None:
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    cssrs = (
        Assessment.objects.filter(
            patient_id=session.patient_id,
            instrument="cssrs_screen",
            administered_at__gte=start,
            administered_at__lte=now,
        )
        .order_by("-administered_at", "-id")
        .only("band", "flags")
        .first()
    )
    if cssrs is None:
        return None
    return model.CssrsFacts(band=cssrs.band, suicide_risk="suicide_risk" in (cssrs.flags or []))


def consent_facts(patient_id: int, route: str) -> model.ConsentFacts:
    """The treatment consent a session on ``route`` needs for the patient, in one query:
    every version of the route's template (``model.consent_code``), each marked whether the
    patient signed it. The current version is the highest one not withdrawn."""
    code = model.consent_code(route)
    versions = list(
        ConsentTemplate.objects.filter(code=code)
        .annotate(
            signed=Exists(
                ConsentSignature.objects.filter(patient_id=patient_id, template_id=OuterRef("pk"))
            )
        )
        .order_by("-version")
        .values("pk", "version", "title", "active", "signed")
    )
    current = next((v for v in versions if v["active"]), None)
    signed = next((v["version"] for v in versions if v["signed"]), None)
    if current is None:
        return model.ConsentFacts(code=code, signed_version=signed)
    return model.ConsentFacts(
        code=code,
        title=current["title"],
        version=current["version"],
        signed_current_version=bool(current["signed"]),
        signed_version=signed,
        template_id=current["pk"],
    )


def facts(session: DosingSession, now: datetime) -> model.SessionFacts:
    """Everything the session model looks at, as recorded at ``now``."""
    readings = VitalReading.objects.filter(session_id=session.pk)
    checklist = getattr(session, "checklist", None)
    # Through .all(), so a caller that prefetched the orders and devices (the session record)
    # reads them once.
    current = max(
        (o for o in session.orders.all() if o.superseded_by_id is None),
        key=lambda o: o.pk,
        default=None,
    )
    administration = getattr(session, "administration", None)
    administration_facts = None
    if administration is not None:
        device_times = [
            d.used_at for d in sorted(administration.devices.all(), key=lambda d: d.number)
        ]
        administration_facts = model.AdministrationFacts(
            started_at=administration.started_at,
            stopped_at=administration.stopped_at,
            follows_current_order=current is not None and administration.order_id == current.pk,
            devices_used=len(device_times),
            first_device_at=device_times[0] if device_times else None,
        )
    inputs = session.discharge_inputs or {}
    esketamine = session.route == model.ESKETAMINE
    patient = session.patient
    return model.SessionFacts(
        state=model.State(session.state),
        route=session.route,
        policy=policy(session),
        sex_at_birth=patient.sex_at_birth,
        age_years=_age_years(patient.birth_date, timezone.localdate(now)),
        checklist=model.ChecklistFacts(
            fasting_hours=_float(checklist.fasting_hours),
            driver_name=checklist.driver_name.strip(),
            driver_phone=checklist.driver_phone.strip(),
            medication_holds_confirmed=checklist.medication_holds_confirmed,
            medication_holds_note=checklist.medication_holds_note,
            pregnancy_test=checklist.pregnancy_test,
            weight_kg=_float(checklist.weight_kg),
            intention=checklist.intention.strip(),
        )
        if checklist is not None
        else None,
        cssrs_today=_cssrs_today(session, now),
        baseline=reading_of(
            readings.filter(phase=VitalPhase.PRE_DOSE).order_by("-taken_at", "-id").first()
        ),
        has_pre_dose_bp=readings.filter(phase=VitalPhase.PRE_DOSE, systolic__isnull=False).exists(),
        has_current_order=current is not None,
        current_order_devices=current.devices if current is not None else None,
        administration=administration_facts,
        # Only the esketamine rules read every BP time; other routes skip the read.
        bp_taken=tuple(readings.filter(systolic__isnull=False).values_list("taken_at", "phase"))
        if esketamine
        else (),
        latest_recovery=reading_of(
            readings.filter(phase=VitalPhase.RECOVERY).order_by("-taken_at", "-id").first()
        ),
        discharge=model.DischargeInputs(
            escort_name=str(inputs.get("escort_name", "")),
            sedation_moaas=int(inputs["sedation_moaas"]),
            dissociation_resolved=bool(inputs["dissociation_resolved"]),
            nausea_controlled=bool(inputs["nausea_controlled"]),
            ambulating_steadily=bool(inputs["ambulating_steadily"]),
        )
        if inputs
        else None,
        note=note_facts(getattr(session, "note", None)),
        open_critical_alerts=VitalAlert.objects.filter(
            session_id=session.pk, level="critical", acknowledged_at__isnull=True
        ).count(),
        consent=consent_facts(session.patient_id, session.route),
    )


def facts_as_of_checklist(
    facts: model.SessionFacts, session: DosingSession, passed_at: datetime
) -> model.SessionFacts:
    """The facts the checklist was judged on when it passed: "a C-SSRS today" and the age mean
    that day, not the day the record is read; the rest the checklist reads is as stored."""
    return replace(
        facts,
        cssrs_today=_cssrs_today(session, passed_at),
        age_years=_age_years(session.patient.birth_date, timezone.localdate(passed_at)),
    )


def require_open(step: model.Step, session: DosingSession) -> None:
    """Refuse (409) a step the model does not open now."""
    note = None
    if step in (model.Step.NOTE, model.Step.SIGN_NOTE, model.Step.AMEND_NOTE):
        note = note_facts(SessionNote.objects.filter(session_id=session.pk).first())
    basic = model.SessionFacts(
        state=model.State(session.state),
        route=session.route,
        policy=model.SessionPolicy(min_observation_min=0),  # step_refusal reads no policy
        note=note,
    )
    refusal = model.step_refusal(step, basic)
    if refusal is not None:
        raise Conflict(refusal, field="state", rule="not_open")


def decide(
    session: DosingSession, to: str, now: datetime, *, by_prescriber: bool, reason: str
) -> model.Decision:
    return model.decide(facts(session, now), to, now, by_prescriber=by_prescriber, reason=reason)


def discharge_unmet(session: DosingSession, now: datetime) -> tuple[model.Requirement, ...]:
    return model.discharge_unmet(facts(session, now), now)


def next_step(
    session: DosingSession, now: datetime
) -> tuple[model.State | None, tuple[model.Requirement, ...]]:
    """The next forward state and what it still needs."""
    step = model.next_step(model.State(session.state))
    if step is None:
        return None, ()
    return step, model.unmet(facts(session, now), step, now)
