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
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.dosing import scenario, services
from kapcare.dosing.models import DoseOrder, DosingSession, State, VitalAlert
from kapcare.dosing.tests.conftest import (
    CHECKLIST,
    DISCHARGE,
    api_post,
    datetime_local,
    reading,
    run_to,
    short_fast,
    snapshot,
)
from kapcare.ledger import demo as ledger_demo

# --- bringing a session to the state a case needs --------------------------------------------

Setup = Callable[[Callable[..., DosingSession], dict[str, Any]], DosingSession]
"""Given ``dosing_session_for`` and the users, a session in the state a case needs."""


def _run(state: str, minutes_ago: float = 180, protocol: str = "iv-ptsd", **kwargs: Any) -> Setup:
    """A session of ``protocol`` run to ``state`` as if it began ``minutes_ago``."""

    def setup(make: Callable[..., DosingSession], users: dict[str, Any]) -> DosingSession:
        return run_to(make(protocol), users, state, minutes_ago=minutes_ago, **kwargs)

    return setup


def _scheduled(make, users):
    return make()


_checked_in = _run(State.CHECKED_IN, 5)
_checklist_passed = _run(State.CHECKLIST_PASSED, 20)
_dose_ordered = _run(State.DOSE_ORDERED, 30)
_dosing = _run(State.DOSING, 70)
# Dosing, with a critical BP that was acknowledged with the action taken.
_dosing_acknowledged = _run(State.DOSING, 70, critical_bp_at_min=10)
_recovery = _run(State.RECOVERY)
_discharged = _run(State.DISCHARGED)
_note_signed = _run(State.NOTE_SIGNED)
_esketamine_checklist_passed = _run(State.CHECKLIST_PASSED, 20, "esketamine")
_esketamine_all_devices = _run(State.DOSING, 30, "esketamine")


def _short_fast(make, users):
    """Checked in, every checklist item met except the fast (2 h): overridable."""
    return short_fast(_checked_in(make, users), users)


def _critical_open(make, users):
    """Checklist passed, then a critical BP (185/115) left unacknowledged."""
    session = _checklist_passed(make, users)
    now = timezone.now()
    nurse = Actor.for_user(users["nurse"])
    high = reading(now - timedelta(minutes=1), 185, 115)
    result = services.record_vitals(nurse, session, [high], now=now)
    assert any(alert.level == "critical" for _, alert in result.alerts)
    return session


def _dose_ordered_critical_open(make, users):
    """Dose ordered, then a critical BP (185/115) left unacknowledged: dosing may not start."""
    session = _dose_ordered(make, users)
    nurse, now = Actor.for_user(users["nurse"]), timezone.now()
    services.record_vitals(nurse, session, [reading(now - timedelta(minutes=1), 185, 115)], now=now)
    return session


def _cancelled(make, users):
    session = make()
    return services.transition(Actor.for_user(users["nurse"]), session, "cancelled", reason="ill")


def _esketamine_one_device(make, users):
    """Esketamine, dosing, the first of two devices used a minute ago."""
    session = _run(State.DOSE_ORDERED, 30, "esketamine")(make, users)
    nurse, now = Actor.for_user(users["nurse"]), timezone.now()
    start = now - timedelta(minutes=1)
    services.record_administration(
        nurse, session, draw=scenario.draw(session, start, users["prescriber"]), started_at=start,
        now=now,
    )  # fmt: skip
    services.transition(nurse, session, State.DOSING, now=now)
    services.record_device(nurse, session, used_at=start, now=now)
    return session


# --- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One refused post, through the API, the page, or both (the same entry through each)."""

    id: str
    setup: Setup
    role: str
    # The API operation under the session's path ("note/sign"), or a path from "/" under
    # /api/v1; the page posts to the operation's view (``VIEWS``).
    operation: str
    body: dict[str, Any]  # the API's body, and the page's form unless ``form`` is given
    api: int | None = 409  # the API's answer; None: a case for the page alone
    fields: str = ""  # the API's error fields (or rules for a 409) expected, space-separated
    page: int | None = None  # the page's answer; None: a case for the API alone
    form: dict[str, Any] | None = None

    @property
    def alert(self) -> bool:
        """The target is the session's latest vitals alert."""
        return self.operation == ACK

    @property
    def api_path(self) -> str:
        path = self.operation
        return "/api/v1" + (path if path.startswith("/") else f"/sessions/{{s}}/{path}")

    @property
    def view(self) -> str:
        return VIEWS[self.operation]


