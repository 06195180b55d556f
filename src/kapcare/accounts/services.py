"""Writes to accounts: each in a transaction, with its audit entry."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from kapcare.accounts.models import ApiToken, User, hash_token, new_raw_token
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.errors import FieldInvalid, NotFound

NAME_MAX_LENGTH = 100


def create_api_token(actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token; returns it with the raw secret, which is never stored.
    FieldInvalid (``name``: ``required``, ``too_long``) for a blank or too long name."""
    name = name.strip()
    if not name:
        raise FieldInvalid(
            "name", "required", "give the token a name, e.g. the integration that uses it"
        )
    if len(name) > NAME_MAX_LENGTH:
        raise FieldInvalid("name", "too_long", f"at most {NAME_MAX_LENGTH} characters")
    raw = new_raw_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, token_hash=hash_token(raw), hint=raw[:10]
        )
        record_event(actor, Action.TOKEN, f"API token {token.hint}… created for {user.email}")
    return token, raw


def revoke_api_token(actor: Actor, user: User, token_id: int) -> ApiToken:
    """NotFound (``token_id``) for a token that is not the user's."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if token is None:
            raise NotFound("token_id", "No such token of yours.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record_event(actor, Action.TOKEN, f"API token {token.hint}… revoked for {user.email}")
    return token
