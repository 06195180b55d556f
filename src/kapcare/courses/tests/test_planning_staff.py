"""Planning assigns the clinic's default nurse and therapist (or leaves an appointment
unassigned, shown plainly), and places each integration session after the dose it follows and
after the next dose when it lands on that dose's day (issue 14)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.courses.models import AppointmentKind, Protocol
from kapcare.courses.services import _book

pytestmark = pytest.mark.django_db


def _next_monday() -> date:
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def test_planning_books_the_default_nurse_and_therapist(
    settings, users, cleared_patient, plan_course_for
) -> None:
    settings.KAPCARE_DEFAULT_NURSE_EMAIL = users[Role.NURSE].email.upper()
    settings.KAPCARE_DEFAULT_THERAPIST_EMAIL = users[Role.THERAPIST].email
    course = plan_course_for(cleared_patient, "iv-ptsd", _next_monday())
    appointments = list(course.appointments.prefetch_related("staff"))
    assert len(appointments) == 13
    for appointment in appointments:
        expected = (
            users[Role.NURSE]
            if appointment.kind == AppointmentKind.DOSING
            else (users[Role.THERAPIST])
        )
        assert list(appointment.staff.all()) == [expected], appointment.kind


def test_without_defaults_the_course_page_says_unassigned(
    settings, client_for, users, cleared_patient, plan_course_for
) -> None:
    settings.KAPCARE_DEFAULT_NURSE_EMAIL = None
    settings.KAPCARE_DEFAULT_THERAPIST_EMAIL = None
    course = plan_course_for(cleared_patient, "iv-ptsd", _next_monday())
    assert not any(a.staff.exists() for a in course.appointments.all())
    page = (
        client_for(users[Role.NURSE])
        .get(reverse("courses:course", kwargs={"course_id": course.pk}))
        .content.decode()
    )
    assert page.count("Unassigned") == 13


def test_a_default_at_capacity_leaves_that_appointment_unassigned(
    settings, users, cleared_patient, plan_course_for
) -> None:
    therapist = users[Role.THERAPIST]
    settings.KAPCARE_DEFAULT_THERAPIST_EMAIL = therapist.email
    monday = _next_monday()
    # The therapist is busy all of Tuesday afternoon (the first integration session's day).
    tuesday = monday + timedelta(days=1)
    busy_from = timezone.make_aware(datetime.combine(tuesday, time(12)))
    _book(
        patient=cleared_patient, kind=AppointmentKind.PREPARATION, starts_at=busy_from,
        minutes=12 * 60, staff=[therapist],
    )  # fmt: skip
    course = plan_course_for(cleared_patient, "iv-ptsd", monday)
    integrations = list(course.appointments.filter(kind=AppointmentKind.INTEGRATION))
    assert len(integrations) == 6
    first = min(integrations, key=lambda a: a.starts_at)
    assert not first.staff.exists()
    assert all(list(a.staff.all()) == [therapist] for a in integrations if a != first)


def test_an_integration_on_the_next_dose_day_comes_after_that_dose(
    settings, cleared_patient, plan_course_for
) -> None:
    # Clinic open Mondays and Thursdays only, the twice-weekly esketamine induction (Mon/Thu),
    # integration the next clinic day: a Monday's integration lands on Thursday and a
    # Thursday's on the next Monday, the next dose's day. A long observation (8 h) makes the
    # dose end after the usual integration time (day start + 8 h).
    settings.KAPCARE_CLINIC_DAYS = "0,3"
    Protocol.objects.filter(code="esketamine").update(min_observation_min=480)
    course = plan_course_for(cleared_patient, "esketamine", _next_monday())
    doses = list(course.appointments.filter(kind=AppointmentKind.DOSING).order_by("starts_at"))
    landed_on_a_dose_day = 0
    for dose in doses:
        integration = dose.followed_by.get(kind=AppointmentKind.INTEGRATION)
        assert integration.starts_at >= dose.ends_at
        assert timezone.localdate(integration.starts_at) >= timezone.localdate(dose.starts_at)
        for other in doses:
            if timezone.localdate(other.starts_at) == timezone.localdate(integration.starts_at):
                landed_on_a_dose_day += 1
                assert integration.starts_at >= other.ends_at
    assert landed_on_a_dose_day >= 2
