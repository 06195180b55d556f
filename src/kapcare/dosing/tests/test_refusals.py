"""A refused call changes nothing: no row, no audit entry, no state.

Every refusal path of every dosing step, through the API (each POST operation) and through the
page (each POST route of ``dosing/urls.py``): the wrong state, bad input, the wrong role, unmet
requirements, and an open critical vitals alert when the first order is signed. Each case
snapshots the dosing tables (their history too), the audit log, body measurements and
appointments before and after the call and asserts they are equal. The page answers a refusal
with the session page again, which the access log records as a read; the page's snapshot leaves
the access log's read entries out and checks that reads are all that was added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.assessments.services import record_assessment
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.dosing import scenario, services
from kapcare.dosing.models import DoseOrder, DosingSession, State, VitalAlert
from kapcare.dosing.tests.conftest import snapshot

# --- bringing a session to the state a case needs --------------------------------------------


def _reading(at: datetime, systolic: int = 128, diastolic: int = 80, **values: Any) -> dict:
    return {
        "taken_at": at.isoformat(),
        "systolic": systolic,
        "diastolic": diastolic,
        "heart_rate": 76,
        "spo2": 98,
        "resp_rate": 14,
        **values,
    }


def _run(session, users, target, minutes_ago: int) -> DosingSession:
    return scenario.run_to(
        session,
        target,
        nurse=users["nurse"],
        prescriber=users["prescriber"],
        start=timezone.now() - timedelta(minutes=minutes_ago),
    )


def _scheduled(make, users):
    return make()


def _checked_in(make, users):
    return _run(make(), users, State.CHECKED_IN, 5)


def _short_fast(make, users):
    """Checked in, every checklist item met except the fast (2 h): overridable."""
    session = _checked_in(make, users)
    nurse, now = Actor.for_user(users["nurse"]), timezone.now()
    services.save_checklist(
        nurse, session, fasting_hours=Decimal(2), driver_name="Kim", driver_phone="555-0101",
        medication_holds_confirmed=True, weight_kg=Decimal(70), intention="Rest",
        pregnancy_test="not_applicable",
    )  # fmt: skip
    record_assessment(nurse, session.patient, "cssrs_screen", [0] * 7, source="staff")
    services.record_vitals(nurse, session, [_reading(now - timedelta(minutes=1))], now=now)
    return session


def _checklist_passed(make, users):
    return _run(make(), users, State.CHECKLIST_PASSED, 20)


def _critical_open(make, users):
    """Checklist passed, then a critical BP (185/115) left unacknowledged."""
    session = _checklist_passed(make, users)
    now = timezone.now()
    result = services.record_vitals(
        Actor.for_user(users["nurse"]),
        session,
        [_reading(now - timedelta(minutes=1), 185, 115)],
        now=now,
    )
    assert any(alert.level == "critical" for _, alert in result.alerts)
    return session


def _dose_ordered(make, users):
    return _run(make(), users, State.DOSE_ORDERED, 30)


def _dosing(make, users):
    return _run(make(), users, State.DOSING, 70)


def _dosing_acknowledged(make, users):
    """Dosing, with a critical BP that was acknowledged with the action taken."""
    return scenario.run_to(
        make(), State.DOSING, nurse=users["nurse"], prescriber=users["prescriber"],
        start=timezone.now() - timedelta(minutes=70), critical_bp_at_min=10,
    )  # fmt: skip


def _recovery(make, users):
    return _run(make(), users, State.RECOVERY, 180)


def _discharged(make, users):
    return _run(make(), users, State.DISCHARGED, 180)


def _note_signed(make, users):
    return _run(make(), users, State.NOTE_SIGNED, 180)


def _cancelled(make, users):
    session = make()
    return services.transition(Actor.for_user(users["nurse"]), session, "cancelled", reason="ill")


def _esketamine_one_device(make, users):
    """Esketamine, dosing, the first of two devices used a minute ago."""
    session = _run(make("esketamine"), users, State.DOSE_ORDERED, 30)
    nurse, now = Actor.for_user(users["nurse"]), timezone.now()
    start = now - timedelta(minutes=1)
    services.record_administration(
        nurse, session, lot_number="L1", vial_id="V1", started_at=start, now=now
    )
    services.transition(nurse, session, State.DOSING, now=now)
    services.record_device(nurse, session, used_at=start, now=now)
    return session


def _esketamine_all_devices(make, users):
    return _run(make("esketamine"), users, State.DOSING, 30)


# --- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[..., DosingSession]
    role: str
    target: str  # API path under /api/v1, or a dosing view name for the page
    body: dict[str, Any] = field(default_factory=dict)
    status: int = 409
    fields: tuple[str, ...] = ()  # API: the error fields (or rules for a 409) expected
    alert: bool = False  # the target is the session's latest vitals alert


def _at(minutes: float) -> str:
    """A marker for a time ``minutes`` from the request's now."""
    return f"@now{minutes:+}"


