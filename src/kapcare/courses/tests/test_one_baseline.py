"""One baseline (docs/clinical-reference.md §1.5; issue 14 "two baselines"): the same patient
shows the same change, from the same baseline, on the chart, the course page and the API, and
both pages name the baseline with its date."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kapcare.assessments.models import Assessment
from kapcare.assessments.selectors import chart_context
from kapcare.assessments.services import record_assessment
from kapcare.audit.services import Actor
from kapcare.courses import selectors
from kapcare.courses.models import AppointmentKind, AppointmentStatus

LABEL = "since the last score before this course started"


def _phq9(total: int) -> list[int]:
    """PHQ-9 responses summing to ``total`` (item 9, self-harm, always 0)."""
    items = [0] * 9
    for i in range(total):
        items[i % 8] += 1
    assert sum(items) == total and max(items) <= 3
    return items


def _score(patient, total: int, at) -> Assessment:
    return record_assessment(
        Actor.system("test"), patient, "phq9", _phq9(total), source="staff", administered_at=at
    )


@pytest.fixture
def course_with_scores(cleared_patient, plan_course_for):
    """PHQ-9 21 two months ago (the first score), 15 a week before the first dose, 18 a day
    after it: from the first score that is -14.3%, from the score before the course +20%."""
    course = plan_course_for(cleared_patient, "iv-ptsd")
    first = course.appointments.filter(kind=AppointmentKind.DOSING).order_by("starts_at").first()
    dose = first.starts_at
    _score(cleared_patient, 21, dose - timedelta(days=60))
    before = _score(cleared_patient, 15, dose - timedelta(days=7))
    _score(cleared_patient, 18, dose + timedelta(days=1))
    return course, before


def _api(users, token_for) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_for(users['prescriber'])}"})


def test_chart_course_page_and_api_show_the_same_change(
    course_with_scores, users, client_for, token_for
):
    course, before = course_with_scores
    patient = course.patient
    on = timezone.localdate(before.administered_at).isoformat()

    chart = {s.code: s for s in chart_context(patient)["mbc_scales"]}["phq9"]
    page = {s.code: s for s in selectors.course_view(course.pk).scores}["phq9"]
    body = _api(users, token_for).get(f"/api/v1/patients/{patient.pk}/courses").json()
    api = {s["instrument"]: s for s in body[0]["progress"]["scores"]}["phq9"]

    assert chart.baseline.pk == page.baseline.pk == before.pk
    assert chart.change == page.change
    assert chart.change is not None
    assert (chart.change.delta, chart.change.percent_change) == (3, 20.0)
    assert (api["baseline_total"], api["current_total"]) == (15, 18)
    assert (api["delta"], api["percent_change"], api["response"]) == (3, 20.0, False)
    assert api["baseline_rule"] == "before_course"
    assert api["baseline_label"] == chart.baseline_label == page.label == f"{LABEL} ({on})"

    client = client_for(users["prescriber"])
    for html in (
        client.get(f"/patients/{patient.pk}/").content.decode(),
        client.get(f"/courses/{course.pk}/").content.decode(),
    ):
        assert f"{LABEL} ({on})" in html
        assert "+3 (20.0%)" in html
        assert "-3 (-14.3%)" not in html


def test_check_in_before_the_booked_time_starts_the_course(course_with_scores, users, token_for):
    """A score taken between an early check-in and the booked start is not the baseline."""
    course, before = course_with_scores
    first = course.appointments.filter(kind=AppointmentKind.DOSING).order_by("starts_at").first()
    session = first.dosing_session
    session.checked_in_at = first.starts_at - timedelta(hours=2)
    session.save(update_fields=["checked_in_at"])
    _score(course.patient, 9, first.starts_at - timedelta(hours=1))
    chart = {s.code: s for s in chart_context(course.patient)["mbc_scales"]}["phq9"]
    page = {s.code: s for s in selectors.course_view(course.pk).scores}["phq9"]
    body = _api(users, token_for).get(f"/api/v1/patients/{course.patient.pk}/courses").json()
    api = {s["instrument"]: s for s in body[0]["progress"]["scores"]}["phq9"]
    assert chart.baseline.pk == page.baseline.pk == before.pk
    assert api["baseline_total"] == 15 and api["delta"] == chart.change.delta


def test_a_cancelled_first_session_moves_the_start_to_the_next_dose(course_with_scores):
    course, _before = course_with_scores
    dosing = list(course.appointments.filter(kind=AppointmentKind.DOSING).order_by("starts_at")[:2])
    dosing[0].status = AppointmentStatus.CANCELLED
    dosing[0].save(update_fields=["status"])
    # A score after the cancelled booking, just before the next dose: now the baseline.
    later = _score(course.patient, 16, dosing[1].starts_at - timedelta(minutes=1))
    _score(course.patient, 10, dosing[1].starts_at + timedelta(days=1))
    chart = {s.code: s for s in chart_context(course.patient)["mbc_scales"]}["phq9"]
    page = {s.code: s for s in selectors.course_view(course.pk).scores}["phq9"]
    assert chart.baseline.pk == page.baseline.pk == later.pk
    assert chart.change == page.change and page.change is not None and page.change.delta == -6
    assert selectors.current_course_start(course.patient_id) == selectors.course_start(
        course, list(course.appointments.select_related("dosing_session"))
    )


def test_without_a_course_the_chart_measures_from_the_first_score(patient_without_course):
    patient = patient_without_course
    now = timezone.now()
    _score(patient, 20, now - timedelta(days=30))
    _score(patient, 6, now - timedelta(days=1))
    chart = {s.code: s for s in chart_context(patient)["mbc_scales"]}["phq9"]
    assert chart.change is not None and chart.change.percent_change == -70.0
    on = timezone.localdate(now - timedelta(days=30)).isoformat()
    assert chart.baseline_label == f"since the first score ({on})"


def test_no_score_before_the_course_is_said_so(cleared_patient, plan_course_for):
    course = plan_course_for(cleared_patient, "iv-ptsd")
    first = course.appointments.filter(kind=AppointmentKind.DOSING).order_by("starts_at").first()
    _score(cleared_patient, 20, first.starts_at + timedelta(days=1))
    _score(cleared_patient, 12, first.starts_at + timedelta(days=8))
    page = {s.code: s for s in selectors.course_view(course.pk).scores}["phq9"]
    assert page.rule == "first_score"
    assert re.match(
        r"since the first score \(none was taken before this course started\)", page.label
    )


@pytest.fixture
def patient_without_course(db):
    from datetime import date

    from kapcare.patients.services import create_patient

    return create_patient(
        Actor.system("test"), given_name="Nova", family_name="Nocourse",
        birth_date=date(1990, 1, 1), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip
