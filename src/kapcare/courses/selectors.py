"""Reads of protocols, courses and appointments that the pages (and the calendar feed) share.
Each runs a fixed number of queries whatever the number of appointments. They only read: the
view that shows the result logs the access, decorated with ``@reads_patient_data`` and handing
over the patient ids the result carries with ``shown`` (``kapcare.audit.reads``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.assessments.models import Assessment
from kapcare.clinical import instruments
from kapcare.clinical.instruments import INSTRUMENTS
from kapcare.clinical.instruments import baseline as baseline_rules
from kapcare.courses.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    CalendarFeed,
    CourseStatus,
    Protocol,
    Resource,
    TreatmentCourse,
)
from kapcare.dosing.models import DoseOrder, State

# A dosing session counts as done once the patient has been discharged.
DONE_STATES = frozenset({State.DISCHARGED, State.NOTE_SIGNED})
# The scales whose change since baseline the course page shows (PTSD and depression).
PROGRESS_SCALES = ("pcl5", "phq9")
# What a calendar feed carries: recent history and the coming year's bookings.
FEED_PAST_DAYS = 60
FEED_FUTURE_DAYS = 400


def appointment_queryset() -> QuerySet[Appointment]:
    """Appointments with everything a list shows, in two queries (the staff are prefetched)."""
    return Appointment.objects.select_related(
        "patient", "resource", "dosing_session"
    ).prefetch_related("staff")


# --- protocols -------------------------------------------------------------------------------


def protocols() -> QuerySet[Protocol]:
    """Every protocol with the number of courses planned from it (one query)."""
    return Protocol.objects.annotate(course_count=Count("courses")).order_by("-active", "name")


@dataclass(frozen=True)
class Version:
    """One saved version of a record: when, who, what kind of change and which fields."""

    at: datetime
    by: str
    kind: str
    changes: list[tuple[str, Any, Any]]
    reason: str = ""


_HISTORY_KINDS = {"+": "created", "~": "changed", "-": "deleted"}


def protocol_history(protocol: Protocol) -> list[Version]:
    """The protocol's versions, newest first, each with the fields it changed (one query)."""
    records = list(
        protocol.history.select_related("history_user").order_by("history_date", "history_id")
    )
    versions = []
    previous = None
    for record in records:
        changes: list[tuple[str, Any, Any]] = []
        if previous is not None:
            delta = record.diff_against(previous)
            changes = [(c.field, c.old, c.new) for c in delta.changes]
        user = record.history_user
        versions.append(
            Version(
                at=record.history_date,
                by=(user.full_name or user.email) if user else "system",
                kind=_HISTORY_KINDS.get(record.history_type, record.history_type),
                changes=changes,
            )
        )
        previous = record
    versions.reverse()
    return versions


# --- courses ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreProgress:
    """A scale's baseline (kapcare.clinical.instruments.baseline), its latest score and the
    change between them; ``label`` names the baseline with its date."""

    code: str
    name: str
    baseline: Assessment
    latest: Assessment
    change: instruments.Change | None
    rule: baseline_rules.BaselineRule
    label: str


@dataclass(frozen=True)
class CourseView:
    course: TreatmentCourse
    appointments: list[Appointment]
    dosing_done: int
    dosing_planned: int
    integration_done: int
    integration_planned: int
    scores: list[ScoreProgress]

    @property
    def snapshot_items(self) -> list[tuple[str, Any]]:
        """The snapshot's settings in a fixed, readable order (empty ones left out)."""
        snapshot = self.course.protocol_record.to_json()
        return [
            (name.replace("_", " "), snapshot[name])
            for name in SNAPSHOT_ORDER
            if snapshot.get(name) not in (None, "", {})
        ]


SNAPSHOT_ORDER = (
    "code", "name", "route", "dose_mode", "default_mg_per_kg", "min_mg_per_kg", "max_mg_per_kg",
    "default_dose_mg", "min_dose_mg", "max_dose_mg", "weight_basis", "infusion_duration_min",
    "infusion_volume_ml", "schedule_code", "vitals_thresholds", "vitals_interval_dosing_min",
    "vitals_interval_recovery_min", "min_observation_min", "rems_required",
    "integration_after_each_dose", "preparation_meeting", "source",
)  # fmt: skip


def _current_orders() -> Prefetch:
    return Prefetch(
        "dosing_session__orders",
        queryset=DoseOrder.objects.filter(superseded_by__isnull=True).order_by("-signed_at", "-id"),
        to_attr="current_orders",
    )


def course_start(course: TreatmentCourse, appointments: Iterable[Appointment]) -> datetime:
    """When ``course`` started, for its scores' baseline (docs/clinical-reference.md §1.5): its
    first dose, the earliest booked start or check-in of its dosing sessions not cancelled or
    missed; the end of its start date when it has none. ``appointments`` are the course's,
    with their dosing sessions selected (no query here)."""
    starts = []
    for appointment in appointments:
        if appointment.kind != AppointmentKind.DOSING or appointment.status in (
            AppointmentStatus.CANCELLED,
            AppointmentStatus.NO_SHOW,
        ):
            continue
        session = getattr(appointment, "dosing_session", None)
        if session is not None and session.state == State.CANCELLED:
            continue
        starts.append(appointment.starts_at)
        if session is not None and session.checked_in_at is not None:
            starts.append(session.checked_in_at)
    return baseline_rules.course_start(starts, day_bounds(course.start_date)[1])


