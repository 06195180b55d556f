"""Intake form and screening review pages (thin: the services do the work)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from kapcare.audit.reads import reads_patient_data
from kapcare.audit.services import Actor
from kapcare.errors import FieldInvalid, Refused
from kapcare.intake.forms import IntakeForm, ReviewForm
from kapcare.intake.models import Screening
from kapcare.intake.services import review_screening, screen_patient
from kapcare.patients.models import Patient, PatientHistory
from kapcare.patients.selectors import active_medications
from kapcare.patients.services import update_histories
from kapcare.web.errors import add_form_errors, page_messages


@reads_patient_data
@require_http_methods(["GET", "POST"])
def intake_form(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    actor = Actor.from_request(request)
    if request.method == "POST":
        form = IntakeForm(request.POST, sex_at_birth=patient.sex_at_birth)
        if form.is_valid():
            try:
                screening = screen_patient(actor, patient, form.intake_fields())
            except FieldInvalid as error:
                # Beside its input in words, with the unit and what was entered.
                add_form_errors(form, error)
            else:
                update_histories(actor, patient, **form.history_fields())
                messages.success(request, f"Screening complete: {screening.get_verdict_display()}.")
                return redirect("patients:chart", patient_id=patient.pk)
        status = 400
    else:
        histories = PatientHistory.objects.filter(patient=patient).first()
        initial = {
            "medications": "\n".join(
                patient.medications.filter(active=True).values_list("generic_name", flat=True)
            ),
            **(
                {
                    k: getattr(histories, k)
                    for k in ("medical", "psychiatric", "trauma", "substance_use")
                }
                if histories
                else {}
            ),
        }
        form = IntakeForm(initial=initial, sex_at_birth=patient.sex_at_birth)
        status = 200
    context = {"patient": patient, "form": form, "medication_list": active_medications(patient)}
    return render(request, "intake/intake_form.html", context, status=status)


@require_POST
def review(request: HttpRequest, screening_id: int) -> HttpResponse:
    screening = get_object_or_404(Screening, pk=screening_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Decision: choose accept or override.")
    else:
        try:
            review_screening(
                Actor.from_request(request),
                screening.pk,
                form.cleaned_data["decision"],
                form.cleaned_data["reason"],
            )
        except Refused as error:
            for message in page_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, "Screening review recorded.")
    return redirect("patients:chart", patient_id=screening.patient_id)
