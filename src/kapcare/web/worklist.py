"""What waits for a clinician on "today": the reads behind the work list, each from the app
that owns the record, gathered in one place so the page and its test see the same list.

- A prescriber: sessions waiting for a dose order (checklist passed, no order yet), screenings
  waiting for review, notes waiting for a signature, and (from the alerts) the open alerts.
- A nurse (and a therapist booked on a session): the sessions in progress they are booked on,
  each with when its next vitals reading is due or how overdue it is, and the notes waiting
  for their signature.
- The clinic admin and a prescriber: the controlled-substance ledger's open count
  discrepancies (they stay until resolved) and thefts or losses not yet filed on DEA Form 106.

Every list is bounded by the clinic's day (a handful of sessions), so each is one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kapcare.accounts.roles import Role
from kapcare.assessments.selectors import SessionInProgress, for_user, sessions_in_progress
from kapcare.dosing.models import DosingSession, State
from kapcare.intake.models import Screening
from kapcare.intake.selectors import pending_reviews
from kapcare.integration.models import IntegrationNote
from kapcare.ledger.models import Discrepancy, LossReport
from kapcare.ledger.selectors import open_discrepancies, unfiled_losses


@dataclass(frozen=True)
class Worklist:
    orders_to_sign: list[DosingSession]
    screenings_to_review: list[Screening]
    session_notes_to_sign: list[DosingSession]
    integration_notes_to_sign: list[IntegrationNote]
    in_progress: list[SessionInProgress]
    discrepancies: list[Discrepancy]
    unfiled_losses: list[LossReport]

    @property
    def ledger(self) -> bool:
        return bool(self.discrepancies or self.unfiled_losses)

    @property
    def empty(self) -> bool:
        return not (
            self.in_progress or self.orders_to_sign or self.screenings_to_review
            or self.session_notes_to_sign or self.integration_notes_to_sign or self.ledger
        )  # fmt: skip

    @property
    def waiting(self) -> int:
        """How many things wait for the user's action (sessions in progress are watched, not
        counted, unless their vitals are overdue)."""
        return (
            len(self.orders_to_sign)
            + len(self.screenings_to_review)
            + len(self.session_notes_to_sign)
            + len(self.integration_notes_to_sign)
            + sum(1 for item in self.in_progress if item.overdue)
            + len(self.discrepancies)
            + len(self.unfiled_losses)
        )

    @property
    def patient_ids(self) -> list[int]:
        """Every patient the list names, for the caller's access log."""
        ids = (
            [s.patient_id for s in self.orders_to_sign]
            + [s.patient_id for s in self.screenings_to_review]
            + [s.patient_id for s in self.session_notes_to_sign]
            + [n.patient_id for n in self.integration_notes_to_sign]
            + [i.session.patient_id for i in self.in_progress]
        )
        return list(dict.fromkeys(ids))


def _sessions_in(state: str, user: Any) -> list[DosingSession]:
    sessions = DosingSession.objects.filter(state=state).select_related(
        "patient", "appointment", "appointment__resource", "course"
    )
    return list(for_user(sessions, user, "").order_by("appointment__starts_at", "id"))


def worklist(user: Any, now: datetime | None = None) -> Worklist:
    """The work list of a clinician or the clinic admin (empty lists for anyone else)."""
    role = getattr(user, "role", None)
    prescriber = role == Role.PRESCRIBER
    clinical = role in (Role.PRESCRIBER, Role.NURSE, Role.THERAPIST)
    ledger = role in (Role.PRESCRIBER, Role.CLINIC_ADMIN)
    return Worklist(
        orders_to_sign=_sessions_in(State.CHECKLIST_PASSED, user) if prescriber else [],
        screenings_to_review=pending_reviews() if prescriber else [],
        session_notes_to_sign=_sessions_in(State.DISCHARGED, user) if clinical else [],
        integration_notes_to_sign=list(
            IntegrationNote.objects.filter(author_id=user.pk, signed_at__isnull=True)
            .select_related("patient")
            .order_by("held_on", "id")
        )
        if clinical
        else [],
        # A prescriber watches sessions through the alerts; the list is the nurse's.
        in_progress=sessions_in_progress(user, now) if role in (Role.NURSE, Role.THERAPIST) else [],
        discrepancies=open_discrepancies() if ledger else [],
        unfiled_losses=unfiled_losses() if ledger else [],
    )