def _resolve(value: Any, now: datetime, *, page: bool = False) -> Any:
    if isinstance(value, str) and value.startswith("@now"):
        moment = now + timedelta(minutes=float(value[4:]))
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if page else moment.isoformat()
    if isinstance(value, dict):
        return {k: _resolve(v, now, page=page) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, now, page=page) for v in value]
    return value


def R(minutes: float = -1, **values: Any) -> dict[str, Any]:
    """An API reading taken ``minutes`` from now."""
    reading = {
        "taken_at": _at(minutes),
        "systolic": 128,
        "diastolic": 80,
        "heart_rate": 76,
        "spo2": 98,
        "resp_rate": 14,
    }
    reading.update(values)
    return reading


DISCHARGE = {
    "escort_name": "Kim Example",
    "sedation_moaas": 5,
    "dissociation_resolved": True,
    "nausea_controlled": True,
    "ambulating_steadily": True,
}
CHECKLIST = {
    "fasting_hours": 6,
    "driver_name": "Kim",
    "driver_phone": "555-0101",
    "medication_holds_confirmed": True,
    "weight_kg": 70,
    "intention": "Rest",
    "pregnancy_test": "not_applicable",
}
S = "/sessions/{s}"

API_CASES = [
    # wrong state
    Case(
        "checklist-on-scheduled",
        _scheduled,
        "nurse",
        f"{S}/checklist",
        CHECKLIST,
        409,
        ("not_open",),
    ),
    Case(
        "centering-on-scheduled",
        _scheduled,
        "nurse",
        f"{S}/centering",
        {"kind": "breathing", "minutes": 5},
    ),
    Case(
        "vitals-on-scheduled",
        _scheduled,
        "nurse",
        f"{S}/vitals",
        {"readings": [R()]},
        409,
        ("not_open",),
    ),
    Case(
        "skip-check-in",
        _scheduled,
        "nurse",
        f"{S}/transitions",
        {"to": "checklist_passed"},
        409,
        ("illegal_transition",),
    ),
    Case(
        "order-before-checklist-passed",
        _checked_in,
        "prescriber",
        f"{S}/orders",
        {"mg_per_kg": 0.5},
        409,
        ("not_open",),
    ),
    Case(
        "administration-before-order",
        _checked_in,
        "nurse",
        f"{S}/administration",
        {"lot_number": "L1", "vial_id": "V1", "started_at": _at(-1)},
    ),
    Case("device-before-dosing", _checked_in, "nurse", f"{S}/devices", {}),
    Case(
        "side-effect-before-order",
        _checked_in,
        "nurse",
        f"{S}/side-effects",
        {"kind": "nausea", "severity": "mild"},
    ),
    Case(
        "intervention-before-order",
        _checked_in,
        "nurse",
        f"{S}/interventions",
        {"drug": "Ondansetron", "dose": "4 mg IV"},
    ),
    Case("score-before-order", _checked_in, "nurse", f"{S}/scores", {"scale": "moaas", "value": 5}),
    Case(
        "discharge-assessment-when-checked-in",
        _checked_in,
        "nurse",
        f"{S}/discharge-assessment",
        DISCHARGE,
    ),
    Case(
        "reflection-when-checked-in",
        _checked_in,
        "nurse",
        f"{S}/reflection",
        {"reflection": "Calm"},
    ),
    Case("note-when-checked-in", _checked_in, "nurse", f"{S}/note", {"text": "Draft"}),
    Case(
        "note-sign-before-discharge",
        _recovery,
        "prescriber",
        f"{S}/note/sign",
        {},
        409,
        ("not_open",),
    ),
    Case(
        "amend-before-sign",
        _discharged,
        "prescriber",
        f"{S}/note/amendments",
        {"text": "x", "reason": "y"},
        409,
        ("not_signed",),
    ),
    Case(
        "checklist-after-it-passed", _checklist_passed, "nurse", f"{S}/checklist", {"weight_kg": 71}
    ),
    Case(
        "dosing-from-checklist-passed",
        _checklist_passed,
        "nurse",
        f"{S}/transitions",
        {"to": "dosing"},
        409,
        ("illegal_transition",),
    ),
    Case("device-on-an-iv-session", _dosing, "nurse", f"{S}/devices", {}),
    Case(
        "all-devices-recorded",
        _esketamine_all_devices,
        "nurse",
        f"{S}/devices",
        {},
        409,
        ("all_recorded",),
    ),
    Case(
        "discharge-assessment-while-dosing",
        _dosing,
        "nurse",
        f"{S}/discharge-assessment",
        DISCHARGE,
    ),
    Case(
        "vitals-on-discharged",
        _discharged,
        "nurse",
        f"{S}/vitals",
        {"readings": [R()]},
        409,
        ("not_open",),
    ),
    Case(
        "side-effect-on-discharged",
        _discharged,
        "nurse",
        f"{S}/side-effects",
        {"kind": "nausea", "severity": "mild"},
    ),
    Case(
        "rewrite-signed-note",
        _note_signed,
        "prescriber",
        f"{S}/note",
        {"text": "Rewritten"},
        409,
        ("note_signed",),
    ),
    Case("sign-note-twice", _note_signed, "prescriber", f"{S}/note/sign", {}),
    Case(
        "reopen-signed-session",
        _note_signed,
        "prescriber",
        f"{S}/transitions",
        {"to": "recovery", "reason": "redo"},
        409,
        ("illegal_transition",),
    ),
    Case(
        "vitals-on-cancelled",
        _cancelled,
        "nurse",
        f"{S}/vitals",
        {"readings": [R()]},
        409,
        ("not_open",),
    ),
    Case("checklist-on-cancelled", _cancelled, "nurse", f"{S}/checklist", CHECKLIST),
    Case(
        "acknowledge-twice",
        _dosing_acknowledged,
        "nurse",
        "/vital-alerts/{alert}/acknowledgement",
        {"action_taken": "Again"},
        409,
        ("acknowledged",),
        alert=True,
    ),
    # unmet requirements
    Case(
        "pass-checklist-with-nothing-recorded",
        _checked_in,
        "nurse",
        f"{S}/transitions",
        {"to": "checklist_passed"},
        409,
        ("checklist", "cssrs", "baseline_vitals"),
    ),
    Case(
        "nurse-overrides-short-fast",
        _short_fast,
        "nurse",
        f"{S}/transitions",
        {"to": "checklist_passed", "reason": "ate a biscuit"},
        409,
        ("fasting",),
    ),
    Case(
        "prescriber-overrides-without-reason",
        _short_fast,
        "prescriber",
        f"{S}/transitions",
        {"to": "checklist_passed"},
        409,
        ("fasting",),
    ),
    Case(
        "dosing-without-administration",
        _dose_ordered,
        "nurse",
        f"{S}/transitions",
        {"to": "dosing"},
    ),
    Case(
        "prescriber-overrides-missing-administration",
        _dose_ordered,
        "prescriber",
        f"{S}/transitions",
        {"to": "dosing", "reason": "urgent"},
    ),
    Case("recovery-without-stop-time", _dosing, "nurse", f"{S}/transitions", {"to": "recovery"}),
    Case(
        "discharge-without-assessment", _recovery, "nurse", f"{S}/transitions", {"to": "discharged"}
    ),
    Case(
        "note-signed-without-note",
        _discharged,
        "prescriber",
        f"{S}/transitions",
        {"to": "note_signed"},
        422,
        ("text",),
    ),
    Case(
        "first-order-with-open-critical-alert",
        _critical_open,
        "prescriber",
        f"{S}/orders",
        {"mg_per_kg": 0.5},
        409,
        ("critical_alert",),
    ),
    # bad input
    Case("unknown-state", _scheduled, "nurse", f"{S}/transitions", {"to": "flying"}, 422, ("to",)),
    Case(
        "cancel-without-reason",
        _scheduled,
        "nurse",
        f"{S}/transitions",
        {"to": "cancelled"},
        422,
        ("reason",),
    ),
    Case(
        "checklist-weight-500",
        _checked_in,
        "nurse",
        f"{S}/checklist",
        {"weight_kg": 500},
        422,
        ("weight_kg",),
    ),
    Case(
        "checklist-fasting-not-a-number",
        _checked_in,
        "nurse",
        f"{S}/checklist",
        {"fasting_hours": "lots"},
        422,
        ("fasting_hours",),
    ),
    Case(
        "checklist-unknown-field",
        _checked_in,
        "nurse",
        f"{S}/checklist",
        {"shoe_size": 9},
        422,
        ("shoe_size",),
    ),
    Case(
        "checklist-pregnancy-test-invalid",
        _checked_in,
        "nurse",
        f"{S}/checklist",
        {"pregnancy_test": "maybe"},
        422,
        ("pregnancy_test",),
    ),
    Case(
        "centering-unknown-kind",
        _checked_in,
        "nurse",
        f"{S}/centering",
        {"kind": "yoga", "minutes": 5},
        422,
        ("kind",),
    ),
    Case(
        "centering-zero-minutes",
        _checked_in,
        "nurse",
        f"{S}/centering",
        {"kind": "breathing", "minutes": 0},
        422,
        ("centering_minutes",),
    ),
    Case(
        "vitals-in-the-future",
        _checked_in,
        "nurse",
        f"{S}/vitals",
        {"readings": [R(-1), R(+10)]},
        422,
        ("readings[1].taken_at",),
    ),
    Case(
        "vitals-before-check-in-less-slack",
        _checked_in,
        "nurse",
        f"{S}/vitals",
        {"readings": [R(-1), R(-40)]},
        422,
        ("readings[1].taken_at",),
    ),
    Case(
        "vitals-spo2-140",
        _checked_in,
        "nurse",
        f"{S}/vitals",
        {"readings": [R(-1, spo2=140)]},
        422,
        ("readings[0].spo2",),
    ),
    Case(
        "vitals-unknown-field",
        _checked_in,
        "nurse",
        f"{S}/vitals",
        {"readings": [R(-1, spO2=97)]},
        422,
        ("readings[0].spO2",),
    ),
    Case(
        "vitals-empty-batch",
        _checked_in,
        "nurse",
        f"{S}/vitals",
        {"readings": []},
        422,
        ("readings",),
    ),
    Case(
        "vitals-systolic-without-diastolic",
        _checked_in,
        "nurse",
        f"{S}/vitals",
        {"readings": [R(-1, diastolic=None)]},
        422,
        ("readings[0].diastolic",),
    ),
    Case("order-no-dose", _checklist_passed, "prescriber", f"{S}/orders", {}, 422, ("mg_per_kg",)),
    Case(
        "order-null-dose",
        _checklist_passed,
        "prescriber",
        f"{S}/orders",
        {"mg_per_kg": None, "dose_mg": None},
        422,
        ("mg_per_kg",),
    ),
    Case(
        "order-deviation-without-reason",
        _checklist_passed,
        "prescriber",
        f"{S}/orders",
        {"mg_per_kg": 2.0},
        422,
        ("deviation_reason",),
    ),
    Case(
        "order-deviation-blank-reason",
        _checklist_passed,
        "prescriber",
        f"{S}/orders",
        {"mg_per_kg": 2.0, "deviation_reason": "   "},
        422,
        ("deviation_reason",),
    ),
    Case(
        "esketamine-order-no-dose",
        lambda make, users: _run(make("esketamine"), users, State.CHECKLIST_PASSED, 20),
        "prescriber",
        f"{S}/orders",
        {},
        422,
        ("dose_mg",),
    ),
    Case(
        "esketamine-order-30-mg",
        lambda make, users: _run(make("esketamine"), users, State.CHECKLIST_PASSED, 20),
        "prescriber",
        f"{S}/orders",
        {"dose_mg": 30.5},
        422,
        ("dose_mg",),
    ),
    Case(
        "administration-blank-lot",
        _dose_ordered,
        "nurse",
        f"{S}/administration",
        {"lot_number": " ", "vial_id": "V1", "started_at": _at(-1)},
        422,
        ("lot_number",),
    ),
    Case(
        "administration-start-in-future",
        _dose_ordered,
        "nurse",
        f"{S}/administration",
        {"lot_number": "L1", "vial_id": "V1", "started_at": _at(30)},
        422,
        ("started_at",),
    ),
    Case(
        "administration-stop-before-start",
        _dosing,
        "nurse",
        f"{S}/administration",
        {"lot_number": "L1", "vial_id": "V1", "started_at": _at(-10), "stopped_at": _at(-20)},
        422,
        ("stopped_at",),
    ),
    Case("device-too-soon", _esketamine_one_device, "nurse", f"{S}/devices", {}, 422, ("used_at",)),
    Case(
        "side-effect-unknown-kind",
        _dose_ordered,
        "nurse",
        f"{S}/side-effects",
        {"kind": "glowing", "severity": "mild"},
        422,
        ("kind",),
    ),
    Case(
        "side-effect-other-without-note",
        _dose_ordered,
        "nurse",
        f"{S}/side-effects",
        {"kind": "other", "severity": "mild"},
        422,
        ("note",),
    ),
    Case(
        "intervention-blank-drug",
        _dose_ordered,
        "nurse",
        f"{S}/interventions",
        {"drug": " ", "dose": "4 mg"},
        422,
        ("drug",),
    ),
    Case(
        "score-moaas-9",
        _dose_ordered,
        "nurse",
        f"{S}/scores",
        {"scale": "moaas", "value": 9},
        422,
        ("value",),
    ),
    Case(
        "score-cadss6-three-items",
        _dose_ordered,
        "nurse",
        f"{S}/scores",
        {"scale": "cadss6", "items": [1, 2, 3]},
        422,
        ("items",),
    ),
    Case(
        "discharge-moaas-7",
        _recovery,
        "nurse",
        f"{S}/discharge-assessment",
        {**DISCHARGE, "sedation_moaas": 7},
        422,
        ("sedation_moaas",),
    ),
    Case("blank-note", _recovery, "nurse", f"{S}/note", {"text": "   "}, 422, ("text",)),
    Case("sign-without-a-note", _discharged, "prescriber", f"{S}/note/sign", {}, 422, ("text",)),
    Case(
        "amend-without-reason",
        _note_signed,
        "prescriber",
        f"{S}/note/amendments",
        {"text": "More", "reason": ""},
        422,
        ("reason",),
    ),
    Case(
        "acknowledge-without-action",
        _critical_open,
        "nurse",
        "/vital-alerts/{alert}/acknowledgement",
        {"action_taken": "  "},
        422,
        ("action_taken",),
        alert=True,
    ),
    # wrong role
    Case("nurse-signs-order", _checklist_passed, "nurse", f"{S}/orders", {"mg_per_kg": 0.5}, 403),
    Case(
        "therapist-signs-order",
        _checklist_passed,
        "therapist",
        f"{S}/orders",
        {"mg_per_kg": 0.5},
        403,
    ),
    Case(
        "front-desk-checks-in",
        _scheduled,
        "front_desk",
        f"{S}/transitions",
        {"to": "checked_in"},
        403,
    ),
    Case("patient-records-vitals", _checked_in, "patient", f"{S}/vitals", {"readings": [R()]}, 403),
    Case(
        "clinic-admin-saves-checklist",
        _checked_in,
        "clinic_admin",
        f"{S}/checklist",
        CHECKLIST,
        403,
    ),
    Case("front-desk-signs-note", _discharged, "front_desk", f"{S}/note/sign", {}, 403),
    Case(
        "clinic-admin-acknowledges-alert",
        _critical_open,
        "clinic_admin",
        "/vital-alerts/{alert}/acknowledgement",
        {"action_taken": "Rested"},
        403,
        alert=True,
    ),
    # unknown
    Case(
        "unknown-session",
        _scheduled,
        "nurse",
        "/sessions/999999/transitions",
        {"to": "checked_in"},
        404,
    ),
    Case(
        "unknown-alert",
        _scheduled,
        "nurse",
        "/vital-alerts/999999/acknowledgement",
        {"action_taken": "Rested"},
        404,
    ),
]

