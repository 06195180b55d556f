from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.assessments import services
from kapcare.assessments.jobs import queue_due_invitations
from kapcare.assessments.models import Delivery, Source
from kapcare.assessments.selectors import chart_context, due_assessments
from kapcare.assessments.tests.conftest import PHQ9_ITEM9_TWO
from kapcare.audit.services import Actor
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


@pytest.mark.parametrize("weeks", [2, 12])
def test_chart_context_queries_stay_constant(patient, django_assert_max_num_queries, weeks) -> None:
    _fill(patient, weeks)
    services.record_assessment(ACTOR, patient, "phq9", PHQ9_ITEM9_TWO, source=Source.STAFF)
    with django_assert_max_num_queries(3):
        context = chart_context(patient)
        [scale.svg for scale in context["mbc_scales"]]
        [(a.assigned_to, a.assessment.instrument) for a in context["mbc_open_alerts"]]
        [(u.patient.given_name, u.next_due) for u in context["mbc_upcoming"]]
    assert [s.code for s in context["mbc_scales"]] == ["pcl5", "phq9", "gad7", "cssrs_screen"]
    assert len(context["mbc_open_alerts"]) == 1 and len(context["mbc_upcoming"]) == 2


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
    [scale] = chart_context(patient)["mbc_scales"]
    assert scale.change.response and scale.change.remission
    svg = scale.svg
    assert svg.startswith("<svg") and "baseline 60" in svg and "cut-point 33" in svg
    assert "remission" in svg and "response" in svg


def test_chart_section_renders_in_the_lead_s_page(client_for, users, patient) -> None:
    from django.template.loader import render_to_string

    _fill(patient, 3)
    html = render_to_string("assessments/_chart_section.html", chart_context(patient))
    assert "Latest scores" in html and "<svg" in html and "Record PHQ-9" in html


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
