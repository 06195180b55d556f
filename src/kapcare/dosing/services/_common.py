"""What every dosing use case shares: the locked read of the session, the check that its step
is open in the session's state (asked of the session model), the audit entry, and the time.

Each public service is one use case in one transaction: it locks the session row, checks, writes
and audits inside ``transaction.atomic()``, so a refusal (any ``kapcare.errors.Refused``) rolls
back everything it did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from kapcare.audit.services import Actor, record_event
from kapcare.clinical.session import Step
from kapcare.dosing import conf, rules
from kapcare.dosing.models import DosingSession
from kapcare.errors import FieldInvalid, NotFound


def now_or_default(now: datetime | None) -> datetime:
    """The time a use case acts at: given by the caller (the demo loader documents past
    sessions at their own times), or the clock."""
    return now if now is not None else timezone.now()


def locked(session_id: int) -> DosingSession:
    """Re-read the session under a row lock, so two writers take turns. Only the session row
    is locked (PostgreSQL refuses FOR UPDATE on the nullable side of an outer join)."""
    try:
        return (
            DosingSession.objects.select_for_update(of=("self",))
            .select_related("course", "patient")
            .get(pk=session_id)
        )
    except DosingSession.DoesNotExist:
        raise NotFound("session_id", "No such dosing session.") from None


def require_open(step: Step, session: DosingSession) -> None:
    """Refuse (Conflict) a step the session model does not open in the session's state."""
    rules.require_open(step, session)


def audit(actor: Actor, action: str, session: DosingSession, what: str) -> None:
    record_event(actor, action, f"session {session.pk} {what}"[:200], patient_id=session.patient_id)


def not_in_future(field: str, at: datetime, now: datetime) -> None:
    if at > now + timedelta(minutes=conf.FUTURE_TOLERANCE_MIN):
        raise FieldInvalid(field, "in_future", "cannot be in the future")


def time_noted(field: str, at: datetime | None, now: datetime) -> datetime:
    """When something was noted: given (charted late), or now; never in the future."""
    at = at or now
    not_in_future(field, at, now)
    return at


def text(value: str | None) -> str:
    return (value or "").strip()
