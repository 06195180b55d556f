"""Treatment courses API (a fixed contract): plan a course from a protocol, list a
patient's courses with their progress, list the protocols, and the front desk's bookings:
book an appointment, cancel it (with a reason), mark arrival and did not attend.

``POST /patients/{id}/courses`` answers ``{id, protocol, sessions: [...]}``. Each entry of
``sessions`` is one of the course's appointments, in time order:

- ``kind``: ``preparation``, ``dosing`` or ``integration``;
- ``id``: for ``dosing``, the **dosing session's** id (the one ``GET /sessions/{id}`` takes);
  for ``preparation`` and ``integration``, the appointment's id;
- ``appointment_id``: the appointment's id, for every kind;
- ``session_id``: the dosing session's id (``dosing`` only, else null; the same as ``id``);
- ``scheduled_for`` (start, ISO 8601), ``phase`` and ``number`` (the dosing session's place in
  the course; an integration session carries those of the dosing session it follows).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, field_validator

from kapcare.accounts.models import User
from kapcare.accounts.roles import STAFF
from kapcare.api.routing import endpoint
from kapcare.assessments.models import Assessment
from kapcare.audit.reads import reads_patient_data
from kapcare.audit.services import Actor
from kapcare.courses import selectors, services
from kapcare.courses.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Protocol,
    Resource,
    TreatmentCourse,
)
from kapcare.dosing.models import State
from kapcare.errors import FieldInvalid
from kapcare.patients.models import Patient

router = Router(tags=["courses"])

# How far ahead a course may be planned, and how far back its start may lie (one day, so a
# client a time zone behind the clinic is not refused "today").
PLAN_AHEAD_DAYS = 366
PLAN_BACK_DAYS = 1
# Scales whose change since baseline shows a course's progress (kapcare.clinical.instruments).
PROGRESS_SCALES = ("pcl5", "phq9", "gad7")


class CourseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    protocol: str = Field(..., max_length=40, description="A protocol's code (GET /protocols)")
    start_date: date = Field(..., description="First possible dosing day (YYYY-MM-DD)")


class CourseSessionOut(Schema):
    id: int = Field(
        ...,
        description="Dosing: the dosing session's id (GET /sessions/{id}); otherwise the "
        "appointment's id",
    )
    kind: str
    scheduled_for: datetime
    ends_at: datetime
    phase: str | None
    number: int | None
    appointment_id: int
    session_id: int | None = Field(None, description="The dosing session's id (dosing only)")
    follows_session_id: int | None = Field(
        None, description="Integration: the dosing session it follows"
    )
    status: str
    state: str | None = Field(None, description="Dosing: the session's state")


class CourseOut(Schema):
    id: int
    protocol: str
    protocol_name: str
    route: str
    patient_id: int
    start_date: date
    status: str
    clearance: str
    sessions: list[CourseSessionOut]


class ScoreChangeOut(Schema):
    instrument: str
    baseline_total: int
    baseline_at: datetime
    baseline_rule: str = Field(
        ...,
        description="before_course: the last score at or before the course's first dose; "
        "first_score: none was taken before it (docs/clinical-reference.md §1.5)",
    )
    baseline_label: str = Field(..., description="The baseline as the pages name it")
    current_total: int
    current_at: datetime
    delta: int
    percent_change: float | None
    response: bool
    remission: bool
    source: str


class ProgressOut(Schema):
    dosing_total: int
    dosing_done: int = Field(..., description="Dosing sessions discharged or signed off")
    dosing_cancelled: int
    integration_total: int
    integration_done: int
    next_session_id: int | None
    next_session_at: datetime | None
    scores: list[ScoreChangeOut] = Field(
        ..., description="Each scale's latest total against its baseline (instruments.change)"
    )


class CourseSummaryOut(Schema):
    id: int
    protocol: str
    protocol_name: str
    route: str
    start_date: date
    status: str
    planned_at: datetime
    progress: ProgressOut


class ProtocolOut(Schema):
    code: str
    name: str
    route: str
    dose_mode: str
    default_mg_per_kg: float | None
    min_mg_per_kg: float | None
    max_mg_per_kg: float | None
    default_dose_mg: float | None
    min_dose_mg: float | None
    max_dose_mg: float | None
    weight_basis: str
    infusion_duration_min: int | None
    infusion_volume_ml: int | None
    schedule_code: str
    vitals_thresholds: dict[str, Any]
    vitals_interval_dosing_min: int
    vitals_interval_recovery_min: int
    min_observation_min: int
    rems_required: bool
    integration_after_each_dose: bool
    preparation_meeting: bool
    source: str


def _appointments(course_ids: list[int]) -> list[Appointment]:
    return list(
        Appointment.objects.filter(course_id__in=course_ids)
        .select_related("dosing_session", "follows__dosing_session")
        .order_by("starts_at", "id")
    )


def _session_out(appointment: Appointment) -> CourseSessionOut:
    dosing = getattr(appointment, "dosing_session", None)
    follows = appointment.follows
    follows_session = getattr(follows, "dosing_session", None) if follows else None
    return CourseSessionOut(
        id=dosing.pk if dosing is not None else appointment.pk,
        kind=appointment.kind,
        scheduled_for=appointment.starts_at,
        ends_at=appointment.ends_at,
        phase=appointment.phase or None,
        number=appointment.number,
        appointment_id=appointment.pk,
        session_id=dosing.pk if dosing is not None else None,
        follows_session_id=follows_session.pk if follows_session is not None else None,
        status=appointment.status,
        state=dosing.state if dosing is not None else None,
    )


def _course_out(course: TreatmentCourse) -> CourseOut:
    snapshot = course.protocol_record
    return CourseOut(
        id=course.pk,
        protocol=snapshot.code,
        protocol_name=snapshot.name,
        route=course.route,
        patient_id=course.patient_id,
        start_date=course.start_date,
        status=course.status,
        clearance=course.clearance,
        sessions=[_session_out(a) for a in _appointments([course.pk])],
    )


@endpoint(
    router,
    "POST",
    "/patients/{patient_id}/courses",
    operation_id="plan_course",
    response={201: CourseOut},
)
def plan_course(request: HttpRequest, patient_id: int, payload: CourseIn) -> Status[Any]:
    """Plan a treatment course from a protocol (by code) for a cleared patient: the
    preparation meeting, every dosing session (with its session record) and an integration
    session after each. A patient who is not cleared (no screening, one awaiting review, or one
    not accepted as eligible) gets 409 (``patient_id``, ``not_eligible``) with the reason; a
    chair or staff member fully booked 409 naming it; an unknown or retired protocol
    (``protocol``: ``not_found``, ``retired``), or a start date in the past or more than a year
    ahead (``start_date``: ``in_past``, ``too_far_ahead``), gets 422 naming the field. The
    refusals (kapcare.errors) are mapped to HTTP by kapcare.api.main."""
    patient = get_object_or_404(Patient, pk=patient_id)
    protocol = Protocol.objects.filter(code=payload.protocol).first()
    if protocol is None or not protocol.active:
        known = ", ".join(Protocol.objects.filter(active=True).values_list("code", flat=True))
        raise FieldInvalid(
            "protocol",
            "retired" if protocol is not None else "not_found",
            f"{payload.protocol!r} {'is retired' if protocol else 'is not a protocol'}; "
            f"known: {known}",
        )
    today = timezone.localdate()
    if payload.start_date < today - timedelta(days=PLAN_BACK_DAYS):
        raise FieldInvalid("start_date", "in_past", f"must be today ({today}) or later")
    if payload.start_date > today + timedelta(days=PLAN_AHEAD_DAYS):
        raise FieldInvalid(
            "start_date", "too_far_ahead", f"must be within {PLAN_AHEAD_DAYS} days from today"
        )
    course = services.plan_course(
        Actor.from_request(request), patient, protocol, payload.start_date
    )
    return Status(201, _course_out(course))


def _score_changes(assessments: list[Assessment], course_began: datetime) -> list[ScoreChangeOut]:
    """Per scale, the latest total against the one baseline (docs/clinical-reference.md §1.5,
    ``kapcare.clinical.instruments.baseline``): the last total taken at or before the course
    began, else the first total. A scale with no score since its baseline is left out."""
    changes = []
    for code in PROGRESS_SCALES:
        found = selectors.progress_of(
            code, [a for a in assessments if a.instrument == code], course_began
        )
        if found is None or found.change is None:
            continue
        change = found.change
        changes.append(
            ScoreChangeOut(
                instrument=code,
                baseline_total=found.baseline.total,
                baseline_at=found.baseline.administered_at,
                baseline_rule=found.rule,
                baseline_label=found.label,
                current_total=found.latest.total,
                current_at=found.latest.administered_at,
                delta=change.delta,
                percent_change=change.percent_change,
                response=change.response,
                remission=change.remission,
                source=change.source,
            )
        )
    return changes


def _progress(
    course: TreatmentCourse, appointments: list[Appointment], assessments: list[Assessment]
) -> ProgressOut:
    dosing = [a for a in appointments if a.kind == AppointmentKind.DOSING]
    integration = [a for a in appointments if a.kind == AppointmentKind.INTEGRATION]
    states = [getattr(a, "dosing_session", None) for a in dosing]
    done_states = {State.DISCHARGED, State.NOTE_SIGNED}
    now = timezone.now()
    upcoming = [
        a
        for a, s in zip(dosing, states, strict=True)
        if s is not None and s.state not in done_states | {State.CANCELLED} and a.ends_at >= now
    ]
    return ProgressOut(
        dosing_total=len(dosing),
        dosing_done=sum(1 for s in states if s is not None and s.state in done_states),
        dosing_cancelled=sum(1 for s in states if s is not None and s.state == State.CANCELLED),
        integration_total=len(integration),
        integration_done=sum(1 for a in integration if a.status == AppointmentStatus.DONE),
        next_session_id=upcoming[0].dosing_session.pk if upcoming else None,
        next_session_at=upcoming[0].starts_at if upcoming else None,
        scores=_score_changes(assessments, selectors.course_start(course, appointments)),
    )


@reads_patient_data
@endpoint(
    router,
    "GET",
    "/patients/{patient_id}/courses",
    operation_id="list_courses",
    response=list[CourseSummaryOut],
)
def list_courses(request: HttpRequest, patient_id: int) -> list[CourseSummaryOut]:
    """A patient's treatment courses, newest first, each with its progress: dosing and
    integration sessions done, the next dosing session, and each scale's change since its
    baseline (PCL-5, PHQ-9, GAD-7 via the clinical core's ``instruments.change``)."""
    patient = get_object_or_404(Patient, pk=patient_id)
    courses = list(
        TreatmentCourse.objects.filter(patient=patient).prefetch_related(
            Prefetch(
                "appointments",
                queryset=Appointment.objects.select_related("dosing_session").order_by(
                    "starts_at", "id"
                ),
            )
        )
    )
    assessments = list(
        Assessment.objects.filter(patient=patient, instrument__in=PROGRESS_SCALES)
        .only("id", "instrument", "total", "administered_at")
        .order_by("administered_at", "id")
    )
    return [
        CourseSummaryOut(
            id=course.pk,
            protocol=course.protocol_record.code,
            protocol_name=course.protocol_record.name,
            route=course.route,
            start_date=course.start_date,
            status=course.status,
            planned_at=course.planned_at,
            progress=_progress(course, list(course.appointments.all()), assessments),
        )
        for course in courses
    ]


@endpoint(router, "GET", "/protocols", operation_id="list_protocols", response=list[ProtocolOut])
def list_protocols(request: HttpRequest) -> list[ProtocolOut]:
    """The active treatment protocols a course may be planned from (no patient data)."""
    return [
        ProtocolOut.model_validate(protocol, from_attributes=True)
        for protocol in Protocol.objects.filter(active=True).order_by("name")
    ]


# --- the front desk's bookings -------------------------------------------------------------


# A record's id as the database keeps it (a 32-bit key at least): larger numbers name nothing.
RecordId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class AppointmentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["consultation", "intake", "preparation", "integration"] = Field(
        ..., description="Dosing sessions are booked by planning a course or adding a booster"
    )
    starts_at: datetime = Field(..., description="ISO 8601; without an offset, clinic time")
    minutes: int = Field(..., description="Length, 5 to 480 minutes")
    resource_id: RecordId | None = Field(None, description="A room's or chair's id")
    staff_ids: list[RecordId] = Field(default_factory=list, max_length=20)

    @field_validator("starts_at")
    @classmethod
    def _a_year_of_this_era(cls, value: datetime) -> datetime:
        # Far years overflow when moved to UTC; the service refuses anything not near now.
        if not 1900 <= value.year <= 9000:
            raise ValueError("must be a date and time from now to a year ahead")
        return value


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., max_length=200, description="Required; kept in the history")


class NoShowIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)


class AppointmentOut(Schema):
    id: int
    patient_id: int
    course_id: int | None
    kind: str
    status: str = Field(..., description="booked, arrived, done, cancelled or no_show")
    starts_at: datetime
    ends_at: datetime
    resource_id: int | None
    staff_ids: list[int]
    change_reason: str
    session_id: int | None = Field(None, description="Dosing: the dosing session's id")


def _appointment_out(appointment_id: int) -> AppointmentOut:
    appointment = (
        Appointment.objects.select_related("dosing_session")
        .prefetch_related("staff")
        .get(pk=appointment_id)
    )
    session = getattr(appointment, "dosing_session", None)
    return AppointmentOut(
        id=appointment.pk,
        patient_id=appointment.patient_id,
        course_id=appointment.course_id,
        kind=appointment.kind,
        status=appointment.status,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        resource_id=appointment.resource_id,
        staff_ids=sorted(member.pk for member in appointment.staff.all()),
        change_reason=appointment.change_reason,
        session_id=session.pk if session is not None else None,
    )


def _resource(resource_id: int | None) -> Resource | None:
    if resource_id is None:
        return None
    resource = Resource.objects.filter(pk=resource_id, active=True).first()
    if resource is None:
        raise FieldInvalid("resource_id", "not_found", f"no active room or chair {resource_id}")
    return resource


