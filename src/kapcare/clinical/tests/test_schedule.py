"""Tests for kapcare.clinical.schedule: protocols, clinic days, the no-consecutive-days rule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapcare.clinical import schedule
from kapcare.clinical.schedule import (
    PROTOCOLS,
    Block,
    PlannedSession,
    Protocol,
    plan_course,
    register_protocol,
)
from kapcare.errors import FieldInvalid

MONDAY = date(2025, 3, 3)
WEEKDAYS = (0, 1, 2, 3, 4)


def weekdays(sessions: list[PlannedSession]) -> list[int]:
    return [s.date.weekday() for s in sessions]


@pytest.fixture
def scratch_registry() -> Iterator[None]:
    saved = dict(PROTOCOLS)
    yield
    PROTOCOLS.clear()
    PROTOCOLS.update(saved)


# --- iv_ptsd_6x2w -------------------------------------------------------------------------


def test_iv_ptsd_from_monday() -> None:
    sessions = plan_course("iv_ptsd_6x2w", MONDAY)
    assert sessions == [
        PlannedSession(MONDAY + timedelta(days=d), "induction", n)
        for n, d in enumerate((0, 2, 4, 7, 9, 11), start=1)
    ]


@pytest.mark.parametrize(
    ("start", "first"),
    [
        (date(2025, 3, 3), date(2025, 3, 3)),  # Mon -> Mon
        (date(2025, 3, 4), date(2025, 3, 5)),  # Tue -> Wed
        (date(2025, 3, 6), date(2025, 3, 7)),  # Thu -> Fri
        (date(2025, 3, 8), date(2025, 3, 10)),  # Sat -> Mon
        (date(2025, 3, 9), date(2025, 3, 10)),  # Sun -> Mon
    ],
)
def test_iv_ptsd_first_session_on_first_mwf(start: date, first: date) -> None:
    sessions = plan_course("iv_ptsd_6x2w", start)
    assert sessions[0].date == first
    assert len(sessions) == 6
    # six consecutive Mon/Wed/Fri days: each session is the next such day after the last
    for a, b in pairwise(sessions):
        gap = (b.date - a.date).days
        assert gap == (3 if a.date.weekday() == 4 else 2)
    assert set(weekdays(sessions)) <= {0, 2, 4}


def test_iv_ptsd_needs_mwf() -> None:
    with pytest.raises(
        ValueError, match="clinic_days: iv_ptsd_6x2w needs sessions on Mon, Wed, Fri"
    ):
        plan_course("iv_ptsd_6x2w", MONDAY, clinic_days=(1, 3))


def test_iv_ptsd_cannot_fit_without_friday() -> None:
    with pytest.raises(ValueError, match=r"cannot fit 3 session\(s\) in week 1 of iv_ptsd_6x2w"):
        plan_course("iv_ptsd_6x2w", MONDAY, clinic_days=(0, 1, 2, 3))


# --- esketamine_trd -----------------------------------------------------------------------


def test_esketamine_trd_from_monday() -> None:
    sessions = plan_course("esketamine_trd", MONDAY)
    assert len(sessions) == 16
    assert [s.number for s in sessions] == list(range(1, 17))
    offsets = [(s.date - MONDAY).days for s in sessions]
    assert offsets == [0, 3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49, 63, 77, 91, 105]
    assert [s.phase for s in sessions] == ["induction"] * 8 + ["maintenance"] * 8


def course_week(s: PlannedSession, first: date) -> int:
    return (s.date - first).days // 7 + 1


@pytest.mark.parametrize("start_offset", range(7))
def test_esketamine_trd_structure_any_start(start_offset: int) -> None:
    sessions = plan_course("esketamine_trd", MONDAY + timedelta(days=start_offset))
    first = sessions[0].date
    per_week = Counter(course_week(s, first) for s in sessions)
    assert [per_week[w] for w in range(1, 5)] == [2, 2, 2, 2]
    assert [per_week[w] for w in range(5, 9)] == [1, 1, 1, 1]
    assert [per_week[w] for w in range(9, 17)] == [0, 1, 0, 1, 0, 1, 0, 1]
    assert max(per_week) == 16
    induction = [s for s in sessions if s.phase == "induction"]
    assert len(induction) == 8
    assert all(b.date - a.date >= timedelta(days=2) for a, b in pairwise(sessions))


def test_esketamine_trd_impossible_with_two_adjacent_days() -> None:
    with pytest.raises(ValueError, match=r"cannot fit 2 session\(s\) in week 1 of esketamine_trd"):
        plan_course("esketamine_trd", MONDAY, clinic_days=(0, 1))


def test_esketamine_trd_twice_weekly_spread_from_wednesday() -> None:
    sessions = plan_course("esketamine_trd", date(2025, 3, 5))
    assert weekdays(sessions[:8]) == [2, 4] * 4  # Wed/Fri, not Wed then the next Monday


def test_esketamine_trd_with_two_clinic_days() -> None:
    sessions = plan_course("esketamine_trd", MONDAY, clinic_days=(1, 4))
    assert set(weekdays(sessions)) <= {1, 4}
    assert sessions[0].date == date(2025, 3, 4)


# --- other protocols ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "count", "span_days"),
    [
        ("esketamine_mdsi", 8, 24),
        ("iv_trd_6x2w", 6, 11),
        ("iv_trd_6x3w", 6, 17),
        ("im_weekly", 6, 35),
        ("intranasal_weekly", 6, 35),
    ],
)
def test_other_protocols(code: str, count: int, span_days: int) -> None:
    sessions = plan_course(code, MONDAY)
    assert len(sessions) == count == PROTOCOLS[code].total_sessions
    assert (sessions[-1].date - sessions[0].date).days == span_days


def test_every_protocol_has_source_and_route() -> None:
    for code, protocol in PROTOCOLS.items():
        assert protocol.code == code
        assert protocol.source and protocol.route and protocol.name


# --- rules for every protocol (property) -------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(PROTOCOLS)),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    st.sets(st.integers(0, 6), min_size=1),
)
def test_rules_hold_for_any_clinic_days(code: str, start: date, days: set[int]) -> None:
    try:
        sessions = plan_course(code, start, clinic_days=tuple(days))
    except ValueError as error:
        assert "clinic_days" in str(error)
        return
    assert len(sessions) == PROTOCOLS[code].total_sessions
    assert sessions[0].date >= start
    assert all(s.date.weekday() in days for s in sessions)
    assert all((b.date - a.date).days >= 2 for a, b in pairwise(sessions))
    assert [s.number for s in sessions] == list(range(1, len(sessions) + 1))


def test_all_week_clinic_always_fits() -> None:
    for code in PROTOCOLS:
        for k in range(7):
            assert plan_course(code, MONDAY + timedelta(days=k), clinic_days=range(7))


# --- errors -------------------------------------------------------------------------------


def test_unknown_protocol() -> None:
    with pytest.raises(ValueError, match="protocol_code: unknown protocol 'nope'"):
        plan_course("nope", MONDAY)


@pytest.mark.parametrize("days", [(), [], (7,), (-1,), (True,), ("0",), "01234", None, (1.0,)])
def test_invalid_clinic_days(days: object) -> None:
    with pytest.raises(ValueError, match=r"^clinic_days"):
        plan_course("im_weekly", MONDAY, clinic_days=days)  # type: ignore[arg-type]  # wrong input on purpose


@pytest.mark.parametrize("start", [datetime(2025, 3, 3, 9, 0), "2025-03-03", None])
def test_invalid_start_date(start: object) -> None:
    with pytest.raises(ValueError, match=r"^start_date"):
        plan_course("im_weekly", start)  # type: ignore[arg-type]  # wrong input on purpose


# --- protocols as data --------------------------------------------------------------------


@pytest.mark.usefixtures("scratch_registry")
def test_register_new_protocol() -> None:
    register_protocol(
        Protocol(
            code="test_tue_thu",
            name="test",
            route="iv",
            blocks=(Block("induction", (1,), 2, weekdays=(1, 3)), Block("maintenance", (3,), 1)),
            source="test",
        )
    )
    sessions = plan_course("test_tue_thu", MONDAY)
    assert [(s.date, s.phase) for s in sessions] == [
        (date(2025, 3, 4), "induction"),
        (date(2025, 3, 6), "induction"),
        (date(2025, 3, 18), "maintenance"),
    ]


@pytest.mark.usefixtures("scratch_registry")
def test_register_duplicate_and_replace() -> None:
    original = PROTOCOLS["im_weekly"]
    with pytest.raises(ValueError, match="already exists"):
        register_protocol(original)
    shorter = Protocol("im_weekly", "x", "im", (Block("induction", (1, 2), 1),), "test")
    register_protocol(shorter, replace=True)
    assert len(plan_course("im_weekly", MONDAY)) == 2


@pytest.mark.usefixtures("scratch_registry")
@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ((), "blocks: must contain at least one block"),
        ((Block("loading", (1,), 1),), "phase: must be"),
        ((Block("induction", (), 1),), "weeks: must list at least one week"),
        ((Block("induction", (2, 1), 1),), "weeks: must be increasing"),
        ((Block("induction", (0,), 1),), "weeks: must be increasing"),
        ((Block("induction", (1, 2), 1), Block("maintenance", (2,), 1)), "weeks: must be"),
        ((Block("induction", (1,), 4),), "sessions_per_week: must be 1-3"),
        ((Block("induction", (1,), 0),), "sessions_per_week: must be 1-3"),
        ((Block("induction", (1,), 1, min_gap_days=1),), "min_gap_days: must be at least 2"),
        ((Block("induction", (1,), 1, weekdays=(9,)),), "weekdays: each weekday"),
        ((Block("induction", (1,), 1, weekdays=()),), "weekdays: must contain"),
    ],
)
def test_register_rejects_malformed(blocks: tuple[Block, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        register_protocol(Protocol("bad", "bad", "iv", blocks, "test"))
    assert "bad" not in PROTOCOLS


def test_register_rejects_empty_code() -> None:
    with pytest.raises(ValueError, match="code: must be a non-empty string"):
        register_protocol(Protocol("", "x", "iv", (Block("induction", (1,), 1),), "test"))


def test_min_gap_constant() -> None:
    assert schedule.MIN_GAP_DAYS == 2


def test_refusals_name_the_field_and_the_rule() -> None:
    with pytest.raises(FieldInvalid) as unknown:
        plan_course("nope", MONDAY)
    assert (unknown.value.field, unknown.value.rule) == ("protocol_code", "one_of")
    with pytest.raises(FieldInvalid) as closed:
        plan_course("iv_ptsd_6x2w", MONDAY, clinic_days=(1,))
    assert (closed.value.field, closed.value.rule) == ("clinic_days", "no_allowed_day")
    with pytest.raises(FieldInvalid) as malformed:
        register_protocol(Protocol("bad", "bad", "iv", (Block("induction", (1,), 4),), "test"))
    assert (malformed.value.field, malformed.value.rule) == (
        "blocks[0].sessions_per_week",
        "out_of_range",
    )