def current_course_start(patient_id: int) -> datetime | None:
    """The start (as ``course_start`` defines it) of the patient's current course, the newest
    one not cancelled; ``None`` without one. One query: the first dose is aggregated in SQL
    with the same exclusions as ``course_start``."""
    dose = (
        Q(appointments__kind=AppointmentKind.DOSING)
        & ~Q(appointments__status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
        & ~Q(appointments__dosing_session__state=State.CANCELLED)
    )
    course = (
        TreatmentCourse.objects.filter(patient_id=patient_id)
        .exclude(status=CourseStatus.CANCELLED)
        .annotate(
            first_booked=Min("appointments__starts_at", filter=dose),
            first_check_in=Min("appointments__dosing_session__checked_in_at", filter=dose),
        )
        .only("id", "start_date")
        .order_by("-start_date", "-id")
        .first()
    )
    if course is None:
        return None
    # Annotations of the query above, which the model's type does not know.
    starts = [t for t in (course.first_booked, course.first_check_in) if t is not None]  # type: ignore[attr-defined]
    return baseline_rules.course_start(starts, day_bounds(course.start_date)[1])


def progress_of(
    code: str, scores: list[Assessment], start: datetime | None
) -> ScoreProgress | None:
    """One scale's ScoreProgress from its scores (oldest first) and the course's start."""
    found = baseline_rules.progress(code, scores, start)
    if found is None:
        return None
    label = found.label(timezone.localdate(found.baseline.administered_at))
    return ScoreProgress(
        code, INSTRUMENTS[code].name, found.baseline, found.current, found.change, found.rule,
        label,
    )  # fmt: skip


def score_progress(
    patient_id: int, start: datetime | None, scales: Sequence[str] = PROGRESS_SCALES
) -> list[ScoreProgress]:
    """Each of ``scales`` now against its baseline (``kapcare.clinical.instruments.baseline``:
    the last score at or before ``start``, the course's start, else the first score). One
    query."""
    done: dict[str, list[Assessment]] = defaultdict(list)
    for assessment in Assessment.objects.filter(
        patient_id=patient_id, instrument__in=scales
    ).order_by("administered_at", "id"):
        done[assessment.instrument].append(assessment)
    out = []
    for code in scales:
        found = progress_of(code, done.get(code, []), start)
        if found is not None:
            out.append(found)
    return out


def course_view(course_id: int) -> CourseView:
    """A course with its appointments (dosing sessions and their current orders, integration
    notes), progress and scores, in 6 queries. Raises TreatmentCourse.DoesNotExist."""
    course = TreatmentCourse.objects.select_related("patient", "protocol", "planned_by").get(
        pk=course_id
    )
    appointments = list(
        course.appointments.select_related(
            "resource", "dosing_session", "integration_note", "follows__dosing_session"
        )
        .prefetch_related("staff", _current_orders())
        .order_by("starts_at", "id")
    )
    live = [a for a in appointments if a.status != AppointmentStatus.CANCELLED]
    dosing = [a for a in live if a.kind == AppointmentKind.DOSING]
    integration = [a for a in live if a.kind == AppointmentKind.INTEGRATION]
    return CourseView(
        course=course,
        appointments=appointments,
        dosing_done=sum(1 for a in dosing if _session_state(a) in DONE_STATES),
        dosing_planned=len(dosing),
        integration_done=sum(1 for a in integration if _has_note(a)),
        integration_planned=len(integration),
        scores=score_progress(course.patient_id, course_start(course, appointments)),
    )


def _session_state(appointment: Appointment) -> str | None:
    session = getattr(appointment, "dosing_session", None)
    return session.state if session is not None else None


def _has_note(appointment: Appointment) -> bool:
    try:
        return appointment.integration_note is not None
    except Appointment.integration_note.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]  # made by Django at run time
        return False


def patient_courses(patient_id: int) -> list[TreatmentCourse]:
    return list(TreatmentCourse.objects.filter(patient_id=patient_id).order_by("-start_date"))


# --- appointments ----------------------------------------------------------------------------


def appointment_history(appointment: Appointment) -> list[Version]:
    """Every version of the appointment, newest first: time, chair, status and reason, and who
    made the change (two queries)."""
    records = list(
        appointment.history.select_related("history_user").order_by("-history_date", "-history_id")
    )
    names = dict(
        Resource.objects.filter(
            pk__in={r.resource_id for r in records if r.resource_id}
        ).values_list("pk", "name")
    )
    versions = []
    for record in records:
        local = timezone.localtime(record.starts_at)
        user = record.history_user
        versions.append(
            Version(
                at=record.history_date,
                by=(user.full_name or user.email) if user else "system",
                kind=_HISTORY_KINDS.get(record.history_type, record.history_type),
                changes=[
                    ("starts", f"{local:%Y-%m-%d %H:%M}", None),
                    ("ends", f"{timezone.localtime(record.ends_at):%H:%M}", None),
                    ("room or chair", names.get(record.resource_id, "none"), None),
                    ("status", record.status, None),
                ],
                reason=record.change_reason,
            )
        )
    return versions


