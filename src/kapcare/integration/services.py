"""Writes to integration notes and the journal: each in a transaction, with its audit entry.
Bad input raises FieldInvalid naming the field and the rule before anything is written."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.courses.models import Appointment, AppointmentKind
from kapcare.dosing.models import DosingSession, State
from kapcare.errors import Conflict, FieldInvalid
from kapcare.integration.models import (
    IntegrationNote,
    IntegrationNoteAmendment,
    JournalEntry,
    Practice,
)
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


SIGNED = "The integration note is signed; add an amendment instead."


def _appointment_has_happened(appointment: Appointment | None) -> None:
    """A note records a session held, so it never attaches to one still to come."""
    if appointment is not None and appointment.starts_at > timezone.now():
        when = timezone.localtime(appointment.starts_at)
        raise FieldInvalid(
            "appointment",
            "in_future",
            f"the integration appointment on {when:%Y-%m-%d %H:%M} has not happened yet",
        )


def _checked(
    patient: Patient, dosing_session: DosingSession, held_on: date, insights: str,
    practices: Iterable[str],
) -> tuple[str, list[str]]:  # fmt: skip
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
    return insights, chosen


def _locked(note: IntegrationNote) -> IntegrationNote:
    return IntegrationNote.objects.select_for_update().get(pk=note.pk)


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
    note; one that has not happened yet refuses the note (``appointment``). The note is a
    draft until signed."""
    insights, chosen = _checked(patient, dosing_session, held_on, insights, practices)
    appointment = _integration_appointment(dosing_session)
    _appointment_has_happened(appointment)
    with transaction.atomic():
        note = IntegrationNote.objects.create(
            patient=patient,
            appointment=appointment,
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


def edit_note(
    actor: Actor,
    note: IntegrationNote,
    *,
    dosing_session: DosingSession,
    held_on: date,
    insights: str,
    practices: Iterable[str] = (),
    homework: str = "",
) -> IntegrationNote:
    """Rewrite a draft note. A signed one is refused (Conflict ``note_signed``): amend it."""
    patient = note.patient
    insights, chosen = _checked(patient, dosing_session, held_on, insights, practices)
    with transaction.atomic():
        note = _locked(note)
        if note.signed_at is not None:
            raise Conflict(SIGNED, field="insights", rule="note_signed")
        if dosing_session.pk != note.dosing_session_id:
            note.appointment = _integration_appointment(dosing_session)
        _appointment_has_happened(note.appointment)
        note.dosing_session = dosing_session
        note.held_on = held_on
        note.insights = insights
        note.practices = chosen
        note.homework = homework.strip()
        note.save()
        record_event(
            actor, Action.UPDATE, f"integration note {note.pk} draft", patient_id=patient.pk
        )
    return note


def sign_note(
    actor: Actor, note: IntegrationNote, *, signer: User, now: datetime | None = None
) -> IntegrationNote:
    """Sign and lock the note (the therapist or any clinician; the access policy decides who
    reaches this). One transaction: the signature and its audit entry, or neither."""
    at = now or timezone.now()
    with transaction.atomic():
        note = _locked(note)
        if note.signed_at is not None:
            raise Conflict("The integration note is already signed.", field="note", rule="signed")
        if not note.insights.strip():
            raise FieldInvalid("insights", "required", "write the note before signing")
        _appointment_has_happened(note.appointment)
        note.signed_by = signer
        note.signed_at = at
        note.save()
        record_event(
            actor, Action.UPDATE, f"integration note {note.pk} signed", patient_id=note.patient_id
        )
    return note


def amend_note(
    actor: Actor,
    note: IntegrationNote,
    *,
    author: User,
    text: str,
    reason: str,
    now: datetime | None = None,
) -> IntegrationNoteAmendment:
    """Add to a signed note, saying why; the note itself stays as signed."""
    text, reason = text.strip(), reason.strip()
    if not text:
        raise FieldInvalid("text", "required", "the amendment is empty")
    if not reason:
        raise FieldInvalid("reason", "required", "say why the note is amended")
    if len(reason) > 300:
        raise FieldInvalid("reason", "max_length", "at most 300 characters")
    with transaction.atomic():
        note = _locked(note)
        if note.signed_at is None:
            raise Conflict(
                "Only a signed note is amended; edit the draft instead.",
                field="note",
                rule="not_signed",
            )
        amendment = IntegrationNoteAmendment.objects.create(
            note=note, text=text, reason=reason, author=author, at=now or timezone.now()
        )
        record_event(
            actor, Action.UPDATE, f"integration note {note.pk} amended", patient_id=note.patient_id
        )
    return amendment


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
