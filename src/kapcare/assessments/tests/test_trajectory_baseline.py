"""The trajectory chart draws the one baseline (``kapcare.clinical.instruments.baseline``) as a
labelled line: the last score before the current course started, not the first score, named as
the latest-scores table names it; a chart drawn before the course began is stale once it has."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kapcare.assessments import charts, services
from kapcare.assessments.selectors import chart_context, trajectory_points
from kapcare.audit.services import Actor

ACTOR = Actor.system("test")


def _phq9(patient, total_per_item: int, days_ago: int) -> None:
    services.record_assessment(
        ACTOR, patient, "phq9", [total_per_item] * 8 + [0], source="staff",
        administered_at=timezone.now() - timedelta(days=days_ago),
    )  # fmt: skip


@pytest.mark.django_db
def test_the_chart_draws_the_courses_baseline_as_a_labelled_line(cleared_patient, plan_course_for):
    # 24 six weeks ago, 16 a week ago; then the course began (three days ago); 8 today.
    _phq9(cleared_patient, 3, 42)
    _phq9(cleared_patient, 2, 7)
    before_course = trajectory_points(cleared_patient.pk, "phq9")
    # Without a course the baseline is the first score.
    assert [p.baseline != "" for p in before_course] == [True, False]
    assert before_course[0].baseline.startswith("since the first score")

    plan_course_for(cleared_patient, "iv-ptsd", timezone.localdate() - timedelta(days=3))
    _phq9(cleared_patient, 1, 0)
    points = trajectory_points(cleared_patient.pk, "phq9")
    assert [p.total for p in points] == [24, 16, 8]
    chosen = [p for p in points if p.baseline]
    assert [p.total for p in chosen] == [16]
    # The same words as the latest-scores table, with the baseline's date.
    summary = next(s for s in chart_context(cleared_patient)["mbc_scales"] if s.code == "phq9")
    assert chosen[0].baseline == summary.baseline_label
    assert summary.baseline_label.startswith("since the last score before this course started")

    svg = charts.trajectory_svg("phq9", points)
    assert f"baseline 16, {summary.baseline_label}" in svg
    assert "Baseline 16 on" in svg  # the description a screen reader reads
    # The course moved the baseline: a chart drawn from the first score is stale.
    assert charts.points_digest("phq9", points) != charts.points_digest("phq9", before_course)


@pytest.mark.django_db
def test_the_screener_has_no_baseline_line(cleared_patient):
    not_asked = None  # the follow-ups of a "No"
    answers = [0, 0, not_asked, not_asked, not_asked, 0, not_asked]
    services.record_assessment(ACTOR, cleared_patient, "cssrs_screen", answers, source="staff")
    points = trajectory_points(cleared_patient.pk, "cssrs_screen")
    assert [p.baseline for p in points] == [""]
    assert "baseline" not in charts.trajectory_svg("cssrs_screen", points)
