"""Reads of measurement-based care, shared by the pages and the API. These functions only
read: the view or API operation that shows their patients logs the access, decorated with
``@reads_patient_data`` and naming the patients with ``shown`` (``kapcare.audit.reads``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.assessments.charts import Point, points_digest
from kapcare.assessments.models import (
    Alert,
    AlertStatus,
    Assessment,
    AssessmentSchedule,
    Delivery,
    TrajectoryChart,
)
from kapcare.clinical.instruments import INSTRUMENTS, Change
from kapcare.clinical.instruments import baseline as baseline_rules
from kapcare.courses.models import Appointment
from kapcare.courses.selectors import current_course_start
from kapcare.dosing.models import DoseOrder, DosingSession, State, VitalAlert, VitalReading
from kapcare.dosing.selectors import Reminder, vitals_reminder
from kapcare.patients.models import Patient

# The order scales appear in on the chart and in the staff menus.
SCALE_ORDER = ("pcl5", "phq9", "gad7", "cssrs_screen")
STAFF_FORM_INSTRUMENTS = SCALE_ORDER
SHORT_NAMES = {"pcl5": "PCL-5", "phq9": "PHQ-9", "gad7": "GAD-7", "cssrs_screen": "C-SSRS screener"}


def local_date(moment: Any) -> date:
    return timezone.localtime(moment).date()


def patient_assessments(patient_id: int, instrument: str | None = None) -> QuerySet[Assessment]:
    """A patient's assessments, oldest first, optionally of one scale."""
    assessments = Assessment.objects.filter(patient_id=patient_id)
    if instrument:
        assessments = assessments.filter(instrument=instrument)
    return assessments.order_by("administered_at", "id")


class ScoreRow(NamedTuple):
    """One stored score as the chart shows it. The chart reads every score of the patient,
    so these are plain rows rather than model instances."""

    pk: int
    instrument: str
    total: int
    band: str
    flags: list[str]
    administered_at: datetime


def _points(
    code: str, assessments: Sequence[Assessment | ScoreRow], course_began: datetime | None
) -> list[Point]:
    """The chart's points, the baseline (``kapcare.clinical.instruments.baseline``, from the
    current course's start) carrying its label, as the latest-scores table names it."""
    found = baseline_rules.progress(code, assessments, course_began)
    chosen, label = None, ""
    if found is not None and code in baseline_rules.CHANGE_SCALES:
        chosen = found.baseline
        label = found.label(local_date(chosen.administered_at))
    return [
        Point(local_date(a.administered_at), a.total, a.band, label if a is chosen else "")
        for a in assessments
    ]


def trajectory_points(patient_id: int, instrument: str) -> list[Point]:
    """What the trajectory chart of a patient's scale is drawn from, oldest first (2 queries:
    the scores and the current course's start)."""
    scores = list(
        patient_assessments(patient_id, instrument).only("administered_at", "total", "band")
    )
    return _points(instrument, scores, current_course_start(patient_id) if scores else None)


# --- schedules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DueItem:
    schedule: AssessmentSchedule
    patient: Patient
    instrument: str
    next_due: date
    last_done: date | None
    today: date

    @property
    def instrument_name(self) -> str:
        return SHORT_NAMES.get(self.instrument, self.instrument)

    @property
    def overdue(self) -> bool:
        return self.next_due < self.today

    @property
    def due(self) -> bool:
        return self.next_due <= self.today

    @property
    def days_overdue(self) -> int:
        return max(0, (self.today - self.next_due).days)

    @property
    def delivery_label(self) -> str:
        return self.schedule.get_delivery_display()


def next_due_date(schedule: AssessmentSchedule, last_done: date | None) -> date | None:
    """When the schedule's scale is next due, or None once the schedule has ended.

    The first one is due on `starts_on`; each later one `every_days` after the latest
    completion of the same scale (whatever way it was completed), never before `starts_on`."""
    due = schedule.starts_on
    if last_done is not None:
        due = max(due, last_done + timedelta(days=schedule.every_days))
    if schedule.ends_on is not None and due > schedule.ends_on:
        return None
    return due


def _active_schedules(today: date) -> QuerySet[AssessmentSchedule]:
    return AssessmentSchedule.objects.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))


def _with_last_done(schedules: QuerySet[AssessmentSchedule]) -> QuerySet[AssessmentSchedule]:
    latest = (
        Assessment.objects.filter(
            patient_id=OuterRef("patient_id"), instrument=OuterRef("instrument")
        )
        .order_by("-administered_at")
        .values("administered_at")[:1]
    )
    return schedules.annotate(last_done_at=Subquery(latest))


