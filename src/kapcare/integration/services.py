"""Writes to integration notes and the journal: each in a transaction, with its audit entry.
Bad input raises FieldInvalid naming the field and the rule before anything is written."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.courses.models import Appointment, AppointmentKind
from kapcare.dosing.models import DosingSession, State
from kapcare.errors import FieldInvalid
from kapcare.integration.models import IntegrationNote, JournalEntry, Practice
from kapcare.patients.models import Patient


def _not_future(field: str, day: date) -> None:
    if day > timezone.localdate():
        raise FieldInvalid(field, "in_future", "cannot be in the future")


def _practices(values: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(values))
    unknown = [v for v in chosen if v not in Practice.values]
    if unknown:
        raise FieldInvalid(
            "practices",
            "one_of",
            f"unknown practice {unknown[0]!r}; allowed: {', '.join(Practice.values)}",
        )
    return chosen


def _integration_appointment(session: DosingSession) -> Appointment | None:
    """The integration session booked after this dosing session that has no note yet."""
    return (
        Appointment.objects.filter(
            follows_id=session.appointment_id,
            kind=AppointmentKind.INTEGRATION,
            integration_note__isnull=True,
        )
        .order_by("starts_at", "id")
        .first()
    )


def write_note(
    actor: Actor,
    patient: Patient,
    *,
    author: User,
    dosing_session: DosingSession,
    held_on: date,
    insights: str,
    practices: Iterable[str] = (),
    homework: str = "",
) -> IntegrationNote:
    """A therapist's integration note on the dosing session it follows. It is linked to the
    integration appointment booked after that session, when there is one still without a
    note."""
    insights = insights.strip()
    if not insights:
        raise FieldInvalid("insights", "required", "required")
    chosen = _practices(practices)
    _not_future("held_on", held_on)
    if dosing_session.patient_id != patient.pk:
        raise FieldInvalid("dosing_session", "other_patient", "belongs to another patient")
    if dosing_session.state == State.CANCELLED:
        raise FieldInvalid("dosing_session", "cancelled", "the session was cancelled")
    dosed_on = timezone.localdate(dosing_session.appointment.starts_at)
    if dosed_on > held_on:
        raise FieldInvalid(
            "held_on",
            "before_session",
            f"before the dosing session it follows ({dosed_on:%Y-%m-%d})",
        )
    with transaction.atomic():
        note = IntegrationNote.objects.create(
            patient=patient,
            appointment=_integration_appointment(dosing_session),
            dosing_session=dosing_session,
            held_on=held_on,
            insights=insights,
            practices=chosen,
            homework=homework.strip(),
            author=author,
        )
        record_event(
            actor,
            Action.CREATE,
            f"integration note {note.pk} after dosing session {dosing_session.pk}",
            patient_id=patient.pk,
        )
    return note


def add_journal_entry(
    actor: Actor, patient: Patient, *, entered_by: User, written_on: date, text: str
) -> JournalEntry:
    """The patient's own words, typed in by staff (the portal comes later)."""
    text = text.strip()
    if not text:
        raise FieldInvalid("text", "required", "required")
    _not_future("written_on", written_on)
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            patient=patient, written_on=written_on, text=text, entered_by=entered_by
        )
        record_event(actor, Action.CREATE, f"journal entry {entry.pk}", patient_id=patient.pk)
    return entry
