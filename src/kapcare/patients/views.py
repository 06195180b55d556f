"""The patient chart (clinical roles) and demographics page (all staff)."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapcare.accounts.policy import role_may_view
from kapcare.assessments.selectors import chart_context
from kapcare.audit.reads import reads_patient_data
from kapcare.audit.services import Actor
from kapcare.errors import NotFound, Refused
from kapcare.intake.selectors import latest_screening
from kapcare.patients import services
from kapcare.patients.forms import (
    AllergyForm,
    ConsentSignForm,
    ContactsForm,
    MeasurementForm,
    MedicationForm,
    RegisterPatientForm,
)
from kapcare.patients.models import CareStatus, ConsentTemplate, Patient
from kapcare.patients.selectors import record_context
from kapcare.web.errors import add_form_errors, page_messages, page_status
from kapcare.web.sections import render_section


@reads_patient_data
@require_GET
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The clinical summary: eligibility, measurement-based care (alerts, latest scores,
    trajectories, due scales). The record and the timeline load right after it."""
    patient = get_object_or_404(Patient.objects.for_header(), pk=patient_id)
    context = {"patient": patient, "screening": latest_screening(patient), **chart_context(patient)}
    return render(request, "patients/chart.html", context)


@reads_patient_data
@require_GET
def chart_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.for_header(), pk=patient_id)
    context = {
        **record_context(patient),
        "record_forms": {
            "measurement": MeasurementForm(),
            "allergy": AllergyForm(),
            "medication": MedicationForm(),
        },
    }
    return render_section(request, patient, "patients/_record_section.html", "Record", context)


# kind -> (form, service). One view records each kind of entry.
RECORD_ENTRIES: dict[str, tuple[type[forms.Form], Callable[..., object]]] = {
    "measurement": (MeasurementForm, services.add_measurement),
    "allergy": (AllergyForm, services.add_allergy),
    "medication": (MedicationForm, services.add_medication),
}


@require_POST
def record_add(request: HttpRequest, patient_id: int, kind: str) -> HttpResponse:
    if kind not in RECORD_ENTRIES:
        raise Http404("No such record entry.")
    patient = get_object_or_404(Patient, pk=patient_id)
    form_class, add = RECORD_ENTRIES[kind]
    form = form_class(request.POST)
    if form.is_valid():
        try:
            add(Actor.from_request(request), patient, **form.cleaned_data)
        except Refused as error:
            for message in page_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, f"{kind.capitalize()} recorded.")
    else:
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(str(e) for e in errors)}")
    return redirect("patients:chart", patient_id=patient.pk)


@require_POST
def medication_stop(request: HttpRequest, patient_id: int, entry_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    try:
        services.stop_medication(Actor.from_request(request), patient, entry_id)
    except NotFound as missing:
        raise Http404(missing.message) from missing
    return redirect("patients:chart", patient_id=patient.pk)


@reads_patient_data
@require_http_methods(["GET", "POST"])
def consent_sign(request: HttpRequest, patient_id: int, template_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    template = get_object_or_404(ConsentTemplate, pk=template_id)
    form = ConsentSignForm(request.POST or None)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            services.sign_consent(
                Actor.from_request(request), patient, template,
                typed_name=form.cleaned_data["typed_name"],
            )  # fmt: skip
        except Refused as error:
            add_form_errors(form, error)
            status = page_status(error)
        else:
            messages.success(request, f"{template.title} signed.")
            return redirect("patients:chart", patient_id=patient.pk)
    context = {"patient": patient, "template": template, "form": form}
    return render(request, "patients/consent_sign.html", context, status=status)


@reads_patient_data
@require_http_methods(["GET", "POST"])
def edit_contacts(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    form = ContactsForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        services.update_contacts(Actor.from_request(request), patient, form)
        messages.success(request, "Contacts saved.")
        return redirect("patients:details", patient_id=patient.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "patients/edit_contacts.html", {"patient": patient, "form": form},
                  status=status)  # fmt: skip


@reads_patient_data
@require_GET
def details(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.select_related("primary_clinician"), pk=patient_id)
    role = getattr(request.user, "role", None)
    context = {
        "patient": patient,
        "may_see_appointments": role_may_view("courses:patient_appointments", role),
    }
    return render(request, "patients/details.html", context)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """The front desk registers a patient directly (a walk-in, a referral, a phone call), with
    the one creation service a converted consultation request uses. The patient starts at
    care status "Inquiry", as a converted request does."""
    form = RegisterPatientForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                patient = services.create_patient(
                    Actor.from_request(request), care_status=CareStatus.INQUIRY, **form.cleaned_data
                )
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(
                    request, f"{patient.full_name} is registered as patient {patient.mrn}."
                )
                return redirect("patients:details", patient_id=patient.pk)
    return render(request, "patients/register.html", {"form": form}, status=status)
