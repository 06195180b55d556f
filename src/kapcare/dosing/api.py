"""The dosing-session API: every step the session page offers, with the same services and the
same rules, so an integrator or a bedside-monitor gateway can run a session end to end.

Refusals are the services' error types, rendered once by the API (``kapcare.api.main``): bad
input is 422 naming the field and rule (``readings[3].spo2``), a step the session's state or
requirements do not allow is 409 with one error per unmet requirement (``rule`` is its code;
``overridable`` says a prescriber may override it with a reason), a role that may not is 403,
an unknown session 404. A refused call stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kapcare.api.routing import endpoint
from kapcare.audit.services import Actor, record_access
from kapcare.clinical import session as model
from kapcare.dosing import selectors, services
from kapcare.dosing.api_schemas import (
    AcknowledgeIn,
    AdministrationIn,
    AdministrationOut,
    AmendmentIn,
    AmendmentOut,
    CenteringIn,
    CenteringOut,
    ChecklistFieldsOut,
    ChecklistIn,
    ChecklistItemOut,
    ChecklistOut,
    DeviceIn,
    DeviceOut,
    DischargeAssessmentOut,
    DischargeIn,
    DischargeOut,
    InterventionIn,
    InterventionOut,
    NoteIn,
    NoteOut,
    OrderIn,
    OrderOut,
    PatientRefOut,
    ReflectionIn,
    ReflectionOut,
    ReminderOut,
    RequirementOut,
    ScoreIn,
    ScoreOut,
    SessionOut,
    SessionStateOut,
    SideEffectIn,
    SideEffectOut,
    TransitionIn,
    TransitionOut,
    VitalAlertOut,
    VitalReadingOut,
    VitalsAlertOut,
    VitalsIn,
    VitalsOut,
    VitalsPageOut,
)
from kapcare.dosing.models import (
    DoseOrder,
    DosingSession,
    NoteAmendment,
    SessionNote,
    Transition,
    VitalAlert,
    VitalReading,
)

router = Router(tags=["dosing sessions"])


# --- rendering the read model ----------------------------------------------------------------


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _who(user: Any) -> str:
    return str(user.email) if user is not None else ""


def _requirement(r: model.Requirement) -> RequirementOut:
    return RequirementOut(code=r.code, message=r.message, overridable=r.overridable)


def _order_out(order: DoseOrder) -> OrderOut:
    return OrderOut(
        id=order.pk,
        route=order.route,
        weight_kg=_num(order.weight_kg),
        weight_basis=order.weight_basis,
        dosing_weight_kg=_num(order.dosing_weight_kg),
        mg_per_kg=_num(order.mg_per_kg),
        dose_mg=float(order.dose_mg),
        duration_min=order.duration_min,
        volume_ml=order.volume_ml,
        rate_ml_per_h=_num(order.rate_ml_per_h),
        rate_mg_per_min=_num(order.rate_mg_per_min),
        concentration_mg_per_ml=_num(order.concentration_mg_per_ml),
        devices=order.devices,
        deviation=order.deviation,
        deviation_reason=order.deviation_reason,
        source=order.source,
        signed_by=_who(order.signed_by),
        signed_at=order.signed_at,
        superseded_by_id=order.superseded_by_id,
    )


def _alert_out(alert: VitalAlert) -> VitalAlertOut:
    return VitalAlertOut(
        id=alert.pk,
        reading_id=alert.reading_id,
        code=alert.code,
        level=alert.level,
        message=alert.message,
        source=alert.source,
        acknowledged_by=_who(alert.acknowledged_by) or None,
        acknowledged_at=alert.acknowledged_at,
        action_taken=alert.action_taken,
    )


def _reading_out(r: VitalReading) -> VitalReadingOut:
    return VitalReadingOut(
        id=r.pk, taken_at=r.taken_at, phase=r.phase, systolic=r.systolic, diastolic=r.diastolic,
        heart_rate=r.heart_rate, spo2=r.spo2, resp_rate=r.resp_rate,
        alerts=[_alert_out(a) for a in r.alerts.all()],
    )  # fmt: skip


def _amendment_out(a: NoteAmendment) -> AmendmentOut:
    return AmendmentOut(id=a.pk, text=a.text, reason=a.reason, author=_who(a.author), at=a.at)


def _note_out(note: SessionNote, amendments: Sequence[NoteAmendment]) -> NoteOut:
    return NoteOut(
        text=note.text,
        author=_who(note.author),
        signed_by=_who(note.signed_by) or None,
        signed_at=note.signed_at,
        amendments=[_amendment_out(a) for a in amendments],
    )


def _transition_out(t: Transition) -> TransitionOut:
    return TransitionOut(
        from_state=t.from_state, to_state=t.to_state, by=_who(t.by), at=t.at, reason=t.reason,
        overridden=list(t.overridden or []),
    )  # fmt: skip


def _checklist_out(record: selectors.SessionRecord) -> ChecklistOut:
    checklist = getattr(record.session, "checklist", None)
    return ChecklistOut(
        fields=ChecklistFieldsOut(
            fasting_hours=_num(checklist.fasting_hours),
            driver_name=checklist.driver_name,
            driver_phone=checklist.driver_phone,
            medication_holds_confirmed=checklist.medication_holds_confirmed,
            medication_holds_note=checklist.medication_holds_note,
            pregnancy_test=checklist.pregnancy_test,
            weight_kg=_num(checklist.weight_kg),
            intention=checklist.intention,
            updated_by=_who(checklist.updated_by),
            updated_at=checklist.updated_at,
        )
        if checklist is not None
        else None,
        items=[ChecklistItemOut(**vars(item)) for item in record.checklist_items],
    )


def session_out(record: selectors.SessionRecord) -> SessionOut:
    session, administration = record.session, getattr(record.session, "administration", None)
    patient, note, current = session.patient, getattr(session, "note", None), record.current_order
    return SessionOut(
        id=session.pk,
        state=session.state,
        allowed_next=[str(s) for s in model.allowed_next(model.State(session.state))],
        next_step=str(record.next_state) if record.next_state else None,
        unmet=[_requirement(r) for r in record.unmet],
        route=session.route,
        protocol=record.protocol.code,
        protocol_name=record.protocol.name,
        course_id=session.course_id,
        appointment_id=session.appointment_id,
        scheduled_for=session.appointment.starts_at,
        patient=PatientRefOut(
            id=patient.pk,
            mrn=patient.mrn,
            name=f"{patient.given_name} {patient.family_name}",
            is_synthetic=patient.is_synthetic,
        ),
        checked_in_at=session.checked_in_at,
        centering_kind=session.centering_kind,
        centering_minutes=session.centering_minutes,
        checklist=_checklist_out(record),
        order=_order_out(current) if current else None,
        superseded_orders=[_order_out(o) for o in record.orders if o.superseded_by_id is not None],
        administration=AdministrationOut(
            order_id=administration.order_id,
            lot_number=administration.lot_number,
            vial_id=administration.vial_id,
            started_at=administration.started_at,
            stopped_at=administration.stopped_at,
            devices=[DeviceOut(number=d.number, used_at=d.used_at) for d in record.devices],
        )
        if administration is not None
        else None,
        vitals=[_reading_out(r) for r in record.readings],
        vitals_total=record.readings_total,
        vitals_cursor=record.readings_cursor,
        open_critical_alerts=[_alert_out(a) for a in record.open_critical_alerts],
        vitals_reminder=ReminderOut(**vars(record.reminder)) if record.reminder else None,
        side_effects=[
            SideEffectOut(
                id=e.pk, kind=e.kind, severity=e.severity, noted_at=e.noted_at, note=e.note
            )
            for e in record.side_effects
        ],
        interventions=[
            InterventionOut(id=i.pk, drug=i.drug, dose=i.dose, given_at=i.given_at, reason=i.reason)
            for i in record.interventions
        ],
        scores=[
            ScoreOut(
                id=s.pk,
                scale=s.scale,
                value=s.value,
                items=list(s.items or []),
                scored_at=s.scored_at,
            )
            for s in record.scores
        ],
        discharge=DischargeOut(
            inputs=dict(session.discharge_inputs or {}),
            unmet=list(session.discharge_unmet or []),
            escort_name=session.escort_name,
            discharged_at=session.discharged_at,
            ready_without_minimum_at=session.ready_without_minimum_at,
        ),
        reflection=session.reflection,
        note=_note_out(note, record.amendments) if note is not None else None,
        transitions=[_transition_out(t) for t in record.transitions],
    )


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _session(session_id: int) -> DosingSession:
    # Only the id: every service re-reads the session under its own lock.
    return DosingSession(pk=session_id)


def _read(request: HttpRequest, session_id: int, what: str) -> selectors.SessionRecord:
    record = selectors.session_record(session_id)
    record_access(_actor(request), [record.session.patient_id], what)
    return record


# --- reading ---------------------------------------------------------------------------------


@endpoint(router, "GET", "/sessions/{session_id}", operation_id="get_session", response=SessionOut)
def get_session(request: HttpRequest, session_id: int) -> SessionOut:
    """The session's state, the steps allowed next and what the next step still needs, the
    checklist (fields and each item's result), the current and superseded dose orders, the
    administration, the latest 200 vitals readings (oldest first, with their alerts; page
    through all of them with ``GET .../vitals``), open critical alerts, side effects,
    interventions, scores, the discharge assessment, the reflection, the note with its
    amendments, and every transition. The read is recorded in the access log."""
    return session_out(_read(request, session_id, "API dosing session"))


class VitalsQuery(Schema):
    after: str | None = Field(None, max_length=200, description="A cursor from a previous page")
    limit: int = Field(200, ge=1, le=selectors.MAX_PAGE_READINGS)


@endpoint(
    router,
    "GET",
    "/sessions/{session_id}/vitals",
    operation_id="list_session_vitals",
    response=VitalsPageOut,
)
def list_vitals(
    request: HttpRequest, session_id: int, filters: Query[VitalsQuery]
) -> VitalsPageOut:
    """The session's readings in the order they were stored (each with the time it was taken),
    ``limit`` at a time, from the first one or after ``after`` (a cursor from ``next_cursor``,
    or the session's ``vitals_cursor`` for the readings stored since it was read, including a
    late entry taken earlier)."""
    page = selectors.vitals_page(session_id, after=filters.after, limit=filters.limit)
    patient_id = DosingSession.objects.values_list("patient_id", flat=True).get(pk=session_id)
    record_access(_actor(request), [patient_id], "API dosing session vitals")
    return VitalsPageOut(
        readings=[_reading_out(r) for r in page.readings],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


# --- moving the session ----------------------------------------------------------------------


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/transitions",
    operation_id="transition_session",
    response=SessionStateOut,
)
def transition(request: HttpRequest, session_id: int, payload: TransitionIn) -> SessionStateOut:
    """Move the session one step: scheduled -> checked_in -> checklist_passed -> dose_ordered
    -> dosing -> recovery -> discharged -> note_signed, or cancelled before dosing starts (with
    a reason). 409 names each unmet requirement (``errors[].rule`` is its code); an illegal
    step is one error with rule ``illegal_transition``. An overridable requirement passes only
    for a prescriber who gives a reason, and the override is recorded with the transition.
    ``dose_ordered`` is reached by signing an order, ``note_signed`` by signing the note (here
    too: it signs the note as the caller)."""
    actor, session = _actor(request), _session(session_id)
    discharged = DosingSession.objects.filter(pk=session_id, state=model.State.DISCHARGED)
    if payload.to == model.State.NOTE_SIGNED and discharged.exists():
        services.sign_note(actor, session)
    else:
        services.transition(actor, session, payload.to, reason=payload.reason)
    record = _read(request, session_id, "API dosing session state")
    return SessionStateOut(
        id=session_id,
        state=record.session.state,
        allowed_next=[str(s) for s in model.allowed_next(model.State(record.session.state))],
        next_step=str(record.next_state) if record.next_state else None,
        unmet=[_requirement(r) for r in record.unmet],
        transition=_transition_out(record.transitions[-1]),
    )


# --- the steps -------------------------------------------------------------------------------


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/checklist",
    operation_id="save_session_checklist",
    response=ChecklistOut,
)
def save_checklist(request: HttpRequest, session_id: int, payload: ChecklistIn) -> ChecklistOut:
    """Record or correct the pre-session checklist (checked in only); the fields sent change.
    The answer lists each checklist item and whether it passes."""
    services.save_checklist(
        _actor(request), _session(session_id), **payload.dict(exclude_unset=True)
    )
    return _checklist_out(_read(request, session_id, "API dosing checklist"))


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/centering",
    operation_id="save_session_centering",
    response=CenteringOut,
)
def save_centering(request: HttpRequest, session_id: int, payload: CenteringIn) -> CenteringOut:
    """The centering exercise before the dose: meditation, breathing, VR or none."""
    done = services.save_centering(
        _actor(request), _session(session_id), kind=payload.kind, minutes=payload.minutes
    )
    return CenteringOut(kind=done.centering_kind, minutes=done.centering_minutes)


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/orders",
    operation_id="sign_session_order",
    response={201: OrderOut},
)
def sign_order(request: HttpRequest, session_id: int, payload: OrderIn) -> Status[OrderOut]:
    """A prescriber signs a dose order (prescribers only: 403 otherwise). The dose must be
    stated: ``mg_per_kg`` (weight-based protocols, with today's checklist weight) or
    ``dose_mg``; the pump rate, the dosing weight and the esketamine devices are computed by
    the clinical core. A dose outside the protocol's range needs ``deviation_reason`` (422
    naming it). A new order supersedes the current one, which never changes. The first order
    moves the session to ``dose_ordered`` (409 naming what is unmet, e.g. an open critical
    alert; then nothing is stored)."""
    order = services.sign_order(
        _actor(request), _session(session_id), mg_per_kg=payload.mg_per_kg,
        dose_mg=payload.dose_mg, deviation_reason=payload.deviation_reason,
    )  # fmt: skip
    order = DoseOrder.objects.select_related("signed_by").get(pk=order.pk)
    return Status(201, _order_out(order))


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/administration",
    operation_id="record_session_administration",
    response=AdministrationOut,
)
def record_administration(
    request: HttpRequest, session_id: int, payload: AdministrationIn
) -> AdministrationOut:
    """The lot, the vial and the start time (before dosing starts), and the stop time (during
    dosing). Sent again, it corrects the record (each version is kept)."""
    done = services.record_administration(
        _actor(request), _session(session_id), lot_number=payload.lot_number,
        vial_id=payload.vial_id, started_at=payload.started_at, stopped_at=payload.stopped_at,
    )  # fmt: skip
    return AdministrationOut(
        order_id=done.order_id, lot_number=done.lot_number, vial_id=done.vial_id,
        started_at=done.started_at, stopped_at=done.stopped_at,
        devices=[DeviceOut(number=d.number, used_at=d.used_at) for d in done.devices.all()],
    )  # fmt: skip


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/devices",
    operation_id="record_session_device",
    response={201: DeviceOut},
)
def record_device(request: HttpRequest, session_id: int, payload: DeviceIn) -> Status[DeviceOut]:
    """Esketamine: one more nasal device used, at least 5 minutes after the previous one
    (SPRAVATO label; sooner is 422 saying how long to wait). The last device ends the
    administration."""
    used = services.record_device(_actor(request), _session(session_id), used_at=payload.used_at)
    return Status(201, DeviceOut(number=used.number, used_at=used.used_at))


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/vitals",
    operation_id="record_session_vitals",
    response={201: VitalsOut},
)
def record_vitals(request: HttpRequest, session_id: int, payload: VitalsIn) -> Status[VitalsOut]:
    """Add a batch of readings (BP in mmHg, heart rate in beats/min, SpO2 in %, respiratory
    rate in breaths/min). Each is checked with the clinical core's ``vitals.assess`` for the
    session's phase and the protocol's thresholds; the alerts come back with the index of their
    reading. Atomic: one invalid reading refuses the whole batch with 422 naming it
    (``readings[3].spo2``); so does a reading taken in the future or before the check-in (less
    the clinic's slack). A session not being monitored gets 409."""
    raw = [
        {**reading.model_dump(exclude_unset=True), **(reading.model_extra or {})}
        for reading in payload.readings
    ]
    result = services.record_vitals(_actor(request), _session(session_id), raw)
    return Status(
        201,
        VitalsOut(
            stored=result.stored,
            reading_ids=result.reading_ids,
            alerts=[
                VitalsAlertOut(
                    reading_index=index,
                    code=alert.code,
                    level=alert.level,
                    message=alert.message,
                    id=alert.pk,
                )
                for index, alert in result.alerts
            ],
        ),
    )


@endpoint(
    router,
    "POST",
    "/vital-alerts/{vital_alert_id}/acknowledgement",
    operation_id="acknowledge_vital_alert",
    response=VitalAlertOut,
)
def acknowledge_vital_alert(
    request: HttpRequest, vital_alert_id: int, payload: AcknowledgeIn
) -> VitalAlertOut:
    """Acknowledge a vitals alert with the action taken (a critical one blocks the session's
    next step until then). Already acknowledged: 409."""
    alert = services.acknowledge_vital_alert(
        _actor(request), VitalAlert(pk=vital_alert_id), action_taken=payload.action_taken
    )
    return _alert_out(VitalAlert.objects.select_related("acknowledged_by").get(pk=alert.pk))


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/side-effects",
    operation_id="add_session_side_effect",
    response={201: SideEffectOut},
)
def add_side_effect(
    request: HttpRequest, session_id: int, payload: SideEffectIn
) -> Status[SideEffectOut]:
    """A side effect, with its severity (once the dose is ordered, until discharge)."""
    e = services.add_side_effect(
        _actor(request), _session(session_id), kind=payload.kind, severity=payload.severity,
        noted_at=payload.noted_at, note=payload.note,
    )  # fmt: skip
    return Status(
        201,
        SideEffectOut(id=e.pk, kind=e.kind, severity=e.severity, noted_at=e.noted_at, note=e.note),
    )


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/interventions",
    operation_id="add_session_intervention",
    response={201: InterventionOut},
)
def add_intervention(
    request: HttpRequest, session_id: int, payload: InterventionIn
) -> Status[InterventionOut]:
    """A drug given in the session (for example ondansetron 4 mg IV for nausea)."""
    i = services.add_intervention(
        _actor(request), _session(session_id), drug=payload.drug, dose=payload.dose,
        given_at=payload.given_at, reason=payload.reason,
    )  # fmt: skip
    return Status(
        201,
        InterventionOut(id=i.pk, drug=i.drug, dose=i.dose, given_at=i.given_at, reason=i.reason),
    )


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/scores",
    operation_id="add_session_score",
    response={201: ScoreOut},
)
def add_score(request: HttpRequest, session_id: int, payload: ScoreIn) -> Status[ScoreOut]:
    """A dissociation (CADSS-6 items, or the patient-rated 0-10 scale) or sedation (MOAA/S)
    score."""
    s = services.add_score(
        _actor(request), _session(session_id), scale=payload.scale, value=payload.value,
        items=payload.items, scored_at=payload.scored_at,
    )  # fmt: skip
    return Status(
        201,
        ScoreOut(id=s.pk, scale=s.scale, value=s.value, items=list(s.items), scored_at=s.scored_at),
    )


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/discharge-assessment",
    operation_id="assess_session_discharge",
    response=DischargeAssessmentOut,
)
def assess_discharge(
    request: HttpRequest, session_id: int, payload: DischargeIn
) -> DischargeAssessmentOut:
    """Store the discharge assessment (in recovery) and answer the criteria not met now.
    Discharging is then the transition to ``discharged``, checked again at that moment."""
    unmet = services.assess_discharge(
        _actor(request), _session(session_id), escort_name=payload.escort_name,
        sedation_moaas=payload.sedation_moaas, dissociation_resolved=payload.dissociation_resolved,
        nausea_controlled=payload.nausea_controlled,
        ambulating_steadily=payload.ambulating_steadily,
        ready_without_minimum_at=payload.ready_without_minimum_at,
    )  # fmt: skip
    return DischargeAssessmentOut(unmet=[_requirement(r) for r in unmet])


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/reflection",
    operation_id="save_session_reflection",
    response=ReflectionOut,
)
def save_reflection(request: HttpRequest, session_id: int, payload: ReflectionIn) -> ReflectionOut:
    """The patient's short reflection (in recovery or after discharge)."""
    done = services.save_reflection(_actor(request), _session(session_id), payload.reflection)
    return ReflectionOut(reflection=done.reflection)


