from __future__ import annotations

from datetime import date
from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from kapcare.api.paging import page_number
from kapcare.api.routing import endpoint
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.patients.models import Patient
from kapcare.patients.selectors import search_patients
from kapcare.patients.services import create_patient

router = Router(tags=["patients"])


class PatientSummaryOut(Schema):
    id: int
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex_at_birth: str
    is_synthetic: bool


class PatientPageOut(Schema):
    count: int
    page: int
    page_size: int
    results: list[PatientSummaryOut]


class PatientListQuery(Schema):
    q: str = Field("", max_length=100, description="Name, MRN, email or phone")
    page: int = page_number()
    page_size: int = Field(50, ge=1, le=200)


@reads_patient_data
@endpoint(router, "GET", "", operation_id="list_patients", response=PatientPageOut)
def list_patients(request: HttpRequest, filters: Query[PatientListQuery]) -> PatientPageOut:
    """Patients matching `q`, a page at a time, in name order. Each patient returned is
    recorded in the access log."""
    patients = search_patients(filters.q)
    start = (filters.page - 1) * filters.page_size
    page = list(patients[start : start + filters.page_size])
    shown(request, (p.pk for p in page), detail=f"q={filters.q!r}")
    return PatientPageOut(
        count=patients.count(),
        page=filters.page,
        page_size=filters.page_size,
        results=[PatientSummaryOut.model_validate(p, from_attributes=True) for p in page],
    )


class PatientIn(Schema):
    model_config = ConfigDict(extra="forbid")

    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex_at_birth: Literal["female", "male", "intersex", "unknown"]
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=40)


class PatientOut(PatientSummaryOut):
    email: str
    phone: str
    preferred_contact: str
    care_status: str
    primary_clinician_id: int | None
    emergency_contact_name: str
    emergency_contact_phone: str


@endpoint(router, "POST", "", operation_id="create_patient", response={201: PatientOut})
def create(request: HttpRequest, payload: PatientIn):
    """Register a patient; the MRN is assigned here. A blank name or one with hidden
    characters, or a birth date before 1900 or in the future, is refused (422) by the shared
    rules (kapcare.patients.models)."""
    patient = create_patient(
        Actor.from_request(request),
        given_name=payload.given_name,
        family_name=payload.family_name,
        birth_date=payload.birth_date,
        sex_at_birth=payload.sex_at_birth,
        email=payload.email or "",
        phone=payload.phone or "",
    )
    return Status(201, PatientOut.model_validate(patient, from_attributes=True))


@reads_patient_data
@endpoint(router, "GET", "/{patient_id}", operation_id="get_patient", response=PatientOut)
def get_patient(request: HttpRequest, patient_id: int) -> PatientOut:
    """Demographics and contacts of one patient (recorded in the access log)."""
    patient = get_object_or_404(Patient, pk=patient_id)
    return PatientOut.model_validate(patient, from_attributes=True)
