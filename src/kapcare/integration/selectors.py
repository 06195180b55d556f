"""Reads for integration: the patient's timeline of dosing sessions, integration notes,
journal entries and scores, newest first, in a fixed number of queries (one per kind, and one
for the sessions' current dose orders) whatever the length of the record. Callers log the
access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Prefetch
from django.utils import timezone

from kapcare.assessments.models import Assessment
from kapcare.courses.models import TreatmentCourse
from kapcare.dosing.models import DoseOrder, DosingSession
from kapcare.integration.models import IntegrationNote, JournalEntry, Practice

DOSING, INTEGRATION, JOURNAL, ASSESSMENT = "dosing", "integration", "journal", "assessment"
CHART_TIMELINE_ITEMS = 15
PRACTICE_LABELS = dict(Practice.choices)


@dataclass(frozen=True)
class TimelineItem:
    """One event on the timeline. ``obj`` is the record (DosingSession, IntegrationNote,
    JournalEntry or Assessment); ``at`` orders events on the same day."""

    kind: str
    day: date
    at: datetime
    obj: Any

    @property
    def order(self) -> DoseOrder | None:
        """A dosing session's current (not superseded) dose order, if any."""
        orders = getattr(self.obj, "current_orders", None)
        return orders[0] if orders else None

    @property
    def practice_labels(self) -> list[str]:
        return [PRACTICE_LABELS.get(p, p) for p in getattr(self.obj, "practices", [])]


def _noon(day: date) -> datetime:
    # Date-only records (a note's session day, a journal day) sort at midday of that day.
    return datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())


def patient_timeline(patient_id: int, *, limit: int | None = None) -> list[TimelineItem]:
    """Dosing sessions up to today (state, date, current order), integration notes, journal
    entries and assessment scores, newest first; at most ``limit`` items. Five queries."""
    end_of_today = datetime.combine(
        timezone.localdate() + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
    )
    sessions = (
        DosingSession.objects.filter(patient_id=patient_id, appointment__starts_at__lt=end_of_today)
        .select_related("appointment")
        .prefetch_related(
            Prefetch(
                "orders",
                queryset=DoseOrder.objects.filter(superseded_by__isnull=True).order_by(
                    "-signed_at", "-id"
                ),
                to_attr="current_orders",
            )
        )
        .order_by("-appointment__starts_at", "-id")
    )
    notes = (
        IntegrationNote.objects.filter(patient_id=patient_id)
        .select_related("author", "dosing_session__appointment")
        .annotate(amendment_count=Count("amendments"))
        .order_by("-held_on", "-id")
    )
    journal = (
        JournalEntry.objects.filter(patient_id=patient_id)
        .select_related("entered_by")
        .order_by("-written_on", "-id")
    )
    scores = (
        Assessment.objects.filter(patient_id=patient_id)
        .only("id", "patient_id", "instrument", "total", "band", "flags", "administered_at")
        .order_by("-administered_at", "-id")
    )
    if limit is not None:
        # Newest first in each list, so the newest ``limit`` overall are among these.
        sessions, notes, journal, scores = (
            sessions[:limit], notes[:limit], journal[:limit], scores[:limit]
        )  # fmt: skip
    items = [
        TimelineItem(
            DOSING, timezone.localdate(s.appointment.starts_at), s.appointment.starts_at, s
        )
        for s in sessions
    ]
    items += [TimelineItem(INTEGRATION, n.held_on, _noon(n.held_on), n) for n in notes]
    items += [TimelineItem(JOURNAL, j.written_on, _noon(j.written_on), j) for j in journal]
    items += [
        TimelineItem(ASSESSMENT, timezone.localdate(a.administered_at), a.administered_at, a)
        for a in scores
    ]
    items.sort(key=lambda i: (i.day, i.at), reverse=True)
    return items[:limit] if limit is not None else items


def chart_timeline_context(patient_id: int) -> dict[str, Any]:
    """The chart's timeline section: the newest items and the patient's courses (six queries).
    Keys: ``timeline_items``, ``timeline_courses``."""
    return {
        "timeline_items": patient_timeline(patient_id, limit=CHART_TIMELINE_ITEMS),
        "timeline_courses": list(
            TreatmentCourse.objects.filter(patient_id=patient_id).order_by("-start_date", "-id")
        ),
    }