PAGE_CASES = [
    # wrong state
    Case("checklist-on-scheduled", _scheduled, "nurse", "checklist", {**CHECKLIST}, 409),
    Case(
        "centering-on-scheduled",
        _scheduled,
        "nurse",
        "centering",
        {"centering_kind": "breathing", "centering_minutes": "5"},
        409,
    ),
    Case("skip-check-in", _scheduled, "nurse", "transition", {"to": "checklist_passed"}, 409),
    Case(
        "order-before-checklist-passed",
        _checked_in,
        "prescriber",
        "order_sign",
        {"mg_per_kg": "0.5"},
        409,
    ),
    Case(
        "administration-before-order",
        _checked_in,
        "nurse",
        "administration",
        {"lot_number": "L1", "vial_id": "V1", "started_at": _at(-1)},
        409,
    ),
    Case("device-on-an-iv-session", _dosing, "nurse", "device", {}, 409),
    Case(
        "side-effect-before-order",
        _checked_in,
        "nurse",
        "side_effect",
        {"kind": "nausea", "severity": "mild"},
        409,
    ),
    Case(
        "intervention-before-order",
        _checked_in,
        "nurse",
        "intervention",
        {"drug": "Ondansetron", "dose": "4 mg IV"},
        409,
    ),
    Case(
        "score-before-order", _checked_in, "nurse", "score", {"scale": "moaas", "value": "5"}, 409
    ),
    Case(
        "discharge-when-checked-in",
        _checked_in,
        "nurse",
        "discharge",
        {"escort_name": "Kim", "sedation_moaas": "5"},
        409,
    ),
    Case(
        "reflection-when-checked-in",
        _checked_in,
        "nurse",
        "reflection",
        {"reflection": "Calm"},
        409,
    ),
    Case("note-when-checked-in", _checked_in, "nurse", "note", {"text": "Draft"}, 409),
    Case(
        "note-sign-before-discharge", _recovery, "prescriber", "note_sign", {"text": "Final"}, 409
    ),
    Case(
        "amend-before-sign",
        _discharged,
        "prescriber",
        "note_amend",
        {"text": "x", "reason": "y"},
        409,
    ),
    Case("rewrite-signed-note", _note_signed, "prescriber", "note", {"text": "Rewritten"}, 409),
    Case(
        "vitals-on-discharged",
        _discharged,
        "nurse",
        "vitals",
        {"systolic": "120", "diastolic": "80", "taken_at": _at(-1)},
        409,
    ),
    Case(
        "acknowledge-twice",
        _dosing_acknowledged,
        "nurse",
        "vital_alert_acknowledge",
        {"action_taken": "Again"},
        409,
        alert=True,
    ),
    # unmet requirements
    Case(
        "pass-checklist-with-nothing-recorded",
        _checked_in,
        "nurse",
        "transition",
        {"to": "checklist_passed"},
        409,
    ),
    Case(
        "nurse-overrides-short-fast",
        _short_fast,
        "nurse",
        "transition",
        {"to": "checklist_passed", "reason": "biscuit"},
        409,
    ),
    Case(
        "dosing-without-administration", _dose_ordered, "nurse", "transition", {"to": "dosing"}, 409
    ),
    Case(
        "first-order-with-open-critical-alert",
        _critical_open,
        "prescriber",
        "order_sign",
        {"mg_per_kg": "0.5"},
        409,
    ),
    # bad input
    Case("transition-blank", _scheduled, "nurse", "transition", {"to": ""}, 400),
    Case("cancel-without-reason", _scheduled, "nurse", "transition", {"to": "cancelled"}, 400),
    Case(
        "checklist-weight-500",
        _checked_in,
        "nurse",
        "checklist",
        {**CHECKLIST, "weight_kg": "500"},
        400,
    ),
    Case(
        "centering-zero-minutes",
        _checked_in,
        "nurse",
        "centering",
        {"centering_kind": "breathing", "centering_minutes": "0"},
        400,
    ),
    Case(
        "order-blank-dose",
        _checklist_passed,
        "prescriber",
        "order_sign",
        {"mg_per_kg": "", "deviation_reason": ""},
        400,
    ),
    Case(
        "order-deviation-without-reason",
        _checklist_passed,
        "prescriber",
        "order_sign",
        {"mg_per_kg": "2.0"},
        400,
    ),
    Case(
        "administration-blank-lot",
        _dose_ordered,
        "nurse",
        "administration",
        {"lot_number": "", "vial_id": "V1", "started_at": _at(-1)},
        400,
    ),
    Case(
        "vitals-in-the-future",
        _checked_in,
        "nurse",
        "vitals",
        {"systolic": "120", "diastolic": "80", "taken_at": _at(30)},
        400,
    ),
    Case(
        "vitals-before-check-in-less-slack",
        _checked_in,
        "nurse",
        "vitals",
        {"systolic": "120", "diastolic": "80", "taken_at": _at(-45)},
        400,
    ),
    Case(
        "vitals-spo2-140", _checked_in, "nurse", "vitals", {"spo2": "140", "taken_at": _at(-1)}, 400
    ),
    Case(
        "acknowledge-without-action",
        _critical_open,
        "nurse",
        "vital_alert_acknowledge",
        {"action_taken": ""},
        400,
        alert=True,
    ),
    Case(
        "side-effect-other-without-note",
        _dose_ordered,
        "nurse",
        "side_effect",
        {"kind": "other", "severity": "mild"},
        400,
    ),
    Case(
        "intervention-blank-drug",
        _dose_ordered,
        "nurse",
        "intervention",
        {"drug": "", "dose": "4 mg"},
        400,
    ),
    Case("score-moaas-9", _dose_ordered, "nurse", "score", {"scale": "moaas", "value": "9"}, 400),
    Case(
        "discharge-moaas-missing",
        _recovery,
        "nurse",
        "discharge",
        {"escort_name": "Kim", "sedation_moaas": ""},
        400,
    ),
    Case("blank-note", _recovery, "nurse", "note", {"text": ""}, 400),
    Case(
        "amend-without-reason",
        _note_signed,
        "prescriber",
        "note_amend",
        {"text": "More", "reason": ""},
        400,
    ),
    # wrong role
    Case("nurse-signs-order", _checklist_passed, "nurse", "order_sign", {"mg_per_kg": "0.5"}, 403),
    Case(
        "therapist-signs-order",
        _checklist_passed,
        "therapist",
        "order_sign",
        {"mg_per_kg": "0.5"},
        403,
    ),
    Case(
        "front-desk-records-vitals",
        _checked_in,
        "front_desk",
        "vitals",
        {"systolic": "120", "diastolic": "80"},
        403,
    ),
    Case("patient-saves-checklist", _checked_in, "patient", "checklist", {**CHECKLIST}, 403),
    Case("clinic-admin-signs-note", _discharged, "clinic_admin", "note_sign", {"text": "x"}, 403),
]


