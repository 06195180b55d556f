"""The dosing session's state machine through the services: every step, every illegal
transition, every override path, and the records that never change."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kapcare.audit.services import Actor
from kapcare.dosing import scenario, services
from kapcare.dosing.models import ImmutableError, State, Transition
from kapcare.dosing.tests.conftest import ALLOWED, DISCHARGE, bring_to, reading, run_to, short_fast
from kapcare.errors import Conflict, FieldInvalid, Forbidden
from kapcare.ledger.models import Container, Entry, Kind


def test_full_iv_session_reaches_a_signed_note(session, users):
    done = run_to(session, users, State.NOTE_SIGNED, critical_bp_at_min=20)
    assert done.state == State.NOTE_SIGNED
    order = done.orders.get()
    # 0.5 mg/kg x 70 kg = 35 mg in 100 mL over 40 min = 150 mL/h.
    assert order.dose_mg == Decimal("35.0") and order.rate_ml_per_h == Decimal("150.0")
    critical = done.vital_alerts.get(level="critical")
    assert critical.code == "bp_critical" and critical.action_taken.startswith("Paused")
    assert list(done.transitions.values_list("to_state", flat=True)) == scenario.ORDER
    assert done.note.signed_at is not None


def test_esketamine_session_reaches_a_signed_note(dosing_session_for, users):
    done = run_to(dosing_session_for("esketamine"), users, State.NOTE_SIGNED)
    order = done.orders.get()
    assert order.dose_mg == Decimal("56.0") and order.devices == 2
    assert done.administration.devices.count() == 2


@pytest.mark.parametrize("state", list(State.values))
def test_every_illegal_transition_is_refused(session, users, state):
    session = bring_to(session, users, state)
    nurse = Actor.for_user(users["nurse"])
    for target in State.values:
        if target in ALLOWED[state]:
            continue
        before = Transition.objects.count()
        with pytest.raises(Conflict) as refused:
            services.transition(nurse, session, target, reason="trying")
        assert refused.value.rule == "illegal_transition" and refused.value.field == "to"
        assert "not possible while the session is" in refused.value.message
        assert Transition.objects.count() == before
    session.refresh_from_db()
    assert session.state == state
    # The forward order and cancelling cover every state.
    assert {"scheduled", *scenario.ORDER, State.CANCELLED} == set(State.values)


def test_checklist_item_needs_a_prescriber_override_with_reason(session, users):
    nurse, prescriber = Actor.for_user(users["nurse"]), Actor.for_user(users["prescriber"])
    session = short_fast(run_to(session, users, State.CHECKED_IN), users)
    with pytest.raises(Conflict) as refused:
        services.transition(nurse, session, State.CHECKLIST_PASSED)
    assert [r.code for r in refused.value.unmet] == ["fasting"]
    with pytest.raises(Conflict):  # a nurse cannot override, even with a reason
        services.transition(nurse, session, State.CHECKLIST_PASSED, reason="ate a biscuit")
    with pytest.raises(Conflict):  # a prescriber needs a reason
        services.transition(prescriber, session, State.CHECKLIST_PASSED)
    session = services.transition(
        prescriber, session, State.CHECKLIST_PASSED, reason="Clear fluids only; low aspiration risk"
    )
    last = session.transitions.last()
    assert session.state == State.CHECKLIST_PASSED and last.overridden == ["fasting"]
    assert last.reason.startswith("Clear fluids")


def test_critical_baseline_blocks_dosing_unless_prescriber_overrides(session, users):
    nurse, prescriber = Actor.for_user(users["nurse"]), Actor.for_user(users["prescriber"])
    session = run_to(session, users, State.DOSE_ORDERED)
    result = services.record_vitals(nurse, session, [reading(timezone.now(), 186, 112)])
    alert = next(a for _, a in result.alerts if a.level == "critical")
    services.record_administration(
        nurse, session, draw=_draw(session, users), started_at=timezone.now()
    )
    with pytest.raises(Conflict) as refused:
        services.transition(prescriber, session, State.DOSING, reason="reviewed")
    assert "critical_alert" in [r.code for r in refused.value.unmet]  # acknowledge first
    services.acknowledge_vital_alert(
        nurse, alert, action_taken="Rested 10 minutes, prescriber informed"
    )
    with pytest.raises(Conflict) as refused:
        services.transition(nurse, session, State.DOSING)
    assert [r.code for r in refused.value.unmet] == ["baseline_vitals"]
    session = services.transition(
        prescriber,
        session,
        State.DOSING,
        reason="Known white-coat hypertension; repeat BP in 5 min",
    )
    assert session.state == State.DOSING and session.transitions.last().overridden == [
        "baseline_vitals"
    ]


def test_discharge_blocked_by_unmet_criteria_and_prescriber_override(session, users):
    nurse, prescriber = Actor.for_user(users["nurse"]), Actor.for_user(users["prescriber"])
    session = run_to(session, users, State.RECOVERY)
    unmet = services.assess_discharge(nurse, session, **{**DISCHARGE, "escort_name": ""})
    assert "escort" in [r.code for r in unmet]
    with pytest.raises(Conflict) as refused:
        services.transition(nurse, session, State.DISCHARGED)
    assert "escort" in [r.code for r in refused.value.unmet]
    session = services.transition(
        prescriber,
        session,
        State.DISCHARGED,
        reason="Escort waiting in the car park; nurse walked patient out",
    )
    assert session.state == State.DISCHARGED and "escort" in session.transitions.last().overridden


def test_discharge_without_assessment_is_refused_even_for_prescriber(session, users):
    session = run_to(session, users, State.RECOVERY)
    with pytest.raises(Conflict) as refused:
        services.transition(
            Actor.for_user(users["prescriber"]), session, State.DISCHARGED, reason="x"
        )
    assert [r.code for r in refused.value.unmet] == ["discharge_assessment"]


def test_signed_order_is_immutable_and_superseded(session, users):
    prescriber = Actor.for_user(users["prescriber"])
    session = run_to(session, users, State.DOSE_ORDERED)
    first = session.orders.get()
    first.dose_mg = Decimal("50")
    with pytest.raises(ImmutableError):
        first.save()
    with pytest.raises(ValueError, match="deviation_reason"):
        services.sign_order(prescriber, session, mg_per_kg=Decimal("1.2"))
    second = services.sign_order(prescriber, session, mg_per_kg=Decimal("0.75"))
    first.refresh_from_db()
    assert first.dose_mg == Decimal("35.0") and first.superseded_by == second
    assert second.dose_mg == Decimal("52.5") and second.rate_ml_per_h == Decimal("150.0")
    with pytest.raises(Forbidden):
        services.sign_order(Actor.for_user(users["nurse"]), session)


def test_signed_note_locks_and_amendments_keep_the_original(session, users):
    prescriber = Actor.for_user(users["prescriber"])
    session = run_to(session, users, State.NOTE_SIGNED)
    note = session.note
    with pytest.raises(Conflict) as refused:
        services.save_note(prescriber, session, "rewritten")
    assert refused.value.rule == "note_signed"
    note.text = "rewritten"
    with pytest.raises(ImmutableError):
        note.save()
    services.amend_note(
        prescriber, session, text_added="BP recheck at 60 min was 130/82.", reason="late entry"
    )
    note.refresh_from_db()
    assert note.text.startswith("Synthetic session note") and note.amendments.count() == 1
    with pytest.raises(ValueError, match="reason"):
        services.amend_note(prescriber, session, text_added="x", reason=" ")


def test_vitals_batch_is_atomic_and_names_the_index(session, users):
    nurse = Actor.for_user(users["nurse"])
    session = run_to(session, users, State.CHECKED_IN)
    good = reading(timezone.now(), 120, 80, heart_rate=70)
    with pytest.raises(FieldInvalid) as error:
        services.record_vitals(nurse, session, [good, {**good, "spo2": 140}])
    assert error.value.field == "readings[1].spo2" and error.value.rule == "out_of_range"
    assert session.vitals.count() == 0


def test_past_sessions_are_documented_at_their_own_times(session, users):
    start = timezone.now() - timedelta(days=7)
    done = run_to(session, users, State.NOTE_SIGNED, start=start)
    first = done.transitions.first()
    assert first is not None and first.at == start


def test_a_reading_before_the_check_in_less_the_slack_or_in_the_future_is_refused(
    session, users, settings
):
    settings.KAPCARE_VITALS_BEFORE_CHECK_IN_MIN = 30
    nurse = Actor.for_user(users["nurse"])
    checked_in = timezone.now() - timedelta(minutes=5)
    services.check_in(nurse, session, now=checked_in)
    reading = {"systolic": 120, "diastolic": 80, "heart_rate": 70}
    for taken_at, rule in (
        (checked_in - timedelta(minutes=31), "before_check_in"),
        (timezone.now() + timedelta(minutes=10), "in_future"),
    ):
        with pytest.raises(FieldInvalid) as refused:
            services.record_vitals(nurse, session, [{**reading, "taken_at": taken_at}])
        assert (refused.value.field, refused.value.rule) == ("readings[0].taken_at", rule)
    assert session.vitals.count() == 0
    # Within the slack (a baseline taken in the waiting room) is kept.
    taken = checked_in - timedelta(minutes=29)
    services.record_vitals(nurse, session, [{**reading, "taken_at": taken}])
    assert session.vitals.count() == 1


def test_a_second_esketamine_device_sooner_than_5_minutes_is_refused_with_the_wait(
    dosing_session_for, users
):
    session = run_to(dosing_session_for("esketamine"), users, State.DOSE_ORDERED)
    nurse = Actor.for_user(users["nurse"])
    started = timezone.now() - timedelta(minutes=20)
    services.record_administration(
        nurse, session, draw=_draw(session, users, started), started_at=started
    )
    services.transition(nurse, session, State.DOSING)
    first = services.record_device(nurse, session, used_at=started).used_at
    with pytest.raises(FieldInvalid) as refused:
        services.record_device(nurse, session, used_at=first + timedelta(minutes=3))
    assert refused.value.rule == "device_spacing"
    assert "wait about 2 more minutes" in refused.value.message
    assert session.administration.devices.count() == 1
    services.record_device(nurse, session, used_at=first + timedelta(minutes=5))
    assert session.administration.devices.count() == 2


def _to_the_minute(moment):
    return moment.replace(second=0, microsecond=0)


def test_correcting_an_esketamine_administration_keeps_the_devices_stop_and_every_phase(
    dosing_session_for, users
):
    # Both devices used (the scenario's dosing step), still dosing: the start may be corrected.
    session = run_to(dosing_session_for("esketamine"), users, State.DOSING)
    administration = session.administration
    phases = dict(session.vitals.values_list("id", "phase"))
    stopped_at = administration.stopped_at
    assert stopped_at is not None and "pre_dose" in phases.values()
    # The page sends the times back as it shows them (to the minute); esketamine has no stop
    # field: the last device set it.
    lot = administration.lot_number
    services.record_administration(
        Actor.for_user(users["nurse"]), session,
        started_at=_to_the_minute(administration.started_at), stopped_at=None,
    )  # fmt: skip
    administration.refresh_from_db()
    assert administration.lot_number == lot  # the container's, not typed
    assert administration.stopped_at == stopped_at
    assert dict(session.vitals.values_list("id", "phase")) == phases


def test_a_baseline_in_the_start_minute_stays_a_baseline_when_the_stop_is_saved(session, users):
    session = run_to(session, users, State.DOSE_ORDERED)
    nurse = Actor.for_user(users["nurse"])
    started = _to_the_minute(timezone.now() - timedelta(minutes=50)) + timedelta(seconds=40)
    baseline = started - timedelta(seconds=20)  # the same minute, before the start
    services.record_vitals(nurse, session, [reading(baseline)])
    services.record_administration(
        nurse, session, draw=_draw(session, users, started), started_at=started
    )
    services.transition(nurse, session, State.DOSING)
    services.record_administration(
        nurse, session, started_at=_to_the_minute(started),
        stopped_at=started + timedelta(minutes=40),
    )  # fmt: skip
    session.administration.refresh_from_db()
    assert session.administration.started_at == started
    assert session.vitals.get(taken_at=baseline).phase == "pre_dose"


def test_an_im_order_cites_the_im_protocol_not_the_iv_evidence(dosing_session_for, users):
    session = run_to(dosing_session_for("im"), users, State.DOSE_ORDERED)
    order = session.orders.get()
    assert order.source == session.course.protocol_record.source
    assert "IV over 40 min" not in order.source


def test_a_discharge_keeps_every_requirement_it_overrode(dosing_session_for, users):
    """An early esketamine discharge overrides the observation time and the label's blood
    pressures; the session shows all of them, as the transition recorded them."""
    session = run_to(dosing_session_for("esketamine"), users, State.DOSING, minutes_ago=30)
    nurse, prescriber = Actor.for_user(users["nurse"]), Actor.for_user(users["prescriber"])
    services.transition(nurse, session, State.RECOVERY)
    services.assess_discharge(nurse, session, **DISCHARGE)
    done = services.transition(
        prescriber, session, State.DISCHARGED,
        reason="Escort must leave; patient alert and steady (synthetic).",
    )  # fmt: skip
    overridden = done.transitions.get(to_state=State.DISCHARGED).overridden
    assert {"observation_time", "bp_40_min", "bp_before_discharge"} <= set(overridden)
    assert done.discharge_unmet == overridden


def test_an_esketamine_administration_withdraws_no_volume_and_an_iv_one_needs_its_container(
    dosing_session_for, users
):
    nurse = Actor.for_user(users["nurse"])
    started = timezone.now() - timedelta(minutes=5)
    esketamine = run_to(dosing_session_for("esketamine"), users, State.DOSE_ORDERED)
    draw = _draw(esketamine, users, started)
    done = services.record_administration(nurse, esketamine, draw=draw, started_at=started)
    device = Container.objects.get(pk=draw.container_id)
    # The first device picked gives the lot; it is withdrawn whole when it is used.
    assert done.container == device and done.lot_number == device.lot
    assert not Entry.objects.filter(session=esketamine, kind=Kind.WITHDRAWAL).exists()
    iv = run_to(dosing_session_for(), users, State.DOSE_ORDERED)
    with pytest.raises(FieldInvalid) as refused:
        services.record_administration(nurse, iv, started_at=started)
    assert (refused.value.field, refused.value.rule) == ("container_id", "required")


def test_each_esketamine_device_is_one_whole_device_withdrawn_from_the_ledger(
    dosing_session_for, users
):
    session = run_to(dosing_session_for("esketamine"), users, State.DOSING)
    devices = list(session.administration.devices.all())
    withdrawals = Entry.objects.filter(session=session, kind=Kind.WITHDRAWAL).order_by("id")
    assert [e.container_id for e in withdrawals] == [d.container_id for d in devices]
    assert len({e.container_id for e in withdrawals}) == len(devices) >= 2
    assert all(e.wasted_mg == 0 and e.given_mg == 28 for e in withdrawals)
    assert all(e.container.balance_mg == 0 for e in withdrawals)


def _draw(session, users, at=None):
    """The scenario's draw for the session's order, from a real container."""
    return scenario.draw(session, at or timezone.now(), users["prescriber"])