@dataclass(frozen=True)
class PatientAppointments:
    upcoming: list[Appointment]
    past: list[Appointment]
    feeds: list[CalendarFeed]

    @property
    def patient_ids(self) -> list[int]:
        return [a.patient_id for a in self.upcoming + self.past]


PAST_SHOWN = 20


def patient_appointments(patient_id: int, now: datetime | None = None) -> PatientAppointments:
    now = now or timezone.now()
    base = appointment_queryset().filter(patient_id=patient_id)
    return PatientAppointments(
        upcoming=list(base.filter(ends_at__gte=now).order_by("starts_at", "id")),
        past=list(base.filter(ends_at__lt=now).order_by("-starts_at", "-id")[:PAST_SHOWN]),
        feeds=list(CalendarFeed.objects.filter(patient_id=patient_id).order_by("-created_at")),
    )


# --- the day view ----------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The clinic-local day as [start, end) instants (DST days are 23 or 25 hours)."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


@dataclass
class ResourceDay:
    name: str
    appointments: list[Appointment] = field(default_factory=list)


@dataclass(frozen=True)
class DayView:
    """What one role sees of a day.

    ``mode``: "desk" (front desk and admin: every appointment by room or chair), "dosing"
    (nurses and prescribers: the dosing sessions) or "therapy" (therapists: preparation and
    integration sessions). ``mine`` is the user's own appointments that day.
    """

    day: date
    mode: str
    by_resource: list[ResourceDay]
    sessions: list[Appointment]
    mine: list[Appointment]

    @property
    def patient_ids(self) -> list[int]:
        every = [a for r in self.by_resource for a in r.appointments] + self.sessions + self.mine
        return list(dict.fromkeys(a.patient_id for a in every))

    @property
    def previous_day(self) -> date:
        return self.day - timedelta(days=1)

    @property
    def next_day(self) -> date:
        return self.day + timedelta(days=1)

    @property
    def is_empty(self) -> bool:
        return not (self.by_resource or self.sessions or self.mine)


MODES: dict[str, str] = {
    Role.FRONT_DESK: "desk",
    Role.CLINIC_ADMIN: "desk",
    Role.NURSE: "dosing",
    Role.PRESCRIBER: "dosing",
    Role.THERAPIST: "therapy",
}
NO_RESOURCE = "No room or chair assigned"


def day_view(user: User, day: date) -> DayView:
    """The day's appointments as ``user``'s role sees them: two queries (appointments with
    patient, chair and session; their staff), whatever the number of appointments."""
    start, end = day_bounds(day)
    appointments = list(
        appointment_queryset()
        .filter(starts_at__gte=start, starts_at__lt=end)
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("starts_at", "id")
    )
    mode = MODES.get(user.role, "desk")
    by_resource: list[ResourceDay] = []
    sessions: list[Appointment] = []
    mine: list[Appointment] = []
    if mode == "desk":
        groups: dict[str, ResourceDay] = {}
        for appointment in appointments:
            name = appointment.resource.name if appointment.resource else NO_RESOURCE
            groups.setdefault(name, ResourceDay(name)).appointments.append(appointment)
        by_resource = sorted(groups.values(), key=lambda g: (g.name == NO_RESOURCE, g.name))
    else:
        kinds = (
            {AppointmentKind.DOSING}
            if mode == "dosing"
            else {AppointmentKind.PREPARATION, AppointmentKind.INTEGRATION}
        )
        sessions = [a for a in appointments if a.kind in kinds]
        # Prefetched staff: no query per appointment.
        mine = [a for a in appointments if any(s.pk == user.pk for s in a.staff.all())]
    return DayView(day=day, mode=mode, by_resource=by_resource, sessions=sessions, mine=mine)


# --- calendar feeds --------------------------------------------------------------------------


def active_feed(token_sha256: str) -> CalendarFeed | None:
    return (
        CalendarFeed.objects.select_related("user", "patient")
        .filter(token_sha256=token_sha256, revoked_at__isnull=True)
        .first()
    )


def feed_appointments(feed: CalendarFeed, now: datetime | None = None) -> list[Appointment]:
    """The appointments a feed carries (one query): the staff member's, or the patient's."""
    now = now or timezone.now()
    found = Appointment.objects.select_related("patient", "resource").filter(
        starts_at__gte=now - timedelta(days=FEED_PAST_DAYS),
        starts_at__lt=now + timedelta(days=FEED_FUTURE_DAYS),
    )
    owner = Q(staff=feed.user_id) if feed.user_id else Q(patient_id=feed.patient_id)
    return list(found.filter(owner).order_by("starts_at", "id"))


def user_feeds(user: User) -> list[CalendarFeed]:
    return list(CalendarFeed.objects.filter(user=user).order_by("-created_at"))


def ids_of(appointments: Iterable[Appointment]) -> list[int]:
    return list(dict.fromkeys(a.patient_id for a in appointments))