def _staff(staff_ids: list[int]) -> list[User]:
    wanted = set(staff_ids)
    found = list(User.objects.filter(pk__in=wanted, is_active=True, role__in=STAFF))
    missing = sorted(wanted - {member.pk for member in found})
    if missing:
        raise FieldInvalid(
            "staff_ids", "not_found", f"no active staff member {', '.join(map(str, missing))}"
        )
    return found


def _get_appointment(appointment_id: int) -> Appointment:
    return get_object_or_404(Appointment, pk=appointment_id)


@endpoint(
    router,
    "POST",
    "/patients/{patient_id}/appointments",
    operation_id="book_appointment",
    response={201: AppointmentOut},
)
def book_appointment(request: HttpRequest, patient_id: int, payload: AppointmentIn) -> Status[Any]:
    """Book a consultation, intake, preparation or integration appointment with the room,
    chair and staff capacity rules of the reschedule page: a room, chair or staff member full
    at that time is 409 (``resource``: ``fully_booked``, ``staff``: ``at_capacity``); an
    unknown room or staff member, a length outside 5-480 minutes or a start outside yesterday to
    400 days ahead, 422 naming the field."""
    patient = get_object_or_404(Patient, pk=patient_id)
    starts_at = payload.starts_at
    if timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at)
    appointment = services.book_appointment(
        Actor.from_request(request),
        patient,
        kind=payload.kind,
        starts_at=starts_at,
        minutes=payload.minutes,
        resource=_resource(payload.resource_id),
        staff=_staff(payload.staff_ids),
    )
    return Status(201, _appointment_out(appointment.pk))


