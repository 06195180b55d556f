"""Writes to protocols, courses and appointments: each in a transaction, with its audit entry."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_save
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.clinical import schedule
from kapcare.clinical.dosing import MAX_MG_PER_KG
from kapcare.clinical.protocol import ProtocolSnapshot
from kapcare.clinical.session import State as SessionState
from kapcare.clinical.vitals import VitalsThresholds
from kapcare.courses import conf
from kapcare.courses.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    CalendarFeed,
    CourseStatus,
    DoseMode,
    Protocol,
    Resource,
    Route,
    TreatmentCourse,
)
from kapcare.errors import Conflict, FieldInvalid, Unmet
from kapcare.intake.selectors import course_planning_clearance
from kapcare.patients.models import CareStatus, Patient


class NotEligible(Conflict):
    """Planning refused: the patient is not cleared for a course (a conflict on
    ``patient_id``, rule ``not_eligible``; ``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Not eligible for a treatment course: {reason}",
            [Unmet("not_eligible", reason)],
            field="patient_id",
        )
        self.reason = reason


class BookingConflict(Conflict):
    """A chair, room or staff member would be booked beyond its capacity (a conflict on
    ``resource``, rule ``fully_booked``, or on ``staff``, rule ``at_capacity``)."""


# --- protocols -------------------------------------------------------------------------------


def _out_of_order(
    field: str, doses: tuple[Decimal, Decimal, Decimal], unit: str, most: Decimal | None = None
) -> FieldInvalid:
    """A protocol's minimum, default and maximum dose that do not hold together: the default
    outside sound limits is refused with those limits and the default entered; limits that
    are not sound themselves are refused in words."""
    low, default, high = doses
    if Decimal(0) < low <= high and (most is None or high <= most):
        return FieldInvalid(
            field,
            "out_of_range",
            f"must be from the minimum to the maximum, {low}-{high} {unit}",
            low=float(low),
            high=float(high),
            entered=default,
        )
    ceiling = f", and the maximum at most {most} {unit}" if most is not None else ""
    return FieldInvalid(
        field,
        "out_of_range",
        f"the minimum must be above 0 and no more than the maximum{ceiling}",
    )


def validate_protocol(protocol: Protocol) -> None:
    """FieldInvalid naming the field when a protocol's settings do not hold together."""
    if protocol.schedule_code not in schedule.PROTOCOLS:
        raise FieldInvalid(
            "schedule_code", "one_of", f"unknown schedule {protocol.schedule_code!r}"
        )
    if protocol.dose_mode == DoseMode.MG_PER_KG:
        low, default, high = (
            protocol.min_mg_per_kg,
            protocol.default_mg_per_kg,
            protocol.max_mg_per_kg,
        )
        if low is None or default is None or high is None:
            raise FieldInvalid(
                "default_mg_per_kg",
                "required",
                "weight-based protocols need a default, minimum and maximum mg/kg",
            )
        if not Decimal(0) < low <= default <= high <= MAX_MG_PER_KG:
            raise _out_of_order("default_mg_per_kg", (low, default, high), "mg/kg", MAX_MG_PER_KG)
    else:
        low, default, high = protocol.min_dose_mg, protocol.default_dose_mg, protocol.max_dose_mg
        if low is None or default is None or high is None:
            raise FieldInvalid(
                "default_dose_mg",
                "required",
                "fixed-dose protocols need a default, minimum and maximum dose",
            )
        if not Decimal(0) < low <= default <= high:
            raise _out_of_order("default_dose_mg", (low, default, high), "mg")
    if protocol.route == Route.IV and not (
        protocol.infusion_duration_min and protocol.infusion_volume_ml
    ):
        raise FieldInvalid(
            "infusion_duration_min",
            "required",
            "IV protocols need an infusion duration and bag volume",
        )
    try:
        VitalsThresholds(**(protocol.vitals_thresholds or {}))
    except TypeError as error:
        raise FieldInvalid("vitals_thresholds", "unknown_field", str(error)) from error


