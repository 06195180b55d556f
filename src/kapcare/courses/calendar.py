"""iCalendar (RFC 5545) feeds of appointments, built with the icalendar library.

A calendar on a phone is not a secure place, and the feed URL may be shared by accident, so a
feed says as little as it can: a patient's feed carries only the kind of appointment and the
room; a staff member's feed adds the patient's initials, never a name or anything clinical.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from icalendar import Calendar, Event

from kapcare.courses.models import Appointment, AppointmentKind, AppointmentStatus

PRODID = "-//kapcare//appointments//EN"
UID_DOMAIN = "kapcare"
SUMMARIES = {
    AppointmentKind.PREPARATION: "Preparation meeting",
    AppointmentKind.DOSING: "Treatment session",
    AppointmentKind.INTEGRATION: "Integration session",
}


def initials(given_name: str, family_name: str) -> str:
    return "".join(f"{part.strip()[:1].upper()}." for part in (given_name, family_name) if part)


def event_uid(appointment: Appointment) -> str:
    """Stable across reschedules, so a calendar moves the event instead of adding another."""
    return f"appointment-{appointment.pk}@{UID_DOMAIN}"


def summary(appointment: Appointment, *, for_staff: bool) -> str:
    text = SUMMARIES.get(appointment.kind, "Appointment")  # type: ignore[call-overload]  # kind is the str value of the enum
    if for_staff:
        patient = appointment.patient
        text = f"{text}: {initials(patient.given_name, patient.family_name)}"
    return text


def build_calendar(
    appointments: Iterable[Appointment], *, name: str, for_staff: bool, now: datetime
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    stamp = now.astimezone(UTC)
    for appointment in appointments:
        event = Event()
        event.add("uid", event_uid(appointment))
        event.add("dtstamp", stamp)
        # UTC instants: no time-zone definitions to get wrong in a client.
        event.add("dtstart", appointment.starts_at.astimezone(UTC))
        event.add("dtend", appointment.ends_at.astimezone(UTC))
        event.add("summary", summary(appointment, for_staff=for_staff))
        if appointment.resource is not None:
            event.add("location", appointment.resource.name)
        cancelled = appointment.status == AppointmentStatus.CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
