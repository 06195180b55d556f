"""Bearer-token authentication with the role check from the access policy, and the throttle on
failed authentications.

A token is refused (401) when it is unknown, revoked, expired, or its user is deactivated (the
token is then revoked for good); the reason is noted for the refusal's audit entry. More than
KAPCARE_API_AUTH_FAILURES_PER_MINUTE failed authentications from one client address within a
clock minute, and every API call from that address gets 429 with Retry-After until the minute
ends: the count is a row per address and minute in the database (`AuthFailureWindow`), so
every app server process shares it (a per-process cache would not)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Subquery
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from kapcare.accounts.models import ApiToken, hash_token
from kapcare.accounts.policy import API_OPERATIONS
from kapcare.accounts.services import revoke_tokens_of_inactive_user
from kapcare.api.models import AuthFailureWindow
from kapcare.errors import Forbidden
from kapcare.web.refusals import note_refusal

# Record last use at most this often, so reads stay reads.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
# A client guessing tokens learns nothing faster than this (clinic policy; the default allows a
# misconfigured integration a few retries before it is slowed down).
DEFAULT_AUTH_FAILURES_PER_MINUTE = 10


def auth_failures_per_minute() -> int:
    value = getattr(settings, "KAPCARE_API_AUTH_FAILURES_PER_MINUTE", None) or os.environ.get(
        "KAPCARE_API_AUTH_FAILURES_PER_MINUTE"
    )
    return int(value or DEFAULT_AUTH_FAILURES_PER_MINUTE)


class TokenRefused(Exception):
    """The token may not be used; ``reason`` is what the audit log says, never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _window(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _seconds_left(now: datetime) -> int:
    return 60 - now.second


def _failures_this_minute(client_address: str, now: datetime) -> Subquery:
    window = AuthFailureWindow.objects.filter(
        client_address=client_address, window_start=_window(now)
    )
    return Subquery(window.values("failures")[:1])


def authenticate_token(
    raw_token: str, client_address: str, now: datetime | None = None
) -> ApiToken:
    """The token, with its user, if it may be used now; TokenRefused otherwise, also for a
    good token from an address over the failure limit. One query for a good token (the
    address's failures come with it), and an update at most once a minute."""
    now = now or timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .annotate(failures_this_minute=_failures_this_minute(client_address, now))
        .filter(token_hash=hash_token(raw_token))
        .first()
    )
    if token is None:
        raise TokenRefused("unknown token")
    if (token.failures_this_minute or 0) > auth_failures_per_minute():
        raise TokenRefused("address over the failure limit")
    status = token.status(now)
    if status != "active":
        raise TokenRefused(f"{status} token {token.hint}…")
    if not token.user.is_active:
        # Deactivated without a save (a queryset update): revoke now, so it stays dead.
        revoke_tokens_of_inactive_user(token.user)
        raise TokenRefused(f"token {token.hint}… of a deactivated user, now revoked")
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def record_auth_failure(client_address: str, now: datetime | None = None) -> int:
    """Count one failed authentication from the address; returns the failures this minute."""
    now = now or timezone.now()
    window = _window(now)
    this_window = AuthFailureWindow.objects.filter(
        client_address=client_address, window_start=window
    )
    with transaction.atomic():
        if not this_window.update(failures=F("failures") + 1):
            try:
                with transaction.atomic():
                    AuthFailureWindow.objects.create(
                        client_address=client_address, window_start=window, failures=1
                    )
            except IntegrityError:  # another process created it first
                this_window.update(failures=F("failures") + 1)
            # Once a minute per address: earlier windows count for nothing any more.
            AuthFailureWindow.objects.filter(window_start__lt=window).delete()
        failures = this_window.values_list("failures", flat=True).first()
    return failures or 0


def throttle_wait(failures: int, now: datetime | None = None) -> int | None:
    """Seconds to wait (Retry-After) after this many failures in the minute, or None."""
    if failures <= auth_failures_per_minute():
        return None
    return _seconds_left(now or timezone.now())


class RoleBearer(HttpBearer):
    """401 without a valid token; 403 when the token's user has a role the policy does not
    allow for this operation. Authenticated, the request's ``auth`` is the token (the
    principal Idempotency-Keys are scoped by) and its ``user`` the token's user."""

    def __init__(self, operation_id: str) -> None:
        # A KeyError here, at import, means an operation was added without a policy rule.
        self.roles = API_OPERATIONS[operation_id]
        self.operation_id = operation_id

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        # Refused, it answers None, as ninja (and `kapcare.api.idempotency`, which asks it
        # too) expect; ninja's AuthenticationError then reaches `main.on_unauthenticated`,
        # which counts the failure once.
        try:
            found = authenticate_token(token, request.META.get("REMOTE_ADDR", ""))
        except TokenRefused as refused:
            note_refusal(request, refused.reason)
            return None
        # The user is known even when refused: the audit entry of a 403 names them.
        request.user = found.user
        if found.user.role not in self.roles:
            raise Forbidden("Your role may not use this operation.", rule="role")
        return found


class DenyUnlisted(HttpBearer):
    """The API-wide default: an operation declared without `endpoint` is always refused."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        raise Forbidden("This operation has no access rule.", rule="no_access_rule")
