"""Sign-in by email, whatever its case."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from kapcare.accounts.models import normalise_email


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The username django-axes counts failures for (AXES_USERNAME_CALLABLE): the normalised
    email, so that changing its case neither dodges a lockout nor starts a new count."""
    field = settings.AXES_USERNAME_FORM_FIELD
    submitted = credentials.get(field) if credentials else request.POST.get(field)
    return normalise_email(str(submitted or ""))
