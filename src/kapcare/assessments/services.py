"""Writes of measurement-based care: each in one transaction, with its audit entry.

Recording a scale scores it with the clinical core and, when the score carries the
``suicide_risk`` flag, creates the alert and queues its email in the same transaction: the
assessment, the alert and the email job exist together or not at all. Once it is committed,
it queues the redrawing of that scale's trajectory chart (`draw_trajectory_chart`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from kapcare.assessments import selectors
from kapcare.assessments.charts import points_digest, trajectory_svg
from kapcare.assessments.conf import home_link_hours
from kapcare.assessments.models import (
    ACTION_TAKEN_MAX_LENGTH,
    EVERY_DAYS_RANGE,
    Alert,
    AlertLevel,
    AlertStatus,
    Assessment,
    AssessmentSchedule,
    Delivery,
    HomeLink,
    Source,
    TrajectoryChart,
)
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.clinical import instruments
from kapcare.clinical.instruments import Score
from kapcare.clinical.instruments.cssrs import from_zero_skips
from kapcare.clinical.instruments.phq9 import SUICIDE_ITEM
from kapcare.errors import Conflict, FieldInvalid
from kapcare.jobs.services import enqueue
from kapcare.patients.models import Patient

SUICIDE_RISK = "suicide_risk"
ALERT_EMAIL_JOB = "assessments.alert_email"
INVITATION_JOB = "assessments.send_invitation"
CHART_JOB = "assessments.draw_trajectory_chart"


def no_email_on_file() -> Conflict:
    """The refusal of an invitation to a patient with no email address on file."""
    return Conflict("The patient has no email address on file.", field="email", rule="no_email")


class LinkUnavailable(Exception):
    """The home link is unknown, expired or already used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "unknown" | "expired" | "used"


def check_instrument(code: str) -> str:
    """`code` when it names a scale; else FieldInvalid (``instrument``, ``one_of``) naming the
    allowed codes."""
    if code not in instruments.INSTRUMENTS:
        allowed = ", ".join(sorted(instruments.INSTRUMENTS))
        raise FieldInvalid(
            "instrument", "one_of", f"unknown instrument {code!r}; allowed: {allowed}"
        )
    return code


def _alert_details(code: str, responses: Sequence[int | None], result: Score) -> tuple[str, str]:
    if code == "phq9":
        value = responses[SUICIDE_ITEM - 1]
        label = next(o.label for o in instruments.PHQ9.options if o.value == value)
        return (
            AlertLevel.SAME_DAY,
            f"PHQ-9 item 9 (thoughts of being better off dead or of self-harm) answered "
            f"{value}, “{label}”: same-day clinician review",
        )
    if code == "cssrs_screen":
        level = AlertLevel.URGENT if result.band == "high" else AlertLevel.SAME_DAY
        return level, f"C-SSRS screener triage {result.band} risk"
    return AlertLevel.SAME_DAY, f"{code}: suicide-risk flag"


