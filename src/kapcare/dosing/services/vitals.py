"""Vital signs, in batches, and the alerts the clinical core raises on them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from kapcare.audit.models import Action
from kapcare.audit.services import Actor
from kapcare.clinical import vitals
from kapcare.clinical.session import Step
from kapcare.dosing import conf, ingest_sql
from kapcare.dosing.models import Administration, DosingSession, VitalAlert, VitalPhase
from kapcare.dosing.services._common import audit, now_or_default, require_open, text
from kapcare.errors import Conflict, FieldInvalid, FieldProblem, NotFound
from kapcare.jobs.services import enqueue

VITAL_FIELDS = ("systolic", "diastolic", "heart_rate", "spo2", "resp_rate")
MAX_READINGS = 1000
"""Readings per batch (a bedside monitor's backlog fits; a runaway client does not)."""
CRITICAL_VITALS_EMAIL_JOB = "dosing.critical_vitals_email"
"""The job that emails the prescriber on duty about a batch's critical alerts (its handler is
``kapcare.assessments.jobs.send_critical_vitals_email``)."""


def phase_of(taken_at: datetime, administration: Administration | None) -> str:
    if administration is None or taken_at < administration.started_at:
        return VitalPhase.PRE_DOSE
    if administration.stopped_at is None or taken_at < administration.stopped_at:
        return VitalPhase.DOSING
    return VitalPhase.RECOVERY


@dataclass(frozen=True)
class VitalsResult:
    reading_ids: list[int]  # the stored readings' ids, in batch order
    alerts: list[tuple[int, VitalAlert]]  # (index in the batch, alert)

    @property
    def stored(self) -> int:
        return len(self.reading_ids)


def _invalid(index: int, field: str, rule: str, message: str) -> FieldInvalid:
    return FieldInvalid(f"readings[{index}].{field}", rule, message)


def _parse(index: int, raw: Mapping[str, Any], now: datetime) -> tuple[datetime, vitals.Reading]:
    unknown = sorted(set(raw) - {"taken_at", *VITAL_FIELDS})
    if unknown:
        allowed = "taken_at, " + ", ".join(VITAL_FIELDS)
        raise _invalid(index, unknown[0], "unknown_field", f"not a reading field ({allowed})")
    taken_at = raw.get("taken_at")
    if isinstance(taken_at, str):
        try:
            taken_at = parse_datetime(taken_at)
        except ValueError:  # well formed but not a real date-time, e.g. month 13
            taken_at = None
    if not isinstance(taken_at, datetime):
        raise _invalid(index, "taken_at", "format", "must be an ISO 8601 date-time")
    if timezone.is_naive(taken_at):
        taken_at = timezone.make_aware(taken_at)
    if taken_at > now + timedelta(minutes=conf.FUTURE_TOLERANCE_MIN):
        raise _invalid(index, "taken_at", "in_future", "cannot be in the future")
    values = {name: raw.get(name) for name in VITAL_FIELDS}
    if all(v is None for v in values.values()):
        raise _invalid(index, "systolic", "required", "a reading needs at least one value")
    if (values["systolic"] is None) != (values["diastolic"] is None):
        missing = "diastolic" if values["diastolic"] is None else "systolic"
        raise _invalid(index, missing, "paired", "systolic and diastolic go together")
    try:
        reading = vitals.Reading(**values)
    except FieldInvalid as error:
        # The core's problem, limits and all, named as the batch names the field.
        where = f"readings[{index}]."
        raise FieldInvalid.of([replace(p, field=where + p.field) for p in error.problems]) from None
    for name, value in values.items():
        if value is not None and float(value) != int(value):
            raise _invalid(index, name, "whole_number", "must be a whole number")
    return taken_at, reading


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def record_vitals(
    actor: Actor,
    session: DosingSession,
    readings: Sequence[Mapping[str, Any]],
    *,
    now: datetime | None = None,
) -> VitalsResult:
    """Store a batch of readings atomically: one invalid reading refuses the whole batch,
    naming it (``readings[3].spo2``). Each is checked with ``vitals.assess`` in its phase with
    the protocol's thresholds. A reading taken before the check-in (less the clinic's slack,
    ``KAPCARE_VITALS_BEFORE_CHECK_IN_MIN``) or in the future is refused. One locked read of the
    session, one INSERT for the readings, one for the alerts, one audit entry."""
    if not readings:
        raise FieldInvalid("readings", "required", "at least one reading is needed")
    if len(readings) > MAX_READINGS:
        raise FieldInvalid("readings", "too_many", f"at most {MAX_READINGS} readings a batch")
    at = now_or_default(now)
    parsed = [_parse(i, raw, at) for i, raw in enumerate(readings)]
    with transaction.atomic():
        try:
            session = (
                DosingSession.objects.select_for_update(of=("self",))
                .select_related("course", "administration")
                .get(pk=session.pk)
            )
        except DosingSession.DoesNotExist:
            raise NotFound("session_id", "No such dosing session.") from None
        require_open(Step.VITALS, session)
        # Every state that takes vitals comes after the check-in, which sets its time.
        checked_in_at = session.checked_in_at or at
        earliest = checked_in_at - timedelta(minutes=conf.vitals_before_check_in_min())
        early = [i for i, (taken_at, _) in enumerate(parsed) if taken_at < earliest]
        if early:
            local = timezone.localtime(earliest)
            raise FieldInvalid.of(
                [
                    FieldProblem(
                        f"readings[{i}].taken_at",
                        "before_check_in",
                        f"must be after {local:%H:%M} ({conf.vitals_before_check_in_min()} "
                        "minutes before the check-in)",
                    )
                    for i in early
                ]
            )
        administration = getattr(session, "administration", None)
        limits = vitals.VitalsThresholds(**dict(session.course.protocol_record.vitals_thresholds))
        phases = [phase_of(taken_at, administration) for taken_at, _ in parsed]
        ids = ingest_sql.insert_readings(
            (session.pk, actor.person_id, at),
            [
                (
                    taken_at,
                    phase,
                    *map(_whole, (r.systolic, r.diastolic, r.heart_rate, r.spo2, r.resp_rate)),
                )
                for (taken_at, r), phase in zip(parsed, phases, strict=True)
            ],
        )
        alerts: list[tuple[int, VitalAlert]] = []
        for index, ((_, reading), phase) in enumerate(zip(parsed, phases, strict=True)):
            for found in vitals.assess(reading, phase, limits):
                alert = VitalAlert(
                    session_id=session.pk,
                    reading_id=ids[index],
                    code=found.code,
                    level=found.level,
                    message=found.message[:300],
                    source=found.source[:300],
                )
                alerts.append((index, alert))
        if alerts:
            VitalAlert.objects.bulk_create([alert for _, alert in alerts])
            critical = [a.pk for _, a in alerts if a.level == "critical"]
            if critical:
                enqueue(
                    CRITICAL_VITALS_EMAIL_JOB, {"session_id": session.pk, "alert_ids": critical}
                )
        audit(actor, Action.CREATE, session, f"{len(ids)} vitals readings")
    return VitalsResult(ids, alerts)


def acknowledge_vital_alert(
    actor: Actor, alert: VitalAlert, *, action_taken: str, now: datetime | None = None
) -> VitalAlert:
    """A critical alert stays open until someone records the action taken."""
    action_taken = text(action_taken)
    if not action_taken:
        raise FieldInvalid(
            "action_taken", "required", "say what was done (for example, paused the infusion)"
        )
    with transaction.atomic():
        try:
            alert = (
                VitalAlert.objects.select_for_update().select_related("session").get(pk=alert.pk)
            )
        except VitalAlert.DoesNotExist:
            raise NotFound("vital_alert_id", "No such vitals alert.") from None
        if alert.acknowledged_at is not None:
            raise Conflict("The alert is already acknowledged.", field="alert", rule="acknowledged")
        alert.acknowledged_by_id = actor.person_id
        alert.acknowledged_at = now_or_default(now)
        alert.action_taken = action_taken
        alert.save()
        audit(
            actor,
            Action.UPDATE,
            alert.session,
            f"vitals alert {alert.pk} ({alert.code}) acknowledged",
        )
    return alert
