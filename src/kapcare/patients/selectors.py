"""Reads of patients, shared by the pages and the API. Callers log the access."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from kapcare.patients.models import ConsentTemplate, MedicationEntry, Patient, PatientHistory


def search_patients(query: str = "") -> QuerySet[Patient]:
    """Patients whose name, MRN, email or phone contains `query` (case-insensitive), in
    name order. Several words must each match somewhere ("ada lov")."""
    patients = Patient.objects.all()
    for word in query.split()[:5]:
        patients = patients.filter(
            Q(family_name__icontains=word)
            | Q(given_name__icontains=word)
            | Q(mrn__iexact=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
    return patients.only(
        "id", "mrn", "given_name", "family_name", "birth_date", "sex_at_birth", "is_synthetic"
    )


def record_context(patient: Patient) -> dict[str, Any]:
    """The chart's record section (``patients/_record_section.html``): the newest weight and
    height, allergies, active medications, histories, signed consents and the consent
    templates open for signing. Six queries."""
    return {
        "histories": PatientHistory.objects.filter(patient=patient).first(),
        "measurement": patient.measurements.first(),
        "allergies": list(patient.allergies.all()),
        "medications": list(patient.medications.filter(active=True)),
        "consents": list(patient.consents.select_related("template")),
        "consent_templates": list(ConsentTemplate.objects.filter(active=True)),
    }


def active_medications(patient: Patient) -> list[MedicationEntry]:
    """The patient's medication list as the record, the intake and the REMS record read it:
    the active entries, by generic name. One query."""
    return list(patient.medications.filter(active=True).order_by("generic_name", "id"))