def save_protocol(actor: Actor, protocol: Protocol) -> Protocol:
    """Create or change a protocol. Courses already planned keep their own snapshot."""
    validate_protocol(protocol)
    with transaction.atomic():
        created = protocol.pk is None
        protocol.save()
        record_event(
            actor, Action.CREATE if created else Action.UPDATE, f"protocol {protocol.code}"
        )
    return protocol


# --- rooms and chairs ------------------------------------------------------------------------


def save_resource(actor: Actor, resource: Resource) -> Resource:
    """Create or change a room or chair. Lowering the capacity does not move appointments
    already booked; the next booking is checked against the new capacity."""
    resource.name = resource.name.strip()
    if not resource.name:
        raise FieldInvalid("name", "required", "required")
    if resource.capacity < 1:
        raise FieldInvalid(
            "capacity", "out_of_range", "must be at least 1", low=1, entered=resource.capacity
        )
    with transaction.atomic():
        created = resource.pk is None
        resource.save()
        record_event(
            actor, Action.CREATE if created else Action.UPDATE, f"resource {resource.name}"
        )
    return resource


# --- booking ---------------------------------------------------------------------------------


def _staff_capacity(user: User) -> int:
    return conf.nurse_concurrent_patients() if user.role == Role.NURSE else 1


# The statuses that hold a room, chair or staff member: a patient who has arrived is still
# in the chair.
HOLDING = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