@endpoint(
    router,
    "POST",
    "/appointments/{appointment_id}/cancel",
    operation_id="cancel_appointment",
    response=AppointmentOut,
)
def cancel_appointment(
    request: HttpRequest, appointment_id: int, payload: CancelIn
) -> AppointmentOut:
    """Cancel a booked appointment, with the reason (422 ``reason``: ``required`` without
    one). Only a booked appointment is cancelled (409 ``status``: ``illegal_move``), and not a
    dosing one whose session has checked in (409 ``session``: ``under_way``); a dosing
    session not yet checked in is cancelled with it."""
    appointment = _get_appointment(appointment_id)
    services.cancel_appointment(Actor.from_request(request), appointment, reason=payload.reason)
    return _appointment_out(appointment.pk)


@endpoint(
    router,
    "POST",
    "/appointments/{appointment_id}/arrive",
    operation_id="mark_appointment_arrived",
    response=AppointmentOut,
)
def mark_appointment_arrived(request: HttpRequest, appointment_id: int) -> AppointmentOut:
    """The front desk's arrival mark: booked to arrived, on the appointment's day (409
    ``status``: ``illegal_move`` or ``not_today``). For a dosing appointment it does not check
    the session in: the nurse does, on the session."""
    appointment = _get_appointment(appointment_id)
    services.mark_arrived(Actor.from_request(request), appointment)
    return _appointment_out(appointment.pk)


@endpoint(
    router,
    "POST",
    "/appointments/{appointment_id}/no-show",
    operation_id="mark_appointment_no_show",
    response=AppointmentOut,
)
def mark_appointment_no_show(
    request: HttpRequest, appointment_id: int, payload: NoShowIn
) -> AppointmentOut:
    """The patient did not attend: booked to no_show once the appointment has started (409
    ``status``: ``illegal_move`` or ``not_started``; ``session``: ``under_way`` for a dosing
    session already checked in)."""
    appointment = _get_appointment(appointment_id)
    services.mark_no_show(Actor.from_request(request), appointment, reason=payload.reason)
    return _appointment_out(appointment.pk)
