"""Moving a session through its states. The session model (``kapcare.clinical.session``)
decides whether a move may happen; this records it and its side effects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action
from kapcare.audit.services import Actor
from kapcare.courses.models import Appointment, AppointmentStatus
from kapcare.dosing import rules
from kapcare.dosing.models import DosingSession, State, Transition
from kapcare.dosing.services._common import audit, locked, now_or_default, text
from kapcare.errors import Conflict, FieldInvalid


def create_session(actor: Actor, appointment: Appointment) -> DosingSession:
    """The session record for a dosing appointment (called when a course is planned, inside
    the planning's transaction)."""
    if appointment.course is None:
        raise FieldInvalid("appointment", "no_course", "a dosing session belongs to a course")
    return DosingSession.objects.create(
        appointment=appointment, course=appointment.course, patient_id=appointment.patient_id
    )


def move(
    actor: Actor, session: DosingSession, to: str, *, reason: str, now: datetime
) -> DosingSession:
    """The move itself, for a caller already inside its transaction holding the session's
    lock (signing an order or a note moves the session as part of that use case)."""
    if to not in State.values:
        raise FieldInvalid(
            "to", "one_of", f"unknown state {to!r}; states: {', '.join(State.values)}"
        )
    decision = rules.decide(
        session, to, now, by_prescriber=actor.role == Role.PRESCRIBER, reason=reason
    )
    if not decision.allowed:
        if not decision.illegal and [r.code for r in decision.unmet] == ["reason"]:
            raise FieldInvalid("reason", "required", decision.message)
        raise Conflict(
            decision.message,
            decision.unmet,
            field="to",
            rule="illegal_transition" if decision.illegal else "",
        )
    Transition.objects.create(
        session=session,
        from_state=session.state,
        to_state=to,
        by_id=actor.person_id,
        at=now,
        reason=reason,
        overridden=list(decision.overridden),
    )
    what = f"{session.state} -> {to}"
    if decision.overridden:
        what += " (override: " + ", ".join(decision.overridden) + ")"
    _enter(session, to, now, overridden=decision.overridden)
    session.state = to
    session.save()
    audit(actor, Action.UPDATE, session, what)
    return session


def transition(
    actor: Actor, session: DosingSession, to: str, *, reason: str = "", now: datetime | None = None
) -> DosingSession:
    """Move the session one step. Unmet overridable requirements pass only for a prescriber
    with a reason (the override is recorded); others always refuse."""
    with transaction.atomic():
        return move(actor, locked(session.pk), to, reason=text(reason), now=now_or_default(now))


def check_in(actor: Actor, session: DosingSession, *, now: datetime | None = None) -> DosingSession:
    return transition(actor, session, State.CHECKED_IN, now=now)


def _enter(session: DosingSession, to: str, at: datetime, *, overridden: Sequence[str]) -> None:
    """Side effects of entering a state. A discharge keeps every requirement it overrode (the
    discharge criteria and, for esketamine, the label's blood pressures) on the session."""
    if to == State.CHECKED_IN:
        session.checked_in_at = at
    elif to == State.DISCHARGED:
        session.discharged_at = at
        session.discharge_unmet = list(overridden)
        Appointment.objects.filter(pk=session.appointment_id).update(status=AppointmentStatus.DONE)
    elif to == State.CANCELLED:
        Appointment.objects.filter(pk=session.appointment_id).update(
            status=AppointmentStatus.CANCELLED, change_reason="session cancelled"
        )