def _overlapping(starts_at: datetime, ends_at: datetime, exclude_pk: int | None) -> Any:
    booked = Appointment.objects.filter(
        status__in=HOLDING, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    return booked.exclude(pk=exclude_pk) if exclude_pk else booked


def check_capacity(
    starts_at: datetime,
    ends_at: datetime,
    resource: Resource | None,
    staff: Sequence[User],
    *,
    exclude_pk: int | None = None,
) -> None:
    """Raise BookingConflict when the resource or a staff member is already at capacity at any
    moment of [starts_at, ends_at). Call inside a transaction that holds the rows' locks."""
    if ends_at <= starts_at:
        raise FieldInvalid("ends_at", "not_after_start", "must be after starts_at")
    overlapping = _overlapping(starts_at, ends_at, exclude_pk)
    if resource is not None:
        Resource.objects.select_for_update().filter(pk=resource.pk).first()
        held = overlapping.filter(resource=resource).count()
        if held >= resource.capacity:
            raise BookingConflict(
                f"{resource.name} is fully booked at "
                f"{timezone.localtime(starts_at):%Y-%m-%d %H:%M} "
                f"({held} of {resource.capacity} place{'s' if resource.capacity != 1 else ''} "
                "taken)",
                field="resource",
                rule="fully_booked",
            )
    for member in staff:
        User.objects.select_for_update().filter(pk=member.pk).first()
        held = overlapping.filter(staff=member).count()
        capacity = _staff_capacity(member)
        if held >= capacity:
            raise BookingConflict(
                f"{member.full_name or member.email} already has {held} appointment"
                f"{'s' if held != 1 else ''} at {timezone.localtime(starts_at):%Y-%m-%d %H:%M} "
                f"(capacity {capacity})",
                field="staff",
                rule="at_capacity",
            )


def _book(
    *,
    patient: Patient,
    kind: str,
    starts_at: datetime,
    minutes: int,
    course: TreatmentCourse | None = None,
    phase: str = "",
    number: int | None = None,
    resource: Resource | None = None,
    staff: Sequence[User] = (),
    follows: Appointment | None = None,
) -> Appointment:
    ends_at = starts_at + timedelta(minutes=minutes)
    check_capacity(starts_at, ends_at, resource, staff)
    appointment = Appointment(
        patient=patient,
        course=course,
        kind=kind,
        phase=phase,
        number=number,
        starts_at=starts_at,
        ends_at=ends_at,
        resource=resource,
        follows=follows,
        change_reason="booked",
    )
    _save_with_staff(appointment, staff, created=True)
    return appointment


def _save_with_staff(appointment: Appointment, staff: Sequence[User], *, created: bool) -> None:
    """Save the appointment and its staff with one history row, staff included. simple-history
    writes a row on each save and on each change of the staff; its documented switch (an
    attribute set on the instance) skips both, and the row is then written once, as the
    save's own signal does."""
    # simple-history's switch, not a model field (the stubs do not know it).
    appointment.skip_history_when_saving = True  # type: ignore[attr-defined]
    appointment.save()
    appointment.staff.set(staff)
    del appointment.skip_history_when_saving  # type: ignore[attr-defined]  # as above
    post_save.send(sender=Appointment, instance=appointment, created=created)


# How long a booked appointment may last, in minutes, and how far from now it may start (a day
# back, for a walk-in already seen; about a year ahead): typing guards, not clinical rules.
BOOKING_MINUTES = (5, 8 * 60)
BOOKING_BACK = timedelta(days=1)
BOOKING_AHEAD = timedelta(days=400)


def book_appointment(
    actor: Actor,
    patient: Patient,
    *,
    kind: str,
    starts_at: datetime,
    minutes: int,
    resource: Resource | None = None,
    staff: Sequence[User] = (),
) -> Appointment:
    """Book a consultation, intake, preparation or integration appointment, with the capacity
    rules of ``check_capacity``. FieldInvalid for an unknown kind, for ``dosing`` (a dose is
    part of a prescriber's treatment plan: planning a course or adding a booster books it; the
    desk moves it with ``reschedule``), a length outside ``BOOKING_MINUTES`` and a start
    outside ``BOOKING_BACK`` / ``BOOKING_AHEAD`` from now;
    BookingConflict when the room, chair or a staff member is full."""
    if kind not in AppointmentKind.values:
        raise FieldInvalid("kind", "one_of", f"must be one of {', '.join(AppointmentKind.values)}")
    if kind == AppointmentKind.DOSING:
        raise FieldInvalid(
            "kind",
            "not_bookable",
            "dosing sessions are booked by planning a course or adding a booster",
        )
    low, high = BOOKING_MINUTES
    if not low <= minutes <= high:
        raise FieldInvalid(
            "minutes",
            "out_of_range",
            f"must be {low} to {high} minutes",
            low=low,
            high=high,
            entered=minutes,
        )
    now = timezone.now()
    if not now - BOOKING_BACK <= starts_at <= now + BOOKING_AHEAD:
        raise FieldInvalid(
            "starts_at",
            "out_of_range",
            f"must be from yesterday to {BOOKING_AHEAD.days} days ahead",
        )
    with transaction.atomic():
        appointment = _book(
            patient=patient,
            kind=kind,
            starts_at=starts_at,
            minutes=minutes,
            resource=resource,
            staff=staff,
        )
        record_event(
            actor, Action.CREATE, f"appointment {appointment.pk} booked", patient_id=patient.pk
        )
    return appointment


def reschedule(
    actor: Actor,
    appointment: Appointment,
    *,
    starts_at: datetime,
    resource: Resource | None,
    staff: Sequence[User],
    reason: str,
) -> Appointment:
    """Move an appointment (keeping its length) or change its chair or staff. The old version
    stays in the appointment's history with the reason: one history row per reschedule.
    FieldInvalid without a reason; Conflict (``status``, ``not_booked``) for an appointment no
    longer booked, and (``session``, ``under_way``) for a dosing appointment whose session has
    checked in (it would vanish from the day of the staff caring for the patient);
    BookingConflict when the new time is full."""
    reason = reason.strip()
    if not reason:
        raise FieldInvalid("reason", "required", "required when rescheduling")
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if appointment.status != AppointmentStatus.BOOKED:
            raise Conflict(
                f"{_a(appointment.get_status_display())} appointment cannot be rescheduled.",
                field="status",
                rule="not_booked",
            )
        _require_not_under_way(appointment, "move to another time")
        length = appointment.ends_at - appointment.starts_at
        check_capacity(starts_at, starts_at + length, resource, staff, exclude_pk=appointment.pk)
        appointment.starts_at = starts_at
        appointment.ends_at = starts_at + length
        appointment.resource = resource
        appointment.change_reason = reason[:200]
        _save_with_staff(appointment, staff, created=False)
        record_event(
            actor,
            Action.UPDATE,
            f"appointment {appointment.pk} rescheduled",
            patient_id=appointment.patient_id,
        )
    return appointment


def _require_not_under_way(appointment: Appointment, what: str) -> None:
    """Conflict (``session``, ``under_way``) for a dosing appointment whose session has checked
    in: moved or called off, it would vanish from the day of the staff caring for the
    patient."""
    session = getattr(appointment, "dosing_session", None)
    if session is not None and session.state != SessionState.SCHEDULED:
        raise Conflict(
            f"The dosing session has started (checked in): it cannot {what}.",
            field="session",
            rule="under_way",
        )


# The appointment's status moves: booked -> arrived -> done, or booked -> cancelled or did not
# attend. Every other move is refused (``illegal_move``).
STATUS_MOVES: dict[str, frozenset[str]] = {
    AppointmentStatus.BOOKED: frozenset(
        {AppointmentStatus.ARRIVED, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}
    ),
    AppointmentStatus.ARRIVED: frozenset({AppointmentStatus.DONE}),
}
_MOVE_WORDS: dict[str, str] = {
    AppointmentStatus.ARRIVED: "marked arrived",
    AppointmentStatus.DONE: "marked done",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "marked did not attend",
}


def _a(label: str) -> str:
    """ "A booked", "An arrived": the status label with its article, for a sentence's start."""
    word = label.lower()
    return f"{'An' if word[:1] in 'aeiou' else 'A'} {word}"


def _check_move(appointment: Appointment, to: str, now: datetime) -> None:
    """Conflict naming the rule when ``appointment`` may not move to ``to`` at ``now``."""
    status = AppointmentStatus(appointment.status)
    if to not in STATUS_MOVES.get(status, frozenset()):
        raise Conflict(
            f"{_a(status.label)} appointment cannot be {_MOVE_WORDS[to]}: an appointment "
            "goes from booked to arrived and then done, or from booked to cancelled or did "
            "not attend.",
            field="status",
            rule="illegal_move",
        )
    local_day = timezone.localdate(appointment.starts_at)
    if to == AppointmentStatus.ARRIVED and timezone.localdate(now) != local_day:
        raise Conflict(
            f"Arrival is marked on the day of the appointment ({local_day:%Y-%m-%d}).",
            field="status",
            rule="not_today",
        )
    if to == AppointmentStatus.NO_SHOW and now < appointment.starts_at:
        raise Conflict(
            "Did not attend can be marked once the appointment has started "
            f"({timezone.localtime(appointment.starts_at):%Y-%m-%d %H:%M}).",
            field="status",
            rule="not_started",
        )
    if to == AppointmentStatus.DONE and appointment.kind == AppointmentKind.DOSING:
        raise Conflict(
            "A dosing appointment is done when its session is discharged.",
            field="kind",
            rule="done_at_discharge",
        )
    if to in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        _require_not_under_way(appointment, "be " + _MOVE_WORDS[to])


def _move_status(
    actor: Actor, appointment: Appointment, to: str, *, reason: str, now: datetime | None
) -> Appointment:
    """One status move in one transaction: lock, check, write one history row, audit. A
    dosing appointment cancelled or missed before check-in cancels its session too (with the
    same reason), so it leaves the nurses' day; marking arrival leaves the session alone (the
    nurse checks the patient in on the session page)."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("dosing_session")
            .get(pk=appointment.pk)
        )
        _check_move(appointment, to, now)
        session = getattr(appointment, "dosing_session", None)
        if session is not None and to in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
            from kapcare.dosing.services import transition

            why = reason or "did not attend"
            transition(actor, session, SessionState.CANCELLED, reason=why, now=now)
        appointment.status = to
        appointment.change_reason = (reason or _MOVE_WORDS[to])[:200]
        appointment.save()
        record_event(
            actor,
            Action.UPDATE,
            f"appointment {appointment.pk} {_MOVE_WORDS[to]}",
            patient_id=appointment.patient_id,
        )
    return appointment


def cancel_appointment(
    actor: Actor, appointment: Appointment, *, reason: str, now: datetime | None = None
) -> Appointment:
    """Cancel a booked appointment, with the reason. FieldInvalid (``reason``, ``required``)
    without one; the Conflicts of ``STATUS_MOVES`` and ``_require_not_under_way``."""
    reason = reason.strip()
    if not reason:
        raise FieldInvalid("reason", "required", "required when cancelling")
    return _move_status(actor, appointment, AppointmentStatus.CANCELLED, reason=reason, now=now)


def mark_arrived(
    actor: Actor, appointment: Appointment, *, now: datetime | None = None
) -> Appointment:
    """The front desk's arrival mark, on the appointment's day (Conflict ``not_today``)."""
    return _move_status(actor, appointment, AppointmentStatus.ARRIVED, reason="", now=now)


def mark_no_show(
    actor: Actor, appointment: Appointment, *, reason: str = "", now: datetime | None = None
) -> Appointment:
    """The patient did not come: once the appointment has started (Conflict
    ``not_started``)."""
    return _move_status(
        actor, appointment, AppointmentStatus.NO_SHOW, reason=reason.strip(), now=now
    )


def mark_done(
    actor: Actor, appointment: Appointment, *, now: datetime | None = None
) -> Appointment:
    """An arrived appointment has taken place (not a dosing one: its discharge marks it)."""
    return _move_status(actor, appointment, AppointmentStatus.DONE, reason="", now=now)


# --- planning --------------------------------------------------------------------------------


def _at(day: date, minutes_after_start: int = 0) -> datetime:
    start = datetime.combine(day, conf.day_start(), tzinfo=timezone.get_current_timezone())
    return start + timedelta(minutes=minutes_after_start)


def _shift_to_clinic_day(day: date, step: int) -> date:
    days = conf.clinic_days()
    for _ in range(7):
        if day.weekday() in days:
            return day
        day += timedelta(days=step)
    return day


def dosing_minutes(snapshot: ProtocolSnapshot) -> int:
    administration = snapshot.infusion_duration_min or conf.ADMINISTRATION_MINUTES
    return (
        conf.CHECK_IN_MINUTES
        + administration
        + snapshot.min_observation_min
        + conf.DISCHARGE_MINUTES
    )


def _free_chair(starts_at: datetime, minutes: int) -> Resource | None:
    """The first active chair with room at that time, or None (the front desk assigns one)."""
    ends_at = starts_at + timedelta(minutes=minutes)
    for chair in Resource.objects.filter(active=True, kind="chair"):
        if _overlapping(starts_at, ends_at, None).filter(resource=chair).count() < chair.capacity:
            return chair
    return None


@dataclass(frozen=True)
class _Dose:
    day: date
    phase: str
    number: int


def _default_staff(email: str | None, starts_at: datetime, minutes: int) -> tuple[User, ...]:
    """The clinic's default staff member for a planned appointment (conf.default_nurse_email /
    default_therapist_email), or nobody: no setting, no active user with that email, or that
    member already at capacity at that time. Planning then leaves the appointment unassigned
    (the course page says so) rather than refusing the whole plan."""
    if not email:
        return ()
    member = User.objects.filter(email__iexact=email, is_active=True).first()
    if member is None:
        return ()
    try:
        check_capacity(starts_at, starts_at + timedelta(minutes=minutes), None, [member])
    except BookingConflict:
        return ()
    return (member,)


def _first_free_slot(
    email: str, starts_at: datetime, minutes: int, tries: int = 6
) -> tuple[datetime, tuple[User, ...]]:
    """The first start, from ``starts_at`` on in steps of the appointment's length (at most
    ``tries`` steps, the same day), at which the default member ``email`` is free, with them
    booked; else ``starts_at`` unassigned. A therapist's integration sessions after the same
    day's doses then follow one another instead of leaving all but one unassigned."""
    for step in range(tries):
        candidate = starts_at + timedelta(minutes=minutes * step)
        if timezone.localdate(candidate) != timezone.localdate(starts_at):
            break
        staff = _default_staff(email, candidate, minutes)
        if staff:
            return candidate, staff
    return starts_at, ()


