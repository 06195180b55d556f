"""A witness (or a second counter) who proved who they are at that moment, with their own
credentials: their password on the same tablet, or their own API token on the API.

The services accept a `Witness` only; the page and the API make one by authenticating. When
staff have a second factor (the security work), `by_password` asks for it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django_otp import user_has_device

from kapcare.accounts.mfa import verify_second_factor
from kapcare.accounts.models import ApiToken, hash_token
from kapcare.audit.services import Actor
from kapcare.errors import Conflict, FieldInvalid


@dataclass(frozen=True)
class Witness:
    user_id: int
    role: str
    email: str
    how: str  # "password" or "token": how they authenticated


def _refused(field: str) -> Conflict:
    return Conflict(
        "The witness could not be authenticated.", field=field, rule="witness_not_authenticated"
    )


def by_password(
    request: HttpRequest, email: str, password: str, *, code: str = "", field: str = "witness"
) -> Witness:
    """The staff member whose email and password these are (sign-in throttling applies), and
    their second-factor ``code`` when they have one (`kapcare.accounts.mfa`): a witness proves
    who they are as fully as at sign-in."""
    user = authenticate(request, username=email.strip(), password=password)
    if user is None or not user.is_active:
        raise _refused(field)
    if user_has_device(user, confirmed=True):
        if not code.strip():
            raise FieldInvalid(
                f"{field}_code", "required", "the witness's second-factor code (six digits)"
            )
        try:
            verify_second_factor(Actor.for_user(user), user, code)  # type: ignore[arg-type]  # kapcare's User
        except FieldInvalid as refused:
            raise FieldInvalid(f"{field}_code", refused.rule, refused.problems[0].message) from None
    return Witness(user.pk, user.role, user.email, "password")  # type: ignore[attr-defined]  # kapcare's User


def by_token(raw_token: str, *, field: str = "witness") -> Witness:
    """The owner of this unrevoked API token (sent as ``X-Witness-Authorization: Bearer``)."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw_token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        raise _refused(field)
    return Witness(token.user.pk, token.user.role, token.user.email, "token")


def from_header(value: str | None, *, field: str = "witness") -> Witness | None:
    """The witness of an ``X-Witness-Authorization: Bearer TOKEN`` header, None without one."""
    if not value:
        return None
    scheme, _, raw = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise _refused(field)
    return by_token(raw.strip(), field=field)