def _at(minutes: float) -> str:
    """A marker for a time ``minutes`` from the request's now."""
    return f"@now{minutes:+}"


def _resolve(value: Any, now: datetime, *, page: bool = False, names: Any = None) -> Any:
    """The body with its markers resolved: a time, a container (``VIAL``) or a user's email
    ("@prescriber"), from ``names`` (see ``_names``)."""
    names = names or {}
    if isinstance(value, str) and value.startswith("@now"):
        moment = now + timedelta(minutes=float(value[4:]))
        return datetime_local(moment) if page else moment.isoformat()
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, dict):
        return {k: _resolve(v, now, page=page, names=names) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, now, page=page, names=names) for v in value]
    return value


def _names(session: DosingSession, users: dict[str, Any]) -> dict[str, Any]:
    """What the markers stand for: a usable vial of the session's route (received first, so
    before the snapshot) and the users' emails."""
    vial = ledger_demo.container_for(session.route, Decimal(28), timezone.now())
    return {VIAL: vial.pk, **{f"@{role}": user.email for role, user in users.items()}}


def R(minutes: float = -1, **values: Any) -> dict[str, Any]:
    """A reading taken ``minutes`` from now (one of an API batch, or the page's vitals row)."""
    return reading(_at(minutes), **values)


def V(*readings: dict[str, Any]) -> dict[str, Any]:
    """An API vitals batch."""
    return {"readings": list(readings)}


ACK = "/vital-alerts/{alert}/acknowledgement"
VIEWS = {
    "transitions": "transition", "checklist": "checklist", "centering": "centering",
    "orders": "order_sign", "administration": "administration", "devices": "device",
    "vitals": "vitals", ACK: "vital_alert_acknowledge", "side-effects": "side_effect",
    "interventions": "intervention", "scores": "score", "discharge-assessment": "discharge",
    "reflection": "reflection", "note": "note", "note/sign": "note_sign",
    "note/amendments": "note_amend",
    # Page-only routes: the administration saved and dosing started in one post, "stopped now".
    "administration/start": "start_dosing", "administration/stop": "stop_dosing",
}  # fmt: skip
VIAL = "@vial"  # a marker for a usable container of the session's route (the ledger's)
# A draw from the vial with nothing wasted (no witness needed), and one wasting 0.3 mL.
DRAW = {"container_id": VIAL, "drawn_ml": "0.7", "given_ml": "0.7", "wasted_ml": "0"}
WASTE = {**DRAW, "drawn_ml": "1.0", "wasted_ml": "0.3", "waste_manner": "Expelled (synthetic)"}
TAKEN = {"systolic": "120", "diastolic": "80"}
NAUSEA = {"kind": "nausea", "severity": "mild"}
ONDANSETRON = {"drug": "Ondansetron", "dose": "4 mg IV"}