def _integration_start(
    course: TreatmentCourse, follows: Appointment, later_doses: Sequence[tuple[datetime, datetime]]
) -> datetime:
    """When the integration session after ``follows`` starts: ``integration_days_after`` days
    after the dose (moved on to a clinic day, never before the dose's day), at day start + 8 h,
    and never before the dose has ended nor, on the day of another of the course's doses,
    before that dose has ended."""
    dose_day = timezone.localdate(follows.starts_at)
    day = _shift_to_clinic_day(dose_day + timedelta(days=conf.integration_days_after()), 1)
    day = max(day, dose_day)
    starts_at = max(_at(day, 8 * 60), follows.ends_at)
    booked = course.appointments.filter(
        kind=AppointmentKind.DOSING, status=AppointmentStatus.BOOKED
    ).exclude(pk=follows.pk)
    others = [(a.starts_at, a.ends_at) for a in booked] + list(later_doses)
    for other_start, other_end in others:
        if timezone.localdate(other_start) == day:
            starts_at = max(starts_at, other_end)
    return starts_at


@dataclass(frozen=True)
class Staffing:
    """Who planned appointments are booked with, by email: the clinic's defaults
    (``KAPCARE_DEFAULT_NURSE_EMAIL``, ``KAPCARE_DEFAULT_THERAPIST_EMAIL``) unless a caller
    names others (the demo clinic names its own nurse and therapist)."""

    nurse_email: str
    therapist_email: str

    @classmethod
    def clinic_defaults(cls) -> Staffing:
        return cls(conf.default_nurse_email(), conf.default_therapist_email())


