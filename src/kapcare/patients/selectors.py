"""Reads of patients, shared by the pages and the API. Callers log the access."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from kapcare.patients.models import Patient


def search_patients(query: str = "") -> QuerySet[Patient]:
    """Patients whose name, MRN, email or phone contains `query` (case-insensitive), in
    case-insensitive name order. Several words must each match somewhere ("ada lov").

    The order is that of the `patient_name_ci` index (then the id), so a page is read from
    the index instead of sorting every patient for each page."""
    patients = Patient.objects.all()
    for word in query.split()[:5]:
        patients = patients.filter(
            Q(family_name__icontains=word)
            | Q(given_name__icontains=word)
            | Q(mrn__iexact=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
    return patients.order_by(Lower("family_name"), Lower("given_name"), "id").only(
        "id", "mrn", "given_name", "family_name", "birth_date", "sex_at_birth", "is_synthetic"
    )