# One case a line (or two): the table reads better unwrapped.
# fmt: off
CASES = [
    # wrong state
    Case("checklist-on-scheduled", _scheduled, "nurse", "checklist", CHECKLIST, 409, "not_open",
         page=409),
    Case("centering-on-scheduled", _scheduled, "nurse", "centering",
         {"kind": "breathing", "minutes": 5},
         page=409, form={"centering_kind": "breathing", "centering_minutes": "5"}),
    Case("vitals-on-scheduled", _scheduled, "nurse", "vitals", V(R()), 409, "not_open"),
    Case("skip-check-in", _scheduled, "nurse", "transitions", {"to": "checklist_passed"}, 409,
         "illegal_transition", page=409),
    Case("order-before-checklist-passed", _checked_in, "prescriber", "orders", {"mg_per_kg": 0.5},
         409, "not_open", page=409),
    Case("administration-before-order", _checked_in, "nurse", "administration",
         {**DRAW, "started_at": _at(-1)}, page=409),
    Case("device-before-dosing", _checked_in, "nurse", "devices", {}),
    Case("side-effect-before-order", _checked_in, "nurse", "side-effects", NAUSEA, page=409),
    Case("intervention-before-order", _checked_in, "nurse", "interventions", ONDANSETRON,
         page=409),
    Case("score-before-order", _checked_in, "nurse", "scores", {"scale": "moaas", "value": 5},
         page=409),
    Case("discharge-assessment-when-checked-in", _checked_in, "nurse", "discharge-assessment",
         DISCHARGE),
    Case("discharge-when-checked-in", _checked_in, "nurse", "discharge-assessment",
         {"escort_name": "Kim", "sedation_moaas": "5"}, None, page=409),
    Case("reflection-when-checked-in", _checked_in, "nurse", "reflection", {"reflection": "Calm"},
         page=409),
    Case("note-when-checked-in", _checked_in, "nurse", "note", {"text": "Draft"}, page=409),
    Case("note-sign-before-discharge", _recovery, "prescriber", "note/sign", {}, 409, "not_open",
         page=409, form={"text": "Final"}),
    Case("amend-before-sign", _discharged, "prescriber", "note/amendments",
         {"text": "x", "reason": "y"}, 409, "not_signed", page=409),
    Case("checklist-after-it-passed", _checklist_passed, "nurse", "checklist", {"weight_kg": 71}),
    Case("dosing-from-checklist-passed", _checklist_passed, "nurse", "transitions",
         {"to": "dosing"}, 409, "illegal_transition"),
    Case("device-on-an-iv-session", _dosing, "nurse", "devices", {}, page=409),
    Case("all-devices-recorded", _esketamine_all_devices, "nurse", "devices", {}, 409,
         "all_recorded"),
    Case("discharge-assessment-while-dosing", _dosing, "nurse", "discharge-assessment",
         DISCHARGE),
    Case("vitals-on-discharged", _discharged, "nurse", "vitals", V(R()), 409, "not_open",
         page=409, form={**TAKEN, "taken_at": _at(-1)}),
    Case("side-effect-on-discharged", _discharged, "nurse", "side-effects", NAUSEA),
    Case("rewrite-signed-note", _note_signed, "prescriber", "note", {"text": "Rewritten"}, 409,
         "note_signed", page=409),
    Case("sign-note-twice", _note_signed, "prescriber", "note/sign", {}),
    Case("reopen-signed-session", _note_signed, "prescriber", "transitions",
         {"to": "recovery", "reason": "redo"}, 409, "illegal_transition"),
    Case("vitals-on-cancelled", _cancelled, "nurse", "vitals", V(R()), 409, "not_open"),
    Case("checklist-on-cancelled", _cancelled, "nurse", "checklist", CHECKLIST),
    Case("acknowledge-twice", _dosing_acknowledged, "nurse", ACK, {"action_taken": "Again"}, 409,
         "acknowledged", page=409),
    # unmet requirements
    Case("pass-checklist-with-nothing-recorded", _checked_in, "nurse", "transitions",
         {"to": "checklist_passed"}, 409, "checklist cssrs baseline_vitals", page=409),
    Case("nurse-overrides-short-fast", _short_fast, "nurse", "transitions",
         {"to": "checklist_passed", "reason": "ate a biscuit"}, 409, "fasting", page=409),
    Case("prescriber-overrides-without-reason", _short_fast, "prescriber", "transitions",
         {"to": "checklist_passed"}, 409, "fasting"),
    Case("dosing-without-administration", _dose_ordered, "nurse", "transitions", {"to": "dosing"},
         page=409),
    Case("prescriber-overrides-missing-administration", _dose_ordered, "prescriber",
         "transitions", {"to": "dosing", "reason": "urgent"}),
    Case("recovery-without-stop-time", _dosing, "nurse", "transitions", {"to": "recovery"}),
    Case("discharge-without-assessment", _recovery, "nurse", "transitions", {"to": "discharged"}),
    Case("note-signed-without-note", _discharged, "prescriber", "transitions",
         {"to": "note_signed"}, 422, "text"),
    Case("first-order-with-open-critical-alert", _critical_open, "prescriber", "orders",
         {"mg_per_kg": 0.5}, 409, "critical_alert", page=409),
    # bad input
    Case("unknown-state", _scheduled, "nurse", "transitions", {"to": "flying"}, 422, "to"),
    Case("transition-blank", _scheduled, "nurse", "transitions", {"to": ""}, None, page=400),
    Case("cancel-without-reason", _scheduled, "nurse", "transitions", {"to": "cancelled"}, 422,
         "reason", page=400),
    Case("checklist-weight-500", _checked_in, "nurse", "checklist", {"weight_kg": 500}, 422,
         "weight_kg", page=400, form={**CHECKLIST, "weight_kg": "500"}),
    Case("checklist-fasting-not-a-number", _checked_in, "nurse", "checklist",
         {"fasting_hours": "lots"}, 422, "fasting_hours"),
    Case("checklist-unknown-field", _checked_in, "nurse", "checklist", {"shoe_size": 9}, 422,
         "shoe_size"),
    Case("checklist-pregnancy-test-invalid", _checked_in, "nurse", "checklist",
         {"pregnancy_test": "maybe"}, 422, "pregnancy_test"),
    Case("centering-unknown-kind", _checked_in, "nurse", "centering",
         {"kind": "yoga", "minutes": 5}, 422, "kind"),
    Case("centering-zero-minutes", _checked_in, "nurse", "centering",
         {"kind": "breathing", "minutes": 0}, 422, "centering_minutes",
         page=400, form={"centering_kind": "breathing", "centering_minutes": "0"}),
    Case("vitals-in-the-future", _checked_in, "nurse", "vitals", V(R(-1), R(+10)), 422,
         "readings[1].taken_at", page=400, form={**TAKEN, "taken_at": _at(30)}),
    Case("vitals-before-check-in-less-slack", _checked_in, "nurse", "vitals", V(R(-1), R(-40)),
         422, "readings[1].taken_at", page=400, form={**TAKEN, "taken_at": _at(-45)}),
    Case("vitals-spo2-140", _checked_in, "nurse", "vitals", V(R(-1, spo2=140)), 422,
         "readings[0].spo2", page=400, form={"spo2": "140", "taken_at": _at(-1)}),
    Case("vitals-unknown-field", _checked_in, "nurse", "vitals", V(R(-1, spO2=97)), 422,
         "readings[0].spO2"),
    Case("vitals-empty-batch", _checked_in, "nurse", "vitals", V(), 422, "readings"),
    Case("vitals-systolic-without-diastolic", _checked_in, "nurse", "vitals",
         V(R(-1, diastolic=None)), 422, "readings[0].diastolic"),
    Case("order-no-dose", _checklist_passed, "prescriber", "orders", {}, 422, "mg_per_kg"),
    Case("order-null-dose", _checklist_passed, "prescriber", "orders",
         {"mg_per_kg": None, "dose_mg": None}, 422, "mg_per_kg"),
    Case("order-blank-dose", _checklist_passed, "prescriber", "orders",
         {"mg_per_kg": "", "deviation_reason": ""}, None, page=400),
    Case("order-deviation-without-reason", _checklist_passed, "prescriber", "orders",
         {"mg_per_kg": 2.0}, 422, "deviation_reason", page=400),
    Case("order-deviation-blank-reason", _checklist_passed, "prescriber", "orders",
         {"mg_per_kg": 2.0, "deviation_reason": "   "}, 422, "deviation_reason"),
    Case("esketamine-order-no-dose", _esketamine_checklist_passed, "prescriber", "orders", {},
         422, "dose_mg"),
    Case("esketamine-order-30-mg", _esketamine_checklist_passed, "prescriber", "orders",
         {"dose_mg": 30.5}, 422, "dose_mg"),
    Case("administration-no-container", _dose_ordered, "nurse", "administration",
         {"started_at": _at(-1)}, 422, "container_id", page=400),
    Case("administration-start-in-future", _dose_ordered, "nurse", "administration",
         {**DRAW, "started_at": _at(30)}, 422, "started_at"),
    Case("administration-stop-before-start", _dosing, "nurse", "administration",
         {"started_at": _at(-10), "stopped_at": _at(-20)}, 422, "stopped_at"),
    # The draw is refused by the ledger: the administration is not stored either.
    Case("administration-drawn-not-given-plus-wasted", _dose_ordered, "nurse", "administration",
         {**WASTE, "wasted_ml": "0.2", "started_at": _at(-1)}, 422, "drawn_ml"),
    Case("administration-more-than-the-vial-holds", _dose_ordered, "nurse", "administration",
         {**DRAW, "drawn_ml": "20", "given_ml": "20", "started_at": _at(-1)}, 409,
         "insufficient_balance"),
    Case("administration-waste-without-a-witness", _dose_ordered, "nurse", "administration",
         {**WASTE, "started_at": _at(-1)}, 409, "witness_required"),
    Case("start-dosing-waste-without-a-witness", _dose_ordered, "nurse", "administration/start",
         {**WASTE, "started_at": _at(-1)}, None, page=409),
    Case("start-dosing-waste-witness-wrong-password", _dose_ordered, "nurse",
         "administration/start", {**WASTE, "started_at": _at(-1)}, None, page=409,
         form={**WASTE, "started_at": _at(-1), "witness_email": "@prescriber",
               "witness_password": "not their password"}),
    Case("start-dosing-waste-without-its-manner", _dose_ordered, "nurse", "administration/start",
         {**WASTE, "waste_manner": "", "started_at": _at(-1)}, None, page=400),
    Case("device-too-soon", _esketamine_one_device, "nurse", "devices", {}, 422, "used_at"),
    Case("start-dosing-no-container", _dose_ordered, "nurse", "administration/start",
         {"started_at": _at(-1)}, None, page=400),
    # The administration is valid but the move is not: neither is stored.
    Case("start-dosing-with-an-open-critical-alert", _dose_ordered_critical_open, "nurse",
         "administration/start", {**DRAW, "started_at": _at(-1)}, None, page=409),
    Case("start-dosing-twice", _dosing, "nurse", "administration/start",
         {**DRAW, "started_at": _at(-1)}, None, page=409),
    Case("stop-before-administration", _dose_ordered, "nurse", "administration/stop", {}, None,
         page=409),
    Case("stop-an-esketamine-dose", _esketamine_one_device, "nurse", "administration/stop", {},
         None, page=409),
    Case("side-effect-unknown-kind", _dose_ordered, "nurse", "side-effects",
         {"kind": "glowing", "severity": "mild"}, 422, "kind"),
    Case("side-effect-other-without-note", _dose_ordered, "nurse", "side-effects",
         {"kind": "other", "severity": "mild"}, 422, "note", page=400),
    Case("intervention-blank-drug", _dose_ordered, "nurse", "interventions",
         {"drug": " ", "dose": "4 mg"}, 422, "drug", page=400, form={"drug": "", "dose": "4 mg"}),
    Case("score-moaas-9", _dose_ordered, "nurse", "scores", {"scale": "moaas", "value": 9}, 422,
         "value", page=400),
    Case("score-cadss6-three-items", _dose_ordered, "nurse", "scores",
         {"scale": "cadss6", "items": [1, 2, 3]}, 422, "items"),
    Case("discharge-moaas-7", _recovery, "nurse", "discharge-assessment",
         {**DISCHARGE, "sedation_moaas": 7}, 422, "sedation_moaas"),
    Case("discharge-moaas-missing", _recovery, "nurse", "discharge-assessment",
         {"escort_name": "Kim", "sedation_moaas": ""}, None, page=400),
    Case("blank-note", _recovery, "nurse", "note", {"text": "   "}, 422, "text",
         page=400, form={"text": ""}),
    Case("sign-without-a-note", _discharged, "prescriber", "note/sign", {}, 422, "text"),
    Case("amend-without-reason", _note_signed, "prescriber", "note/amendments",
         {"text": "More", "reason": ""}, 422, "reason", page=400),
    Case("acknowledge-without-action", _critical_open, "nurse", ACK, {"action_taken": "  "}, 422,
         "action_taken", page=400, form={"action_taken": ""}),
    # wrong role
    Case("nurse-signs-order", _checklist_passed, "nurse", "orders", {"mg_per_kg": 0.5}, 403,
         page=403),
    Case("therapist-signs-order", _checklist_passed, "therapist", "orders", {"mg_per_kg": 0.5},
         403, page=403),
    Case("front-desk-checks-in", _scheduled, "front_desk", "transitions", {"to": "checked_in"},
         403),
    Case("front-desk-records-vitals", _checked_in, "front_desk", "vitals", TAKEN, None, page=403),
    Case("patient-records-vitals", _checked_in, "patient", "vitals", V(R()), 403),
    Case("patient-saves-checklist", _checked_in, "patient", "checklist", CHECKLIST, None,
         page=403),
    Case("clinic-admin-saves-checklist", _checked_in, "clinic_admin", "checklist", CHECKLIST, 403),
    Case("front-desk-signs-note", _discharged, "front_desk", "note/sign", {}, 403),
    Case("clinic-admin-signs-note", _discharged, "clinic_admin", "note/sign", {"text": "x"}, None,
         page=403),
    Case("clinic-admin-acknowledges-alert", _critical_open, "clinic_admin", ACK,
         {"action_taken": "Rested"}, 403),
    # unknown
    Case("unknown-session", _scheduled, "nurse", "/sessions/999999/transitions",
         {"to": "checked_in"}, 404),
    Case("unknown-alert", _scheduled, "nurse", "/vital-alerts/999999/acknowledgement",
         {"action_taken": "Rested"}, 404),
]
# fmt: on
API_CASES = [case for case in CASES if case.api is not None]
PAGE_CASES = [case for case in CASES if case.page is not None]


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
def test_a_refused_api_call_changes_nothing(case, arrange, api_as, users):
    session, alert = arrange(case)
    names = _names(session, users)
    client = api_as(case.role)
    assert client.get("/api/v1/me").status_code == 200  # the token's first use is recorded
    state, before = _state(session), snapshot()
    path = case.api_path.format(s=session.pk, alert=alert)
    body = _resolve(case.body, timezone.now(), names=names)
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == case.api, response.content
    if case.fields:
        errors = response.json()["errors"]
        # A schema error names the body's field ("body.kind"), a service's the bare field.
        named = [e["rule"] if case.api == 409 else e["field"].removeprefix("body.") for e in errors]
        for expected in case.fields.split():
            assert expected in named, (expected, errors)
        if case.api == 422:
            assert all(e["rule"] for e in errors)
    assert snapshot() == before
    assert _state(session) == state
    # Refused for who the caller is: the attempt itself is logged (and nothing else is).
    refusals = AuditEntry.objects.filter(action=Action.REFUSED, what__contains=path)
    assert refusals.exists() == (case.api == 403)


