"""The patient chart (clinical roles) and demographics page (all staff)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from kapcare.assessments.selectors import chart_context
from kapcare.audit.services import Actor, record_access
from kapcare.intake.selectors import latest_screening
from kapcare.patients.models import Patient, PatientHistory


@require_GET
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.select_related("primary_clinician"), pk=patient_id)
    record_access(Actor.from_request(request), [patient.pk], "patient chart")
    context = {
        "patient": patient,
        "screening": latest_screening(patient),
        "histories": PatientHistory.objects.filter(patient=patient).first(),
        "measurement": patient.measurements.first(),
        "allergies": list(patient.allergies.all()),
        "medications": list(patient.medications.filter(active=True)),
        **chart_context(patient),
    }
    return render(request, "patients/chart.html", context)


@require_GET
def details(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.select_related("primary_clinician"), pk=patient_id)
    record_access(Actor.from_request(request), [patient.pk], "patient demographics")
    return render(request, "patients/details.html", {"patient": patient})
