"""Rescheduling (front desk and clinicians; capacity refused clearly; history kept), the
patient's appointments page and the day view per role, with constant query counts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.courses import services
from kapcare.courses.models import (
    Appointment,
    AppointmentKind,
    Protocol,
    Resource,
    TreatmentCourse,
)
from kapcare.dosing.models import DosingSession
from kapcare.errors import Conflict, FieldInvalid
from kapcare.patients.services import create_patient

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def _monday() -> date:
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def chairs() -> list[Resource]:
    return [
        Resource.objects.create(name="Chair 1", kind="chair"),
        Resource.objects.create(name="Chair 2", kind="chair"),
    ]


def _patient(n: int):
    return create_patient(
        SYSTEM, given_name=f"Pat{n}", family_name=f"Example{n}", birth_date=date(1980, 1, 1),
        sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip


def _book(patient, start: datetime, chair=None, staff=(), kind=AppointmentKind.INTEGRATION):
    return services.book_appointment(
        SYSTEM, patient, kind=kind, starts_at=start, minutes=60, resource=chair, staff=staff
    )


def _reschedule_url(appointment) -> str:
    return reverse("courses:reschedule", kwargs={"appointment_id": appointment.pk})


@pytest.fixture
def two_bookings(chairs, users):
    day = _monday()
    first = _book(_patient(1), _at(day, 10), chairs[0])
    second = _book(_patient(2), _at(day, 14), chairs[0], staff=[users[Role.THERAPIST]])
    return first, second


def test_front_desk_reschedules_and_the_history_shows_it(client_for, users, two_bookings):
    _first, second = two_bookings
    desk = users[Role.FRONT_DESK]
    client = client_for(desk)
    new_start = _at(_monday(), 15, 30)
    response = client.post(
        _reschedule_url(second),
        {
            "starts_at": f"{new_start:%Y-%m-%dT%H:%M}",
            "resource": second.resource_id,
            "staff": [users[Role.THERAPIST].pk],
            "reason": "Patient asked for later",
        },
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.starts_at == new_start and second.ends_at == new_start + timedelta(hours=1)
    page = client.get(_reschedule_url(second)).content.decode()
    # Both versions: the booking at 14:00 and the move to 15:30, with who and why.
    assert f"{_monday():%Y-%m-%d} 14:00" in page and f"{_monday():%Y-%m-%d} 15:30" in page
    assert "Patient asked for later" in page and desk.full_name in page
    assert AuditEntry.objects.filter(
        action="update", what=f"appointment {second.pk} rescheduled", user=desk
    ).exists()


def test_double_booking_a_chair_is_refused_clearly(client_for, users, two_bookings) -> None:
    first, second = two_bookings
    response = client_for(users[Role.FRONT_DESK]).post(
        _reschedule_url(second),
        {
            "starts_at": f"{_at(_monday(), 10, 30):%Y-%m-%dT%H:%M}",
            "resource": first.resource_id,
            "reason": "Earlier slot",
        },
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Room or chair: Chair 1 is fully booked" in page and "1 of 1 place taken" in page
    second.refresh_from_db()
    assert timezone.localtime(second.starts_at).hour == 14
    assert second.change_reason == "booked"


def test_a_staff_member_beyond_capacity_is_refused(client_for, users, two_bookings, chairs):
    first, _second = two_bookings
    therapist = users[Role.THERAPIST]
    response = client_for(users[Role.NURSE]).post(
        _reschedule_url(first),
        {
            "starts_at": f"{_at(_monday(), 14, 15):%Y-%m-%dT%H:%M}",
            "resource": chairs[1].pk,
            "staff": [therapist.pk],
            "reason": "Therapist swap",
        },
    )
    assert response.status_code == 409
    assert f"Staff: {therapist.full_name} already has 1 appointment" in response.content.decode()


def test_the_services_refusals_name_their_field_and_rule(users, two_bookings, chairs) -> None:
    first, second = two_bookings
    with pytest.raises(services.BookingConflict) as full:
        _book(_patient(3), first.starts_at, chairs[0])
    assert isinstance(full.value, Conflict)
    assert (full.value.field, full.value.rule) == ("resource", "fully_booked")
    with pytest.raises(services.BookingConflict) as busy:
        _book(_patient(4), second.starts_at, chairs[1], staff=[users[Role.THERAPIST]])
    assert (busy.value.field, busy.value.rule) == ("staff", "at_capacity")
    with pytest.raises(FieldInvalid) as dosing:
        _book(_patient(5), _at(_monday(), 8), kind=AppointmentKind.DOSING)
    assert (dosing.value.field, dosing.value.rule) == ("kind", "not_bookable")
    with pytest.raises(FieldInvalid) as unknown:
        _book(_patient(5), _at(_monday(), 8), kind="massage")
    assert (unknown.value.field, unknown.value.rule) == ("kind", "one_of")
    with pytest.raises(FieldInvalid) as no_reason:
        services.cancel_appointment(SYSTEM, first, reason=" ")
    assert (no_reason.value.field, no_reason.value.rule) == ("reason", "required")


def test_a_cancelled_appointment_cannot_be_rescheduled(client_for, users, two_bookings) -> None:
    _first, second = two_bookings
    services.cancel_appointment(SYSTEM, second, reason="Patient unwell")
    response = client_for(users[Role.FRONT_DESK]).post(
        _reschedule_url(second),
        {"starts_at": f"{_at(_monday(), 16):%Y-%m-%dT%H:%M}", "reason": "Rebook"},
    )
    # A conflict (409), not bad input; the page shows the status and no form to send again.
    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [
        "A cancelled appointment cannot be rescheduled."
    ]
    assert "<dt>Status</dt><dd>Cancelled</dd>" in response.content.decode()
    second.refresh_from_db()
    assert timezone.localtime(second.starts_at).hour == 14


def test_a_reason_is_required(client_for, users, two_bookings) -> None:
    _first, second = two_bookings
    response = client_for(users[Role.FRONT_DESK]).post(
        _reschedule_url(second),
        {"starts_at": f"{_at(_monday(), 16):%Y-%m-%dT%H:%M}", "reason": ""},
    )
    assert response.status_code == 400
    assert "Reason: This field is required." in response.content.decode()
    second.refresh_from_db()
    assert timezone.localtime(second.starts_at).hour == 14


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.NURSE, Role.PRESCRIBER, Role.THERAPIST])
def test_front_desk_and_clinicians_may_reschedule(client_for, users, two_bookings, role):
    response = client_for(users[role]).get(_reschedule_url(two_bookings[0]))
    assert response.status_code == 200
    assert AuditEntry.objects.filter(action="read", what="appointment").exists()


@pytest.mark.parametrize("role", [Role.CLINIC_ADMIN, Role.PATIENT])
def test_others_may_not_reschedule(client_for, users, two_bookings, role) -> None:
    assert client_for(users[role]).get(_reschedule_url(two_bookings[0])).status_code == 403


def test_patient_appointments_page(client_for, users, two_bookings) -> None:
    first, _second = two_bookings
    url = reverse("courses:patient_appointments", kwargs={"patient_id": first.patient_id})
    response = client_for(users[Role.FRONT_DESK]).get(url)
    assert response.status_code == 200
    assert _reschedule_url(first) in response.content.decode()
    assert client_for(users[Role.PATIENT]).get(url).status_code == 403
    assert client_for(users[Role.CLINIC_ADMIN]).get(url).status_code == 403


# --- the day view ----------------------------------------------------------------------------


def _day_url(day: date) -> str:
    return reverse("courses:day", kwargs={"day": day.isoformat()})


@pytest.fixture
def busy_day(users, chairs, cleared_patient, plan_course_for):
    """A Monday with a course's first dosing session (Chair 1 free for it), a preparation
    meeting with the therapist and an integration session on Chair 2."""
    course = plan_course_for(cleared_patient, start=_monday())
    dosing = course.appointments.get(kind="dosing", number=1)
    other = _patient(9)
    prep = _book(
        other, _at(_monday(), 13), chairs[1], staff=[users[Role.THERAPIST]],
        kind=AppointmentKind.PREPARATION,
    )  # fmt: skip
    integration = _book(other, _at(_monday(), 15), chairs[1], staff=[users[Role.NURSE]])
    return {"dosing": dosing, "prep": prep, "integration": integration}


def test_front_desk_sees_every_appointment_by_chair(client_for, users, busy_day) -> None:
    page = client_for(users[Role.FRONT_DESK]).get(_day_url(_monday())).content.decode()
    assert "<h3>Chair 1</h3>" in page and "<h3>Chair 2</h3>" in page
    assert "Cleared, Casey" in page and "Example9, Pat9" in page
    assert "Dosing session" in page and "Preparation meeting" in page
    # No clinical detail for the front desk: no session state.
    assert "Scheduled</span>" not in page


def test_nurse_sees_dosing_sessions_with_state_and_own_appointments(
    client_for, users, busy_day
) -> None:
    page = client_for(users[Role.NURSE]).get(_day_url(_monday())).content.decode()
    sessions = page.split('id="day-sessions"')[1].split("</table>")[0]
    assert "Cleared, Casey" in sessions and "Scheduled" in sessions
    session_id = busy_day["dosing"].dosing_session.pk
    assert reverse("dosing:session", kwargs={"session_id": session_id}) in sessions
    assert "Pat9" not in sessions
    mine = page.split('id="day-mine"')[1].split("</table>")[0]
    assert "Integration session" in mine and "Pat9" in mine


def test_therapist_sees_preparation_and_integration_sessions(client_for, users, busy_day):
    page = client_for(users[Role.THERAPIST]).get(_day_url(_monday())).content.decode()
    sessions = page.split('id="day-sessions"')[1].split("</table>")[0]
    assert "Preparation meeting" in sessions and "Integration session" in sessions
    assert "Dosing session" not in sessions
    mine = page.split('id="day-mine"')[1].split("</table>")[0]
    assert "Preparation meeting" in mine and "Integration session" not in mine


def test_the_day_view_logs_access_to_the_patients_shown(client_for, users, busy_day) -> None:
    client_for(users[Role.FRONT_DESK]).get(_day_url(_monday()))
    logged = set(
        AuditEntry.objects.filter(action="read", what__startswith="day view").values_list(
            "patient_id", flat=True
        )
    )
    assert logged == {busy_day["dosing"].patient_id, busy_day["prep"].patient_id}


def test_the_today_page_carries_the_day_view(client_for, users, chairs) -> None:
    _book(_patient(3), timezone.now() + timedelta(minutes=5), chairs[0])
    page = client_for(users[Role.FRONT_DESK]).get(reverse("web:today")).content.decode()
    if timezone.localdate(timezone.now() + timedelta(minutes=5)) == timezone.localdate():
        assert "Example3, Pat3" in page
    assert 'type="date"' in page and 'name="day"' in page


def test_the_date_picker_redirects_to_the_day(client_for, users) -> None:
    client = client_for(users[Role.NURSE])
    response = client.get(_day_url(timezone.localdate()), {"day": "2026-12-01"})
    assert response.status_code == 302 and response["Location"] == "/day/2026-12-01/"
    bad = client.get("/day/2026-13-45/")
    assert bad.status_code == 400 and "day: “2026-13-45” is not a date" in bad.content.decode()


def test_patients_may_not_see_the_day(client_for, users) -> None:
    assert client_for(users[Role.PATIENT]).get(_day_url(_monday())).status_code == 403


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.NURSE, Role.THERAPIST])
def test_day_view_queries_do_not_grow_with_appointments(
    client_for, users, chairs, role, django_assert_max_num_queries
) -> None:
    client = client_for(users[role])
    day = _monday()
    staff = [users[Role.THERAPIST]]

    protocol = Protocol.objects.get(code="iv-ptsd")

    def add(count: int, offset: int) -> None:
        for n in range(count):
            patient = _patient(offset + n)
            _book(patient, _at(day, 8) + timedelta(minutes=n), None, staff=staff)
            _book(
                patient, _at(day, 12) + timedelta(minutes=n), None,
                kind=AppointmentKind.PREPARATION,
            )  # fmt: skip
            # A dosing session with its record (made directly: planning needs a screening).
            course = TreatmentCourse.objects.create(
                patient=patient, protocol=protocol, protocol_snapshot=protocol.snapshot().to_json(),
                start_date=day, clearance="test", planned_by=users[Role.PRESCRIBER],
            )  # fmt: skip
            dosing = Appointment.objects.create(
                patient=patient, course=course, kind=AppointmentKind.DOSING, number=1,
                starts_at=_at(day, 9) + timedelta(minutes=n),
                ends_at=_at(day, 11) + timedelta(minutes=n),
            )  # fmt: skip
            DosingSession.objects.create(appointment=dosing, course=course, patient=patient)

    add(1, 100)
    # Only one appointment at a time per therapist: the rest are booked without staff.
    staff = []
    add(2, 200)
    with django_assert_max_num_queries(30) as few:
        client.get(_day_url(day))
    add(12, 300)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(_day_url(day))
    assert Appointment.objects.count() == 45
    assert response.content.decode().count("Example3") >= 12


def test_a_reschedule_writes_one_history_row(users, two_bookings) -> None:
    _first, second = two_bookings
    before = second.history.count()
    services.reschedule(
        SYSTEM, second, starts_at=_at(_monday(), 16), resource=second.resource,
        staff=[users[Role.NURSE]], reason="Nurse swap",
    )  # fmt: skip
    assert second.history.count() == before + 1
    latest = second.history.first()
    assert latest.change_reason == "Nurse swap"
    # The row keeps the new staff (the historical through rows name each user).
    assert [row.user_id for row in latest.staff.all()] == [users[Role.NURSE].pk]


def test_a_dosing_session_under_way_cannot_be_moved(cleared_patient, plan_course_for, users):
    from kapcare.dosing import services as dosing

    course = plan_course_for(cleared_patient)
    session = course.dosing_sessions.order_by("appointment__starts_at").first()
    dosing.check_in(Actor.for_user(users[Role.NURSE]), session)
    appointment = session.appointment
    with pytest.raises(Conflict) as refused:
        services.reschedule(
            SYSTEM, appointment, starts_at=appointment.starts_at + timedelta(days=1),
            resource=appointment.resource, staff=[], reason="Front desk moved it",
        )  # fmt: skip
    assert (refused.value.field, refused.value.rule) == ("session", "under_way")
    appointment.refresh_from_db()
    assert appointment.starts_at == session.appointment.starts_at