@pytest.mark.parametrize("case", PAGE_CASES, ids=[c.id for c in PAGE_CASES])
def test_a_refused_page_post_changes_nothing(case, arrange, users, client_for):
    session, alert = arrange(case)
    names = _names(session, users)
    client = client_for(users[case.role])
    state, before = _state(session), snapshot(exclude_reads=True)
    last_entry = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    target = alert if case.view == "vital_alert_acknowledge" else session.pk
    url = reverse(f"dosing:{case.view}", args=[target])
    form = case.body if case.form is None else case.form
    response = client.post(url, _resolve(form, timezone.now(), page=True, names=names))
    assert response.status_code == case.page, response.content[:2000]
    assert snapshot(exclude_reads=True) == before
    assert _state(session) == state
    # The page shown again is a read of the patient's record, and only that; a 403 is also
    # logged as a refusal.
    added = AuditEntry.objects.filter(pk__gt=last_entry)
    logged = {Action.READ, Action.REFUSED} if case.page == 403 else {Action.READ}
    # A witness who fails to sign in on the page is logged as any failed sign-in is.
    if form.get("witness_password"):
        logged.add(Action.SIGN_IN_FAILED)
        assert added.filter(action=Action.SIGN_IN_FAILED).count() == 1
    assert set(added.values_list("action", flat=True)) <= logged


