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
from kapcare.clinical import session as model
from kapcare.clinical.dosing import ESKETAMINE_DEVICE_SPACING_MIN, ESKETAMINE_MG_PER_DEVICE
from kapcare.dosing import rules, services
from kapcare.dosing.models import DosingSession, PregnancyTest, State
from kapcare.ledger import demo as ledger_demo
from kapcare.patients.models import ConsentTemplate, Patient
from kapcare.patients.services import sign_consent

VIAL_MG_PER_ML = Decimal(50)  # the scenario draws from the 50 mg/mL vial (ledger.demo)
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


CONSENT_TEXT = {
    model.TREATMENT_CONSENT: (
        "Consent to ketamine treatment (synthetic)",
        "SYNTHETIC TEXT. Ketamine can cause dissociation, raised blood pressure, nausea and "
        "drowsiness. I will not drive until the next day, and I will leave with an escort. I may "
        "stop treatment at any time.",
    ),
    model.ESKETAMINE_CONSENT: (
        "Consent to esketamine (SPRAVATO) treatment (synthetic)",
        "SYNTHETIC TEXT. Esketamine nasal spray can cause dissociation, sedation and raised blood "
        "pressure. I will stay at the clinic for at least two hours after each dose, under the "
        "SPRAVATO REMS, and I will not drive until the next day.",
    ),
}
"""The synthetic wording of a consent template the demo and the tests publish when a clinic
has none for a route yet."""


def current_consent_template(route: str) -> ConsentTemplate:
    """The current version of the consent template ``route`` needs (``model.consent_code``),
    publishing version 1 with synthetic text when there is none."""
    code = model.consent_code(route)
    current = ConsentTemplate.objects.filter(code=code, active=True).order_by("-version").first()
    if current is not None:
        return current
    title, body = CONSENT_TEXT[code]
    last = ConsentTemplate.objects.filter(code=code).order_by("-version").first()
    return ConsentTemplate.objects.create(
        code=code, version=(last.version + 1) if last else 1, title=title, body=body
    )


def sign_treatment_consent(witness: User, patient: Patient, route: str) -> None:
    """The patient signs the current version of the consent ``route`` needs, through the
    patients service (witnessed by ``witness``), unless they already have."""
    if rules.consent_facts(patient.pk, route).signed_current_version:
        return
    template = current_consent_template(route)
    sign_consent(_actor(witness), patient, template, typed_name=patient.full_name)


def draw(session: DosingSession, at: datetime, witness: User) -> services.Draw:
    """The ledger draw for the session's signed order, from a real container (stock received
    when there is none): for a vial, the dose drawn rounded up to 0.1 mL and the rest wasted,
    witnessed by ``witness``; for esketamine, the first device."""
    order = session.orders.filter(superseded_by__isnull=True).order_by("-id").first()
    dose_mg = Decimal(order.dose_mg) if order is not None else Decimal(0)
    if session.route == model.ESKETAMINE:
        device = ledger_demo.container_for(session.route, Decimal(ESKETAMINE_MG_PER_DEVICE), at)
        return services.Draw(device.pk)
    given_ml = (dose_mg / VIAL_MG_PER_ML).quantize(Decimal("0.01"))
    drawn_ml = (given_ml + Decimal("0.05")).quantize(Decimal("0.1"))
    vial = ledger_demo.container_for(session.route, drawn_ml * VIAL_MG_PER_ML, at)
    wasted_ml = drawn_ml - given_ml
    return services.Draw(
        vial.pk,
        drawn_ml=drawn_ml,
        given_ml=given_ml,
        wasted_ml=wasted_ml,
        waste_manner="Expelled into a drug-disposal container" if wasted_ml else "",
        witness=ledger_demo.waste_witness(witness) if wasted_ml else None,
    )


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
    protocol = session.course.protocol_record
    esketamine = protocol.route == "esketamine"
    dose_start = start + timedelta(minutes=25)
    if esketamine:  # the devices, 5 minutes apart (SPRAVATO label)
        devices = int(protocol.default_dose_mg or 0) // ESKETAMINE_MG_PER_DEVICE
        length = ESKETAMINE_DEVICE_SPACING_MIN * (devices - 1)
    else:
        length = protocol.infusion_duration_min or 5
    dose_stop = dose_start + timedelta(minutes=length)
    observe = protocol.min_observation_min
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
            session = services.check_in(n, session, now=start)
        elif step == State.CHECKLIST_PASSED:
            at = start + timedelta(minutes=10)
            record_assessment(
                n,
                session.patient,
                "cssrs_screen",
                [0] * 7,
                source="staff",
                entered_by=nurse,
                administered_at=at,
            )
            services.save_checklist(
                n,
                session,
                now=at,
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
            services.record_vitals(n, session, [vitals(start + timedelta(minutes=8))], now=at)
            services.save_centering(n, session, kind="breathing", minutes=5)
            session = services.transition(n, session, State.CHECKLIST_PASSED, now=at)
        elif step == State.DOSE_ORDERED:
            amount = protocol.default_amount
            services.sign_order(
                p, session, now=start + timedelta(minutes=15),
                mg_per_kg=amount if protocol.weight_based else None,
                dose_mg=None if protocol.weight_based else amount,
            )  # fmt: skip
        elif step == State.DOSING:
            services.record_administration(
                n, session, draw=draw(session, dose_start, prescriber), started_at=dose_start,
                now=dose_start,
            )  # fmt: skip
            session = services.transition(n, session, State.DOSING, now=dose_start)
            if esketamine:
                for device in range(devices):
                    used_at = dose_start + timedelta(minutes=ESKETAMINE_DEVICE_SPACING_MIN * device)
                    services.record_device(n, session, used_at=used_at, now=used_at)
            for minute in range(0, length + 1, protocol.vitals_interval_dosing_min):
                taken = dose_start + timedelta(minutes=minute)
                if critical_bp_at_min is not None and minute >= critical_bp_at_min:
                    result = services.record_vitals(
                        n, session, [vitals(taken, 184, 112)], now=taken
                    )
                    for _, alert in result.alerts:
                        if alert.level == "critical":
                            services.acknowledge_vital_alert(
                                n, alert, action_taken=PAUSED, now=taken
                            )
                    critical_bp_at_min = None
                else:
                    services.record_vitals(n, session, [vitals(taken, 138, 86)], now=taken)
        elif step == State.RECOVERY:
            if not esketamine:
                administration = session.administration
                services.record_administration(
                    n, session, started_at=administration.started_at, stopped_at=dose_stop,
                    now=dose_stop,
                )  # fmt: skip
            services.add_score(
                n, session, scale="moaas", value=4, scored_at=dose_stop, now=dose_stop
            )
            session = services.transition(n, session, State.RECOVERY, now=dose_stop)
            minute = protocol.vitals_interval_recovery_min
            while dose_stop + timedelta(minutes=minute) <= discharge_at:
                taken = dose_stop + timedelta(minutes=minute)
                services.record_vitals(n, session, [vitals(taken, 126, 80)], now=taken)
                minute += protocol.vitals_interval_recovery_min
        elif step == State.DISCHARGED:
            at = discharge_at
            services.record_vitals(
                n, session, [vitals(discharge_at - timedelta(minutes=1), 124, 78)], now=at
            )
            services.add_score(n, session, scale="moaas", value=5, scored_at=at, now=at)
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
                now=at,
            )
            session = services.transition(n, session, State.DISCHARGED, now=at)
        elif step == State.NOTE_SIGNED:
            at = discharge_at + timedelta(minutes=10)
            services.save_note(p, session, note)
            services.sign_note(p, session, now=at)
    session.refresh_from_db()
    return session
