"""Drive a dosing session through its steps with plausible synthetic entries, through the real
services. The demo loader documents past sessions with it, and tests and benchmarks use it to
bring a session to the state they need. Times are relative to ``start`` (the check-in)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kapcare.accounts.models import User
from kapcare.assessments.services import record_assessment
from kapcare.audit.services import Actor
from kapcare.dosing import clock, services
from kapcare.dosing.models import DosingSession, PregnancyTest, State

PAUSED = "Paused the infusion for 5 minutes; BP rechecked 150/92; resumed at the same rate."
ORDER = [
    State.CHECKED_IN,
    State.CHECKLIST_PASSED,
    State.DOSE_ORDERED,
    State.DOSING,
    State.RECOVERY,
    State.DISCHARGED,
    State.NOTE_SIGNED,
]


def _actor(user: User) -> Actor:
    return Actor(user.pk, user.email, user.role)


def run_to(
    session: DosingSession,
    target: str,
    *,
    nurse: User,
    prescriber: User,
    start: datetime,
    weight_kg: Decimal = Decimal("70.0"),
    critical_bp_at_min: int | None = None,
    note: str = "Synthetic session note: infusion tolerated; calm and oriented at discharge.",
) -> DosingSession:
    """Bring ``session`` (scheduled) to ``target`` as if it began at ``start``. With
    ``critical_bp_at_min``, a critical BP is recorded that many minutes after the start of
    dosing and acknowledged with the action taken."""
    n, p = _actor(nurse), _actor(prescriber)
    steps = ORDER[: ORDER.index(State(target)) + 1]
    protocol = session.course.protocol_snapshot
    esketamine = protocol["route"] == "esketamine"
    dose_start = start + timedelta(minutes=25)
    if esketamine:  # the devices, 5 minutes apart (SPRAVATO label)
        devices = int(Decimal(protocol["default_dose_mg"])) // 28
        length = 5 * (devices - 1)
    else:
        length = int(protocol.get("infusion_duration_min") or 5)
    dose_stop = dose_start + timedelta(minutes=length)
    observe = int(protocol["min_observation_min"])
    # Esketamine observation runs from the first device; the others from the end of dosing.
    discharge_at = (dose_start if esketamine else dose_stop) + timedelta(minutes=observe + 5)

    def vitals(at: datetime, systolic: int = 128, diastolic: int = 80) -> dict[str, Any]:
        return {
            "taken_at": at.isoformat(),
            "systolic": systolic,
            "diastolic": diastolic,
            "heart_rate": 76,
            "spo2": 98,
            "resp_rate": 14,
        }

    for step in steps:
        if step == State.CHECKED_IN:
            with clock.at(start):
                session = services.check_in(n, session)
        elif step == State.CHECKLIST_PASSED:
            with clock.at(start + timedelta(minutes=10)):
                record_assessment(
                    n,
                    session.patient,
                    "cssrs_screen",
                    [0] * 7,
                    source="staff",
                    entered_by=nurse,
                    administered_at=start + timedelta(minutes=10),
                )
                services.save_checklist(
                    n,
                    session,
                    fasting_hours=Decimal(6),
                    driver_name="Alex Example (synthetic)",
                    driver_phone="555-0100",
                    medication_holds_confirmed=True,
                    medication_holds_note="No holds needed",
                    weight_kg=weight_kg,
                    pregnancy_test=PregnancyTest.NEGATIVE
                    if session.patient.sex_at_birth != "male"
                    else PregnancyTest.NOT_APPLICABLE,
                    intention="To feel more present with my family.",
                )
                services.record_vitals(n, session, [vitals(start + timedelta(minutes=8))])
                services.save_centering(n, session, kind="breathing", minutes=5)
                session = services.transition(n, session, State.CHECKLIST_PASSED)
        elif step == State.DOSE_ORDERED:
            with clock.at(start + timedelta(minutes=15)):
                services.sign_order(p, session)
        elif step == State.DOSING:
            with clock.at(dose_start):
                services.record_administration(
                    n, session, lot_number="DEMO-LOT-1", vial_id="V-001", started_at=dose_start
                )
                session = services.transition(n, session, State.DOSING)
            if esketamine:
                for device in range(devices):
                    used_at = dose_start + timedelta(minutes=5 * device)
                    with clock.at(used_at):
                        services.record_device(n, session, used_at=used_at)
            for minute in range(0, length + 1, int(protocol["vitals_interval_dosing_min"])):
                taken = dose_start + timedelta(minutes=minute)
                with clock.at(taken):
                    if critical_bp_at_min is not None and minute >= critical_bp_at_min:
                        result = services.record_vitals(n, session, [vitals(taken, 184, 112)])
                        for _, alert in result.alerts:
                            if alert.level == "critical":
                                services.acknowledge_vital_alert(
                                    n,
                                    alert,
                                    action_taken=PAUSED,
                                )
                        critical_bp_at_min = None
                    else:
                        services.record_vitals(n, session, [vitals(taken, 138, 86)])
        elif step == State.RECOVERY:
            with clock.at(dose_stop):
                if not esketamine:
                    administration = session.administration
                    services.record_administration(
                        n,
                        session,
                        lot_number=administration.lot_number,
                        vial_id=administration.vial_id,
                        started_at=administration.started_at,
                        stopped_at=dose_stop,
                    )
                services.add_score(n, session, scale="moaas", value=4, scored_at=dose_stop)
                session = services.transition(n, session, State.RECOVERY)
            minute = int(protocol["vitals_interval_recovery_min"])
            while dose_stop + timedelta(minutes=minute) <= discharge_at:
                with clock.at(dose_stop + timedelta(minutes=minute)):
                    services.record_vitals(
                        n, session, [vitals(dose_stop + timedelta(minutes=minute), 126, 80)]
                    )
                minute += int(protocol["vitals_interval_recovery_min"])
        elif step == State.DISCHARGED:
            with clock.at(discharge_at):
                services.record_vitals(
                    n, session, [vitals(discharge_at - timedelta(minutes=1), 124, 78)]
                )
                services.add_score(n, session, scale="moaas", value=5, scored_at=discharge_at)
                services.save_reflection(
                    n, session, "Felt a sense of distance from the memory (synthetic)."
                )
                services.assess_discharge(
                    n,
                    session,
                    escort_name="Alex Example (synthetic)",
                    sedation_moaas=5,
                    dissociation_resolved=True,
                    nausea_controlled=True,
                    ambulating_steadily=True,
                )
                session = services.transition(n, session, State.DISCHARGED)
        elif step == State.NOTE_SIGNED:
            with clock.at(discharge_at + timedelta(minutes=10)):
                services.save_note(p, session, note)
                services.sign_note(p, session)
    session.refresh_from_db()
    return session