def _due_item(schedule: AssessmentSchedule, last_at: Any, today: date) -> DueItem | None:
    last_done = local_date(last_at) if last_at is not None else None
    due = next_due_date(schedule, last_done)
    if due is None:
        return None
    return DueItem(schedule, schedule.patient, schedule.instrument, due, last_done, today)


def due_assessments(today: date | None = None, *, delivery: str | None = None) -> list[DueItem]:
    """Every scale due today or overdue, across the clinic, most overdue first. Two queries
    whatever the number of schedules (the latest completion is a subquery)."""
    today = today or timezone.localdate()
    schedules = _with_last_done(
        _active_schedules(today).filter(starts_on__lte=today).select_related("patient")
    )
    if delivery:
        schedules = schedules.filter(delivery=delivery)
    items = []
    for schedule in schedules:
        item = _due_item(schedule, getattr(schedule, "last_done_at", None), today)
        if item is not None and item.due:
            items.append(item)
    items.sort(key=lambda i: (i.next_due, i.patient.family_name, i.patient.given_name))
    return items


def due_home_links(today: date | None = None) -> list[DueItem]:
    """Home-link schedules that are due and whose invitation for that due date is not sent."""
    return [
        item
        for item in due_assessments(today, delivery=Delivery.HOME_LINK)
        if item.schedule.invited_for != item.next_due
    ]


# --- alerts ----------------------------------------------------------------------------------


def visible_alerts(user: Any, *, status: str | None = AlertStatus.OPEN) -> QuerySet[Alert]:
    """The alerts `user` may see. Prescribers see every alert (any of them may cover a
    colleague, and unassigned alerts go to all prescribers); other clinical roles see the
    alerts assigned to them. Oldest open alert first (longest waiting)."""
    alerts = Alert.objects.select_related("patient", "assigned_to", "assessment", "acknowledged_by")
    if status:
        alerts = alerts.filter(status=status)
    role = getattr(user, "role", None)
    if role in (Role.NURSE, Role.THERAPIST):
        alerts = alerts.filter(assigned_to_id=user.pk)
    elif role != Role.PRESCRIBER:
        alerts = alerts.none()
    return alerts.order_by("created_at", "id")


# --- vitals alerts from dosing sessions --------------------------------------------------------
#
# A critical vitals alert (``dosing.models.VitalAlert``, level critical) stays open until someone
# records the action taken on the session's page. Who sees it: every prescriber (as for
# suicide-risk alerts, any of them may cover a colleague), and the staff booked on the session's
# appointment (its nurse; a therapist booked on it too). The same goes for overdue vitals.
#
# The prescriber on duty for a session, who is emailed about its critical alerts: the prescriber
# who signed the session's current (not superseded) dose order; before any order is signed, the
# prescriber who planned the course. When that person can no longer sign in or has no email,
# every active prescriber is emailed (``kapcare.assessments.jobs``).

VITALS_ACTIVE_STATES = (State.DOSING, State.RECOVERY)
CRITICAL = "critical"


def _on_session_staff(user: Any, session_field: str) -> Exists:
    """The user is booked on the appointment of the session at ``session_field``."""
    return Exists(
        Appointment.staff.through.objects.filter(
            appointment_id=OuterRef(f"{session_field}appointment_id"), user_id=user.pk
        )
    )


def for_user(items: QuerySet[Any], user: Any, session_field: str) -> QuerySet[Any]:
    """``items`` (rows of or linked to dosing sessions at ``session_field``) that ``user`` may
    see: a prescriber all, a nurse or therapist those of sessions they are booked on."""
    role = getattr(user, "role", None)
    if role == Role.PRESCRIBER:
        return items
    if role in (Role.NURSE, Role.THERAPIST):
        return items.filter(_on_session_staff(user, session_field))
    return items.none()


def _current_orders() -> Prefetch:
    return Prefetch(
        "session__orders",
        queryset=DoseOrder.objects.filter(superseded_by__isnull=True)
        .select_related("signed_by")
        .order_by("signed_at", "id"),
        to_attr="current_orders",
    )


def on_duty(session: DosingSession) -> User:
    """The prescriber on duty for ``session`` (see above). ``session`` carries its current
    orders (``current_orders``, as ``visible_vital_alerts`` prefetches them) and its course's
    planner; without them, two queries."""
    current = getattr(session, "current_orders", None)
    if current is None:
        current = list(
            session.orders.filter(superseded_by__isnull=True)
            .select_related("signed_by")
            .order_by("signed_at", "id")
        )
    if current:
        return current[-1].signed_by
    return session.course.planned_by


