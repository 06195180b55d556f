"""Synthetic treatment courses for the demo clinic: chairs and rooms, planned courses whose
past sessions are fully documented (one with a critical BP alert and the action taken), today's
sessions ready to run, and integration notes. Each course's patient signs the current version of
the treatment consent its route needs first (publishing the esketamine one, which the intake demo
does not). Every name and entry is synthetic."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.courses import services as courses
from kapcare.courses.models import AppointmentKind, Protocol, Resource, ResourceKind
from kapcare.dosing import scenario
from kapcare.dosing.models import DosingSession, State
from kapcare.intake.selectors import course_planning_clearance
from kapcare.integration.models import IntegrationNote, JournalEntry
from kapcare.patients.models import Patient

# (protocol code, course start in days before today, sessions today: index of the patient's
# session to move to today, or None)
COURSES = (
    ("iv-ptsd", 12, None),
    ("esketamine", 10, None),
    ("iv-trd", 0, 0),
    ("im", 7, 1),
    ("esketamine", 0, 0),
)
TODAY_TIMES = (time(9, 0), time(11, 0), time(13, 30))
CRITICAL_SESSION = (0, 2)  # course 0's third session had a critical BP


def _last_clinic_day_on_or_before(day: date) -> date:
    while day.weekday() > 4:
        day -= timedelta(days=1)
    return day


def load_demo() -> bool:
    if Resource.objects.exists():
        return False
    for number in range(1, 5):
        Resource.objects.create(name=f"Chair {number}", kind=ResourceKind.CHAIR)
    Resource.objects.create(name="Integration room", kind=ResourceKind.ROOM)
    prescriber = User.objects.filter(role=Role.PRESCRIBER, is_synthetic=True).order_by("id").first()
    nurse = User.objects.filter(role=Role.NURSE, is_synthetic=True).order_by("id").first()
    therapist = User.objects.filter(role=Role.THERAPIST, is_synthetic=True).order_by("id").first()
    if prescriber is None or nurse is None or therapist is None:
        return False
    planner = Actor.for_user(prescriber)
    cleared = [
        p
        for p in Patient.objects.filter(is_synthetic=True).order_by("id")
        if course_planning_clearance(p).allowed
    ][: len(COURSES)]
    today = timezone.localdate()
    now = timezone.now()
    slot = 0
    for course_index, (patient, (code, days_before, today_index)) in enumerate(
        zip(cleared, COURSES, strict=False)
    ):
        start = _last_clinic_day_on_or_before(today - timedelta(days=days_before))
        course = courses.plan_course(
            planner,
            patient,
            Protocol.objects.get(code=code),
            start,
            staffing=courses.Staffing(nurse.email, therapist.email),
        )
        # No session passes its checklist without the current version of the route's
        # consent signed (the intake demo signs the racemic one for some patients only).
        scenario.sign_treatment_consent(nurse, patient, course.route)
        dosing = list(course.appointments.filter(kind=AppointmentKind.DOSING).order_by("starts_at"))
        if today_index is not None and today_index < len(dosing):
            moved = dosing[today_index]
            when = datetime.combine(
                today, TODAY_TIMES[slot % len(TODAY_TIMES)], tzinfo=timezone.get_current_timezone()
            )
            slot += 1
            chair = Resource.objects.get(name=f"Chair {slot}")
            courses.reschedule(
                planner,
                moved,
                starts_at=when,
                resource=chair,
                staff=[nurse],
                reason="Demo: booked for today",
            )
        for number, appointment in enumerate(dosing):
            appointment.refresh_from_db()
            # Today's sessions stay ready to run, whatever the hour the demo is loaded.
            if appointment.ends_at > now or timezone.localdate(appointment.starts_at) == today:
                continue
            session = DosingSession.objects.get(appointment=appointment)
            scenario.run_to(
                session,
                State.NOTE_SIGNED,
                nurse=nurse,
                prescriber=prescriber,
                start=appointment.starts_at,
                critical_bp_at_min=20 if (course_index, number) == CRITICAL_SESSION else None,
            )
            follow_up = appointment.followed_by.filter(kind=AppointmentKind.INTEGRATION).first()
            if follow_up is not None and follow_up.ends_at <= now:
                IntegrationNote.objects.create(
                    patient=patient,
                    appointment=follow_up,
                    dosing_session=session,
                    held_on=timezone.localdate(follow_up.starts_at),
                    insights=(
                        "Synthetic: noticed the memory felt further away; "
                        "named grief rather than fear."
                    ),
                    practices=["meditation", "journaling"],
                    homework=(
                        "Ten minutes of breath practice daily; "
                        "write one page after the next session."
                    ),
                    author=therapist,
                )
        JournalEntry.objects.create(
            patient=patient,
            written_on=start,
            entered_by=therapist,
            text=(
                "Synthetic journal: nervous about the first session, hopeful about sleeping better."
            ),
        )
    return True
