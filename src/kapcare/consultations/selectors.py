"""Reads of consultation requests, shared by the pages and the API. Callers log the access."""

from __future__ import annotations

from django.db.models import QuerySet

from kapcare.consultations.models import ConsultationRequest, RequestStatus


def open_requests() -> QuerySet[ConsultationRequest]:
    """The requests waiting for the front desk, oldest first."""
    return ConsultationRequest.objects.filter(status=RequestStatus.OPEN).order_by(
        "submitted_at", "id"
    )


def get_request(consultation_id: int) -> ConsultationRequest:
    """One request with whoever handled it and its patient; DoesNotExist when there is none."""
    return ConsultationRequest.objects.select_related("handled_by", "patient").get(
        pk=consultation_id
    )
