"""The dosing session's state machine: which step follows which, and what each step needs.

scheduled -> checked_in -> checklist_passed -> dose_ordered -> dosing -> recovery -> discharged
-> note_signed; a session that has not started dosing may be cancelled (with a reason).

``unmet(session, to)`` lists what a step still needs. A requirement marked ``overridable`` may
be overridden by a prescriber with a reason (for example, dosing despite a checklist item); the
others (a signed order, the administration times, acknowledging a critical alert) may not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from kapcare.assessments.models import Assessment
from kapcare.clinical import vitals
from kapcare.dosing import clock, conf
from kapcare.dosing.models import (
    DoseOrder,
    DosingSession,
    PregnancyTest,
    State,
    VitalPhase,
    VitalReading,
)

FORWARD: dict[str, str] = {
    State.SCHEDULED: State.CHECKED_IN,
    State.CHECKED_IN: State.CHECKLIST_PASSED,
    State.CHECKLIST_PASSED: State.DOSE_ORDERED,
    State.DOSE_ORDERED: State.DOSING,
    State.DOSING: State.RECOVERY,
    State.RECOVERY: State.DISCHARGED,
    State.DISCHARGED: State.NOTE_SIGNED,
}
CANCELLABLE = frozenset(
    {State.SCHEDULED, State.CHECKED_IN, State.CHECKLIST_PASSED, State.DOSE_ORDERED}
)
# States in which vitals may be recorded.
MONITORED = frozenset(
    {State.CHECKED_IN, State.CHECKLIST_PASSED, State.DOSE_ORDERED, State.DOSING, State.RECOVERY}
)


@dataclass(frozen=True)
class Requirement:
    code: str
    message: str
    overridable: bool


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    label: str
    ok: bool
    detail: str


def allowed_next(state: str) -> list[str]:
    steps = [FORWARD[state]] if state in FORWARD else []
    return steps + ([State.CANCELLED] if state in CANCELLABLE else [])


def _age(session: DosingSession, on: datetime) -> int:
    birth = session.patient.birth_date
    today = timezone.localdate(on)
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def pregnancy_test_applies(session: DosingSession) -> bool:
    return (
        session.patient.sex_at_birth in ("female", "intersex")
        and _age(session, clock.now()) <= conf.pregnancy_test_max_age()
    )


def cssrs_today(session: DosingSession) -> Assessment | None:
    now = clock.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        Assessment.objects.filter(
            patient_id=session.patient_id,
            instrument="cssrs_screen",
            administered_at__gte=start,
            administered_at__lte=now,
        )
        .order_by("-administered_at", "-id")
        .first()
    )


def thresholds(session: DosingSession) -> vitals.VitalsThresholds:
    return vitals.VitalsThresholds(**(session.protocol.get("vitals_thresholds") or {}))


def reading_of(row: VitalReading) -> vitals.Reading:
    return vitals.Reading(
        systolic=row.systolic,
        diastolic=row.diastolic,
        heart_rate=row.heart_rate,
        spo2=row.spo2,
        resp_rate=row.resp_rate,
    )


def checklist_items(session: DosingSession) -> list[ChecklistItem]:
    """Each pre-session checklist item, whether it passes, and why not."""
    checklist = getattr(session, "checklist", None)
    items: list[ChecklistItem] = []

    def add(code: str, label: str, ok: bool, detail: str) -> None:
        items.append(ChecklistItem(code, label, ok, detail))

    minimum = conf.fasting_hours()
    fasting = checklist.fasting_hours if checklist else None
    add(
        "fasting",
        "Fasting",
        fasting is not None and float(fasting) >= minimum,
        f"{fasting} h (at least {minimum:g} h, clinic policy)"
        if fasting is not None
        else "not recorded",
    )
    has_driver = bool(
        checklist and checklist.driver_name.strip() and checklist.driver_phone.strip()
    )
    add(
        "driver",
        "Designated driver",
        has_driver,
        f"{checklist.driver_name}, {checklist.driver_phone}"
        if has_driver and checklist
        else "name and phone needed",
    )
    holds = bool(checklist and checklist.medication_holds_confirmed)
    add(
        "medication_holds",
        "Medication holds",
        holds,
        (checklist.medication_holds_note or "confirmed")
        if holds and checklist
        else "not confirmed",
    )
    if pregnancy_test_applies(session):
        result = checklist.pregnancy_test if checklist else ""
        add(
            "pregnancy_test",
            "Pregnancy test",
            result == PregnancyTest.NEGATIVE,
            {"negative": "negative", "positive": "POSITIVE: do not dose"}.get(
                result, "needed today"
            ),
        )
    else:
        add("pregnancy_test", "Pregnancy test", True, "not applicable")
    cssrs = cssrs_today(session)
    if cssrs is None:
        add("cssrs", "C-SSRS screener today", False, "not done today")
    else:
        add(
            "cssrs",
            "C-SSRS screener today",
            "suicide_risk" not in (cssrs.flags or []),
            f"{cssrs.band} risk"
            + (
                ": prescriber review before dosing" if "suicide_risk" in (cssrs.flags or []) else ""
            ),
        )
    baseline = session.vitals.filter(phase=VitalPhase.PRE_DOSE).order_by("-taken_at", "-id").first()
    if baseline is None or baseline.systolic is None or baseline.heart_rate is None:
        add("baseline_vitals", "Baseline vitals", False, "BP and heart rate needed before dosing")
    else:
        critical = [
            a
            for a in vitals.assess(reading_of(baseline), "pre_dose", thresholds(session))
            if a.level == "critical"
        ]
        add(
            "baseline_vitals",
            "Baseline vitals",
            not critical,
            f"{baseline.systolic}/{baseline.diastolic} mmHg, HR {baseline.heart_rate}"
            + (f" - CRITICAL: {critical[0].message}" if critical else ""),
        )
    weight = checklist.weight_kg if checklist else None
    add(
        "weight",
        "Weight today",
        weight is not None,
        f"{weight} kg" if weight is not None else "not recorded",
    )
    intention = checklist.intention.strip() if checklist else ""
    add("intention", "Intention", bool(intention), intention[:80] if intention else "not set")
    return items


def current_order(session: DosingSession) -> DoseOrder | None:
    return session.orders.filter(superseded_by__isnull=True).order_by("-signed_at", "-id").first()


def open_critical_alerts(session: DosingSession) -> int:
    return session.vital_alerts.filter(level="critical", acknowledged_at__isnull=True).count()


def _first_device_at(session: DosingSession) -> datetime | None:
    administration = getattr(session, "administration", None)
    if administration is None:
        return None
    first = administration.devices.order_by("used_at").first()
    return first.used_at if first else administration.started_at


def observation_start(session: DosingSession) -> datetime | None:
    """Observation is counted from the end of administration; for esketamine from the first
    device (SPRAVATO REMS)."""
    if session.route == "esketamine":
        return _first_device_at(session)
    administration = getattr(session, "administration", None)
    return administration.stopped_at if administration else None


def esketamine_bp_unmet(session: DosingSession, discharge_at: datetime) -> list[Requirement]:
    """SPRAVATO label: BP before dosing, at about 40 minutes and before discharge."""
    first = _first_device_at(session)
    with_bp = session.vitals.filter(systolic__isnull=False)
    unmet = []
    window = timedelta(minutes=conf.esketamine_bp_window_min())
    if first is not None:
        at_40 = first + timedelta(minutes=conf.ESKETAMINE_BP_CHECK_MIN)
        if not with_bp.filter(taken_at__gte=at_40 - window, taken_at__lte=at_40 + window).exists():
            unmet.append(
                Requirement(
                    "bp_40_min",
                    "Esketamine: a blood pressure at about 40 minutes after the first device "
                    "is required (SPRAVATO label)",
                    True,
                )
            )
    recent = discharge_at - timedelta(minutes=conf.pre_discharge_bp_min())
    if not with_bp.filter(phase=VitalPhase.RECOVERY, taken_at__gte=recent).exists():
        unmet.append(
            Requirement(
                "bp_before_discharge",
                f"Esketamine: a blood pressure within {conf.pre_discharge_bp_min()} minutes "
                "before discharge is required (SPRAVATO label)",
                True,
            )
        )
    return unmet


def discharge_unmet(session: DosingSession, at: datetime) -> list[Requirement]:
    """Re-checks the stored discharge assessment at the moment of discharge."""
    from kapcare.dosing.selectors import discharge_result

    inputs = session.discharge_inputs or {}
    if not inputs:
        return [Requirement("discharge_assessment", "Record the discharge assessment first", False)]
    result = discharge_result(session, inputs, at)
    return [Requirement(code, message, True) for code, message in result]


def unmet(session: DosingSession, to: str, *, at: datetime | None = None) -> list[Requirement]:
    """What the step from the session's state to ``to`` still needs (empty: it may go)."""
    at = at or clock.now()
    found: list[Requirement] = []
    if to == State.CHECKLIST_PASSED:
        if not hasattr(session, "checklist"):
            found.append(
                Requirement("checklist", "Complete the pre-session checklist first", False)
            )
        for item in checklist_items(session):
            if not item.ok:
                found.append(Requirement(item.code, f"{item.label}: {item.detail}", True))
    elif to == State.DOSE_ORDERED:
        if current_order(session) is None:
            found.append(Requirement("dose_order", "A prescriber must sign a dose order", False))
    elif to == State.DOSING:
        administration = getattr(session, "administration", None)
        if administration is None:
            found.append(
                Requirement("administration", "Record the lot, vial and start time first", False)
            )
        elif administration.order_id != getattr(current_order(session), "pk", None):
            found.append(
                Requirement(
                    "administration",
                    "The administration must follow the current signed order",
                    False,
                )
            )
        if (
            session.route == "esketamine"
            and not session.vitals.filter(
                phase=VitalPhase.PRE_DOSE, systolic__isnull=False
            ).exists()
        ):
            found.append(
                Requirement(
                    "bp_before_dosing",
                    "Esketamine: blood pressure before dosing is required (SPRAVATO label)",
                    False,
                )
            )
        baseline = next((i for i in checklist_items(session) if i.code == "baseline_vitals"), None)
        if baseline is not None and not baseline.ok:
            found.append(
                Requirement("baseline_vitals", f"Baseline vitals: {baseline.detail}", True)
            )
    elif to == State.RECOVERY:
        administration = getattr(session, "administration", None)
        if session.route == "esketamine":
            order = current_order(session)
            used = administration.devices.count() if administration else 0
            if order is not None and used < (order.devices or 0):
                found.append(
                    Requirement(
                        "devices", f"Record each device's time ({used} of {order.devices})", False
                    )
                )
        elif administration is None or administration.stopped_at is None:
            found.append(
                Requirement("administration_stop", "Record when the administration stopped", False)
            )
    elif to == State.DISCHARGED:
        found.extend(discharge_unmet(session, at))
        if session.route == "esketamine":
            found.extend(esketamine_bp_unmet(session, at))
    elif to == State.NOTE_SIGNED:
        note = getattr(session, "note", None)
        if note is None or not note.text.strip():
            found.append(Requirement("note", "Write the session note before signing", False))
        elif note.signed_at is None:
            # Only ``services.sign_note`` reaches this state: it signs the note first. A bare
            # transition would mark the record complete with a note nobody signed (and one that
            # could then be neither edited nor amended).
            found.append(Requirement("note_unsigned", "Sign the session note", False))
    if to != State.CANCELLED and open_critical_alerts(session):
        found.append(
            Requirement(
                "critical_alert",
                "Acknowledge each critical vitals alert with the action taken",
                False,
            )
        )
    return found