@pytest.fixture
def arrange(dosing_session_for, users):
    def make(case: Case) -> tuple[DosingSession, int | None]:
        session = case.setup(dosing_session_for, users)
        alert = VitalAlert.objects.filter(session=session).order_by("-id").first()
        if case.alert:
            assert alert is not None, "the case needs a vitals alert"
        return session, alert.pk if alert else None

    return make


def _state(session: DosingSession) -> str:
    return DosingSession.objects.values_list("state", flat=True).get(pk=session.pk)


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_a_refused_api_call_changes_nothing(case, arrange, api_as):
    session, alert = arrange(case)
    client = api_as(case.role)
    assert client.get("/api/v1/me").status_code == 200  # the token's first use is recorded
    state, before = _state(session), snapshot()
    path = "/api/v1" + case.target.format(s=session.pk, alert=alert)
    body = _resolve(case.body, timezone.now())
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == case.status, response.content
    if case.fields:
        errors = response.json()["errors"]
        # A schema error names the body's field ("body.kind"), a service's the bare field.
        named = [
            e["rule"] if case.status == 409 else e["field"].removeprefix("body.") for e in errors
        ]
        for expected in case.fields:
            assert expected in named, (expected, errors)
        if case.status == 422:
            assert all(e["rule"] for e in errors)
    assert snapshot() == before
    assert _state(session) == state