def test_every_post_route_and_operation_has_a_refusal_case():
    from kapcare.dosing.urls import urlpatterns

    post_views = {
        p.name
        for p in urlpatterns
        if p.name not in {"session", "order_preview", "vitals_reminder", "rems_pdf"}
    }
    assert post_views <= {c.view for c in PAGE_CASES}
    operations = {
        "transitions", "checklist", "centering", "orders", "administration", "devices",
        "vitals", "acknowledgement", "side-effects", "interventions", "scores",
        "discharge-assessment", "reflection", "note", "note/sign", "note/amendments",
    }  # fmt: skip
    assert operations <= {c.operation.rsplit("}/", 1)[-1] for c in API_CASES}


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
    assert any(m.startswith("Dose per kilogram: ") for m in shown), shown
    assert not DoseOrder.objects.filter(session=session).exists()
    assert snapshot(exclude_reads=True) == before
    assert _state(session) == State.CHECKLIST_PASSED


def test_an_open_critical_alert_keeps_the_first_order_out(dosing_session_for, users, api_as):
    """The critical path in detail: 409 naming the alert, no order, still checklist_passed; once
    acknowledged, the same call signs."""
    session = _critical_open(dosing_session_for, users)
    path = f"/sessions/{session.pk}/orders"
    client = api_as("prescriber")
    response = api_post(client, path, {"mg_per_kg": 0.5})
    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert (error["rule"], error["overridable"]) == ("critical_alert", False)
    assert not DoseOrder.objects.filter(session=session).exists()
    assert _state(session) == State.CHECKLIST_PASSED
    alert = VitalAlert.objects.get(session=session, level="critical")
    services.acknowledge_vital_alert(
        Actor.for_user(users["nurse"]), alert, action_taken="Rested 10 min; informed prescriber"
    )
    response = api_post(client, path, {"mg_per_kg": 0.5})
    assert response.status_code == 201, response.content
    assert DoseOrder.objects.filter(session=session).count() == 1
    assert _state(session) == State.DOSE_ORDERED
