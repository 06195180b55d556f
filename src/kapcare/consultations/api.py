"""The consultation request queue in JSON, for the front desk's tools."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from kapcare.api.paging import page_number
from kapcare.api.routing import endpoint
from kapcare.audit.services import Actor
from kapcare.consultations.selectors import open_requests
from kapcare.consultations.services import record_reads

router = Router(tags=["consultations"])


class ConsultationRequestOut(Schema):
    id: int
    given_name: str
    family_name: str
    email: str
    phone: str
    preferred_contact: str
    reason: str
    submitted_at: datetime
    status: str
    is_synthetic: bool


class ConsultationRequestPageOut(Schema):
    count: int
    page: int
    page_size: int
    results: list[ConsultationRequestOut]


class ConsultationListQuery(Schema):
    page: int = page_number()
    page_size: int = Field(50, ge=1, le=200)


@endpoint(
    router,
    "GET",
    "/consultation-requests",
    operation_id="list_consultation_requests",
    response=ConsultationRequestPageOut,
)
def list_consultation_requests(
    request: HttpRequest, filters: Query[ConsultationListQuery]
) -> ConsultationRequestPageOut:
    """Open consultation requests, oldest first, a page at a time. Each request returned is
    recorded in the access log."""
    requests = open_requests()
    start = (filters.page - 1) * filters.page_size
    page = list(requests[start : start + filters.page_size])
    actor = Actor.from_request(request)
    record_reads(actor, page, "API")
    return ConsultationRequestPageOut(
        count=requests.count(),
        page=filters.page,
        page_size=filters.page_size,
        results=[ConsultationRequestOut.model_validate(c, from_attributes=True) for c in page],
    )