@pytest.mark.parametrize("case", PAGE_CASES, ids=[c.id for c in PAGE_CASES])
def test_a_refused_page_post_changes_nothing(case, arrange, users, client_for):
    session, alert = arrange(case)
    client = client_for(users[case.role])
    state, before = _state(session), snapshot(exclude_reads=True)
    last_entry = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    target = alert if case.target == "vital_alert_acknowledge" else session.pk
    url = reverse(f"dosing:{case.target}", args=[target])
    response = client.post(url, _resolve(case.body, timezone.now(), page=True))
    assert response.status_code == case.status, response.content[:2000]
    assert snapshot(exclude_reads=True) == before
    assert _state(session) == state
    # The page shown again is a read of the patient's record, and only that.
    added = AuditEntry.objects.filter(pk__gt=last_entry)
    assert set(added.values_list("action", flat=True)) <= {Action.READ}


def test_every_post_route_and_operation_has_a_refusal_case():
    from kapcare.dosing.urls import urlpatterns

    post_views = {
        p.name
        for p in urlpatterns
        if p.name not in {"session", "order_preview", "vitals_reminder", "rems_pdf"}
    }
    assert post_views <= {c.target for c in PAGE_CASES}
    operations = {
        "/transitions", "/checklist", "/centering", "/orders", "/administration", "/devices",
        "/vitals", "/acknowledgement", "/side-effects", "/interventions", "/scores",
        "/discharge-assessment", "/reflection", "/note", "/note/sign", "/note/amendments",
    }  # fmt: skip
    assert operations <= {c.target[c.target.rfind("}") + 1 :] for c in API_CASES}