def _book_dosing(
    actor: Actor,
    course: TreatmentCourse,
    dose: _Dose,
    later_doses: Sequence[tuple[datetime, datetime]] = (),
    staffing: Staffing | None = None,
) -> Appointment:
    """Book one dosing session (the nurse of ``staffing``, by default the clinic's) and its
    integration session (its therapist). ``later_doses``: the (start, end) of the course's
    doses not booked yet, so an integration landing on such a day comes after that dose."""
    staffing = staffing or Staffing.clinic_defaults()
    from kapcare.dosing.services import create_session

    minutes = dosing_minutes(course.protocol_record)
    starts_at = _at(dose.day)
    appointment = _book(
        patient=course.patient,
        kind=AppointmentKind.DOSING,
        starts_at=starts_at,
        minutes=minutes,
        course=course,
        phase=dose.phase,
        number=dose.number,
        resource=_free_chair(starts_at, minutes),
        staff=_default_staff(staffing.nurse_email, starts_at, minutes),
    )
    create_session(actor, appointment)
    if course.protocol_record.integration_after_each_dose:
        integration_at, therapist = _first_free_slot(
            staffing.therapist_email,
            _integration_start(course, appointment, later_doses),
            conf.integration_minutes(),
        )
        _book(
            patient=course.patient,
            kind=AppointmentKind.INTEGRATION,
            starts_at=integration_at,
            minutes=conf.integration_minutes(),
            course=course,
            phase=dose.phase,
            number=dose.number,
            follows=appointment,
            staff=therapist,
        )
    return appointment


