"""Reads of dosing sessions. ``session_record`` is the one read model of a session: the page
(through ``presenter``) and the API both render it. It is loaded in a fixed number of queries
however many readings, alerts, orders or amendments the session has, and it carries only the
latest ``LATEST_READINGS`` readings (by the time taken); ``vitals_page`` pages through all of
them in the order they were stored, so a cursor also finds a reading stored late (a monitor's
backlog, a late entry) that was taken before the newest one."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Prefetch, QuerySet
from django.utils import timezone

from kapcare.clinical import session as model
from kapcare.clinical.protocol import ProtocolSnapshot
from kapcare.dosing import rules
from kapcare.dosing.models import (
    DeviceUse,
    DoseOrder,
    DosingSession,
    Intervention,
    NoteAmendment,
    SessionScore,
    SideEffect,
    State,
    Transition,
    VitalAlert,
    VitalReading,
)
from kapcare.errors import FieldInvalid, NotFound

LATEST_READINGS = 200
"""Readings a session record carries (the latest; the rest through ``vitals_page``)."""
MAX_PAGE_READINGS = 1000


def session_queryset() -> QuerySet[DosingSession]:
    return DosingSession.objects.select_related(
        "patient",
        "course",
        "appointment",
        "appointment__resource",
        "checklist",
        "checklist__updated_by",
        "note",
        "note__author",
        "note__signed_by",
        "administration",
        "administration__container",
    )


def get_session(session_id: int) -> DosingSession:
    try:
        return session_queryset().get(pk=session_id)
    except DosingSession.DoesNotExist:
        raise NotFound("session_id", "No such dosing session.") from None


@dataclass(frozen=True)
class Reminder:
    due_at: datetime
    overdue_min: int
    interval_min: int


def vitals_reminder(
    session: DosingSession, now: datetime, last_taken_at: datetime | None
) -> Reminder | None:
    """When the next reading is due under the protocol's interval (dosing or recovery), and by
    how much it is overdue; None outside dosing and recovery."""
    if session.state not in (State.DOSING, State.RECOVERY):
        return None
    protocol = session.course.protocol_record
    interval = (
        protocol.vitals_interval_dosing_min
        if session.state == State.DOSING
        else protocol.vitals_interval_recovery_min
    )
    administration = getattr(session, "administration", None)
    anchor = last_taken_at or (administration.started_at if administration else now)
    due = anchor + timedelta(minutes=interval)
    return Reminder(due, max(0, int((now - due).total_seconds() // 60)), interval)


def last_reading_at(session: DosingSession) -> datetime | None:
    return (
        VitalReading.objects.filter(session_id=session.pk)
        .order_by("-taken_at", "-id")
        .values_list("taken_at", flat=True)
        .first()
    )


def _readings() -> QuerySet[VitalReading]:
    return VitalReading.objects.prefetch_related(
        Prefetch(
            "alerts", queryset=VitalAlert.objects.select_related("acknowledged_by").order_by("id")
        )
    )


@dataclass(frozen=True)
class SessionRecord:
    """Everything recorded in a session, and what the session model says of it at ``now``."""

    session: DosingSession
    protocol: ProtocolSnapshot
    now: datetime
    next_state: model.State | None
    unmet: tuple[model.Requirement, ...]
    checklist_items: tuple[model.ChecklistItem, ...]
    minutes_observed: int
    orders: list[DoseOrder]  # oldest first
    devices: list[DeviceUse]
    readings: list[VitalReading]  # the latest LATEST_READINGS, oldest first, alerts prefetched
    readings_total: int
    last_stored_id: int | None  # the newest reading stored (the cursor for readings since)
    open_critical_alerts: list[VitalAlert]
    reminder: Reminder | None
    side_effects: list[SideEffect]
    interventions: list[Intervention]
    scores: list[SessionScore]
    amendments: list[NoteAmendment]
    transitions: list[Transition]

    @property
    def current_order(self) -> DoseOrder | None:
        current = [o for o in self.orders if o.superseded_by_id is None]
        return current[-1] if current else None

    @property
    def readings_cursor(self) -> str | None:
        """A cursor after the newest reading stored: ``vitals_page(after=...)`` gives the
        readings stored since."""
        return encode_cursor(self.last_stored_id) if self.last_stored_id is not None else None


def session_record(session_id: int, now: datetime | None = None) -> SessionRecord:
    now = now or timezone.now()
    try:
        session = (
            session_queryset()
            .prefetch_related(
                Prefetch(
                    "orders",
                    queryset=DoseOrder.objects.select_related("signed_by").order_by(
                        "signed_at", "id"
                    ),
                ),
                Prefetch("administration__devices", queryset=DeviceUse.objects.order_by("number")),
            )
            .get(pk=session_id)
        )
    except DosingSession.DoesNotExist:
        raise NotFound("session_id", "No such dosing session.") from None
    facts = rules.facts(session, now)
    next_state = model.next_step(facts.state)
    transitions = list(session.transitions.select_related("by").order_by("at", "id"))
    # Once the checklist has passed, its items show as they stood then ("a C-SSRS today"
    # means the session's day, not the day the record is read).
    passed_at = next((t.at for t in transitions if t.to_state == State.CHECKLIST_PASSED), None)
    items_facts = (
        facts if passed_at is None else rules.facts_as_of_checklist(facts, session, passed_at)
    )
    newest = list(
        _readings().filter(session_id=session.pk).order_by("-taken_at", "-id")[:LATEST_READINGS]
    )
    newest.reverse()
    total, last_stored_id = len(newest), max((r.pk for r in newest), default=None)
    if total == LATEST_READINGS:
        stored = VitalReading.objects.filter(session_id=session.pk).aggregate(
            count=Count("id"), last=Max("id")
        )
        total, last_stored_id = stored["count"], stored["last"]
    administration = getattr(session, "administration", None)
    note = getattr(session, "note", None)
    return SessionRecord(
        session=session,
        protocol=session.course.protocol_record,
        now=now,
        next_state=next_state,
        unmet=model.unmet(facts, next_state, now) if next_state else (),
        checklist_items=model.checklist_items(items_facts),
        minutes_observed=model.minutes_observed(facts, now),
        orders=list(session.orders.all()),
        devices=list(administration.devices.all()) if administration else [],
        readings=newest,
        readings_total=total,
        last_stored_id=last_stored_id,
        open_critical_alerts=list(
            VitalAlert.objects.filter(
                session_id=session.pk, level="critical", acknowledged_at__isnull=True
            )
            .select_related("reading")
            .order_by("id")
        ),
        reminder=vitals_reminder(session, now, newest[-1].taken_at if newest else None),
        side_effects=list(session.side_effects.order_by("noted_at", "id")),
        interventions=list(session.interventions.order_by("given_at", "id")),
        scores=list(session.scores.order_by("scored_at", "id")),
        amendments=list(note.amendments.select_related("author").order_by("at", "id"))
        if note
        else [],
        transitions=transitions,
    )


# --- paging through the readings -------------------------------------------------------------


def encode_cursor(reading_id: int) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps({"after_id": reading_id}).encode()).decode().rstrip("=")
    )


def _decode_cursor(cursor: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        reading_id = decoded["after_id"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        reading_id = None
    if isinstance(reading_id, bool) or not isinstance(reading_id, int):
        raise FieldInvalid("after", "cursor", "not a cursor this API gave (use next_cursor)")
    return reading_id


@dataclass(frozen=True)
class VitalsPage:
    readings: list[VitalReading]  # in the order stored, alerts prefetched
    next_cursor: str | None  # after the last reading given (poll it for newer ones)
    has_more: bool  # more readings wait after this page now


def vitals_page(session_id: int, *, after: str | None, limit: int) -> VitalsPage:
    """Readings in the order they were stored, ``limit`` at a time, from the first (or
    ``after`` a cursor)."""
    if not 1 <= limit <= MAX_PAGE_READINGS:
        raise FieldInvalid("limit", "out_of_range", f"must be 1-{MAX_PAGE_READINGS}")
    if not DosingSession.objects.filter(pk=session_id).exists():
        raise NotFound("session_id", "No such dosing session.")
    readings = _readings().filter(session_id=session_id)
    if after:
        readings = readings.filter(id__gt=_decode_cursor(after))
    page = list(readings.order_by("id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return VitalsPage(page, encode_cursor(page[-1].pk) if page else after, more)
