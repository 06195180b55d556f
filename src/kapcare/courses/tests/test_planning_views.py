"""Planning a course from the patient (prescriber only, cleared patients only, with a preview),
the course page (snapshot, appointments, progress, scores since baseline) and boosters."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.assessments.models import Source
from kapcare.assessments.services import record_assessment
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.courses.models import (
    Appointment,
    AppointmentKind,
    CourseStatus,
    Protocol,
    TreatmentCourse,
)
from kapcare.dosing.models import State
from kapcare.patients.services import create_patient

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def _next_monday() -> date:
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def _plan_url(patient) -> str:
    return reverse("courses:plan", kwargs={"patient_id": patient.pk})


@pytest.fixture
def uncleared_patient():
    return create_patient(
        SYSTEM, given_name="Uma", family_name="Unscreened", birth_date=date(1990, 1, 1),
        sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip


def test_the_plan_page_shows_the_clearance(client_for, users, cleared_patient) -> None:
    response = client_for(users[Role.PRESCRIBER]).get(_plan_url(cleared_patient))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Cleared" in page and "accepted" in page
    assert "IV ketamine for PTSD" in page


def test_preview_shows_the_dates_and_books_nothing(client_for, users, cleared_patient) -> None:
    protocol = Protocol.objects.get(code="iv-ptsd")
    monday = _next_monday()
    response = client_for(users[Role.PRESCRIBER]).post(
        _plan_url(cleared_patient),
        {"protocol": protocol.pk, "start_date": monday.isoformat(), "preview": "1"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    # Feder 2021: Mon/Wed/Fri for two weeks.
    for offset in (0, 2, 4, 7, 9, 11):
        assert (monday + timedelta(days=offset)).isoformat() in page
    assert "Plan the course" in page
    assert not TreatmentCourse.objects.exists() and not Appointment.objects.exists()


def test_confirm_plans_the_course_and_shows_it(client_for, users, cleared_patient) -> None:
    protocol = Protocol.objects.get(code="iv-ptsd")
    client = client_for(users[Role.PRESCRIBER])
    response = client.post(
        _plan_url(cleared_patient),
        {"protocol": protocol.pk, "start_date": _next_monday().isoformat(), "confirm": "1"},
    )
    course = TreatmentCourse.objects.get(patient=cleared_patient)
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:course", kwargs={"course_id": course.pk})
    kinds = list(course.appointments.values_list("kind", flat=True))
    assert kinds.count("dosing") == 6 and kinds.count("integration") == 6
    assert kinds.count("preparation") == 1
    page = client.get(response["Location"]).content.decode()
    assert "0 of 6 done" in page
    assert page.count("Dosing session") >= 6 and "Preparation meeting" in page
    for session in course.dosing_sessions.all():
        assert reverse("dosing:session", kwargs={"session_id": session.pk}) in page


def test_an_uncleared_patient_is_refused_with_the_reason(
    client_for, users, uncleared_patient
) -> None:
    client = client_for(users[Role.PRESCRIBER])
    page = client.get(_plan_url(uncleared_patient)).content.decode()
    assert "Not cleared" in page and "has not been screened" in page
    response = client.post(
        _plan_url(uncleared_patient),
        {
            "protocol": Protocol.objects.get(code="iv-ptsd").pk,
            "start_date": _next_monday().isoformat(),
            "confirm": "1",
        },
    )
    assert response.status_code == 409
    assert "Planning refused: the patient has not been screened" in response.content.decode()
    assert not TreatmentCourse.objects.exists()


def test_a_past_start_date_is_refused_naming_the_field(client_for, users, cleared_patient):
    response = client_for(users[Role.PRESCRIBER]).post(
        _plan_url(cleared_patient),
        {
            "protocol": Protocol.objects.get(code="iv-ptsd").pk,
            "start_date": (timezone.localdate() - timedelta(days=3)).isoformat(),
            "confirm": "1",
        },
    )
    assert response.status_code == 400
    assert "First dose on or after: must be today or later" in response.content.decode()
    assert not TreatmentCourse.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.NURSE, Role.THERAPIST, Role.FRONT_DESK, Role.CLINIC_ADMIN, Role.PATIENT]
)
def test_only_a_prescriber_plans(client_for, users, cleared_patient, role) -> None:
    assert client_for(users[role]).get(_plan_url(cleared_patient)).status_code == 403


# --- the course page -------------------------------------------------------------------------


@pytest.fixture
def course(cleared_patient, plan_course_for):
    return plan_course_for(cleared_patient, start=_next_monday())


def _course_url(course) -> str:
    return reverse("courses:course", kwargs={"course_id": course.pk})


@pytest.mark.parametrize("role", [Role.PRESCRIBER, Role.NURSE, Role.THERAPIST])
def test_clinical_roles_see_the_course(client_for, users, course, role) -> None:
    response = client_for(users[role]).get(_course_url(course))
    assert response.status_code == 200
    assert AuditEntry.objects.filter(
        action="read", patient_id=course.patient_id, what="treatment course"
    ).exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINIC_ADMIN, Role.PATIENT])
def test_non_clinical_roles_are_refused_the_course(client_for, users, course, role) -> None:
    assert client_for(users[role]).get(_course_url(course)).status_code == 403


def test_course_page_shows_progress_and_scores_since_baseline(
    client_for, users, cleared_patient, plan_course_for
) -> None:
    # A course that began two weeks ago: the baseline is the last score before its start.
    started = _next_monday() - timedelta(days=14)
    course = plan_course_for(cleared_patient, start=started)
    patient = course.patient
    before = timezone.now() - timedelta(days=20)
    later = timezone.now()
    nurse = users[Role.NURSE]
    for code, first, then in (("pcl5", [3] * 20, [1] * 20), ("phq9", [2] * 9, [0] * 9)):
        for responses, at in ((first, before), (then, later)):
            record_assessment(
                SYSTEM, patient, code, responses, source=Source.STAFF, entered_by=nurse,
                administered_at=at,
            )  # fmt: skip
    sessions = list(course.dosing_sessions.order_by("appointment__starts_at"))
    sessions[0].state = State.NOTE_SIGNED
    sessions[0].save()
    sessions[1].state = State.DISCHARGED
    sessions[1].save()
    page = client_for(users[Role.THERAPIST]).get(_course_url(course)).content.decode()
    assert "2 of 6 done" in page
    # PCL-5 60 -> 20: -40, a response and a remission (below 33); PHQ-9 18 -> 0.
    assert "-40" in page and "remission" in page
    assert "-18" in page and "(-100.0%)" in page
    # The snapshot is shown.
    assert "0.50" in page and "iv_ptsd_6x2w" in page


def test_course_page_queries_do_not_grow_with_appointments(
    client_for, users, course, django_assert_max_num_queries
) -> None:
    client = client_for(users[Role.NURSE])
    with django_assert_max_num_queries(25) as small:
        client.get(_course_url(course))
    for day in (21, 23, 25, 28, 30):
        from kapcare.courses.services import add_booster

        add_booster(
            Actor.for_user(users[Role.PRESCRIBER]), course, _next_monday() + timedelta(days=day)
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(_course_url(course))


def test_prescriber_adds_a_maintenance_booster(client_for, users, course) -> None:
    day = _next_monday() + timedelta(days=28)
    response = client_for(users[Role.PRESCRIBER]).post(
        reverse("courses:add_booster", kwargs={"course_id": course.pk}), {"day": day.isoformat()}
    )
    assert response.status_code == 302
    booster = course.appointments.get(kind=AppointmentKind.DOSING, phase="maintenance")
    assert booster.number == 7 and timezone.localdate(booster.starts_at) == day
    assert booster.dosing_session is not None
    assert course.appointments.filter(kind="integration", follows=booster).exists()


def test_a_booster_on_a_closed_day_is_refused_naming_the_field(client_for, users, course):
    saturday = _next_monday() + timedelta(days=26)
    before = Appointment.objects.count()
    response = client_for(users[Role.PRESCRIBER]).post(
        reverse("courses:add_booster", kwargs={"course_id": course.pk}),
        {"day": saturday.isoformat()},
    )
    assert response.status_code == 400
    assert "Booster day: Saturday is not a clinic day" in response.content.decode()
    assert Appointment.objects.count() == before


def test_a_booster_for_a_course_no_longer_active_is_a_conflict(client_for, users, course):
    TreatmentCourse.objects.filter(pk=course.pk).update(status=CourseStatus.COMPLETED)
    before = Appointment.objects.count()
    response = client_for(users[Role.PRESCRIBER]).post(
        reverse("courses:add_booster", kwargs={"course_id": course.pk}),
        {"day": (_next_monday() + timedelta(days=28)).isoformat()},
    )
    assert response.status_code == 409
    assert "A completed course takes no boosters." in response.content.decode()
    assert Appointment.objects.count() == before


@pytest.mark.parametrize("role", [Role.NURSE, Role.THERAPIST, Role.FRONT_DESK])
def test_only_a_prescriber_adds_boosters(client_for, users, course, role) -> None:
    response = client_for(users[role]).post(
        reverse("courses:add_booster", kwargs={"course_id": course.pk}),
        {"day": (_next_monday() + timedelta(days=28)).isoformat()},
    )
    assert response.status_code == 403