def plan_course(
    actor: Actor,
    patient: Patient,
    protocol: Protocol,
    start_date: date,
    *,
    staffing: Staffing | None = None,
) -> TreatmentCourse:
    """Plan a course from a protocol for a cleared patient (an accepted "eligible" screening or
    a prescriber's override): the preparation meeting, each dosing session (with its session
    record) and an integration session after each, booked with ``staffing`` (by default the
    clinic's default nurse and therapist). Raises NotEligible (a Conflict) with the reason,
    FieldInvalid (``protocol``, ``retired``) for a retired protocol and the schedule's
    FieldInvalid when it cannot be planned."""
    staffing = staffing or Staffing.clinic_defaults()
    if not protocol.active:
        raise FieldInvalid("protocol", "retired", f"{protocol.code} is retired")
    clearance = course_planning_clearance(patient)
    if not clearance.allowed:
        raise NotEligible(clearance.reason)
    planned = schedule.plan_course(
        protocol.schedule_code, start_date, clinic_days=conf.clinic_days()
    )
    with transaction.atomic():
        course = TreatmentCourse.objects.create(
            patient=patient,
            protocol=protocol,
            protocol_snapshot=protocol.snapshot().to_json(),
            start_date=planned[0].date,
            clearance=clearance.reason[:200],
            planned_by_id=actor.person_id,
        )
        if protocol.preparation_meeting:
            day = _shift_to_clinic_day(
                planned[0].date - timedelta(days=conf.preparation_days_before()), -1
            )
            preparation_at, therapist = _first_free_slot(
                staffing.therapist_email, _at(day, 7 * 60), conf.preparation_minutes()
            )
            _book(
                patient=patient,
                kind=AppointmentKind.PREPARATION,
                starts_at=preparation_at,
                minutes=conf.preparation_minutes(),
                course=course,
                staff=therapist,
            )
        minutes = dosing_minutes(course.protocol_record)
        doses = [(_at(s.date), _at(s.date, minutes)) for s in planned]
        for index, session in enumerate(planned):
            _book_dosing(
                actor,
                course,
                _Dose(session.date, session.phase, session.number),
                later_doses=doses[index + 1 :],
                staffing=staffing,
            )
        Patient.objects.filter(pk=patient.pk).update(care_status=CareStatus.IN_COURSE)
        record_event(
            actor,
            Action.CREATE,
            f"treatment course {course.pk} planned ({protocol.code})",
            patient_id=patient.pk,
        )
    return course


