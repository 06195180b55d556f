"""Reads of consultation requests, shared by the pages and the API. Callers log the access."""

from __future__ import annotations

from django.db.models import QuerySet

from kapcare.consultations.models import CallbackAttempt, ConsultationRequest, RequestStatus


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


def callbacks(consultation_id: int) -> list[CallbackAttempt]:
    """The callback attempts logged on a request, in the order they were made, with who made
    each (one query)."""
    return list(
        CallbackAttempt.objects.filter(consultation_id=consultation_id)
        .select_related("by")
        .order_by("attempted_at", "id")
    )
