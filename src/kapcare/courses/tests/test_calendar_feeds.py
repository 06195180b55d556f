"""iCalendar feeds: created and revoked by their owner (or, for a patient, the front desk and
clinicians), public by secret token only, parsed here with the icalendar library."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from kapcare.accounts.roles import Role
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.courses import services
from kapcare.courses.models import AppointmentKind, CalendarFeed, Resource

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
FEED_PATH = re.compile(r"https?://[^/]+(/calendar/[A-Za-z0-9_-]+\.ics)")


def _monday() -> date:
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def booked(users, cleared_patient):
    """Two appointments of the cleared patient (Casey Cleared) with the therapist, one in a
    chair, and one of another patient with nobody."""
    chair = Resource.objects.create(name="Chair 3", kind="chair")
    therapist = users[Role.THERAPIST]
    first = services.book_appointment(
        SYSTEM, cleared_patient, kind=AppointmentKind.PREPARATION,
        starts_at=_at(_monday(), 10), minutes=60, resource=chair, staff=[therapist],
    )  # fmt: skip
    second = services.book_appointment(
        SYSTEM, cleared_patient, kind=AppointmentKind.INTEGRATION,
        starts_at=_at(_monday() + timedelta(days=2), 15), minutes=60, staff=[therapist],
    )  # fmt: skip
    return first, second


def _events(body: bytes) -> dict[str, Any]:
    calendar = Calendar.from_ical(body)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def _create_own_feed(client) -> str:
    response = client.post(reverse("courses:my_feed_create"))
    assert response.status_code == 201
    match = FEED_PATH.search(response.content.decode())
    assert match, "the new feed address is shown"
    return match.group(1)


def test_staff_feed_shows_their_appointments_with_initials_only(client_for, users, booked) -> None:
    first, second = booked
    path = _create_own_feed(client_for(users[Role.THERAPIST]))
    response = Client().get(path)  # no sign-in: the token is the credential
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = _events(response.content)
    assert set(events) == {f"appointment-{first.pk}@kapcare", f"appointment-{second.pk}@kapcare"}
    event = events[f"appointment-{first.pk}@kapcare"]
    assert event["SUMMARY"] == "Preparation meeting: C.C."
    assert event["LOCATION"] == "Chair 3"
    start = event.decoded("DTSTART")
    assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    assert start == first.starts_at.astimezone(UTC)
    assert event.decoded("DTEND") == first.ends_at.astimezone(UTC)
    assert b"DTSTART:" in response.content and b"Z\r\n" in response.content
    body = response.content.decode()
    assert "Casey" not in body and "Cleared" not in body and "MRN" not in body


def test_the_uid_is_stable_when_an_appointment_moves(client_for, users, booked) -> None:
    first, _second = booked
    path = _create_own_feed(client_for(users[Role.THERAPIST]))
    services.reschedule(
        SYSTEM, first, starts_at=_at(_monday(), 16), resource=None,
        staff=[users[Role.THERAPIST]], reason="moved",
    )  # fmt: skip
    event = _events(Client().get(path).content)[f"appointment-{first.pk}@kapcare"]
    assert event.decoded("DTSTART") == _at(_monday(), 16).astimezone(UTC)
    assert "LOCATION" not in event


def test_only_the_token_hash_is_stored(client_for, users, booked) -> None:
    path = _create_own_feed(client_for(users[Role.NURSE]))
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    feed = CalendarFeed.objects.get(user=users[Role.NURSE])
    assert feed.token_sha256 == services.token_sha256(token)
    stored = [str(v) for v in CalendarFeed.objects.values_list(flat=True)]
    assert token not in " ".join(stored)
    assert token not in " ".join(AuditEntry.objects.values_list("what", flat=True))
    # Not shown again.
    page = client_for(users[Role.NURSE]).get(reverse("courses:my_calendar")).content.decode()
    assert token not in page


def test_a_patient_feed_shows_the_kind_only_and_logs_access(
    client_for, users, booked, cleared_patient
) -> None:
    client = client_for(users[Role.FRONT_DESK])
    response = client.post(
        reverse("courses:patient_feed_create", kwargs={"patient_id": cleared_patient.pk})
    )
    assert response.status_code == 201
    match = FEED_PATH.search(response.content.decode())
    assert match is not None
    path = match.group(1)
    feed = CalendarFeed.objects.get(patient=cleared_patient)
    body = Client().get(path).content
    events = _events(body)
    assert sorted(str(e["SUMMARY"]) for e in events.values()) == [
        "Integration session",
        "Preparation meeting",
    ]
    assert b"C.C." not in body and b"Casey" not in body and b"Test therapist" not in body
    assert AuditEntry.objects.filter(
        action="read", patient_id=cleared_patient.pk, user_email=f"calendar feed {feed.pk}"
    ).exists()


def test_revoked_and_unknown_tokens_get_404(client_for, users, booked) -> None:
    client = client_for(users[Role.THERAPIST])
    path = _create_own_feed(client)
    feed = CalendarFeed.objects.get(user=users[Role.THERAPIST])
    response = client.post(reverse("courses:feed_revoke", kwargs={"feed_id": feed.pk}))
    assert response.status_code == 302
    assert Client().get(path).status_code == 404
    assert Client().get("/calendar/not-a-real-token.ics").status_code == 404
    feed.refresh_from_db()
    assert feed.revoked_at is not None


def test_nobody_else_revokes_my_feed(client_for, users) -> None:
    feed, _token = services.create_calendar_feed(
        Actor.for_user(users[Role.NURSE]), user=users[Role.NURSE]
    )
    for role in (Role.PRESCRIBER, Role.FRONT_DESK, Role.CLINIC_ADMIN):
        response = client_for(users[role]).post(
            reverse("courses:feed_revoke", kwargs={"feed_id": feed.pk})
        )
        assert response.status_code == 404
    feed.refresh_from_db()
    assert feed.revoked_at is None


def test_front_desk_revokes_a_patient_feed_but_the_admin_cannot(
    client_for, users, cleared_patient
) -> None:
    feed, token = services.create_calendar_feed(
        Actor.for_user(users[Role.FRONT_DESK]), patient=cleared_patient
    )
    url = reverse("courses:feed_revoke", kwargs={"feed_id": feed.pk})
    assert client_for(users[Role.CLINIC_ADMIN]).post(url).status_code == 404
    assert client_for(users[Role.FRONT_DESK]).post(url).status_code == 302
    assert Client().get(f"/calendar/{token}.ics").status_code == 404


def test_patients_cannot_create_feeds_here(client_for, users, cleared_patient) -> None:
    client = client_for(users[Role.PATIENT])
    assert client.post(reverse("courses:my_feed_create")).status_code == 403
    assert client.get(reverse("courses:my_calendar")).status_code == 403
    assert (
        client.post(
            reverse("courses:patient_feed_create", kwargs={"patient_id": cleared_patient.pk})
        ).status_code
        == 403
    )
