"""Bearer-token authentication with the role check from the access policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from kapcare.accounts.models import ApiToken, hash_token
from kapcare.accounts.policy import API_OPERATIONS
from kapcare.errors import Forbidden

# Record last use at most this often, so reads stay reads.
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def active_token(raw_token: str) -> ApiToken | None:
    """The unrevoked token of an active user, with its user."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw_token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


class RoleBearer(HttpBearer):
    """401 without a valid token; 403 when the token's user has a role the policy does not
    allow for this operation. Authenticated, the request's ``auth`` is the token (the
    principal Idempotency-Keys are scoped by) and its ``user`` the token's user."""

    def __init__(self, operation_id: str) -> None:
        # A KeyError here, at import, means an operation was added without a policy rule.
        self.roles = API_OPERATIONS[operation_id]
        self.operation_id = operation_id

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = active_token(token)
        if found is None:
            return None
        if found.user.role not in self.roles:
            raise Forbidden("Your role may not use this operation.", rule="role")
        request.user = found.user
        return found


class DenyUnlisted(HttpBearer):
    """The API-wide default: an operation declared without `endpoint` is always refused."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        raise Forbidden("This operation has no access rule.", rule="no_access_rule")
