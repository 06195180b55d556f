from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.assessments import charts, services
from kapcare.assessments.jobs import queue_due_invitations
from kapcare.assessments.models import Delivery, Source, TrajectoryChart
from kapcare.assessments.selectors import (
    SCALE_ORDER,
    chart_context,
    due_assessments,
    trajectory_points,
)
from kapcare.assessments.tests.conftest import PHQ9_ITEM9_TWO
from kapcare.audit.services import Actor
from kapcare.errors import Conflict, FieldInvalid
from kapcare.jobs.models import Job
from kapcare.jobs.services import run_pending, work
from kapcare.patients.services import create_patient

ACTOR = Actor.system("test")


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


def _schedule(patient, code="pcl5", every=7, starts=None, delivery=Delivery.IN_CLINIC):
    return services.create_schedule(
        ACTOR,
        patient,
        instrument=code,
        every_days=every,
        starts_on=starts or timezone.localdate(),
        delivery=delivery,
    )


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"code": "bdi"}, "instrument", "one_of"),
        ({"every": 0}, "every_days", "out_of_range"),
        ({"every": 367}, "every_days", "out_of_range"),
        ({"delivery": "carrier pigeon"}, "delivery", "one_of"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field_and_rule(patient, changes, field, rule):
    with pytest.raises(FieldInvalid) as refused:
        _schedule(patient, **changes)
    assert (refused.value.field, refused.value.rule) == (field, rule)
    with pytest.raises(FieldInvalid) as ends:
        services.create_schedule(
            ACTOR, patient, instrument="pcl5", every_days=7, starts_on=date(2026, 3, 2),
            ends_on=date(2026, 3, 1), delivery=Delivery.IN_CLINIC,
        )  # fmt: skip
    assert (ends.value.field, ends.value.rule) == ("ends_on", "before_start")
    assert not patient.assessment_schedules.exists()


def test_an_invitation_needs_an_email_on_file(client_for, users, patient) -> None:
    patient.email = ""
    patient.save()
    with pytest.raises(Conflict) as refused:
        services.queue_invitation(patient, "phq9")
    assert (refused.value.field, refused.value.rule) == ("email", "no_email")
    response = client_for(users[Role.NURSE]).post(
        reverse("assessments:link_create", kwargs={"patient_id": patient.pk}),
        {"instrument": "phq9", "send": "email"},
        follow=True,
    )
    assert "The patient has no email address on file." in response.content.decode()
    assert not Job.objects.exists()


def test_next_due_follows_the_latest_assessment(patient) -> None:
    today = timezone.localdate()
    _schedule(patient, starts=today - timedelta(days=30))
    # Never done: due since the start, overdue.
    [item] = due_assessments(today)
    assert item.overdue and item.next_due == today - timedelta(days=30)
    services.record_assessment(
        ACTOR,
        patient,
        "pcl5",
        [1] * 20,
        source=Source.STAFF,
        administered_at=_at(today - timedelta(days=7)),
    )
    [item] = due_assessments(today)
    assert item.next_due == today and item.due and not item.overdue
    services.record_assessment(ACTOR, patient, "pcl5", [1] * 20, source=Source.STAFF)
    assert due_assessments(today) == []
    upcoming = chart_context(patient)["mbc_upcoming"]
    assert [u.next_due for u in upcoming] == [today + timedelta(days=7)]


def test_ended_schedules_are_not_due(patient) -> None:
    schedule = _schedule(patient, starts=timezone.localdate() - timedelta(days=3))
    services.end_schedule(ACTOR, schedule)
    assert due_assessments() == []


def test_due_home_link_invitation_is_emailed_once_by_the_worker(patient) -> None:
    _schedule(patient, code="phq9", delivery=Delivery.HOME_LINK)
    assert queue_due_invitations() == 1
    assert queue_due_invitations() == 0  # one invitation per due date
    assert run_pending() == 1
    [message] = mail.outbox
    assert message.to == [patient.email]
    assert "Hello Robin" in message.body and "/q/" in message.body and "988" in message.body
    assert patient.family_name not in message.body
    assert patient.home_links.count() == 1


def test_worker_periodic_pass_sends_invitations(patient) -> None:
    _schedule(patient, code="gad7", delivery=Delivery.HOME_LINK)
    work(once=True)  # the periodic pass queues the job, ...
    work(once=True)  # ... and the jobs are run (in the same pass or the next).
    assert len(mail.outbox) == 1


def test_today_page_lists_due_and_alerts_for_clinicians_only(client_for, users, patient) -> None:
    patient.primary_clinician = users[Role.NURSE]
    patient.save()
    _schedule(patient, starts=timezone.localdate() - timedelta(days=2))
    services.record_assessment(ACTOR, patient, "phq9", PHQ9_ITEM9_TWO, source=Source.STAFF)
    page = client_for(users[Role.NURSE]).get(reverse("web:today")).content.decode()
    assert "overdue 2 days" in page and "Quillfeather" in page and "item 9" in page
    desk = client_for(users[Role.FRONT_DESK]).get(reverse("web:today")).content.decode()
    assert "Quillfeather" not in desk


def _fill(patient, weeks: int) -> None:
    start = timezone.localdate() - timedelta(days=7 * weeks)
    for week in range(weeks):
        when = _at(start + timedelta(days=7 * week))
        for code, values in (
            ("pcl5", [max(0, 3 - week // 3)] * 20),
            ("phq9", [2] * 8 + [0]),
            ("gad7", [1] * 7),
        ):
            services.record_assessment(
                ACTOR, patient, code, values, source=Source.STAFF, administered_at=when
            )
        services.record_assessment(
            ACTOR, patient, "cssrs_screen", [0] * 7, source=Source.STAFF, administered_at=when
        )
    _schedule(patient, code="phq9")
    _schedule(patient, code="pcl5", delivery=Delivery.HOME_LINK)


def _draw_all(patient) -> None:
    for code in SCALE_ORDER:
        services.draw_trajectory_chart(patient.pk, code)


def _no_drawing(monkeypatch) -> None:
    def refuse(*_args: object) -> str:
        raise AssertionError("matplotlib must not draw here")

    monkeypatch.setattr(charts, "_draw", refuse)


@pytest.mark.parametrize("weeks", [2, 12])
@pytest.mark.parametrize("stored", [True, False])
def test_chart_context_queries_stay_constant(
    patient, make_user, django_assert_max_num_queries, weeks, stored, monkeypatch
) -> None:
    patient.primary_clinician = make_user("prescriber")
    patient.save()
    _fill(patient, weeks)
    for _ in range(weeks // 2):  # open alerts, assigned to the primary clinician
        services.record_assessment(ACTOR, patient, "phq9", PHQ9_ITEM9_TWO, source=Source.STAFF)
    if stored:
        _draw_all(patient)
    _no_drawing(monkeypatch)
    # Assessments, the current course's start (for the baseline), stored charts, open alerts
    # and their assignees, schedules.
    with django_assert_max_num_queries(6):
        context = chart_context(patient)
        [scale.svg for scale in context["mbc_scales"]]
        [
            (a.assigned_to.full_name, a.level, a.reason, a.created_at)
            for a in context["mbc_open_alerts"]
        ]
        [(u.patient.given_name, u.next_due) for u in context["mbc_upcoming"]]
    assert [s.code for s in context["mbc_scales"]] == ["pcl5", "phq9", "gad7", "cssrs_screen"]
    assert all(bool(s.svg) is stored for s in context["mbc_scales"])
    assert len(context["mbc_open_alerts"]) == weeks // 2 and len(context["mbc_upcoming"]) == 2


def test_chart_marks_baseline_cutpoint_response_and_remission(patient) -> None:
    start = timezone.localdate() - timedelta(days=35)
    for week, values in enumerate([[3] * 20, [2] * 20, [1] * 20]):
        services.record_assessment(
            ACTOR,
            patient,
            "pcl5",
            values,
            source=Source.STAFF,
            administered_at=_at(start + timedelta(days=7 * week)),
        )
    chart = services.draw_trajectory_chart(patient.pk, "pcl5")
    [scale] = chart_context(patient)["mbc_scales"]
    assert scale.change.response and scale.change.remission
    svg = scale.svg
    assert chart is not None and svg == chart.svg
    assert svg.startswith("<svg") and "baseline 60" in svg and "cut-point 33" in svg
    assert "remission" in svg and "response" in svg


def test_chart_section_renders_in_the_lead_s_page(patient) -> None:
    from django.template.loader import render_to_string

    _fill(patient, 3)
    _draw_all(patient)
    html = render_to_string("assessments/_chart_section.html", chart_context(patient))
    assert "Latest scores" in html and "<svg" in html and "Record PHQ-9" in html
    assert "hx-get" not in html


# --- stored trajectory charts ------------------------------------------------------------------


def test_recording_a_score_queues_the_job_that_draws_and_stores_the_chart(
    patient, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.record_assessment(ACTOR, patient, "gad7", [1] * 7, source=Source.STAFF)
    [job] = Job.objects.filter(kind=services.CHART_JOB)
    assert job.payload == {"patient_id": patient.pk, "instrument": "gad7"}
    assert run_pending() == 1
    chart = TrajectoryChart.objects.get(patient=patient, instrument="gad7")
    assert chart.svg.startswith("<svg") and "latest 7" in chart.svg
    assert chart.digest == charts.points_digest("gad7", trajectory_points(patient.pk, "gad7"))
    # A new score makes it stale; its job redraws it in place (one row per patient and scale).
    with django_capture_on_commit_callbacks(execute=True):
        services.record_assessment(ACTOR, patient, "gad7", [2] * 7, source=Source.STAFF)
    [scale] = chart_context(patient)["mbc_scales"]
    assert scale.svg == ""
    assert run_pending() == 1
    chart = TrajectoryChart.objects.get(patient=patient, instrument="gad7")
    assert "latest 14" in chart.svg
    assert chart_context(patient)["mbc_scales"][0].svg == chart.svg


def test_the_job_does_not_redraw_an_up_to_date_chart(patient, monkeypatch) -> None:
    services.record_assessment(ACTOR, patient, "phq9", [1] * 8 + [0], source=Source.STAFF)
    services.queue_trajectory_chart(patient.pk, "phq9")
    services.queue_trajectory_chart(patient.pk, "phq9")
    assert run_pending(limit=1) == 1
    _no_drawing(monkeypatch)
    assert run_pending() == 1
    assert not Job.objects.exclude(status="done").exists()
    assert TrajectoryChart.objects.count() == 1


def test_a_rolled_back_recording_queues_no_chart(
    patient, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.record_assessment(ACTOR, patient, "gad7", [1] * 7, source=Source.STAFF)
            raise RuntimeError("rolled back")
        with pytest.raises(ValueError, match="phq9 item 9"):
            services.record_assessment(ACTOR, patient, "phq9", [0] * 8 + [7], source=Source.STAFF)
    assert callbacks == [] and not Job.objects.exists()


def _chart_url(patient) -> str:
    return reverse("patients:chart", kwargs={"patient_id": patient.pk})


def _trajectory_url(patient, code: str) -> str:
    return reverse("assessments:trajectory", kwargs={"patient_id": patient.pk, "instrument": code})


def test_chart_page_inlines_up_to_date_stored_charts_without_drawing(
    client_for, users, patient, monkeypatch
) -> None:
    _fill(patient, 3)
    _draw_all(patient)
    _no_drawing(monkeypatch)
    page = client_for(users[Role.NURSE]).get(_chart_url(patient)).content.decode()
    assert page.count(": trajectory</title>") == 4
    assert "mbc-chart-pending" not in page and "assessments/trajectory" not in page


def test_chart_page_shows_a_placeholder_for_a_stale_or_missing_chart_without_drawing(
    client_for, users, patient, monkeypatch
) -> None:
    _fill(patient, 3)
    _draw_all(patient)
    services.record_assessment(ACTOR, patient, "phq9", [1] * 8 + [0], source=Source.STAFF)  # stale
    TrajectoryChart.objects.filter(instrument="gad7").delete()  # missing
    _no_drawing(monkeypatch)
    page = client_for(users[Role.NURSE]).get(_chart_url(patient)).content.decode()
    assert page.count(": trajectory</title>") == 2  # PCL-5 and the C-SSRS screener
    for code in ("phq9", "gad7"):
        assert f'hx-get="{_trajectory_url(patient, code)}" hx-trigger="load"' in page
    assert f'hx-get="{_trajectory_url(patient, "pcl5")}"' not in page
    # The text alternative: the latest score, its band and date, before the chart arrives.
    today = f"{timezone.localdate():%Y-%m-%d}"
    assert f"PHQ-9 trajectory</strong>: latest 8 (mild) on {today}" in page
    assert "GAD-7 trajectory</strong>: latest 7 (mild)" in page


def test_chart_page_queries_do_not_grow_with_assessments(client_for, users, monkeypatch) -> None:
    from kapcare.patients.services import create_patient

    client = client_for(users[Role.NURSE])
    patients = []
    for weeks in (1, 10):
        patient = create_patient(ACTOR, given_name=f"W{weeks}", family_name="Grow",
                                 birth_date=date(1975, 3, 3), sex_at_birth="male")  # fmt: skip
        _fill(patient, weeks)
        _draw_all(patient)
        patients.append(patient)
    client.get(_chart_url(patients[0]))  # settle the session
    _no_drawing(monkeypatch)
    counts = []
    for patient in patients:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_chart_url(patient)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_patient_list_of_due_items_queries_constant(django_assert_max_num_queries, patient) -> None:
    for n in range(5):
        other = create_patient(
            ACTOR,
            given_name=f"P{n}",
            family_name="Due",
            birth_date=date(1970, 1, 1),
            sex_at_birth="male",
        )
        _schedule(other, starts=timezone.localdate() - timedelta(days=n))
    with django_assert_max_num_queries(1):
        assert len(due_assessments()) == 5


def test_today_shows_the_most_overdue_page_and_counts_the_rest(users, monkeypatch) -> None:
    from kapcare.assessments import selectors

    monkeypatch.setattr(selectors, "TODAY_DUE_SHOWN", 3)
    today = timezone.localdate()
    for days_late in range(5):
        late = create_patient(ACTOR, given_name=f"P{days_late}", family_name="Late",
                              birth_date=date(1980, 1, 1), sex_at_birth="female")  # fmt: skip
        _schedule(late, starts=today - timedelta(days=days_late))
    context = selectors.today_context(users[Role.NURSE], today)
    assert [item.patient.given_name for item in context["mbc_due"]] == ["P4", "P3", "P2"]
    assert context["mbc_due_more"] == 2
    assert len(context["mbc_patient_ids"]) == 3  # only the patients shown are logged
