"""Writes to accounts: each in a transaction, with its audit entry."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kapcare.accounts.models import ApiToken, User, hash_token, new_raw_token
from kapcare.accounts.roles import Role
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.errors import Conflict, FieldInvalid, Forbidden, NotFound

NAME_MAX_LENGTH = 100
# How long a new API token works (clinic policy; NIST 800-63B asks for a bounded lifetime of
# long-lived authenticators). Set KAPCARE_TOKEN_DAYS in the environment or Django settings.
DEFAULT_TOKEN_DAYS = 90


def token_days() -> int:
    value = getattr(settings, "KAPCARE_TOKEN_DAYS", None) or os.environ.get("KAPCARE_TOKEN_DAYS")
    return int(value or DEFAULT_TOKEN_DAYS)


def create_api_token(
    actor: Actor, user: User, name: str, *, now: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a personal API token, working for KAPCARE_TOKEN_DAYS; returns it with the raw
    secret, which is never stored. FieldInvalid (``name``: ``required``, ``too_long``) for a
    blank or too long name; Conflict (rule ``inactive``) for a deactivated user."""
    name = name.strip()
    if not name:
        raise FieldInvalid(
            "name", "required", "give the token a name, e.g. the integration that uses it"
        )
    if len(name) > NAME_MAX_LENGTH:
        raise FieldInvalid("name", "too_long", f"at most {NAME_MAX_LENGTH} characters")
    if not user.is_active:
        raise Conflict(f"{user.email} is deactivated.", field="user", rule="inactive")
    now = now or timezone.now()
    raw = new_raw_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            token_hash=hash_token(raw),
            hint=raw[:10],
            created_at=now,
            expires_at=now + timedelta(days=token_days()),
        )
        record_event(
            actor,
            Action.TOKEN,
            f"API token {token.hint}… created for {user.email}, "
            f"expires {token.expires_at:%Y-%m-%d}",
        )
    return token, raw


def _revoke(actor: Actor, token: ApiToken, why: str, now: datetime) -> None:
    # The caller holds the row lock.
    if token.revoked_at is None:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        record_event(actor, Action.TOKEN, f"API token {token.hint}… of {token.user.email} {why}")


def revoke_api_token(actor: Actor, user: User, token_id: int) -> ApiToken:
    """The user revokes one of their own tokens. NotFound (``token_id``) for a token that is
    not the user's."""
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update()
            .select_related("user")
            .filter(pk=token_id, user=user)
            .first()
        )
        if token is None:
            raise NotFound("token_id", "No such token of yours.")
        _revoke(actor, token, "revoked by its owner", timezone.now())
    return token


def revoke_any_api_token(actor: Actor, token_id: int) -> ApiToken:
    """The clinic admin revokes anyone's token. Forbidden for another role; NotFound
    (``token_id``) for an unknown token."""
    if actor.role != Role.CLINIC_ADMIN:
        raise Forbidden("Only the clinic admin revokes other people's tokens.")
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update().select_related("user").filter(pk=token_id).first()
        )
        if token is None:
            raise NotFound("token_id", "No such token.")
        _revoke(actor, token, f"revoked by the clinic admin {actor.email}", timezone.now())
    return token


def revoke_tokens_of_inactive_user(user: User) -> int:
    """Revoke every unrevoked token of a deactivated user (the user's save, through a signal,
    and an API call with a token of an inactive user both land here). Revoked, not merely
    refused: reactivating the user does not bring the tokens back. Returns how many."""
    if user.is_active:
        return 0
    now = timezone.now()
    actor = Actor.system("deactivation")
    with transaction.atomic():
        live = ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
        tokens = list(live.select_related("user"))
        for token in tokens:
            _revoke(actor, token, "revoked: the user was deactivated", now)
    return len(tokens)