def record_assessment(
    actor: Actor,
    patient: Patient,
    instrument: str,
    responses: Sequence[int | None],
    *,
    source: str,
    entered_by: Any = None,
    link: HomeLink | None = None,
    administered_at: datetime | None = None,
) -> Assessment:
    """Score and store one completed scale (every item response kept; a C-SSRS question its skip
    logic did not ask is stored as None, never as 0).

    C-SSRS responses may give a question not asked as None or, as the API's contract and older
    callers did before issue 14, as 0 (`cssrs.from_zero_skips`): either is stored as None. A "yes"
    to a question not asked, or a None for one that was asked, is refused by the core.

    Raises FieldInvalid for an unknown instrument or invalid responses (the core's, naming the
    item: ``responses[n-1]``) and nothing is stored; LinkUnavailable when `link` is expired or
    used (checked and spent atomically, so a link can be used once even under a race)."""
    check_instrument(instrument)
    given: Sequence[Any] = responses
    if instrument == "cssrs_screen":
        given = from_zero_skips(responses)
    result = instruments.score(instrument, given)
    values = [None if v is None else int(v) for v in given]
    now = timezone.now()
    with transaction.atomic():
        if link is not None:
            spent = HomeLink.objects.filter(
                pk=link.pk, used_at__isnull=True, expires_at__gt=now
            ).update(used_at=now)
            if not spent:
                fresh = HomeLink.objects.get(pk=link.pk)
                raise LinkUnavailable("used" if fresh.used_at else "expired")
        assessment = Assessment.objects.create(
            patient=patient,
            instrument=instrument,
            responses=values,
            total=result.total,
            band=result.band,
            flags=list(result.flags),
            subscales=dict(result.subscales),
            provisional_diagnosis=result.provisional_diagnosis,
            administered_at=administered_at or now,
            source=source,
            entered_by=entered_by if entered_by is not None and entered_by.pk else None,
            link=link,
        )
        record_event(
            actor, Action.CREATE, f"assessment {instrument} ({source})", patient_id=patient.pk
        )
        if SUICIDE_RISK in result.flags:
            level, reason = _alert_details(instrument, values, result)
            alert = Alert.objects.create(
                patient=patient,
                assessment=assessment,
                assigned_to=patient.primary_clinician,
                level=level,
                reason=reason,
            )
            record_event(actor, Action.CREATE, f"suicide-risk alert {level}", patient_id=patient.pk)
            enqueue(ALERT_EMAIL_JOB, {"alert_id": alert.pk})
        # After the commit, so the worker sees the new score; robust, because the chart is a
        # derived cache: failing to queue it never fails recording the scale (the chart page
        # then has its chart drawn on demand).
        transaction.on_commit(partial(queue_trajectory_chart, patient.pk, instrument), robust=True)
    return assessment


# --- trajectory charts -----------------------------------------------------------------------


def queue_trajectory_chart(patient_id: int, instrument: str) -> None:
    """Have the background worker draw and store the chart of the patient's scale."""
    enqueue(CHART_JOB, {"patient_id": patient_id, "instrument": check_instrument(instrument)})


def draw_trajectory_chart(patient_id: int, instrument: str) -> TrajectoryChart | None:
    """The stored trajectory chart of the patient's scale, first drawn (matplotlib, slow) and
    stored when it is missing or stale (its digest is not that of the current scores). None
    when the patient has no score of that scale.

    No history or audit entry: `TrajectoryChart` is a derived cache, not a clinical record.
    Two concurrent draws of the same chart are harmless (the unique constraint keeps one row;
    the later write wins, and a chart overwritten with older points is stale by its digest and
    drawn again on the next view)."""
    check_instrument(instrument)
    points = selectors.trajectory_points(patient_id, instrument)
    if not points:
        return None
    digest = points_digest(instrument, points)
    stored = TrajectoryChart.objects.filter(patient_id=patient_id, instrument=instrument).first()
    if stored is not None and stored.digest == digest:
        return stored
    # Drawn outside the transaction, so the slow part holds no database lock.
    svg = trajectory_svg(instrument, points)
    with transaction.atomic():
        chart, _created = TrajectoryChart.objects.update_or_create(
            patient_id=patient_id,
            instrument=instrument,
            defaults={"digest": digest, "svg": svg, "drawn_at": timezone.now()},
        )
    return chart


def acknowledge_alert(actor: Actor, alert: Alert, user: Any, action_taken: str) -> Alert:
    """Close an open alert with the action taken (required), recording who and when.

    FieldInvalid (``action_taken``: ``required``, ``too_long``) when the action is blank or too
    long; Conflict (``status``, ``already_acknowledged``) when the alert is no longer open."""
    action = (action_taken or "").strip()
    if not action:
        raise FieldInvalid(
            "action_taken", "required", "describe the action taken before acknowledging"
        )
    if len(action) > ACTION_TAKEN_MAX_LENGTH:
        raise FieldInvalid(
            "action_taken", "too_long", f"at most {ACTION_TAKEN_MAX_LENGTH} characters"
        )
    now = timezone.now()
    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
            status=AlertStatus.ACKNOWLEDGED,
            acknowledged_by=user,
            acknowledged_at=now,
            action_taken=action,
        )
        if not updated:
            raise Conflict(
                "This alert has already been acknowledged.",
                field="status",
                rule="already_acknowledged",
            )
        alert.refresh_from_db()
        # The queryset update bypasses simple_history; record the version explicitly.
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "action_taken"])
        record_event(actor, Action.UPDATE, "suicide-risk alert acknowledged", alert.patient_id)
    return alert


