"""The session note: a draft while the session is open, locked once signed (signing completes
the record), and amended after that, never changed."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from kapcare.audit.models import Action
from kapcare.audit.services import Actor
from kapcare.clinical.session import Step
from kapcare.dosing.models import DosingSession, NoteAmendment, SessionNote, State
from kapcare.dosing.services import transitions
from kapcare.dosing.services._common import audit, locked, now_or_default, require_open, text
from kapcare.errors import Conflict, FieldInvalid

SIGNED = "The note is signed; add an amendment instead."


def _write_draft(actor: Actor, session: DosingSession, draft: str) -> SessionNote:
    note = SessionNote.objects.select_for_update().filter(session=session).first()
    if note is not None and note.signed_at is not None:
        raise Conflict(SIGNED, field="text", rule="note_signed")
    require_open(Step.NOTE, session)
    if note is None:
        note = SessionNote(session=session, author_id=actor.person_id)
    note.text = draft
    note.save()
    audit(actor, Action.UPDATE, session, "note draft")
    return note


def save_note(actor: Actor, session: DosingSession, draft: str) -> SessionNote:
    """Write or rewrite the draft note."""
    draft = text(draft)
    if not draft:
        raise FieldInvalid("text", "required", "the note is empty")
    with transaction.atomic():
        return _write_draft(actor, locked(session.pk), draft)


def sign_note(
    actor: Actor, session: DosingSession, *, final_text: str = "", now: datetime | None = None
) -> SessionNote:
    """Sign and lock the note, saving ``final_text`` as the draft first when given (the page
    posts the text it shows); the session moves to "note signed". One transaction: a refused
    signature leaves the draft as it was."""
    at = now_or_default(now)
    final_text = text(final_text)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.SIGN_NOTE, session)
        note = SessionNote.objects.select_for_update().filter(session=session).first()
        if final_text and (note is None or note.text != final_text):
            note = _write_draft(actor, session, final_text)
        if note is None or not note.text.strip():
            raise FieldInvalid("text", "required", "write the note before signing")
        note.signed_by_id = actor.person_id
        note.signed_at = at
        note.save()
        audit(actor, Action.UPDATE, session, "note signed")
        transitions.move(actor, session, State.NOTE_SIGNED, reason="", now=at)
    return note


def amend_note(
    actor: Actor,
    session: DosingSession,
    *,
    text_added: str,
    reason: str,
    now: datetime | None = None,
) -> NoteAmendment:
    text_added, reason = text(text_added), text(reason)
    if not text_added:
        raise FieldInvalid("text", "required", "the amendment is empty")
    if not reason:
        raise FieldInvalid("reason", "required", "say why the note is amended")
    with transaction.atomic():
        session = locked(session.pk)
        note = SessionNote.objects.select_for_update().filter(session=session).first()
        if note is None or note.signed_at is None:
            raise Conflict(
                "Only a signed note is amended; edit the draft instead.",
                field="note",
                rule="not_signed",
            )
        amendment = NoteAmendment.objects.create(
            note=note, text=text_added, reason=reason[:300], author_id=actor.person_id,
            at=now_or_default(now),
        )  # fmt: skip
        audit(actor, Action.UPDATE, session, "note amended")
    return amendment