def _note_response(session_id: int) -> NoteOut:
    note = SessionNote.objects.select_related("author", "signed_by").get(session_id=session_id)
    return _note_out(note, list(note.amendments.select_related("author").order_by("at", "id")))


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/note",
    operation_id="save_session_note",
    response=NoteOut,
)
def save_note(request: HttpRequest, session_id: int, payload: NoteIn) -> NoteOut:
    """Write or rewrite the draft note (in recovery or after discharge). A signed note never
    changes: 409 (add an amendment instead)."""
    services.save_note(_actor(request), _session(session_id), payload.text)
    return _note_response(session_id)


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/note/sign",
    operation_id="sign_session_note",
    response=NoteOut,
)
def sign_note(request: HttpRequest, session_id: int) -> NoteOut:
    """Sign and lock the note of a discharged session; the session moves to note_signed. A
    note already signed: 409."""
    services.sign_note(_actor(request), _session(session_id))
    return _note_response(session_id)


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/note/amendments",
    operation_id="amend_session_note",
    response={201: AmendmentOut},
)
def amend_note(request: HttpRequest, session_id: int, payload: AmendmentIn) -> Status[AmendmentOut]:
    """Amend a signed note: the amendment keeps its author, time and reason, and the signed
    text stays as it was. A note not yet signed: 409 (edit the draft instead)."""
    amendment = services.amend_note(
        _actor(request), _session(session_id), text_added=payload.text, reason=payload.reason
    )
    return Status(
        201, _amendment_out(NoteAmendment.objects.select_related("author").get(pk=amendment.pk))
    )
