"""Tests for kapcare.clinical.session: the states and moves, the entries open in each state, the
checklist, discharge and esketamine rules, and ``decide`` (examples, then properties)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapcare.clinical.session import (
    CANCELLABLE,
    FORWARD,
    MOVE_LABELS,
    OPEN_IN,
    AdministrationFacts,
    ChecklistFacts,
    ConsentFacts,
    CssrsFacts,
    Decision,
    DischargeInputs,
    NoteFacts,
    SessionFacts,
    SessionPolicy,
    State,
    Step,
    allowed_next,
    checklist_items,
    consent_code,
    decide,
    discharge_unmet,
    esketamine_bp_unmet,
    minutes_observed,
    next_step,
    observation_start,
    pregnancy_test_applies,
    step_open,
    step_refusal,
    unmet,
)
from kapcare.clinical.vitals import Reading as R
from kapcare.clinical.vitals import VitalsThresholds
from kapcare.errors import FieldInvalid

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
"""Check-in of the example session."""


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


WALK = (
    State.CHECKED_IN,
    State.CHECKLIST_PASSED,
    State.DOSE_ORDERED,
    State.DOSING,
    State.RECOVERY,
    State.DISCHARGED,
    State.NOTE_SIGNED,
)
ROUTES = ("iv", "im", "intranasal", "esketamine")
MIN_OBSERVATION = {"iv": 30, "im": 60, "intranasal": 60, "esketamine": 120}

GOOD_CHECKLIST = ChecklistFacts(
    fasting_hours=6.0,
    driver_name="Alex Example",
    driver_phone="555-0100",
    medication_holds_confirmed=True,
    medication_holds_note="No holds needed",
    pregnancy_test="negative",
    weight_kg=70.0,
    intention="To feel more present with my family.",
)
GOOD_DISCHARGE = DischargeInputs(
    escort_name="Alex Example",
    sedation_moaas=5,
    dissociation_resolved=True,
    nausea_controlled=True,
    ambulating_steadily=True,
)
SIGNED = ConsentFacts(
    code="ketamine-treatment",
    title="Consent to ketamine treatment",
    version=2,
    signed_current_version=True,
    signed_version=2,
)
NORMAL = R(systolic=128, diastolic=80, heart_rate=76, spo2=98, resp_rate=14)


def complete(route: str = "iv", state: State = State.SCHEDULED, **changes: Any) -> SessionFacts:
    """A session with every record in place (dosing from minute 25; IV stopped at 65;
    esketamine devices at 25 and 30, BP at 65 and at 150), then ``changes``."""
    esketamine = route == "esketamine"
    facts = SessionFacts(
        state=state,
        route=route,
        policy=SessionPolicy(min_observation_min=MIN_OBSERVATION[route]),
        sex_at_birth="female",
        age_years=34,
        checklist=GOOD_CHECKLIST,
        cssrs_today=CssrsFacts(band="low", suicide_risk=False),
        baseline=NORMAL,
        has_pre_dose_bp=True,
        has_current_order=True,
        current_order_devices=2 if esketamine else None,
        administration=AdministrationFacts(
            started_at=at(25),
            follows_current_order=True,
            stopped_at=at(30) if esketamine else at(65),
            devices_used=2 if esketamine else 0,
            first_device_at=at(25) if esketamine else None,
        ),
        bp_taken=((at(8), "pre_dose"), (at(65), "dosing"), (at(150), "recovery")),
        latest_recovery=NORMAL,
        discharge=GOOD_DISCHARGE,
        note=NoteFacts(has_text=True, signed=True),
        consent=SIGNED,
    )
    return dataclasses.replace(facts, **changes)


DISCHARGE_AT = {"iv": at(100), "im": at(130), "intranasal": at(130), "esketamine": at(150)}


def codes(found: tuple[Any, ...] | Decision) -> list[str]:
    items = found.unmet if isinstance(found, Decision) else found
    return [r.code for r in items]


def nurse(facts: SessionFacts, to: State, now: datetime = T0, reason: str = "") -> Decision:
    return decide(facts, to, now, by_prescriber=False, reason=reason)


def prescriber(facts: SessionFacts, to: State, now: datetime = T0, reason: str = "") -> Decision:
    return decide(facts, to, now, by_prescriber=True, reason=reason)


# --- states and moves ------------------------------------------------------------------------


def test_state_values_are_the_dosing_apps() -> None:
    assert [s.value for s in State] == [
        "scheduled",
        "checked_in",
        "checklist_passed",
        "dose_ordered",
        "dosing",
        "recovery",
        "discharged",
        "note_signed",
        "cancelled",
    ]
    assert State.CHECKLIST_PASSED.label == "Checklist passed"


def test_allowed_next_for_every_state() -> None:
    assert {s: set(allowed_next(s)) for s in State} == {
        State.SCHEDULED: {State.CHECKED_IN, State.CANCELLED},
        State.CHECKED_IN: {State.CHECKLIST_PASSED, State.CANCELLED},
        State.CHECKLIST_PASSED: {State.DOSE_ORDERED, State.CANCELLED},
        State.DOSE_ORDERED: {State.DOSING, State.CANCELLED},
        State.DOSING: {State.RECOVERY},
        State.RECOVERY: {State.DISCHARGED},
        State.DISCHARGED: {State.NOTE_SIGNED},
        State.NOTE_SIGNED: set(),
        State.CANCELLED: set(),
    }
    assert allowed_next(State.SCHEDULED) == (State.CHECKED_IN, State.CANCELLED)
    assert next_step(State.DOSING) == State.RECOVERY
    assert next_step(State.NOTE_SIGNED) is None and next_step(State.CANCELLED) is None


@pytest.mark.parametrize("state", list(State))
def test_every_illegal_move_is_refused_as_illegal(state: State) -> None:
    facts = complete(state=state)
    for target in State:
        if target in allowed_next(state):
            continue
        decision = prescriber(facts, target, reason="trying")
        assert decision.illegal and not decision.allowed and decision.unmet == ()
        assert "not possible while the session is" in decision.message


def test_illegal_messages_name_the_next_step() -> None:
    assert prescriber(complete(state=State.DOSING), State.DISCHARGED, reason="x").message == (
        "Discharge: not possible while the session is dosing (next: start recovery)."
    )
    assert nurse(complete(state=State.SCHEDULED), State.DOSING).message == (
        "Start dosing: not possible while the session is scheduled "
        "(next: check in or cancel the session)."
    )
    assert nurse(complete(state=State.NOTE_SIGNED), State.CANCELLED, reason="x").message.endswith(
        "(the record is complete)."
    )
    assert nurse(complete(state=State.CANCELLED), State.CHECKED_IN).message.endswith(
        "(the session is cancelled)."
    )


def test_unknown_target_is_illegal() -> None:
    decision = decide(complete(), "finished", T0, by_prescriber=True, reason="x")
    assert decision.illegal and not decision.allowed
    assert decision.message == "There is no session state 'finished'."
    assert decide(complete(), "checked_in", T0, by_prescriber=False, reason="").allowed


@pytest.mark.parametrize("route", ROUTES)
def test_complete_session_walks_to_a_signed_note(route: str) -> None:
    facts = complete(route)
    for to in WALK:
        decision = nurse(facts, to, DISCHARGE_AT[route])
        assert decision.allowed, decision.message
        assert decision.overridden == () and decision.unmet == ()
        assert decision.message == f"{MOVE_LABELS[to]}: allowed."
        facts = dataclasses.replace(facts, state=to)


# --- cancelling and critical alerts ----------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancelling_needs_a_reason(reason: str) -> None:
    decision = prescriber(complete(state=State.CHECKED_IN), State.CANCELLED, reason=reason)
    assert not decision.allowed and not decision.illegal
    assert codes(decision) == ["reason"] and not decision.unmet[0].overridable
    assert decision.message == "Cancel the session needs: Give a reason for cancelling."


def test_anyone_cancels_with_a_reason_even_with_an_open_critical_alert() -> None:
    facts = complete(state=State.DOSE_ORDERED, open_critical_alerts=1)
    decision = nurse(facts, State.CANCELLED, reason="Patient unwell")
    assert decision.allowed and decision.overridden == ()
    assert unmet(facts, State.CANCELLED, T0) == ()


@pytest.mark.parametrize("to", [s for s in State if s != State.CANCELLED])
def test_an_open_critical_alert_blocks_every_other_move(to: State) -> None:
    found = unmet(complete(open_critical_alerts=2), to, DISCHARGE_AT["iv"])
    assert codes(found)[-1] == "critical_alert" and codes(found).count("critical_alert") == 1
    assert not found[-1].overridable
    assert found[-1].message == "Acknowledge each critical vitals alert with the action taken"


# --- the checklist ---------------------------------------------------------------------------


def test_complete_checklist_passes() -> None:
    items = checklist_items(complete())
    assert [i.code for i in items] == [
        "consent",
        "fasting",
        "driver",
        "medication_holds",
        "pregnancy_test",
        "cssrs",
        "baseline_vitals",
        "weight",
        "intention",
    ]
    assert all(i.ok for i in items)
    assert {i.code: i.detail for i in items} == {
        "consent": "Consent to ketamine treatment version 2, signed",
        "fasting": "6.0 h (at least 4 h, clinic policy)",
        "driver": "Alex Example, 555-0100",
        "medication_holds": "No holds needed",
        "pregnancy_test": "negative",
        "cssrs": "low risk",
        "baseline_vitals": "128/80 mmHg, HR 76",
        "weight": "70.0 kg",
        "intention": "To feel more present with my family.",
    }


def test_checklist_item_needs_a_prescriber_override_with_a_reason() -> None:
    facts = complete(
        state=State.CHECKED_IN, checklist=dataclasses.replace(GOOD_CHECKLIST, fasting_hours=2.0)
    )
    refused = nurse(facts, State.CHECKLIST_PASSED)
    assert codes(refused) == ["fasting"] and refused.unmet[0].overridable
    assert refused.message == (
        "Pass the checklist needs: Fasting: 2.0 h (at least 4 h, clinic policy) "
        "(or a prescriber's override with a reason)."
    )
    assert not nurse(facts, State.CHECKLIST_PASSED, reason="ate a biscuit").allowed
    assert not prescriber(facts, State.CHECKLIST_PASSED).allowed
    assert not prescriber(facts, State.CHECKLIST_PASSED, reason="  ").allowed
    passed = prescriber(facts, State.CHECKLIST_PASSED, reason="Clear fluids only")
    assert passed.allowed and passed.overridden == ("fasting",)
    assert passed.message == (
        "Pass the checklist: allowed, overriding: Fasting: 2.0 h (at least 4 h, clinic policy)."
    )


def test_no_checklist_cannot_be_overridden() -> None:
    facts = complete(state=State.CHECKED_IN, checklist=None)
    found = unmet(facts, State.CHECKLIST_PASSED, T0)
    assert codes(found) == [
        "checklist",
        "fasting",
        "driver",
        "medication_holds",
        "pregnancy_test",
        "weight",
        "intention",
    ]
    assert [r.overridable for r in found] == [False] + [True] * 6
    assert [r.message for r in found] == [
        "Complete the pre-session checklist first",
        "Fasting: not recorded",
        "Designated driver: name and phone needed",
        "Medication holds: not confirmed",
        "Pregnancy test: needed today",
        "Weight today: not recorded",
        "Intention: not set",
    ]
    decision = prescriber(facts, State.CHECKLIST_PASSED, reason="x")
    assert not decision.allowed and decision.message.startswith(
        "Pass the checklist needs: Complete the pre-session checklist first."
    )


def test_the_consent_template_by_route() -> None:
    assert consent_code("esketamine") == "esketamine-treatment"
    assert {consent_code(r) for r in ("iv", "im", "intranasal", "oral")} == {"ketamine-treatment"}


def test_the_consent_item_names_the_missing_version() -> None:
    unsigned = dataclasses.replace(SIGNED, signed_current_version=False, signed_version=None)
    assert _item(complete(consent=unsigned), "consent") == (
        False,
        "not signed: Consent to ketamine treatment version 2",
    )
    older = dataclasses.replace(unsigned, signed_version=1)
    assert _item(complete(consent=older), "consent") == (
        False,
        "not signed: Consent to ketamine treatment version 2 "
        "(version 1 was signed; a newer version replaced it)",
    )
    none = ConsentFacts(code="esketamine-treatment")
    assert _item(complete(route="esketamine", consent=none), "consent") == (
        False,
        "not signed: no current version of the esketamine-treatment consent exists "
        "(a clinic administrator must publish one)",
    )
    assert _item(complete(route="esketamine", consent=None), "consent") == (
        False,
        "not signed: the esketamine-treatment consent",
    )


def test_no_override_passes_the_checklist_or_starts_dosing_without_the_consent() -> None:
    unsigned = dataclasses.replace(SIGNED, signed_current_version=False, signed_version=1)
    for to in (State.CHECKLIST_PASSED, State.DOSING):
        facts = complete(state=FORWARD_FROM[to], consent=unsigned)
        refused = prescriber(facts, to, reason="Consented verbally; form to follow")
        assert not refused.allowed and codes(refused) == ["consent"]
        assert not refused.unmet[0].overridable
        assert "Treatment consent: not signed: Consent to ketamine treatment version 2" in (
            refused.message
        )
    # With another item missing too, only the consent blocks the prescriber's override.
    facts = complete(
        state=State.CHECKED_IN,
        consent=unsigned,
        checklist=dataclasses.replace(GOOD_CHECKLIST, fasting_hours=2.0),
    )
    refused = prescriber(facts, State.CHECKLIST_PASSED, reason="Clear fluids only")
    assert codes(refused) == ["consent", "fasting"] and not refused.allowed
    assert [r.overridable for r in refused.unmet] == [False, True]
    assert prescriber(
        complete(state=State.CHECKED_IN, checklist=facts.checklist),
        State.CHECKLIST_PASSED,
        reason="Clear fluids only",
    ).allowed


FORWARD_FROM = {to: state for state, to in FORWARD.items()}


def _item(facts: SessionFacts, code: str) -> tuple[bool, str]:
    item = next(i for i in checklist_items(facts) if i.code == code)
    return item.ok, item.detail


def test_checklist_item_details() -> None:
    c = GOOD_CHECKLIST
    assert _item(complete(checklist=dataclasses.replace(c, fasting_hours=4.0)), "fasting") == (
        True,
        "4.0 h (at least 4 h, clinic policy)",
    )
    assert _item(complete(checklist=dataclasses.replace(c, fasting_hours=3.9)), "fasting")[0] is (
        False
    )
    policy = SessionPolicy(min_observation_min=30, fasting_min_hours=6.5)
    assert _item(complete(policy=policy), "fasting") == (
        False,
        "6.0 h (at least 6.5 h, clinic policy)",
    )
    for name, phone in (("Kim", " "), ("  ", "555")):
        no_driver = dataclasses.replace(c, driver_name=name, driver_phone=phone)
        assert _item(complete(checklist=no_driver), "driver") == (False, "name and phone needed")
    no_note = dataclasses.replace(c, medication_holds_note="")
    assert _item(complete(checklist=no_note), "medication_holds") == (True, "confirmed")
    unconfirmed = dataclasses.replace(c, medication_holds_confirmed=False)
    assert _item(complete(checklist=unconfirmed), "medication_holds") == (False, "not confirmed")
    assert _item(complete(checklist=dataclasses.replace(c, weight_kg=None)), "weight") == (
        False,
        "not recorded",
    )
    long = dataclasses.replace(c, intention="  " + "x" * 100 + "  ")
    assert _item(complete(checklist=long), "intention") == (True, "x" * 80)
    assert _item(complete(checklist=dataclasses.replace(c, intention=" ")), "intention") == (
        False,
        "not set",
    )


@pytest.mark.parametrize(
    ("sex", "age", "applies"),
    [
        ("female", 34, True),
        ("female", 55, True),
        ("female", 56, False),
        ("intersex", 40, True),
        ("male", 30, False),
        ("", 30, False),
        ("female", None, True),
    ],
)
def test_pregnancy_test_applies(sex: str, age: int | None, applies: bool) -> None:
    facts = complete(sex_at_birth=sex, age_years=age, checklist=ChecklistFacts())
    assert pregnancy_test_applies(facts) is applies
    assert _item(facts, "pregnancy_test") == (
        (False, "needed today") if applies else (True, "not applicable")
    )


def test_pregnancy_test_results_and_age_setting() -> None:
    for result, expected in (
        ("negative", (True, "negative")),
        ("positive", (False, "POSITIVE: do not dose")),
        ("not_done", (False, "needed today")),
        ("not_applicable", (False, "needed today")),
        ("", (False, "needed today")),
    ):
        checklist = dataclasses.replace(GOOD_CHECKLIST, pregnancy_test=result)
        assert _item(complete(checklist=checklist), "pregnancy_test") == expected
    policy = SessionPolicy(min_observation_min=30, pregnancy_test_max_age_years=30)
    assert not pregnancy_test_applies(complete(policy=policy, age_years=34))


def test_cssrs_item() -> None:
    assert _item(complete(cssrs_today=None), "cssrs") == (False, "not done today")
    risk = CssrsFacts(band="high", suicide_risk=True)
    assert _item(complete(cssrs_today=risk), "cssrs") == (
        False,
        "high risk: prescriber review before dosing",
    )


def test_baseline_item() -> None:
    needed = (False, "BP and heart rate needed before dosing")
    assert _item(complete(baseline=None), "baseline_vitals") == needed
    assert _item(complete(baseline=R(systolic=120, diastolic=80)), "baseline_vitals") == needed
    assert _item(complete(baseline=R(heart_rate=70)), "baseline_vitals") == needed
    assert _item(complete(baseline=R(systolic=150, heart_rate=70)), "baseline_vitals") == (
        True,
        "150/? mmHg, HR 70",  # a warning (above 140/90) does not fail the item
    )
    critical = R(systolic=186, diastolic=112, heart_rate=80)
    assert _item(complete(baseline=critical), "baseline_vitals") == (
        False,
        "186/112 mmHg, HR 80 - CRITICAL: BP 186/112 mmHg at or above 180/110: do not start dosing.",
    )
    lower = SessionPolicy(
        min_observation_min=30,
        thresholds=VitalsThresholds(critical_systolic_at_or_above=125),
    )
    assert _item(complete(policy=lower), "baseline_vitals")[0] is False


# --- ordering and dosing ---------------------------------------------------------------------


def test_dose_ordered_needs_a_signed_order() -> None:
    facts = complete(state=State.CHECKLIST_PASSED, has_current_order=False)
    decision = prescriber(facts, State.DOSE_ORDERED, reason="x")
    assert codes(decision) == ["dose_order"] and not decision.allowed
    assert decision.message == "Sign the dose order needs: A prescriber must sign a dose order."


def test_dosing_needs_the_administration_of_the_current_order() -> None:
    facts = complete(state=State.DOSE_ORDERED, administration=None)
    assert [(r.code, r.message, r.overridable) for r in unmet(facts, State.DOSING, T0)] == [
        ("administration", "Record the lot, vial and start time first", False)
    ]
    stale = AdministrationFacts(started_at=at(25), follows_current_order=False)
    for changes in ({"administration": stale}, {"has_current_order": False}):
        found = unmet(complete(state=State.DOSE_ORDERED, **changes), State.DOSING, T0)
        assert [(r.code, r.message) for r in found] == [
            ("administration", "The administration must follow the current signed order")
        ]


def test_esketamine_needs_a_blood_pressure_before_dosing() -> None:
    facts = complete("esketamine", State.DOSE_ORDERED, has_pre_dose_bp=False)
    found = unmet(facts, State.DOSING, T0)
    assert [(r.code, r.overridable) for r in found] == [("bp_before_dosing", False)]
    assert found[0].message == (
        "Esketamine: blood pressure before dosing is required (SPRAVATO label)"
    )
    assert unmet(complete("iv", State.DOSE_ORDERED, has_pre_dose_bp=False), State.DOSING, T0) == ()


def test_critical_baseline_blocks_dosing_unless_a_prescriber_overrides() -> None:
    critical = R(systolic=186, diastolic=112, heart_rate=80)
    facts = complete(state=State.DOSE_ORDERED, baseline=critical, open_critical_alerts=1)
    refused = prescriber(facts, State.DOSING, reason="reviewed")
    assert codes(refused) == ["baseline_vitals", "critical_alert"] and not refused.allowed
    assert refused.message == (
        "Start dosing needs: Acknowledge each critical vitals alert with the action taken."
    )
    acknowledged = dataclasses.replace(facts, open_critical_alerts=0)
    assert codes(nurse(acknowledged, State.DOSING)) == ["baseline_vitals"]
    assert not nurse(acknowledged, State.DOSING).allowed
    passed = prescriber(acknowledged, State.DOSING, reason="Known white-coat hypertension")
    assert passed.allowed and passed.overridden == ("baseline_vitals",)


# --- recovery --------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["iv", "im", "intranasal"])
def test_recovery_needs_the_stop_time(route: str) -> None:
    administration = AdministrationFacts(started_at=at(25), follows_current_order=True)
    for changes in ({"administration": None}, {"administration": administration}):
        found = unmet(complete(route, State.DOSING, **changes), State.RECOVERY, T0)
        assert [(r.code, r.message, r.overridable) for r in found] == [
            ("administration_stop", "Record when the administration stopped", False)
        ]


def test_esketamine_recovery_needs_each_device() -> None:
    one = AdministrationFacts(
        started_at=at(25), follows_current_order=True, devices_used=1, first_device_at=at(25)
    )
    found = unmet(complete("esketamine", State.DOSING, administration=one), State.RECOVERY, T0)
    assert [(r.code, r.message, r.overridable) for r in found] == [
        ("devices", "Record each device's time (1 of 2)", False)
    ]
    # No stop time is needed for esketamine: the last device ends the administration.
    assert unmet(complete("esketamine", State.DOSING), State.RECOVERY, T0) == ()
    for changes in ({"has_current_order": False}, {"current_order_devices": None}):
        facts = complete("esketamine", State.DOSING, administration=one, **changes)
        assert unmet(facts, State.RECOVERY, T0) == ()


# --- observation and discharge ---------------------------------------------------------------


def test_observation_start_and_minutes() -> None:
    iv = complete("iv")
    assert observation_start(iv) == at(65)
    assert minutes_observed(iv, at(95) + timedelta(seconds=59)) == 30
    assert minutes_observed(iv, at(60)) == 0  # before the stop
    running = AdministrationFacts(started_at=at(25), follows_current_order=True)
    assert observation_start(complete(administration=running)) is None
    assert minutes_observed(complete(administration=None), at(500)) == 0
    esketamine = complete("esketamine")
    assert observation_start(esketamine) == at(25)  # the first device
    no_device = AdministrationFacts(started_at=at(24), follows_current_order=True)
    assert observation_start(complete("esketamine", administration=no_device)) == at(24)
    assert minutes_observed(complete("esketamine", administration=None), at(500)) == 0


def test_discharge_without_an_assessment_is_refused_even_for_a_prescriber() -> None:
    facts = complete(state=State.RECOVERY, discharge=None)
    assert [(r.code, r.overridable) for r in discharge_unmet(facts, at(100))] == [
        ("discharge_assessment", False)
    ]
    decision = prescriber(facts, State.DISCHARGED, at(100), reason="x")
    assert codes(decision) == ["discharge_assessment"] and not decision.allowed
    assert decision.message == "Discharge needs: Record the discharge assessment first."


def test_discharge_blocked_by_a_missing_escort_and_a_prescriber_override() -> None:
    no_escort = dataclasses.replace(GOOD_DISCHARGE, escort_name="  ")
    facts = complete(state=State.RECOVERY, discharge=no_escort)
    assert codes(nurse(facts, State.DISCHARGED, at(100))) == ["escort"]
    assert not nurse(facts, State.DISCHARGED, at(100), reason="x").allowed
    passed = prescriber(facts, State.DISCHARGED, at(100), reason="Escort waiting outside")
    assert passed.allowed and passed.overridden == ("escort",)


def test_discharge_criteria_messages_in_order() -> None:
    bad = DischargeInputs(
        escort_name="",
        sedation_moaas=4,
        dissociation_resolved=False,
        nausea_controlled=False,
        ambulating_steadily=False,
    )
    high = R(systolic=170, diastolic=95, heart_rate=80)
    facts = complete(state=State.RECOVERY, discharge=bad, latest_recovery=high)
    found = discharge_unmet(facts, at(85))
    assert [(r.code, r.message) for r in found] == [
        ("observation_time", "Observation time: 20 of 30 minutes"),
        ("vitals", "Vitals: the latest recovery reading is outside the thresholds"),
        ("sedation", "Sedation: MOAA/S must be 5 (fully alert)"),
        ("dissociation", "Dissociation has not resolved"),
        ("nausea", "Nausea is not controlled"),
        ("ambulation", "The patient does not walk steadily"),
        ("escort", "No escort: the patient must leave with a designated driver"),
    ]
    assert all(r.overridable for r in found)
    assert discharge_unmet(facts, at(95))[0].code == "vitals"  # 30 of 30 minutes is enough


def test_discharge_with_no_recovery_reading() -> None:
    facts = complete(state=State.RECOVERY, latest_recovery=None)
    found = discharge_unmet(facts, at(80))
    assert [(r.code, r.message) for r in found] == [
        ("vitals", "Vitals: no reading since the dose"),
        ("observation_time", "Observation time: 15 of 30 minutes"),
    ]
    # Without a stop time nothing is observed yet.
    running = AdministrationFacts(started_at=at(25), follows_current_order=True)
    facts = complete(state=State.RECOVERY, administration=running)
    assert discharge_unmet(facts, at(500))[0].message == "Observation time: 0 of 30 minutes"


def test_esketamine_observation_counts_from_the_first_device() -> None:
    facts = complete("esketamine", State.RECOVERY)
    assert codes(discharge_unmet(facts, at(144))) == ["observation_time"]
    assert discharge_unmet(facts, at(144))[0].message == "Observation time: 119 of 120 minutes"
    assert discharge_unmet(facts, at(145)) == ()


def test_esketamine_blood_pressure_at_about_40_minutes() -> None:
    # The first device is at minute 25: 40 minutes later is minute 65, window 55-75.
    recovery_bp = (at(150), "recovery")
    for minute, ok in ((55, True), (75, True), (54.9, False), (75.1, False)):
        facts = complete(
            "esketamine", State.RECOVERY, bp_taken=((at(minute), "dosing"), recovery_bp)
        )
        assert ("bp_40_min" not in codes(esketamine_bp_unmet(facts, at(150)))) is ok
    facts = complete("esketamine", State.RECOVERY, bp_taken=(recovery_bp,))
    found = esketamine_bp_unmet(facts, at(150))
    assert [(r.code, r.overridable) for r in found] == [("bp_40_min", True)]
    assert found[0].message == (
        "Esketamine: a blood pressure at about 40 minutes after the first device is required "
        "(SPRAVATO label)"
    )
    narrow = SessionPolicy(min_observation_min=120, esketamine_bp_window_min=2)
    facts = complete(
        "esketamine", State.RECOVERY, policy=narrow, bp_taken=((at(70), "dosing"), recovery_bp)
    )
    assert codes(esketamine_bp_unmet(facts, at(150))) == ["bp_40_min"]
    # Without an administration there is no first device to count from.
    assert codes(esketamine_bp_unmet(complete("esketamine", administration=None), at(150))) == []


def test_esketamine_blood_pressure_before_discharge() -> None:
    forty = (at(65), "dosing")
    for taken, phase, ok in (
        (120, "recovery", True),
        (119, "recovery", False),
        (149, "dosing", False),
        (200, "recovery", True),  # a later reading counts too (as today)
    ):
        facts = complete("esketamine", State.RECOVERY, bp_taken=(forty, (at(taken), phase)))
        assert ("bp_before_discharge" not in codes(esketamine_bp_unmet(facts, at(150)))) is ok
    facts = complete("esketamine", State.RECOVERY, bp_taken=(forty,))
    found = esketamine_bp_unmet(facts, at(150))
    assert [(r.code, r.overridable, r.message) for r in found] == [
        (
            "bp_before_discharge",
            True,
            "Esketamine: a blood pressure within 30 minutes before discharge is required "
            "(SPRAVATO label)",
        )
    ]
    decision = nurse(facts, State.DISCHARGED, at(150))
    assert codes(decision) == ["bp_before_discharge"] and not decision.allowed
    # Only esketamine has these rules.
    assert unmet(complete("iv", State.RECOVERY, bp_taken=()), State.DISCHARGED, at(100)) == ()


def test_discharge_lists_the_criteria_before_the_esketamine_rules() -> None:
    facts = complete(
        "esketamine",
        State.RECOVERY,
        bp_taken=(),
        discharge=dataclasses.replace(GOOD_DISCHARGE, escort_name=""),
    )
    assert codes(unmet(facts, State.DISCHARGED, at(150))) == [
        "escort",
        "bp_40_min",
        "bp_before_discharge",
    ]


# --- the note --------------------------------------------------------------------------------


def test_signing_the_note() -> None:
    for note, code in (
        (None, "note"),
        (NoteFacts(has_text=False, signed=False), "note"),
        (NoteFacts(has_text=True, signed=False), "note_unsigned"),
    ):
        decision = prescriber(
            complete(state=State.DISCHARGED, note=note), State.NOTE_SIGNED, T0, "x"
        )
        assert codes(decision) == [code] and not decision.allowed
    assert nurse(complete(state=State.DISCHARGED), State.NOTE_SIGNED).allowed


# --- which entries are open ------------------------------------------------------------------


def test_open_in_is_todays_table() -> None:
    s = State
    assert {step: set(states) for step, states in OPEN_IN.items()} == {
        Step.CHECKLIST: {s.CHECKED_IN},
        Step.CENTERING: {s.CHECKED_IN, s.CHECKLIST_PASSED, s.DOSE_ORDERED},
        Step.ORDER: {s.CHECKLIST_PASSED, s.DOSE_ORDERED},
        Step.ADMINISTRATION: {s.DOSE_ORDERED, s.DOSING},
        Step.DEVICE: {s.DOSING},
        Step.VITALS: {s.CHECKED_IN, s.CHECKLIST_PASSED, s.DOSE_ORDERED, s.DOSING, s.RECOVERY},
        Step.OBSERVE: {s.DOSE_ORDERED, s.DOSING, s.RECOVERY},
        Step.DISCHARGE_ASSESSMENT: {s.RECOVERY},
        Step.REFLECTION: {s.RECOVERY, s.DISCHARGED},
        Step.NOTE: {s.RECOVERY, s.DISCHARGED},
        Step.SIGN_NOTE: {s.DISCHARGED},
        Step.AMEND_NOTE: set(State),
        Step.CANCEL: set(CANCELLABLE),
    }


def test_step_refusal_messages() -> None:
    assert step_refusal(Step.VITALS, complete(state=State.DISCHARGED)) == (
        "Vitals: not possible while the session is discharged (only when checked in, "
        "checklist passed, dose ordered, dosing, recovery)"
    )
    assert step_refusal(Step.VITALS, complete(state=State.DOSING)) is None
    assert step_refusal(Step.DEVICE, complete("iv", State.DOSING)) == (
        "Device: only esketamine sessions record devices"
    )
    assert step_open(Step.DEVICE, complete("esketamine", State.DOSING))
    unsigned = NoteFacts(has_text=True, signed=False)
    assert step_open(Step.NOTE, complete(state=State.RECOVERY, note=unsigned))
    assert step_open(Step.NOTE, complete(state=State.RECOVERY, note=None))
    assert step_refusal(Step.NOTE, complete(state=State.DISCHARGED)) == (
        "Note: the note is signed; add an amendment instead"
    )
    assert step_open(Step.SIGN_NOTE, complete(state=State.DISCHARGED, note=None))
    assert step_refusal(Step.AMEND_NOTE, complete(state=State.DISCHARGED, note=unsigned)) == (
        "Amending the note: only a signed note is amended; edit the draft instead"
    )
    assert step_open(Step.AMEND_NOTE, complete(state=State.NOTE_SIGNED))
    assert step_refusal(Step.CANCEL, complete(state=State.DOSING)) == (
        "Cancelling: not possible while the session is dosing (only when scheduled, checked "
        "in, checklist passed, dose ordered)"
    )


# --- values ----------------------------------------------------------------------------------


def test_policy_defaults_and_sources() -> None:
    policy = SessionPolicy(min_observation_min=30)
    assert (
        policy.fasting_min_hours,
        policy.pregnancy_test_max_age_years,
        policy.esketamine_bp_window_min,
        policy.pre_discharge_bp_min,
    ) == (4.0, 55, 10, 30)
    names = {f.name for f in dataclasses.fields(SessionPolicy)}
    assert set(SessionPolicy.sources) == names
    with pytest.raises(TypeError):
        SessionPolicy()  # type: ignore[call-arg]  # the protocol's minimum has no default


@pytest.mark.parametrize(
    "changes",
    [
        {"min_observation_min": -1},
        {"fasting_min_hours": float("nan")},
        {"pre_discharge_bp_min": True},
        {"esketamine_bp_window_min": "10"},
    ],
)
def test_policy_rejects_bad_numbers(changes: dict[str, Any]) -> None:
    name = next(iter(changes))
    with pytest.raises(FieldInvalid, match=rf"^{name}: must be a number 0 or more") as error:
        SessionPolicy(**{"min_observation_min": 30, **changes})
    assert (error.value.field, error.value.rule) == (name, "out_of_range")


@pytest.mark.parametrize("moaas", [-1, 6, True, 4.5])
def test_discharge_inputs_reject_a_bad_moaas(moaas: Any) -> None:
    with pytest.raises(FieldInvalid, match=r"^sedation_moaas: must be an integer 0-5"):
        dataclasses.replace(GOOD_DISCHARGE, sedation_moaas=moaas)


def test_facts_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        complete().state = State.DOSING  # type: ignore[misc]  # frozen on purpose


# --- properties ------------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=300).map(at)
texts = st.sampled_from(["", "  ", "Kim", "Clinical judgement"])


@st.composite
def readings(draw: st.DrawFn) -> R:
    systolic = draw(st.none() | st.integers(80, 220))
    diastolic = draw(st.none() | st.integers(40, min(200, (systolic or 150) - 1)))
    return R(
        systolic=systolic,
        diastolic=diastolic,
        heart_rate=draw(st.none() | st.integers(40, 140)),
        spo2=draw(st.none() | st.integers(85, 100)),
        resp_rate=draw(st.none() | st.integers(6, 30)),
    )


policies = st.builds(
    SessionPolicy,
    min_observation_min=st.integers(0, 180),
    fasting_min_hours=st.sampled_from([0.0, 4.0, 6.5]),
    pregnancy_test_max_age_years=st.integers(40, 60),
    esketamine_bp_window_min=st.integers(0, 20),
    pre_discharge_bp_min=st.integers(0, 60),
)
checklists = st.builds(
    ChecklistFacts,
    fasting_hours=st.none() | st.floats(0, 24),
    driver_name=texts,
    driver_phone=texts,
    medication_holds_confirmed=st.booleans(),
    medication_holds_note=texts,
    pregnancy_test=st.sampled_from(["", "negative", "positive", "not_done", "not_applicable"]),
    weight_kg=st.none() | st.floats(30, 200),
    intention=texts,
)
administrations = st.builds(
    AdministrationFacts,
    started_at=minutes,
    follows_current_order=st.booleans(),
    stopped_at=st.none() | minutes,
    devices_used=st.integers(0, 3),
    first_device_at=st.none() | minutes,
)
discharges = st.builds(
    DischargeInputs,
    escort_name=texts,
    sedation_moaas=st.integers(0, 5),
    dissociation_resolved=st.booleans(),
    nausea_controlled=st.booleans(),
    ambulating_steadily=st.booleans(),
)


consents = st.builds(
    ConsentFacts,
    code=st.sampled_from(["ketamine-treatment", "esketamine-treatment"]),
    title=st.sampled_from(["", "Consent"]),
    version=st.none() | st.integers(1, 3),
    signed_current_version=st.booleans(),
    signed_version=st.none() | st.integers(1, 3),
    template_id=st.none() | st.integers(1, 9),
)
signed_consents = st.builds(
    ConsentFacts,
    code=st.sampled_from(["ketamine-treatment", "esketamine-treatment"]),
    title=st.sampled_from(["", "Consent"]),
    version=st.integers(1, 3),
    signed_current_version=st.just(True),
)


def consent_signed(consent: ConsentFacts | None) -> bool:
    """The rule stated from scratch: a current version exists and the patient signed it."""
    return consent is not None and consent.version is not None and consent.signed_current_version


FACT_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "route": st.sampled_from(ROUTES),
    "policy": policies,
    "sex_at_birth": st.sampled_from(["female", "male", "intersex", ""]),
    "age_years": st.none() | st.integers(18, 90),
    "checklist": st.none() | checklists,
    "cssrs_today": st.none()
    | st.builds(CssrsFacts, band=st.sampled_from(["low", "high"]), suicide_risk=st.booleans()),
    "baseline": st.none() | readings(),
    "has_pre_dose_bp": st.booleans(),
    "has_current_order": st.booleans(),
    "current_order_devices": st.none() | st.integers(0, 3),
    "administration": st.none() | administrations,
    "bp_taken": st.lists(
        st.tuples(minutes, st.sampled_from(["pre_dose", "dosing", "recovery"])), max_size=5
    ).map(tuple),
    "latest_recovery": st.none() | readings(),
    "discharge": st.none() | discharges,
    "note": st.none() | st.builds(NoteFacts, has_text=st.booleans(), signed=st.booleans()),
    "open_critical_alerts": st.sampled_from([0, 0, 0, 1, 2]),
    "consent": st.none() | consents,
}
"""A strategy for every field of ``SessionFacts`` but the state."""


def session_facts(state: st.SearchStrategy[State] | None = None) -> st.SearchStrategy[SessionFacts]:
    """Arbitrary facts (in ``state`` if given): anything recorded or not, consistent or not."""
    return st.builds(
        SessionFacts,
        state=state if state is not None else st.sampled_from(State),
        **FACT_STRATEGIES,
    )


def targets(state: State) -> st.SearchStrategy[State]:
    """Any state, mostly the forward step."""
    forward = next_step(state)
    return st.sampled_from([*([forward] * 8 if forward else []), *allowed_next(state), *State])


def check_decision(
    facts: SessionFacts, to: State, now: datetime, by_prescriber: bool, reason: str
) -> Decision:
    """``decide`` against the rule stated from scratch; returns the decision."""
    decision = decide(facts, to, now, by_prescriber=by_prescriber, reason=reason)
    assert decision.message and decision.message.endswith(".")
    assert not (decision.allowed and decision.illegal)
    assert decision.illegal == (to not in allowed_next(facts.state))
    if decision.illegal:
        return decision
    found = unmet(facts, to, now)
    blocking = [r for r in found if not r.overridable]
    overridable = tuple(r.code for r in found if r.overridable)
    has_reason = bool(reason.strip())
    expected = (
        not blocking
        and (to != State.CANCELLED or has_reason)
        and (not overridable or (by_prescriber and has_reason))
    )
    assert decision.allowed == expected
    if decision.allowed:
        # Nothing that cannot be overridden was skipped, and every override is on record.
        assert decision.unmet == found
        assert decision.overridden == overridable
        if decision.overridden:
            assert by_prescriber and has_reason
    else:
        assert decision.overridden == () and decision.unmet
    return decision


@settings(max_examples=300)
@given(session_facts(), st.sampled_from(State), minutes, st.booleans(), texts)
def test_moves_only_go_forward_or_to_cancelled(
    facts: SessionFacts, to: State, now: datetime, by_prescriber: bool, reason: str
) -> None:
    decision = check_decision(facts, to, now, by_prescriber, reason)
    if decision.allowed:
        assert FORWARD.get(facts.state) == to or (
            to == State.CANCELLED and facts.state in CANCELLABLE
        )
    if facts.state in (State.NOTE_SIGNED, State.CANCELLED):
        assert decision.illegal and allowed_next(facts.state) == ()


@given(session_facts())
def test_step_open_agrees_with_open_in(facts: SessionFacts) -> None:
    signed = facts.note is not None and facts.note.signed
    for step in Step:
        other = {
            Step.DEVICE: facts.route == "esketamine",
            Step.NOTE: not signed,
            Step.SIGN_NOTE: not signed,
            Step.AMEND_NOTE: signed,
        }.get(step, True)
        is_open = step_open(step, facts)
        assert is_open == (facts.state in OPEN_IN[step] and other)
        refusal = step_refusal(step, facts)
        assert (refusal is None) == is_open
        assert refusal is None or refusal.startswith(f"{step.label}: ")


@st.composite
def complete_sessions(draw: st.DrawFn) -> tuple[SessionFacts, dict[State, datetime]]:
    """A session whose every fact is satisfied, and the time of each move."""
    route = draw(st.sampled_from(ROUTES))
    policy = draw(policies)
    check_in = at(draw(st.integers(0, 60)))
    dose_start = check_in + timedelta(minutes=draw(st.integers(5, 60)))
    devices = draw(st.integers(1, 3))
    if route == "esketamine":
        stop = dose_start + timedelta(minutes=5 * (devices - 1))
        start_observing = dose_start
    else:
        stop = dose_start + timedelta(minutes=draw(st.integers(1, 60)))
        start_observing = stop
    discharge = start_observing + timedelta(
        minutes=policy.min_observation_min + draw(st.integers(0, 60))
    )
    at_40 = dose_start + timedelta(
        minutes=40
        + draw(st.integers(-policy.esketamine_bp_window_min, policy.esketamine_bp_window_min))
    )
    before_discharge = discharge - timedelta(
        minutes=draw(st.integers(0, policy.pre_discharge_bp_min))
    )
    sex = draw(st.sampled_from(["female", "male", "intersex"]))
    checklist = draw(
        st.builds(
            ChecklistFacts,
            fasting_hours=st.floats(policy.fasting_min_hours, 24),
            driver_name=st.just("Kim"),
            driver_phone=st.just("555-0101"),
            medication_holds_confirmed=st.just(True),
            medication_holds_note=texts,
            pregnancy_test=st.just("negative")
            if sex != "male"
            else st.sampled_from(["", "negative"]),
            weight_kg=st.floats(30, 200),
            intention=st.just("Rest"),
        )
    )
    normal = R(
        systolic=draw(st.integers(100, 140)),
        diastolic=draw(st.integers(60, 90)),
        heart_rate=draw(st.integers(55, 110)),
        spo2=draw(st.integers(95, 100)),
        resp_rate=draw(st.integers(12, 20)),
    )
    facts = SessionFacts(
        state=State.SCHEDULED,
        route=route,
        policy=policy,
        sex_at_birth=sex,
        age_years=draw(st.none() | st.integers(18, 90)),
        checklist=checklist,
        cssrs_today=CssrsFacts(band="low", suicide_risk=False),
        baseline=normal,
        has_pre_dose_bp=True,
        has_current_order=True,
        current_order_devices=devices if route == "esketamine" else None,
        administration=AdministrationFacts(
            started_at=dose_start,
            follows_current_order=True,
            stopped_at=stop,
            devices_used=devices if route == "esketamine" else 0,
            first_device_at=dose_start if route == "esketamine" else None,
        ),
        bp_taken=(
            (check_in, "pre_dose"),
            (at_40, "dosing"),
            (before_discharge, "recovery"),
        ),
        latest_recovery=normal,
        discharge=draw(
            st.builds(
                DischargeInputs,
                escort_name=st.just("Kim"),
                sedation_moaas=st.just(5),
                dissociation_resolved=st.just(True),
                nausea_controlled=st.just(True),
                ambulating_steadily=st.just(True),
            )
        ),
        note=NoteFacts(has_text=True, signed=True),
        consent=draw(signed_consents),
    )
    times = {
        State.CHECKED_IN: check_in,
        State.CHECKLIST_PASSED: check_in + timedelta(minutes=2),
        State.DOSE_ORDERED: check_in + timedelta(minutes=3),
        State.DOSING: dose_start,
        State.RECOVERY: stop,
        State.DISCHARGED: discharge,
        State.NOTE_SIGNED: discharge + timedelta(minutes=10),
    }
    return facts, times


@settings(max_examples=200)
@given(complete_sessions(), st.booleans(), texts)
def test_a_complete_session_walks_to_a_signed_note_with_nothing_overridden(
    session: tuple[SessionFacts, dict[State, datetime]], by_prescriber: bool, reason: str
) -> None:
    facts, times = session
    state = State.SCHEDULED
    while (to := next_step(state)) is not None:
        decision = decide(
            dataclasses.replace(facts, state=state),
            to,
            times[to],
            by_prescriber=by_prescriber,
            reason=reason,
        )
        assert decision.allowed, decision.message
        assert decision.overridden == () and decision.unmet == ()
        state = to
    assert state == State.NOTE_SIGNED


@st.composite
def moves(draw: st.DrawFn) -> list[tuple[SessionFacts, State, datetime, bool, str]]:
    """A sequence of attempted moves from scheduled. Each move's facts are a complete session's
    with a few facts replaced by arbitrary ones (so moves go deep, and some need an override
    or are refused); only an allowed move changes the state."""
    complete_facts, times = draw(complete_sessions())
    state, sequence = State.SCHEDULED, []
    for _ in range(draw(st.integers(1, 10))):
        broken = draw(st.lists(st.sampled_from(sorted(FACT_STRATEGIES)), max_size=3, unique=True))
        changes = {name: draw(FACT_STRATEGIES[name]) for name in broken}
        facts = dataclasses.replace(complete_facts, state=state, **changes)
        to = draw(targets(state))
        now = draw(st.sampled_from([times[to]]) | minutes if to in times else minutes)
        move = (facts, to, now, draw(st.booleans()), draw(texts))
        sequence.append(move)
        if decide(facts, to, now, by_prescriber=move[3], reason=move[4]).allowed:
            state = to
    return sequence


@settings(max_examples=200)
@given(moves())
def test_allowed_moves_never_skip_a_requirement(
    sequence: list[tuple[SessionFacts, State, datetime, bool, str]],
) -> None:
    state = State.SCHEDULED
    for facts, to, now, by_prescriber, reason in sequence:
        assert facts.state == state
        if check_decision(facts, to, now, by_prescriber, reason).allowed:
            state = to


@settings(max_examples=300)
@given(moves())
def test_no_sequence_of_moves_reaches_dosing_without_a_signed_current_consent(
    sequence: list[tuple[SessionFacts, State, datetime, bool, str]],
) -> None:
    """Whatever a prescriber overrides, with whatever reason: the checklist passes, and dosing
    starts, only with the current version of the route's consent signed."""
    state = State.SCHEDULED
    for facts, drawn, now, _, reason in sequence:
        facts = dataclasses.replace(facts, state=state)
        # The prescriber's moves go further than the drawn ones: keep to legal moves.
        to = drawn if drawn in allowed_next(state) else (next_step(state) or drawn)
        decision = decide(facts, to, now, by_prescriber=True, reason=reason or "Clinical judgement")
        if (
            to in (State.CHECKLIST_PASSED, State.DOSING)
            and to in allowed_next(state)
            and not consent_signed(facts.consent)
        ):
            assert not decision.allowed and "consent" in codes(decision)
            assert not next(r for r in decision.unmet if r.code == "consent").overridable
        if decision.allowed:
            state = to
            assert "consent" not in decision.overridden
