"""Sign-in by email, whatever its case, and where a sign-in lands."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from kapcare.accounts.models import normalise_email
from kapcare.accounts.policy import role_may_view
from kapcare.accounts.roles import Role


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The username django-axes counts failures for (AXES_USERNAME_CALLABLE): the normalised
    email, so that changing its case neither dodges a lockout nor starts a new count."""
    field = settings.AXES_USERNAME_FORM_FIELD
    submitted = credentials.get(field) if credentials else request.POST.get(field)
    return normalise_email(str(submitted or ""))


def landing_page(role: str | None) -> str:
    """The page a role starts on: one the access policy lets it see."""
    return "web:patient_home" if role == Role.PATIENT else "web:today"


def may_open(url: str, role: str | None) -> bool:
    """Whether the policy lets ``role`` see the page at ``url`` (a path)."""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return False
    return role_may_view(match.view_name, role)


def page_after_sign_in(request: HttpRequest, wanted: str) -> str:
    """Where a completed sign-in goes: the ``?next=`` page when it is on this site and the
    role may see it (else it would land on a 403), or the role's own start page."""
    role = getattr(request.user, "role", None)
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if wanted and safe and may_open(wanted, role):
        return wanted
    return reverse(landing_page(role))
