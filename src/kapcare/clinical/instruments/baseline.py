"""The one baseline that change, response and remission are measured from
(docs/clinical-reference.md §1.5), shared by the chart, the course page and the API.

- A course starts at its first dose: the earliest start of its dosing sessions (the booked
  time, or the check-in when that was earlier), not counting sessions cancelled or missed;
  a course with no such session starts at the end of its start date (``course_start``).
- The baseline of a scale is the patient's last score of it taken at or before the course
  started (rule ``"before_course"``). When none was taken before, or there is no course, it is
  the patient's first score of it (rule ``"first_score"``).
- The current score is the patient's latest score of the scale; the change is
  ``instruments.change(code, baseline.total, current.total)``, or ``None`` while the latest
  score is the baseline itself (nothing to compare yet) or the scale has no change rule.

The chart uses the patient's current course (the newest one not cancelled); the course page
and the API use the course shown. So the same patient shows the same change on each.

    >>> from datetime import datetime, timezone
    >>> t = lambda day: datetime(2025, 1, day, 9, tzinfo=timezone.utc)
    >>> scores = [Score(1, 24, t(1)), Score(2, 20, t(6)), Score(3, 6, t(20))]
    >>> p = progress("phq9", scores, course_start=t(8))
    >>> (p.baseline.total, p.rule, p.change.percent_change if p.change else None)
    (20, 'before_course', -70.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Literal, Protocol, TypeVar

from . import change as change_between
from .model import DEFAULT_SCALE_SETTINGS, Change, ScaleSettings

BaselineRule = Literal["before_course", "first_score"]

# What each rule means, as the pages label the baseline ("<label> (<date>)").
BASELINE_LABELS: dict[BaselineRule, str] = {
    "before_course": "since the last score before this course started",
    "first_score": "since the first score",
}
# The first-score rule when a course exists: no score was taken before it started.
NO_SCORE_BEFORE_COURSE = "since the first score (none was taken before this course started)"

# The scales with a change rule (instruments.change); the C-SSRS screener is a triage.
CHANGE_SCALES = frozenset({"pcl5", "phq9", "gad7"})


class Scored(Protocol):
    """Anything with a total and the moment it was taken (an Assessment, a chart row)."""

    @property
    def total(self) -> int: ...

    @property
    def administered_at(self) -> datetime: ...


S = TypeVar("S", bound=Scored)


@dataclass(frozen=True)
class Score:
    """A plain scored total, for callers (and tests) without a record to hand."""

    id: int
    total: int
    administered_at: datetime


@dataclass(frozen=True)
class Progress(Generic[S]):
    """A scale's baseline, its current score and the change between them."""

    baseline: S
    current: S
    rule: BaselineRule
    has_course: bool
    change: Change | None

    def label(self, baseline_on: date) -> str:
        """How the pages name the baseline, with its (local) date: e.g. "since the last score
        before this course started (2025-01-06)"."""
        if self.rule == "first_score" and self.has_course:
            text = NO_SCORE_BEFORE_COURSE
        else:
            text = BASELINE_LABELS[self.rule]
        return f"{text} ({baseline_on.isoformat()})"


def course_start(dose_starts: Iterable[datetime], start_day_end: datetime) -> datetime:
    """When a course started for its baseline: the earliest of ``dose_starts`` (each dosing
    session's booked start or earlier check-in, cancelled and missed sessions left out), or
    ``start_day_end`` (the end of the course's start date) when there is none."""
    return min(dose_starts, default=start_day_end)


def baseline(scores: Sequence[S], course_start: datetime | None) -> tuple[S, BaselineRule] | None:
    """The baseline among ``scores`` (one scale, in any order; equal times keep their given
    order) and the rule that chose it; ``None`` without scores. See the module docstring."""
    if not scores:
        return None
    ordered = sorted(scores, key=lambda s: s.administered_at)
    if course_start is not None:
        before = [s for s in ordered if s.administered_at <= course_start]
        if before:
            return before[-1], "before_course"
    return ordered[0], "first_score"


def progress(
    code: str,
    scores: Sequence[S],
    course_start: datetime | None,
    settings: ScaleSettings = DEFAULT_SCALE_SETTINGS,
) -> Progress[S] | None:
    """The baseline, the current (latest) score and the change for one scale's ``scores``;
    ``course_start`` is ``None`` when the patient has no course. ``None`` without scores."""
    found = baseline(scores, course_start)
    if found is None:
        return None
    chosen, rule = found
    current = sorted(scores, key=lambda s: s.administered_at)[-1]
    change = None
    if current is not chosen and code in CHANGE_SCALES:
        change = change_between(code, chosen.total, current.total, settings)
    return Progress(
        baseline=chosen,
        current=current,
        rule=rule,
        has_course=course_start is not None,
        change=change,
    )
