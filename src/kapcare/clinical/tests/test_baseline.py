"""The one baseline (docs/clinical-reference.md §1.5): properties over generated score series,
and the examples that the chart, course page and API disagreed on (issue 14)."""

from __future__ import annotations

import doctest
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kapcare.clinical import instruments
from kapcare.clinical.instruments import baseline as baseline_module
from kapcare.clinical.instruments.baseline import Score, baseline, course_start, progress

T0 = datetime(2025, 1, 1, 9, tzinfo=UTC)


def _at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


scores_st = st.lists(
    st.tuples(st.integers(0, 27), st.integers(0, 24 * 60)), min_size=1, max_size=12
).map(lambda rows: [Score(i, total, _at(h)) for i, (total, h) in enumerate(rows)])
starts_st = st.one_of(st.none(), st.integers(-24, 24 * 61).map(_at))


@given(scores_st, starts_st)
def test_the_baseline_is_the_last_score_at_or_before_the_start_else_the_first(
    scores: list[Score], start: datetime | None
) -> None:
    found = baseline(scores, start)
    assert found is not None
    chosen, rule = found
    before = [s for s in scores if start is not None and s.administered_at <= start]
    if before:
        assert rule == "before_course"
        assert chosen.administered_at == max(s.administered_at for s in before)
        # no score before the start is later than the baseline
        assert all(s.administered_at <= chosen.administered_at for s in before)
    else:
        assert rule == "first_score"
        assert chosen.administered_at == min(s.administered_at for s in scores)


@given(scores_st, starts_st)
def test_the_baseline_does_not_depend_on_the_order_given(
    scores: list[Score], start: datetime | None
) -> None:
    # Distinct times: equal times keep their given order, which callers give by id.
    unique = list({s.administered_at: s for s in scores}.values())
    assert baseline(unique, start) == baseline(list(reversed(unique)), start)


@given(scores_st, starts_st)
def test_the_change_is_the_cores_change_from_baseline_to_the_latest(
    scores: list[Score], start: datetime | None
) -> None:
    result = progress("phq9", scores, start)
    assert result is not None
    found = baseline(scores, start)
    assert found is not None
    chosen, rule = found
    assert (result.baseline, result.rule) == (chosen, rule)
    latest = max(s.administered_at for s in scores)
    assert result.current.administered_at == latest
    if result.current is result.baseline:
        assert result.change is None
    else:
        assert result.change == instruments.change("phq9", chosen.total, result.current.total)
        assert result.change.delta == result.current.total - chosen.total


@given(scores_st, starts_st, st.integers(1, 24 * 30))
def test_scores_after_the_start_never_move_the_baseline(
    scores: list[Score], start: datetime | None, later: int
) -> None:
    if start is None:
        return
    found = baseline(scores, start)
    assert found is not None
    more = [*scores, Score(999, 0, start + timedelta(hours=later))]
    if found[1] == "before_course":
        assert baseline(more, start) == found


@given(st.lists(st.integers(0, 24 * 60).map(_at), max_size=6), st.integers(0, 24 * 60).map(_at))
def test_a_course_starts_at_its_first_dose_else_the_end_of_its_start_date(
    doses: list[datetime], day_end: datetime
) -> None:
    start = course_start(doses, day_end)
    assert start == (min(doses) if doses else day_end)


def test_the_issue_example_one_baseline_for_chart_course_and_api() -> None:
    """PHQ-9 24 at a first consultation, 15 the week before the course, 18 now: the first score
    would say -25%; the score before the course says +20%. Both pages now say +20%."""
    scores = [Score(1, 24, _at(0)), Score(2, 15, _at(24 * 30)), Score(3, 18, _at(24 * 50))]
    result = progress("phq9", scores, course_start=_at(24 * 31))
    assert result is not None and result.change is not None
    assert (result.baseline.total, result.current.total) == (15, 18)
    assert result.change.percent_change == 20.0
    assert result.label(date(2025, 1, 31)) == (
        "since the last score before this course started (2025-01-31)"
    )


def test_labels_name_the_rule_used() -> None:
    scores = [Score(1, 20, _at(48)), Score(2, 8, _at(96))]
    in_course = progress("phq9", scores, course_start=_at(0))
    no_course = progress("phq9", scores, course_start=None)
    assert in_course is not None and no_course is not None
    assert in_course.rule == no_course.rule == "first_score"
    assert in_course.label(date(2025, 1, 3)).startswith("since the first score (none was taken")
    assert no_course.label(date(2025, 1, 3)) == "since the first score (2025-01-03)"


def test_one_score_or_a_triage_has_no_change() -> None:
    one = progress("phq9", [Score(1, 12, T0)], course_start=None)
    assert one is not None and one.change is None
    cssrs = progress("cssrs_screen", [Score(1, 0, T0), Score(2, 2, _at(1))], course_start=None)
    assert cssrs is not None and cssrs.change is None
    assert progress("phq9", [], course_start=None) is None


def test_the_module_examples() -> None:
    assert doctest.testmod(baseline_module).failed == 0
