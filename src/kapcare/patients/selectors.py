"""Reads of patients, shared by the pages and the API. Callers log the access."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from kapcare.patients.models import Patient


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