def test_a_blank_dose_on_the_order_form_is_400_naming_the_field(
    dosing_session_for, users, client_for
):
    session = _checklist_passed(dosing_session_for, users)
    client = client_for(users["prescriber"])  # signing in is an audit entry of its own
    before = snapshot(exclude_reads=True)
    response = client.post(
        reverse("dosing:order_sign", args=[session.pk]), {"mg_per_kg": "", "deviation_reason": ""}
    )
    assert response.status_code == 400
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("mg_per_kg:") for m in shown), shown
    assert not DoseOrder.objects.filter(session=session).exists()
    assert snapshot(exclude_reads=True) == before
    assert _state(session) == State.CHECKLIST_PASSED


def test_an_open_critical_alert_keeps_the_first_order_out(dosing_session_for, users, api_as):
    """The critical path in detail: 409 naming the alert, no order, still checklist_passed; once
    acknowledged, the same call signs."""
    session = _critical_open(dosing_session_for, users)
    path = f"/api/v1/sessions/{session.pk}/orders"
    client = api_as("prescriber")
    response = client.post(path, {"mg_per_kg": 0.5}, content_type="application/json")
    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert (error["rule"], error["overridable"]) == ("critical_alert", False)
    assert not DoseOrder.objects.filter(session=session).exists()
    assert _state(session) == State.CHECKLIST_PASSED
    alert = VitalAlert.objects.get(session=session, level="critical")
    services.acknowledge_vital_alert(
        Actor.for_user(users["nurse"]), alert, action_taken="Rested 10 min; informed prescriber"
    )
    response = client.post(path, {"mg_per_kg": 0.5}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert DoseOrder.objects.filter(session=session).count() == 1
    assert _state(session) == State.DOSE_ORDERED