# --- home links ------------------------------------------------------------------------------


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_home_link(
    actor: Actor,
    patient: Patient,
    instrument: str,
    *,
    created_by: Any = None,
    schedule: AssessmentSchedule | None = None,
) -> tuple[HomeLink, str]:
    """A fresh single-use link; returns it with the raw token (shown or sent once, only its
    hash is stored). It expires after KAPCARE_HOME_LINK_HOURS (default 72)."""
    check_instrument(instrument)
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = HomeLink.objects.create(
            patient=patient,
            instrument=instrument,
            token_hash=hash_token(raw),
            schedule=schedule,
            created_by=created_by if created_by is not None and created_by.pk else None,
            expires_at=timezone.now() + timedelta(hours=home_link_hours()),
        )
        record_event(actor, Action.CREATE, f"home link {instrument}", patient_id=patient.pk)
    return link, raw


def open_home_link(raw: str) -> HomeLink:
    """The usable link for a raw token; LinkUnavailable("unknown" | "expired" | "used")."""
    if not raw or len(raw) > 200:
        raise LinkUnavailable("unknown")
    link = HomeLink.objects.select_related("patient").filter(token_hash=hash_token(raw)).first()
    if link is None:
        raise LinkUnavailable("unknown")
    if link.used_at is not None:
        raise LinkUnavailable("used")
    if link.is_expired():
        raise LinkUnavailable("expired")
    return link


def queue_invitation(patient: Patient, instrument: str, *, created_by: Any = None) -> None:
    """Email the patient a fresh link from the background worker (the link is made there, so
    its raw token is never stored). Conflict (``email``, ``no_email``) when the patient has no
    email address on file."""
    check_instrument(instrument)
    if not patient.email:
        raise no_email_on_file()
    enqueue(
        INVITATION_JOB,
        {
            "patient_id": patient.pk,
            "instrument": instrument,
            "created_by": created_by.pk if created_by is not None and created_by.pk else None,
        },
    )


# --- schedules -------------------------------------------------------------------------------


def create_schedule(
    actor: Actor,
    patient: Patient,
    *,
    instrument: str,
    every_days: int,
    starts_on: date,
    delivery: str,
    ends_on: date | None = None,
    created_by: Any = None,
) -> AssessmentSchedule:
    """FieldInvalid naming the field: ``instrument``, ``every_days`` (``out_of_range``),
    ``delivery`` (``one_of``), ``ends_on`` (``before_start``)."""
    check_instrument(instrument)
    low, high = EVERY_DAYS_RANGE
    if not low <= every_days <= high:
        raise FieldInvalid(
            "every_days",
            "out_of_range",
            f"must be {low}-{high}",
            low=low,
            high=high,
            entered=every_days,
        )
    if delivery not in Delivery.values:
        raise FieldInvalid("delivery", "one_of", f"must be one of {', '.join(Delivery.values)}")
    if ends_on is not None and ends_on < starts_on:
        raise FieldInvalid("ends_on", "before_start", "must not be before starts_on")
    with transaction.atomic():
        schedule = AssessmentSchedule.objects.create(
            patient=patient,
            instrument=instrument,
            every_days=every_days,
            starts_on=starts_on,
            ends_on=ends_on,
            delivery=delivery,
            created_by=created_by if created_by is not None and created_by.pk else None,
        )
        record_event(
            actor,
            Action.CREATE,
            f"assessment schedule {instrument} every {every_days} days",
            patient_id=patient.pk,
        )
    return schedule


def end_schedule(actor: Actor, schedule: AssessmentSchedule) -> AssessmentSchedule:
    """Stop a schedule from today (it ended yesterday)."""
    yesterday = timezone.localdate() - timedelta(days=1)
    with transaction.atomic():
        schedule.ends_on = max(schedule.starts_on - timedelta(days=1), yesterday)
        schedule.save(update_fields=["ends_on"])
        record_event(
            actor,
            Action.UPDATE,
            f"assessment schedule {schedule.instrument} ended",
            patient_id=schedule.patient_id,
        )
    return schedule


def source_label(source: str) -> str:
    return str(Source(source).label)
