"""Thin HTML views of consultation requests: the public form and the front desk's queue.
Access is decided by the policy middleware (kapcare.accounts.policy) before any view runs."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapcare.accounts.policy import role_may_view
from kapcare.audit.services import Actor
from kapcare.consultations.forms import (
    HONEYPOT_FIELD,
    TOKEN_FIELD,
    CallbackForm,
    CloseForm,
    ConsultationRequestForm,
    ConvertForm,
)
from kapcare.consultations.models import ConsultationRequest
from kapcare.consultations.selectors import callbacks, get_request, open_requests
from kapcare.consultations.services import (
    AlreadyHandled,
    Submission,
    SubmissionRefused,
    check_form_token,
    check_honeypot,
    close_request,
    convert_request,
    issue_form_token,
    log_callback,
    record_reads,
    submit_request,
)
from kapcare.errors import Refused
from kapcare.patients.models import Patient
from kapcare.web.errors import add_form_errors, page_status

REQUESTS_PER_PAGE = 20


# --- public ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest) -> HttpResponse:
    refusal = ""
    status = 200
    if request.method == "POST":
        form = ConsultationRequestForm(request.POST)
        try:
            check_honeypot(request.POST.get(HONEYPOT_FIELD, ""))
            check_form_token(request.POST.get(TOKEN_FIELD, ""))
            if form.is_valid():
                submit_request(
                    Submission(**form.cleaned_data),
                    client_address=request.META.get("REMOTE_ADDR", ""),
                )
                return redirect("consultations:thanks")
            status = 400
        except SubmissionRefused as refused:
            refusal, status = refused.message, refused.status
    else:
        form = ConsultationRequestForm()
    context = {
        "form": form,
        "refusal": refusal,
        "form_token": issue_form_token(),
        "honeypot_field": HONEYPOT_FIELD,
        "token_field": TOKEN_FIELD,
    }
    return render(request, "consultations/request_form.html", context, status=status)


@require_GET
def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "consultations/thanks.html")


# --- front desk -----------------------------------------------------------------------------


def _role(request: HttpRequest) -> str | None:
    return getattr(request.user, "role", None)


def _get_or_404(consultation_id: int) -> ConsultationRequest:
    try:
        return get_request(consultation_id)
    except ConsultationRequest.DoesNotExist as missing:
        raise Http404("No such consultation request.") from missing


def _already_handled(request: HttpRequest, consultation: ConsultationRequest) -> HttpResponse:
    return render(
        request,
        "consultations/handled.html",
        {
            "consultation": consultation,
            "patient_url": _patient_url(consultation.patient, _role(request)),
        },
        status=409,
    )


def _patient_url(patient: Patient | None, role: str | None) -> str:
    """The patient's page this role may open (the chart for clinicians, the demographics for
    the front desk), or the patient list showing them when there is no such page."""
    if patient is None:
        return ""
    for view_name in ("patients:chart", "patients:details"):
        if role_may_view(view_name, role):
            try:
                return reverse(view_name, args=[patient.pk])
            except NoReverseMatch:
                continue
    return f"{reverse('web:patient_list')}?{urlencode({'q': patient.mrn})}"


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(open_requests(), REQUESTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    shown = list(page.object_list)
    record_reads(Actor.from_request(request), shown, "queue")
    return render(
        request,
        "consultations/queue.html",
        {"page": page, "consultations": shown},
    )


@require_http_methods(["GET", "POST"])
def convert(request: HttpRequest, consultation_id: int) -> HttpResponse:
    consultation = _get_or_404(consultation_id)
    if not consultation.is_open:
        return _already_handled(request, consultation)
    actor = Actor.from_request(request)
    status = 200
    if request.method == "POST":
        form = ConvertForm(request.POST)
        if form.is_valid():
            try:
                patient = convert_request(actor, consultation.pk, **form.cleaned_data)
            except AlreadyHandled as handled:
                return _already_handled(request, get_request(handled.consultation.pk))
            except Refused as refused:
                add_form_errors(form, refused)
                status = page_status(refused)
            else:
                messages.success(
                    request,
                    f"Request #{consultation.pk} converted: {patient.full_name} is now patient "
                    f"{patient.mrn}.",
                )
                return redirect(_patient_url(patient, _role(request)))
        else:
            status = 400
    else:
        form = ConvertForm(
            initial={
                "given_name": consultation.given_name,
                "family_name": consultation.family_name,
                "email": consultation.email,
                "phone": consultation.phone,
            }
        )
    record_reads(actor, [consultation], "convert")
    return render(
        request,
        "consultations/convert.html",
        {"consultation": consultation, "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def close(request: HttpRequest, consultation_id: int) -> HttpResponse:
    consultation = _get_or_404(consultation_id)
    if not consultation.is_open:
        return _already_handled(request, consultation)
    actor = Actor.from_request(request)
    status = 200
    if request.method == "POST":
        form = CloseForm(request.POST)
        if form.is_valid():
            try:
                close_request(actor, consultation.pk, reason=form.cleaned_data["reason"])
            except AlreadyHandled as handled:
                return _already_handled(request, get_request(handled.consultation.pk))
            except Refused as refused:
                add_form_errors(form, refused)
                status = page_status(refused)
            else:
                messages.success(request, f"Request #{consultation.pk} closed.")
                return redirect("consultations:queue")
        else:
            status = 400
    else:
        form = CloseForm()
    record_reads(actor, [consultation], "close")
    return render(
        request,
        "consultations/close.html",
        {"consultation": consultation, "form": form},
        status=status,
    )


def _detail(
    request: HttpRequest,
    consultation: ConsultationRequest,
    form: CallbackForm | None = None,
    status: int = 200,
) -> HttpResponse:
    record_reads(Actor.from_request(request), [consultation], "request page")
    context = {
        "consultation": consultation,
        "callbacks": callbacks(consultation.pk),
        "form": form or CallbackForm(),
        "patient_url": _patient_url(consultation.patient, _role(request)),
    }
    return render(request, "consultations/detail.html", context, status=status)


@require_GET
def detail(request: HttpRequest, consultation_id: int) -> HttpResponse:
    """One request: what the person sent, every callback attempt in order, and the form to log
    the next one."""
    return _detail(request, _get_or_404(consultation_id))


@require_POST
def callback(request: HttpRequest, consultation_id: int) -> HttpResponse:
    consultation = _get_or_404(consultation_id)
    form = CallbackForm(request.POST)
    if not form.is_valid():
        return _detail(request, consultation, form, status=400)
    try:
        attempt = log_callback(Actor.from_request(request), consultation.pk, **form.cleaned_data)
    except Refused as refused:
        add_form_errors(form, refused)
        return _detail(request, consultation, form, status=page_status(refused))
    messages.success(request, f"Callback logged: {attempt.get_outcome_display().lower()}.")
    return redirect("consultations:detail", consultation_id=consultation.pk)
