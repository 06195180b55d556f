"""The front desk's bookings (issue 14): booking every kind of appointment with the capacity
rules, and each status move (booked -> arrived -> done, booked -> cancelled or did not attend)
with one history row and one audit entry; each refusal names its rule and leaves nothing
stored. Then the patient's appointments page (its actions, words and query count) and the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.courses import services
from kapcare.courses.models import Appointment, AppointmentKind, AppointmentStatus, Resource
from kapcare.courses.tests.test_scheduling_views import _at, _monday
from kapcare.dosing.models import DosingSession, State
from kapcare.dosing.services import check_in
from kapcare.dosing.tests.conftest import snapshot
from kapcare.errors import Conflict, FieldInvalid
from kapcare.patients.services import create_patient

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


MONDAY_10 = _at(_monday(), 10)


@pytest.fixture
def patient():
    return create_patient(
        SYSTEM, given_name="Dana", family_name="Desk", birth_date=date(1979, 5, 2),
        sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip


@pytest.fixture
def chair() -> Resource:
    return Resource.objects.create(name="Chair 1", kind="chair")


@pytest.fixture
def desk(users):
    return Actor.for_user(users[Role.FRONT_DESK])


def _book(desk, patient, kind=AppointmentKind.INTAKE, start=MONDAY_10, **kwargs):
    return services.book_appointment(
        desk, patient, kind=kind, starts_at=start, minutes=60, **kwargs
    )


def _history_rows(appointment: Appointment) -> int:
    return appointment.history.count()


def _audited(appointment: Appointment, what: str) -> int:
    return AuditEntry.objects.filter(
        action=Action.UPDATE, what=f"appointment {appointment.pk} {what}"
    ).count()


# --- booking -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["consultation", "intake", "preparation", "integration"])
def test_the_front_desk_books_every_kind_but_dosing(desk, patient, chair, users, kind) -> None:
    therapist = users[Role.THERAPIST]
    appointment = _book(desk, patient, kind=kind, resource=chair, staff=[therapist])
    assert appointment.status == AppointmentStatus.BOOKED and appointment.kind == kind
    assert list(appointment.staff.all()) == [therapist]
    assert _history_rows(appointment) == 1
    assert AuditEntry.objects.filter(
        action=Action.CREATE, what=f"appointment {appointment.pk} booked", patient_id=patient.pk
    ).exists()


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"kind": AppointmentKind.DOSING}, "kind", "not_bookable"),
        ({"kind": "massage"}, "kind", "one_of"),
        ({"minutes": 0}, "minutes", "out_of_range"),
        ({"minutes": 600}, "minutes", "out_of_range"),
        ({"starts_at": timezone.now() - timedelta(days=2)}, "starts_at", "out_of_range"),
        ({"starts_at": timezone.now() + timedelta(days=401)}, "starts_at", "out_of_range"),
    ],
)
def test_a_booking_refused_for_its_input_stores_nothing(desk, patient, kwargs, field, rule):
    before = snapshot()
    with pytest.raises(FieldInvalid) as refused:
        services.book_appointment(
            desk, patient, **{"kind": "intake", "starts_at": MONDAY_10, "minutes": 60, **kwargs}
        )
    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert snapshot() == before


def test_an_arrived_patient_still_holds_the_chair(desk, patient, chair) -> None:
    first = _book(desk, patient, resource=chair)
    services.mark_arrived(desk, first, now=MONDAY_10 - timedelta(minutes=10))
    other = create_patient(
        SYSTEM, given_name="Eli", family_name="Other", birth_date=date(1990, 1, 1),
        sex_at_birth="male", is_synthetic=True,
    )  # fmt: skip
    before = snapshot()
    with pytest.raises(services.BookingConflict) as refused:
        _book(desk, other, start=MONDAY_10 + timedelta(minutes=30), resource=chair)
    assert (refused.value.field, refused.value.rule) == ("resource", "fully_booked")
    assert snapshot() == before


def test_a_staff_member_at_capacity_is_refused(desk, patient, users) -> None:
    therapist = users[Role.THERAPIST]
    _book(desk, patient, staff=[therapist])
    before = snapshot()
    with pytest.raises(services.BookingConflict) as refused:
        _book(desk, patient, kind="consultation", staff=[therapist])
    assert (refused.value.field, refused.value.rule) == ("staff", "at_capacity")
    assert snapshot() == before


# --- status moves ------------------------------------------------------------------------------


def test_booked_arrived_done_each_write_one_history_row_and_one_audit_entry(desk, patient):
    appointment = _book(desk, patient)
    arrived = services.mark_arrived(desk, appointment, now=MONDAY_10 - timedelta(minutes=5))
    assert arrived.status == AppointmentStatus.ARRIVED
    assert _history_rows(appointment) == 2 and _audited(appointment, "marked arrived") == 1
    done = services.mark_done(desk, appointment, now=MONDAY_10 + timedelta(hours=1))
    assert done.status == AppointmentStatus.DONE
    assert _history_rows(appointment) == 3 and _audited(appointment, "marked done") == 1
    newest = appointment.history.order_by("-history_id").first()
    assert newest is not None and newest.status == "done"


def test_cancelling_keeps_the_reason_in_one_history_row(desk, patient) -> None:
    appointment = _book(desk, patient)
    services.cancel_appointment(desk, appointment, reason="  Patient has the flu ")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.change_reason == "Patient has the flu"
    assert _history_rows(appointment) == 2 and _audited(appointment, "cancelled") == 1
    newest = appointment.history.order_by("-history_id").first()
    assert newest is not None and newest.change_reason == "Patient has the flu"


def test_did_not_attend_once_the_appointment_has_started(desk, patient) -> None:
    appointment = _book(desk, patient)
    services.mark_no_show(desk, appointment, now=MONDAY_10 + timedelta(minutes=20))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW
    assert appointment.change_reason == "marked did not attend"
    assert _history_rows(appointment) == 2 and _audited(appointment, "marked did not attend") == 1


ON_TIME = MONDAY_10 + timedelta(minutes=1)
MOVES = {
    "arrived": lambda desk, a: services.mark_arrived(desk, a, now=ON_TIME),
    "done": lambda desk, a: services.mark_done(desk, a, now=ON_TIME),
    "cancelled": lambda desk, a: services.cancel_appointment(desk, a, reason="r", now=ON_TIME),
    "no_show": lambda desk, a: services.mark_no_show(desk, a, now=ON_TIME),
}
ALLOWED = {
    ("booked", "arrived"), ("booked", "cancelled"), ("booked", "no_show"), ("arrived", "done"),
}  # fmt: skip


REFUSED = [
    (start, to) for start in AppointmentStatus.values for to in MOVES if (start, to) not in ALLOWED
]


@pytest.mark.parametrize(("start", "to"), REFUSED)
def test_every_other_move_is_refused_naming_the_rule(desk, patient, start, to) -> None:
    appointment = _book(desk, patient)
    Appointment.objects.filter(pk=appointment.pk).update(status=start)
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        MOVES[to](desk, appointment)
    assert (refused.value.field, refused.value.rule) == ("status", "illegal_move")
    assert "from booked to arrived and then done" in refused.value.message
    assert snapshot() == before


@pytest.mark.parametrize(
    ("move", "rule"),
    [
        (lambda desk, a: services.mark_arrived(desk, a, now=MONDAY_10 - timedelta(days=1)),
         "not_today"),
        (lambda desk, a: services.mark_no_show(desk, a, now=MONDAY_10 - timedelta(minutes=1)),
         "not_started"),
    ],
)  # fmt: skip
def test_arrival_on_another_day_and_no_show_before_the_start_are_refused(
    desk, patient, move, rule
) -> None:
    appointment = _book(desk, patient)
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        move(desk, appointment)
    assert (refused.value.field, refused.value.rule) == ("status", rule)
    assert snapshot() == before


def test_cancelling_without_a_reason_is_refused(desk, patient) -> None:
    appointment = _book(desk, patient)
    before = snapshot()
    with pytest.raises(FieldInvalid) as refused:
        services.cancel_appointment(desk, appointment, reason="   ")
    assert (refused.value.field, refused.value.rule) == ("reason", "required")
    assert snapshot() == before


# --- dosing appointments ----------------------------------------------------------------------


@pytest.fixture
def dosing(cleared_patient, plan_course_for) -> Appointment:
    course = plan_course_for(cleared_patient, start=_monday())
    return course.appointments.filter(kind=AppointmentKind.DOSING).order_by("starts_at").first()


def test_cancelling_a_dose_not_checked_in_cancels_its_session(desk, dosing) -> None:
    history = _history_rows(dosing)
    services.cancel_appointment(desk, dosing, reason="Patient travelling")
    dosing.refresh_from_db()
    session = DosingSession.objects.get(appointment=dosing)
    assert dosing.status == AppointmentStatus.CANCELLED and session.state == State.CANCELLED
    assert dosing.change_reason == "Patient travelling"
    assert session.transitions.get().reason == "Patient travelling"
    assert _history_rows(dosing) == history + 1


def test_a_dose_whose_session_checked_in_is_neither_cancelled_nor_missed(
    desk, dosing, users
) -> None:
    session = DosingSession.objects.get(appointment=dosing)
    check_in(Actor.for_user(users[Role.NURSE]), session, now=dosing.starts_at)
    after_start = dosing.starts_at + timedelta(minutes=30)
    before = snapshot()
    for move in (
        lambda: services.cancel_appointment(desk, dosing, reason="r", now=after_start),
        lambda: services.mark_no_show(desk, dosing, now=after_start),
        lambda: services.reschedule(
            desk, dosing, starts_at=after_start, resource=None, staff=[], reason="r"
        ),
    ):
        with pytest.raises(Conflict) as refused:
            move()
        assert (refused.value.field, refused.value.rule) == ("session", "under_way")
    assert snapshot() == before


def test_arrival_at_a_dose_leaves_the_session_to_the_nurse_and_done_is_the_discharge(
    desk, dosing
) -> None:
    services.mark_arrived(desk, dosing, now=dosing.starts_at)
    assert DosingSession.objects.get(appointment=dosing).state == State.SCHEDULED
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        services.mark_done(desk, dosing, now=dosing.ends_at)
    assert (refused.value.field, refused.value.rule) == ("kind", "done_at_discharge")
    assert snapshot() == before


# --- the page ---------------------------------------------------------------------------------


def _page(patient) -> str:
    return reverse("courses:patient_appointments", kwargs={"patient_id": patient.pk})


def _move_url(appointment: Appointment, move: str) -> str:
    return reverse(f"courses:appointment_{move}", kwargs={"appointment_id": appointment.pk})


def test_the_front_desk_books_on_the_page_choosing_staff_by_checkbox(
    client_for, users, patient, chair, django_assert_max_num_queries
) -> None:
    client = client_for(users[Role.FRONT_DESK])
    therapist, nurse = users[Role.THERAPIST], users[Role.NURSE]
    page = client.get(_page(patient)).content.decode()
    assert 'type="checkbox" name="staff"' in page and "<select multiple" not in page
    response = client.post(
        reverse("courses:appointment_book", kwargs={"patient_id": patient.pk}),
        {
            "kind": "intake",
            "starts_at": f"{MONDAY_10:%Y-%m-%dT%H:%M}",
            "minutes": 45,
            "resource": chair.pk,
            "staff": [therapist.pk, nurse.pk],
        },
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.kind == "intake" and appointment.starts_at == MONDAY_10
    assert set(appointment.staff.all()) == {therapist, nurse}
    for n in range(4):  # more appointments, the same number of queries
        _book(
            Actor.for_user(users[Role.FRONT_DESK]), patient, start=MONDAY_10 + timedelta(days=n + 1)
        )
    with django_assert_max_num_queries(14):
        page = client.get(_page(patient)).content.decode()
    assert page.count('class="appointment-card"') == 5
    assert "Intake appointment booked for" in page


def test_a_refused_booking_shows_the_form_again_with_words(client_for, users, patient, chair):
    client = client_for(users[Role.FRONT_DESK])
    _book(Actor.for_user(users[Role.FRONT_DESK]), patient, resource=chair)
    url = reverse("courses:appointment_book", kwargs={"patient_id": patient.pk})
    body = {"kind": "consultation", "starts_at": f"{MONDAY_10:%Y-%m-%dT%H:%M}", "minutes": 30}
    response = client.post(url, {**body, "resource": chair.pk})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Room or chair: Chair 1 is fully booked" in page
    assert 'value="consultation" selected' in page  # what was entered is kept
    response = client.post(url, {**body, "minutes": 900})
    assert response.status_code == 400
    assert "Length (minutes): Ensure this value is less than or equal to 480." in (
        response.content.decode()
    )
    assert Appointment.objects.filter(patient=patient).count() == 1


@time_machine.travel(MONDAY_10 - timedelta(minutes=5), tick=False)
def test_arrival_done_and_a_refusal_on_the_page(client_for, users, patient) -> None:
    client = client_for(users[Role.FRONT_DESK])
    appointment = _book(Actor.for_user(users[Role.FRONT_DESK]), patient)
    response = client.post(_move_url(appointment, "arrive"), follow=True)
    page = response.content.decode()
    assert "marked as arrived" in page and 'status-arrived">Arrived' in page
    response = client.post(_move_url(appointment, "arrive"), follow=True)
    assert "An arrived appointment cannot be marked arrived" in response.content.decode()
    response = client.post(_move_url(appointment, "done"), follow=True)
    assert "marked as done" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.DONE and _history_rows(appointment) == 3


def test_cancelling_on_the_page_asks_for_the_reason_in_words(client_for, users, patient):
    client = client_for(users[Role.FRONT_DESK])
    appointment = _book(Actor.for_user(users[Role.FRONT_DESK]), patient)
    response = client.post(_move_url(appointment, "cancel"), {"reason": ""}, follow=True)
    assert "Reason for cancelling: This field is required." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    response = client.post(_move_url(appointment, "cancel"), {"reason": "Moved away"}, follow=True)
    assert "cancelled." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED


@pytest.mark.parametrize("role", [Role.NURSE, Role.THERAPIST, Role.CLINIC_ADMIN, Role.PATIENT])
def test_only_the_front_desk_books_and_moves(client_for, users, patient, role) -> None:
    client = client_for(users[role])
    appointment = _book(Actor.for_user(users[Role.FRONT_DESK]), patient)
    for move in ("arrive", "no_show", "cancel", "done"):
        assert client.post(_move_url(appointment, move), {"reason": "x"}).status_code == 403
    book = reverse("courses:appointment_book", kwargs={"patient_id": patient.pk})
    assert client.post(book, {}).status_code == 403
    if role in (Role.NURSE, Role.THERAPIST):  # clinicians see the appointments, not the actions
        page = client.get(_page(patient)).content.decode()
        assert "Intake appointment" in page and "Arrived" not in page and "Book an" not in page


def test_the_front_desks_patient_page_links_to_the_appointments(client_for, users, patient):
    page = client_for(users[Role.FRONT_DESK]).get(
        reverse("patients:details", kwargs={"patient_id": patient.pk})
    )
    assert _page(patient) in page.content.decode()


def test_the_reschedule_page_picks_staff_by_checkbox(client_for, users, patient) -> None:
    appointment = _book(Actor.for_user(users[Role.FRONT_DESK]), patient)
    page = client_for(users[Role.FRONT_DESK]).get(
        reverse("courses:reschedule", kwargs={"appointment_id": appointment.pk})
    )
    html = page.content.decode()
    assert '<div id="id_staff" class="staff-picker">' in html and "<select multiple" not in html
    assert f'value="{users[Role.THERAPIST].pk}"' in html


# --- the API ----------------------------------------------------------------------------------


def _api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def _post(client: Client, path: str, body: dict | None = None, **headers):
    return client.post(f"/api/v1{path}", body or {}, content_type="application/json", **headers)


def _error(response) -> tuple[str, str]:
    error = response.json()["errors"][0]
    return error["field"], error["rule"]


def test_api_books_and_replays_with_the_same_idempotency_key(users, token_for, patient, chair):
    client = _api(token_for(users[Role.FRONT_DESK]))
    therapist = users[Role.THERAPIST]
    body = {
        "kind": "integration",
        "starts_at": MONDAY_10.isoformat(),
        "minutes": 50,
        "resource_id": chair.pk,
        "staff_ids": [therapist.pk],
    }
    path = f"/patients/{patient.pk}/appointments"
    response = _post(client, path, body, HTTP_IDEMPOTENCY_KEY="book-1")
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["status"] == "booked" and out["kind"] == "integration"
    assert out["staff_ids"] == [therapist.pk] and out["resource_id"] == chair.pk
    again = _post(client, path, body, HTTP_IDEMPOTENCY_KEY="book-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert Appointment.objects.filter(patient=patient).count() == 1
    full = _post(client, path, {**body, "staff_ids": []})
    assert full.status_code == 409 and _error(full) == ("resource", "fully_booked")
    unknown = _post(client, path, {**body, "staff_ids": [999999]})
    assert unknown.status_code == 422 and _error(unknown) == ("staff_ids", "not_found")
    dosing = _post(client, path, {**body, "kind": "dosing"})
    assert dosing.status_code == 422 and _error(dosing)[0] == "kind"


def test_api_moves_and_their_refusals(users, token_for, patient) -> None:
    client = _api(token_for(users[Role.FRONT_DESK]))
    appointment = _book(Actor.for_user(users[Role.FRONT_DESK]), patient)
    base = f"/appointments/{appointment.pk}"
    with time_machine.travel(MONDAY_10 - timedelta(minutes=30), tick=False):
        early = _post(client, f"{base}/no-show", {"reason": ""})
        assert early.status_code == 409 and _error(early) == ("status", "not_started")
        arrived = _post(client, f"{base}/arrive")
        assert arrived.status_code == 200 and arrived.json()["status"] == "arrived"
        again = _post(client, f"{base}/arrive")
        assert again.status_code == 409 and _error(again) == ("status", "illegal_move")
    other = _book(Actor.for_user(users[Role.FRONT_DESK]), patient, start=MONDAY_10 + timedelta(1))
    blank = _post(client, f"/appointments/{other.pk}/cancel", {"reason": " "})
    assert blank.status_code == 422 and _error(blank) == ("reason", "required")
    cancelled = _post(client, f"/appointments/{other.pk}/cancel", {"reason": "Unwell"})
    assert cancelled.status_code == 200
    assert (
        cancelled.json()["status"] == "cancelled" and cancelled.json()["change_reason"] == "Unwell"
    )
    assert _post(client, "/appointments/999999/arrive").status_code == 404
    nurse = _api(token_for(users[Role.NURSE]))
    assert _post(nurse, f"{base}/arrive").status_code == 403
