"""Reads of accounts for pages."""

from __future__ import annotations

from django.db.models import QuerySet

from kapcare.accounts.models import ApiToken


def all_api_tokens() -> QuerySet[ApiToken]:
    """Every API token with its user, newest first: the clinic admin's list (one query)."""
    return ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
