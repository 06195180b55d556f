"""Background work of measurement-based care, done by `kapcare worker`:
alert emails to clinicians (suicide-risk answers, and the critical vitals of a dosing session
to the prescriber on duty), invitation emails to patients, the periodic pass that queues
an invitation for each home-link assessment that falls due, and drawing the trajectory chart
of a scale when a score is stored (so the chart page never draws)."""

from __future__ import annotations

from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.assessments import services
from kapcare.assessments.conf import base_url, home_link_hours, invitation_interval_seconds
from kapcare.assessments.models import Alert, AssessmentSchedule
from kapcare.assessments.selectors import due_home_links, on_duty
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.clinical.instruments import INSTRUMENTS
from kapcare.dosing.models import DosingSession, VitalAlert
from kapcare.dosing.services.vitals import CRITICAL_VITALS_EMAIL_JOB
from kapcare.jobs.services import enqueue, handler, register_periodic
from kapcare.patients.models import Patient

WORKER = Actor.system("kapcare worker")


def alert_recipients(alert: Alert) -> list[str]:
    """The assigned clinician, or every active prescriber when none is assigned (or the
    assigned one can no longer sign in)."""
    return _person_or_prescribers(alert.assigned_to)


def _person_or_prescribers(person: User | None) -> list[str]:
    if person is not None and person.is_active and person.email:
        return [person.email]
    return sorted(
        User.objects.filter(role=Role.PRESCRIBER, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


@handler(services.ALERT_EMAIL_JOB)
def send_alert_email(payload: dict[str, Any]) -> None:
    alert = Alert.objects.select_related("patient", "assigned_to").get(pk=payload["alert_id"])
    recipients = alert_recipients(alert)
    if not recipients:
        raise RuntimeError("alert email: no active prescriber to send it to")
    # Minimum necessary: the MRN and a link into kapcare, no name or answers in the email.
    url = base_url() + reverse("assessments:alert_acknowledge", kwargs={"alert_id": alert.pk})
    send_mail(
        subject=f"[kapcare] {alert.get_level_display()}: suicide-risk answer ({alert.patient.mrn})",
        message=(
            f"A suicide-risk answer was recorded for patient {alert.patient.mrn} at "
            f"{timezone.localtime(alert.created_at):%Y-%m-%d %H:%M}.\n\n"
            f"Level: {alert.get_level_display()}\n\n"
            f"Review it and document the action taken:\n{url}\n\n"
            "The alert stays open in kapcare until someone acknowledges it."
        ),
        from_email=None,
        recipient_list=recipients,
    )
    record_event(WORKER, Action.CREATE, "suicide-risk alert email sent", alert.patient_id)


def vitals_alert_recipients(session: DosingSession) -> list[str]:
    """The prescriber on duty for the session (``selectors.on_duty``: the signer of its current
    dose order, else the course's planner), or every active prescriber when that one can no
    longer sign in or has no email."""
    person = on_duty(session)
    return _person_or_prescribers(person if person.role == Role.PRESCRIBER else None)


@handler(CRITICAL_VITALS_EMAIL_JOB)
def send_critical_vitals_email(payload: dict[str, Any]) -> None:
    session = DosingSession.objects.select_related("patient", "course__planned_by").get(
        pk=payload["session_id"]
    )
    alerts = list(
        VitalAlert.objects.filter(session_id=session.pk, pk__in=payload.get("alert_ids") or [])
        .select_related("reading")
        .order_by("id")
    )
    still_open = [a for a in alerts if a.acknowledged_at is None]
    if not still_open:
        return  # acknowledged before the worker got to it: nobody needs telling any more
    recipients = vitals_alert_recipients(session)
    if not recipients:
        raise RuntimeError("critical vitals email: no active prescriber to send it to")
    # Minimum necessary: the MRN, the alert codes and a link into kapcare, no name.
    url = base_url() + reverse("dosing:session", kwargs={"session_id": session.pk}) + "#vitals"
    lines = "\n".join(
        f"- {timezone.localtime(a.reading.taken_at):%H:%M} {a.code}: {a.message}"
        for a in still_open
    )
    send_mail(
        subject=f"[kapcare] Critical vitals in a dosing session ({session.patient.mrn})",
        message=(
            f"A critical vital sign was recorded for patient {session.patient.mrn} in dosing "
            f"session #{session.pk}:\n\n{lines}\n\n"
            f"You are emailed as the prescriber on duty for this session. Review it and "
            f"document the action taken:\n{url}\n\n"
            "The alert stays open in kapcare until someone acknowledges it."
        ),
        from_email=None,
        recipient_list=recipients,
    )
    record_event(WORKER, Action.CREATE, "critical vitals alert email sent", session.patient_id)


@handler(services.INVITATION_JOB)
def send_invitation(payload: dict[str, Any]) -> None:
    patient = Patient.objects.get(pk=payload["patient_id"])
    instrument = payload["instrument"]
    if not patient.email:
        raise services.no_email_on_file()
    schedule = None
    if payload.get("schedule_id"):
        schedule = AssessmentSchedule.objects.filter(pk=payload["schedule_id"]).first()
    creator = User.objects.filter(pk=payload.get("created_by") or 0).first()
    with transaction.atomic():
        _link, raw = services.create_home_link(
            WORKER, patient, instrument, created_by=creator, schedule=schedule
        )
        url = base_url() + reverse("assessments:home_link", kwargs={"token": raw})
        # Sent inside the transaction: if sending fails the link is rolled back and the
        # retry makes a fresh one, so no unsent link is left behind.
        send_mail(
            subject="Your clinic questionnaire",
            message=(
                f"Hello {patient.given_name},\n\n"
                f"Your care team asks you to answer a short questionnaire "
                f"({INSTRUMENTS[instrument].name.split(' (')[0]}). It takes a few minutes:\n\n"
                f"{url}\n\n"
                f"The link works once and expires in {home_link_hours()} hours.\n\n"
                "If you are in crisis or thinking about suicide, call or text 988 (Suicide & "
                "Crisis Lifeline). In an emergency, call 911."
            ),
            from_email=None,
            recipient_list=[patient.email],
        )
        record_event(WORKER, Action.CREATE, f"invitation emailed {instrument}", patient.pk)


@handler(services.CHART_JOB)
def draw_chart(payload: dict[str, Any]) -> None:
    """Draw and store the trajectory chart of one patient's scale (nothing to do when the
    stored chart is already up to date, e.g. a second job for the same new scores)."""
    services.draw_trajectory_chart(payload["patient_id"], payload["instrument"])


def queue_due_invitations() -> int:
    """Queue one invitation per due home-link schedule and due date (safe to run from several
    workers at once: a conditional UPDATE marks the due date as invited). Returns the count."""
    queued = 0
    for item in due_home_links():
        if not item.patient.email:
            continue
        marked = (
            AssessmentSchedule.objects.filter(pk=item.schedule.pk)
            .exclude(invited_for=item.next_due)
            .update(invited_for=item.next_due)
        )
        if marked:
            enqueue(
                services.INVITATION_JOB,
                {
                    "patient_id": item.patient.pk,
                    "instrument": item.instrument,
                    "schedule_id": item.schedule.pk,
                },
            )
            queued += 1
    return queued


register_periodic("queue due invitations", invitation_interval_seconds, queue_due_invitations)