def add_booster(actor: Actor, course: TreatmentCourse, day: date) -> Appointment:
    """Add a maintenance dosing session (and its integration session) to a course. Conflict
    (``course``, ``not_active``) for a course no longer active; FieldInvalid (``day``,
    ``not_a_clinic_day``); BookingConflict when the day is full."""
    if course.status != CourseStatus.ACTIVE:
        raise Conflict(
            f"A {course.status} course takes no boosters.", field="course", rule="not_active"
        )
    if day.weekday() not in conf.clinic_days():
        raise FieldInvalid("day", "not_a_clinic_day", f"{day:%A} is not a clinic day")
    with transaction.atomic():
        last = course.appointments.filter(kind=AppointmentKind.DOSING).order_by("-number").first()
        number = (last.number or 0) + 1 if last else 1
        appointment = _book_dosing(actor, course, _Dose(day, "maintenance", number))
        Patient.objects.filter(pk=course.patient_id).update(care_status=CareStatus.MAINTENANCE)
        record_event(
            actor,
            Action.CREATE,
            f"booster {number} added to course {course.pk}",
            patient_id=course.patient_id,
        )
    return appointment


# --- calendar feeds --------------------------------------------------------------------------


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_calendar_feed(
    actor: Actor, *, user: User | None = None, patient: Patient | None = None
) -> tuple[CalendarFeed, str]:
    """A new secret feed URL token (shown once; only its hash is kept)."""
    if (user is None) == (patient is None):
        raise FieldInvalid(
            "owner", "exactly_one", "a feed belongs to one staff member or one patient"
        )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        feed = CalendarFeed.objects.create(
            user=user,
            patient=patient,
            token_sha256=token_sha256(token),
            created_by_id=actor.person_id,
        )
        record_event(
            actor,
            Action.TOKEN,
            f"calendar feed {feed.pk} created",
            patient_id=patient.pk if patient else None,
        )
    return feed, token


def revoke_calendar_feed(actor: Actor, feed: CalendarFeed) -> None:
    with transaction.atomic():
        CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record_event(
            actor, Action.TOKEN, f"calendar feed {feed.pk} revoked", patient_id=feed.patient_id
        )


def appointments_between(
    start: datetime, end: datetime, *, q: Q | None = None
) -> Iterable[Appointment]:
    found = Appointment.objects.filter(starts_at__lt=end, ends_at__gt=start)
    return found.filter(q) if q is not None else found
