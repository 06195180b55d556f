"""Reads of dosing sessions that the pages and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet

from kapcare.clinical import vitals
from kapcare.dosing import clock, workflow
from kapcare.dosing.models import DosingSession, State, VitalAlert, VitalPhase, VitalReading

MESSAGES = {
    "observation_time": "Observation time: fewer minutes than the protocol's minimum",
    "vitals": "Vitals: the latest recovery reading is outside the thresholds",
    "sedation": "Sedation: MOAA/S must be 5 (fully alert)",
    "dissociation": "Dissociation has not resolved",
    "nausea": "Nausea is not controlled",
    "ambulation": "The patient does not walk steadily",
    "escort": "No escort: the patient must leave with a designated driver",
}


def session_queryset() -> QuerySet[DosingSession]:
    return DosingSession.objects.select_related(
        "patient",
        "course",
        "appointment",
        "appointment__resource",
        "checklist",
        "note",
        "administration",
    )


def get_session(session_id: int) -> DosingSession:
    return session_queryset().get(pk=session_id)


def latest_recovery_reading(session: DosingSession) -> VitalReading | None:
    return session.vitals.filter(phase=VitalPhase.RECOVERY).order_by("-taken_at", "-id").first()


def minutes_observed(session: DosingSession, at: datetime) -> int:
    start = workflow.observation_start(session)
    if start is None:
        return 0
    return max(0, int((at - start).total_seconds() // 60))


def discharge_result(
    session: DosingSession, inputs: dict[str, Any], at: datetime
) -> list[tuple[str, str]]:
    """The unmet discharge criteria as (code, message), by ``vitals.discharge_check`` with the
    protocol's observation minimum and thresholds. No recovery reading at all counts as unmet
    vitals (the core alone would pass an empty reading)."""
    latest = latest_recovery_reading(session)
    route = session.route
    observation = vitals.ObservationSettings(
        minutes_by_route={route: int(session.protocol["min_observation_min"])}
    )
    result = vitals.discharge_check(
        route=route,
        minutes_observed=minutes_observed(session, at),
        latest=workflow.reading_of(latest) if latest else vitals.Reading(),
        sedation_moaas=int(inputs["sedation_moaas"]),
        dissociation_resolved=bool(inputs["dissociation_resolved"]),
        nausea_controlled=bool(inputs["nausea_controlled"]),
        ambulating_steadily=bool(inputs["ambulating_steadily"]),
        escort_present=bool(str(inputs.get("escort_name", "")).strip()),
        thresholds=workflow.thresholds(session),
        observation=observation,
    )
    unmet = [(code, MESSAGES[code]) for code in result.unmet]
    if latest is None and "vitals" not in result.unmet:
        unmet.insert(0, ("vitals", "Vitals: no reading since the dose"))
    if "observation_time" in result.unmet:
        unmet = [
            (
                code,
                f"Observation time: {minutes_observed(session, at)} of "
                f"{result.minimum_minutes} minutes",
            )
            if code == "observation_time"
            else (code, message)
            for code, message in unmet
        ]
    return unmet


@dataclass(frozen=True)
class Reminder:
    due_at: datetime
    overdue_min: int
    interval_min: int


def vitals_reminder(session: DosingSession, now: datetime | None = None) -> Reminder | None:
    """When the next reading is due under the protocol's interval (dosing or recovery), and by
    how much it is overdue; None outside dosing and recovery or before the first reading."""
    if session.state not in (State.DOSING, State.RECOVERY):
        return None
    now = now or clock.now()
    key = (
        "vitals_interval_dosing_min"
        if session.state == State.DOSING
        else "vitals_interval_recovery_min"
    )
    interval = int(session.protocol[key])
    last = session.vitals.order_by("-taken_at", "-id").first()
    administration = getattr(session, "administration", None)
    anchor = last.taken_at if last else (administration.started_at if administration else now)
    due = anchor + timedelta(minutes=interval)
    return Reminder(due, max(0, int((now - due).total_seconds() // 60)), interval)


def vitals_timeline(session: DosingSession) -> list[VitalReading]:
    """Readings oldest first, each with its alerts (and who acknowledged them) prefetched: two
    queries however many readings."""
    return list(
        session.vitals.order_by("taken_at", "id").prefetch_related(
            Prefetch(
                "alerts",
                queryset=VitalAlert.objects.select_related("acknowledged_by").order_by("id"),
            )
        )
    )