def visible_vital_alerts(user: Any, *, open_only: bool = True) -> QuerySet[VitalAlert]:
    """The critical vitals alerts ``user`` may see, open ones (not acknowledged) by default,
    the longest waiting first; each with its reading, session, patient and the prescriber on
    duty joined or prefetched (2 queries whatever their number)."""
    alerts = (
        VitalAlert.objects.filter(level=CRITICAL)
        .select_related(
            "reading", "session__patient", "session__course__planned_by", "acknowledged_by"
        )
        .prefetch_related(_current_orders())
    )
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    return for_user(alerts, user, "session__").order_by("reading__recorded_at", "id")


def open_vital_alerts(user: Any) -> list[VitalAlert]:
    """``visible_vital_alerts`` listed, each with ``on_duty``: the prescriber on duty for its
    session (as ``to_attr`` of a prefetch sets an attribute)."""
    alerts = list(visible_vital_alerts(user))
    for alert in alerts:
        setattr(alert, "on_duty", on_duty(alert.session))  # noqa: B010  (not a model field)
    return alerts


def acknowledged_vital_alerts(user: Any, limit: int = 20) -> list[VitalAlert]:
    """The latest acknowledged critical vitals alerts ``user`` may see, newest first."""
    return list(
        visible_vital_alerts(user, open_only=False)
        .filter(acknowledged_at__isnull=False)
        .order_by("-acknowledged_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class SessionInProgress:
    """A dosing session between check-in and discharge, with when its next vitals reading is
    due (``reminder``; None before dosing starts, when the protocol sets no interval yet)."""

    session: DosingSession
    reminder: Reminder | None
    last_taken_at: datetime | None

    @property
    def patient(self) -> Patient:
        return self.session.patient

    @property
    def overdue(self) -> bool:
        return self.reminder is not None and self.reminder.overdue_min > 0


IN_PROGRESS_STATES = (
    State.CHECKED_IN,
    State.CHECKLIST_PASSED,
    State.DOSE_ORDERED,
    State.DOSING,
    State.RECOVERY,
)


def sessions_in_progress(user: Any, now: datetime | None = None) -> list[SessionInProgress]:
    """The sessions between check-in and discharge ``user`` may see (a nurse or therapist:
    those they are booked on; a prescriber: all), the most overdue vitals first, then by the
    appointment's start. One query whatever the number of sessions (the latest reading is a
    subquery)."""
    now = now or timezone.now()
    latest = (
        VitalReading.objects.filter(session_id=OuterRef("pk"))
        .order_by("-taken_at", "-id")
        .values("taken_at")[:1]
    )
    sessions = for_user(
        DosingSession.objects.filter(state__in=IN_PROGRESS_STATES)
        .select_related("patient", "course", "administration", "appointment__resource")
        .annotate(last_taken_at=Subquery(latest)),
        user,
        "",
    )
    items = []
    for session in sessions:
        last = getattr(session, "last_taken_at", None)
        items.append(SessionInProgress(session, vitals_reminder(session, now, last), last))
    items.sort(
        key=lambda i: (
            -(i.reminder.overdue_min if i.reminder else -1),
            i.session.appointment.starts_at,
            i.session.pk,
        )
    )
    return items


def overdue_vitals(user: Any, now: datetime | None = None) -> list[SessionInProgress]:
    """The sessions in dosing or recovery ``user`` may see whose vitals are overdue
    (``dosing.selectors.vitals_reminder``), the most overdue first."""
    return [item for item in sessions_in_progress(user, now) if item.overdue]


# --- the chart -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleSummary:
    code: str
    name: str
    count: int
    baseline: ScoreRow
    latest: ScoreRow
    change: Change | None
    # The baseline as the page names it, with its date (docs/clinical-reference.md §1.5).
    baseline_label: str
    # The stored chart when it is up to date; "" when it is missing or stale: the page then
    # shows a placeholder that loads the chart (drawn on demand) from the trajectory fragment.
    svg: str

    @property
    def short_name(self) -> str:
        return SHORT_NAMES.get(self.code, self.code)


def chart_context(patient: Patient, *, today: date | None = None) -> dict[str, Any]:
    """Everything the chart's measurement-based care section shows, in 5 queries whatever
    the number of assessments (6 when open alerts have assignees): the
    latest score per scale with its band and change from the one baseline
    (``kapcare.clinical.instruments.baseline``, from the current course's start), the stored
    trajectory SVG per scale when it is up to date (never drawn here), open alerts, and the
    patient's upcoming scheduled assessments. Render with ``assessments/_chart_section.html``.
    The caller logs the access.

    Keys: ``mbc_patient``, ``mbc_scales`` (list of ScaleSummary), ``mbc_open_alerts`` (list of
    Alert), ``mbc_upcoming`` (list of DueItem, soonest first), ``mbc_instruments`` (the scales
    the staff form offers, as (code, short name) pairs).
    """
    today = today or timezone.localdate()
    rows = (
        Assessment.objects.filter(patient_id=patient.pk)
        .order_by("administered_at", "id")
        .values_list("id", "instrument", "total", "band", "flags", "administered_at")
    )
    by_scale: dict[str, list[ScoreRow]] = defaultdict(list)
    for row in rows:
        score = ScoreRow._make(row)
        by_scale[score.instrument].append(score)
    stored: dict[str, TrajectoryChart] = {}
    course_began = None
    if by_scale:
        course_began = current_course_start(patient.pk)
        stored = {
            chart.instrument: chart
            for chart in TrajectoryChart.objects.filter(patient_id=patient.pk).only(
                "instrument", "digest", "svg"
            )
        }
    scales = []
    for code in SCALE_ORDER:
        done = by_scale.get(code)
        if not done:
            continue
        found = baseline_rules.progress(code, done, course_began)
        assert found is not None  # done is not empty
        baseline, latest, change = found.baseline, found.current, found.change
        chart = stored.get(code)
        svg = ""
        if chart is not None and chart.digest == points_digest(
            code, _points(code, done, course_began)
        ):
            svg = chart.svg
        scales.append(
            ScaleSummary(
                code=code,
                name=INSTRUMENTS[code].name,
                count=len(done),
                baseline=baseline,
                latest=latest,
                change=change,
                baseline_label=found.label(timezone.localdate(baseline.administered_at)),
                svg=svg,
            )
        )
    # Most charts have no open alert: a separate fetch of the assignees (only when there are
    # alerts) costs less than joining them in every time.
    alerts = list(
        Alert.objects.filter(patient_id=patient.pk, status=AlertStatus.OPEN)
        .only("id", "patient_id", "level", "reason", "created_at", "assigned_to_id")
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("assigned_to", User.objects.only("id", "full_name")))
    )
    upcoming = []
    for schedule in _active_schedules(today).filter(patient_id=patient.pk):
        schedule.patient = patient
        done = by_scale.get(schedule.instrument)
        item = _due_item(schedule, done[-1].administered_at if done else None, today)
        if item is not None:
            upcoming.append(item)
    upcoming.sort(key=lambda i: i.next_due)
    return {
        "mbc_patient": patient,
        "mbc_scales": scales,
        "mbc_open_alerts": alerts,
        "mbc_upcoming": upcoming,
        "mbc_instruments": [(code, SHORT_NAMES[code]) for code in STAFF_FORM_INSTRUMENTS],
    }


def today_context(user: Any, today: date | None = None) -> dict[str, Any]:
    """The "today" page's measurement-based care: the user's open alerts (suicide-risk, and
    critical vitals of dosing sessions), sessions whose vitals are overdue, and every scale
    due or overdue. Keys: ``mbc_show``, ``mbc_alerts``, ``mbc_vital_alerts``,
    ``mbc_overdue_vitals``, ``mbc_open_count``, ``mbc_due``, ``mbc_due_more``,
    ``mbc_patient_ids`` (for the caller's access log)."""
    alerts = list(visible_alerts(user))
    vital_alerts = open_vital_alerts(user)
    overdue = overdue_vitals(user)
    every_due = due_assessments(today)
    # The most overdue first, a page's worth; the rest are counted, not shown (or logged).
    due = every_due[:TODAY_DUE_SHOWN]
    ids = list(
        dict.fromkeys(
            [a.patient_id for a in alerts]
            + [a.session.patient_id for a in vital_alerts]
            + [o.session.patient_id for o in overdue]
            + [i.patient.pk for i in due]
        )
    )
    return {
        "mbc_show": True,
        "mbc_alerts": alerts,
        "mbc_vital_alerts": vital_alerts,
        "mbc_overdue_vitals": overdue,
        "mbc_open_count": len(alerts) + len(vital_alerts),
        "mbc_due": due,
        "mbc_due_more": len(every_due) - len(due),
        "mbc_patient_ids": ids,
    }


TODAY_DUE_SHOWN = 50
