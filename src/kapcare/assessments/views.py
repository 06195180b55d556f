"""Thin HTML views of measurement-based care. The access policy has already decided who may
reach each one (clinical roles; the home link is public)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapcare.accounts.models import User
from kapcare.assessments import selectors, services
from kapcare.assessments.conf import home_link_hours
from kapcare.assessments.forms import AcknowledgeForm, HomeLinkForm, ScaleForm, ScheduleForm
from kapcare.assessments.models import Alert, AlertStatus, Assessment, AssessmentSchedule, Source
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.clinical.instruments import INSTRUMENTS
from kapcare.errors import Refused
from kapcare.patients.models import Patient
from kapcare.web.errors import add_form_errors, page_messages, page_status

CRISIS_STATUS = 200


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _patient(patient_id: int) -> Patient:
    return get_object_or_404(Patient.objects.select_related("primary_clinician"), pk=patient_id)


def _instrument(code: str) -> Any:
    if code not in selectors.STAFF_FORM_INSTRUMENTS:
        raise Http404("No such questionnaire.")
    return INSTRUMENTS[code]


def _patient_page(
    request: HttpRequest,
    patient: Patient,
    *,
    schedule_form: ScheduleForm | None = None,
    new_link: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = selectors.chart_context(patient)
    history = list(
        selectors.patient_assessments(patient.pk)
        .select_related("entered_by")
        .order_by("-administered_at", "-id")[:200]
    )
    schedules = list(patient.assessment_schedules.order_by("-id"))
    context.update(
        {
            "patient": patient,
            "history": history,
            "schedules": schedules,
            "schedule_form": schedule_form or ScheduleForm(),
            "link_form": HomeLinkForm(),
            "new_link": new_link,
            "link_hours": home_link_hours(),
        }
    )
    return render(request, "assessments/patient.html", context, status=status)


@reads_patient_data
@require_GET
def patient_assessments(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _patient_page(request, _patient(patient_id))


@reads_patient_data
@require_http_methods(["GET", "POST"])
def record(request: HttpRequest, patient_id: int, instrument: str) -> HttpResponse:
    patient = _patient(patient_id)
    definition = _instrument(instrument)
    actor = Actor.from_request(request)
    if request.method == "POST":
        form = ScaleForm(definition, request.POST)
        if form.is_valid():
            assessment = services.record_assessment(
                actor,
                patient,
                instrument,
                form.responses,
                source=Source.STAFF,
                entered_by=_user(request),
            )
            if assessment.has_suicide_risk:
                messages.error(
                    request,
                    "Suicide-risk answer: an alert was raised for the responsible clinician. "
                    "Follow the clinic's safety protocol now.",
                )
            else:
                messages.success(request, f"{definition.name} recorded.")
            # Back where the form was opened from (the dosing session's checklist), when that
            # is a page of this site; else the recorded assessment.
            back = request.GET.get("next", "")
            if back.startswith("/") and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(back)
            return redirect("assessments:detail", assessment_id=assessment.pk)
        status = 400
    else:
        form = ScaleForm(definition)
        status = 200
    return render(
        request,
        "assessments/record.html",
        {"patient": patient, "instrument": definition, "form": form},
        status=status,
    )


@reads_patient_data
@require_GET
def detail(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = get_object_or_404(
        Assessment.objects.select_related("patient", "entered_by"), pk=assessment_id
    )
    definition = INSTRUMENTS[assessment.instrument]
    labels = {o.value: o.label for o in definition.options}
    answers = [
        {"item": item, "value": value, "label": labels.get(value, "")}
        for item, value in zip(definition.items, assessment.responses, strict=False)
    ]
    alert = Alert.objects.filter(assessment=assessment).select_related("acknowledged_by").first()
    shown(request, [assessment.patient_id])
    return render(
        request,
        "assessments/detail.html",
        {
            "assessment": assessment,
            "patient": assessment.patient,
            "instrument": definition,
            "answers": answers,
            "alert": alert,
        },
    )


@reads_patient_data
@require_GET
def trajectory(request: HttpRequest, patient_id: int, instrument: str) -> HttpResponse:
    """One scale's trajectory chart as an HTML fragment, for the placeholder the chart page
    shows when the stored chart is missing or stale: drawn and stored first if need be."""
    if instrument not in selectors.SCALE_ORDER:
        raise Http404("No such scale.")
    patient = get_object_or_404(Patient.objects.only("id"), pk=patient_id)
    chart = services.draw_trajectory_chart(patient.pk, instrument)
    if chart is None:
        raise Http404("No scores of this scale yet.")
    return render(request, "assessments/_trajectory.html", {"svg": chart.svg})


@reads_patient_data
@require_POST
def link_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(patient_id)
    form = HomeLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "instrument: choose a questionnaire for the link.")
        return redirect("assessments:patient_assessments", patient_id=patient.pk)
    instrument = form.cleaned_data["instrument"]
    actor = Actor.from_request(request)
    if form.cleaned_data["send"] == "email":
        try:
            services.queue_invitation(patient, instrument, created_by=_user(request))
        except Refused as error:
            for message in page_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, "The link will be emailed to the patient in a moment.")
        return redirect("assessments:patient_assessments", patient_id=patient.pk)
    _link, raw = services.create_home_link(actor, patient, instrument, created_by=_user(request))
    url = request.build_absolute_uri(reverse("assessments:home_link", kwargs={"token": raw}))
    # Rendered, not redirected: the link is shown this once (only its hash is stored).
    return _patient_page(request, patient, new_link=url, status=201)


@reads_patient_data
@require_POST
def schedule_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(patient_id)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return _patient_page(request, patient, schedule_form=form, status=400)
    data = form.cleaned_data
    try:
        services.create_schedule(
            Actor.from_request(request),
            patient,
            instrument=data["instrument"],
            every_days=data["every_days"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            delivery=data["delivery"],
            created_by=_user(request),
        )
    except Refused as error:
        add_form_errors(form, error)
        return _patient_page(request, patient, schedule_form=form, status=page_status(error))
    messages.success(request, "Schedule added.")
    return redirect("assessments:patient_assessments", patient_id=patient.pk)


@require_POST
def schedule_end(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = get_object_or_404(AssessmentSchedule, pk=schedule_id)
    services.end_schedule(Actor.from_request(request), schedule)
    messages.success(request, "Schedule ended.")
    return redirect("assessments:patient_assessments", patient_id=schedule.patient_id)


@reads_patient_data
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    open_alerts = list(selectors.visible_alerts(user))
    recent = list(
        selectors.visible_alerts(user, status=AlertStatus.ACKNOWLEDGED).order_by(
            "-acknowledged_at", "-id"
        )[:20]
    )
    vital_alerts = selectors.open_vital_alerts(user)
    overdue = selectors.overdue_vitals(user)
    recent_vitals = selectors.acknowledged_vital_alerts(user)
    shown(
        request,
        [a.patient_id for a in open_alerts + recent]
        + [a.session.patient_id for a in vital_alerts + recent_vitals]
        + [o.session.patient_id for o in overdue],
    )
    return render(
        request,
        "assessments/alerts.html",
        {
            "open_alerts": open_alerts,
            "recent_alerts": recent,
            "vital_alerts": vital_alerts,
            "overdue_vitals": overdue,
            "recent_vital_alerts": recent_vitals,
        },
    )


@reads_patient_data
@require_http_methods(["GET", "POST"])
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _user(request)
    alert = selectors.visible_alerts(user, status=None).filter(pk=alert_id).first()
    if alert is None:
        raise Http404("No such alert for you.")
    actor = Actor.from_request(request)
    status = 200
    if request.method == "POST" and alert.status == AlertStatus.OPEN:
        form = AcknowledgeForm(request.POST)
        if form.is_valid():
            try:
                services.acknowledge_alert(actor, alert, user, form.cleaned_data["action_taken"])
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(request, "Alert acknowledged; the action taken is recorded.")
                return redirect("assessments:alerts")
        else:
            status = 400
    else:
        form = AcknowledgeForm()
    shown(request, [alert.patient_id])
    return render(
        request,
        "assessments/acknowledge.html",
        {"alert": alert, "patient": alert.patient, "form": form},
        status=status,
    )


# --- the public home link ---------------------------------------------------------------------

_LINK_PROBLEMS = {
    "unknown": (
        404,
        "This link is not valid",
        "Check that you opened the whole link from your email, or ask your clinic for a new one.",
    ),
    "expired": (
        410,
        "This link has expired",
        "Links work for a limited time. Please ask your clinic to send you a new one.",
    ),
    "used": (
        410,
        "This questionnaire has already been completed",
        "Each link can be used once, and your answers have already been sent. Thank you.",
    ),
}


def _link_problem(request: HttpRequest, reason: str) -> HttpResponse:
    status, title, text = _LINK_PROBLEMS[reason]
    return render(
        request, "assessments/link_problem.html", {"title": title, "text": text}, status=status
    )


@never_cache
@reads_patient_data
@require_http_methods(["GET", "POST"])
def home_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = services.open_home_link(token)
    except services.LinkUnavailable as problem:
        return _link_problem(request, problem.reason)
    definition = INSTRUMENTS[link.instrument]
    patient = link.patient
    actor = Actor.from_request(request)
    status = 200
    if request.method == "POST":
        form = ScaleForm(definition, request.POST)
        if form.is_valid():
            try:
                assessment = services.record_assessment(
                    actor,
                    patient,
                    link.instrument,
                    form.responses,
                    source=Source.HOME_LINK,
                    link=link,
                )
            except services.LinkUnavailable as problem:
                return _link_problem(request, problem.reason)
            return render(
                request,
                "assessments/thanks.html",
                {"first_name": patient.given_name, "crisis": assessment.has_suicide_risk},
                status=CRISIS_STATUS,
            )
        status = 400
    else:
        form = ScaleForm(definition)
    shown(request, [patient.pk])
    return render(
        request,
        "assessments/home_link.html",
        {"first_name": patient.given_name, "instrument": definition, "form": form},
        status=status,
    )
