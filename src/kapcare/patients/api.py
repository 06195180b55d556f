from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from kapcare.api.routing import endpoint
from kapcare.audit.services import Actor, record_access
from kapcare.patients.selectors import search_patients

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
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


@endpoint(router, "GET", "", operation_id="list_patients", response=PatientPageOut)
def list_patients(request: HttpRequest, filters: Query[PatientListQuery]) -> PatientPageOut:
    """Patients matching `q`, a page at a time, in name order. Each patient returned is
    recorded in the access log."""
    patients = search_patients(filters.q)
    start = (filters.page - 1) * filters.page_size
    page = list(patients[start : start + filters.page_size])
    record_access(
        Actor.from_request(request), (p.pk for p in page), f"API patient list q={filters.q!r}"
    )
    return PatientPageOut(
        count=patients.count(),
        page=filters.page,
        page_size=filters.page_size,
        results=[PatientSummaryOut.model_validate(p, from_attributes=True) for p in page],
    )
