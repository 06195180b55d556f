"""Writes to the audit trail. Every read of patient data goes through `record_access`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from kapcare.audit.middleware import REQUEST_ID_META
from kapcare.audit.models import Action, AuditEntry, ChainHead

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something, and from where."""

    user_id: int | None
    email: str
    role: str
    client_address: str = ""
    request_id: str = ""

    @classmethod
    def for_user(cls, user: Any, request: HttpRequest | None = None) -> Actor:
        """`user` may be anonymous or None; `request` gives the client address and id."""
        authenticated = user is not None and user.is_authenticated
        meta = request.META if request is not None else {}
        return cls(
            user_id=user.pk if authenticated else None,
            email=getattr(user, "email", "") if authenticated else "",
            role=getattr(user, "role", "") if authenticated else "",
            client_address=meta.get("REMOTE_ADDR", ""),
            request_id=meta.get(REQUEST_ID_META, ""),
        )

    @property
    def person_id(self) -> int:
        """The signed-in user's id, for records that name their author."""
        if self.user_id is None:
            raise ValueError("actor: this record needs a signed-in staff member")
        return self.user_id

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        return cls.for_user(getattr(request, "user", None), request)

    @classmethod
    def system(cls, what: str = "kapcare command") -> Actor:
        return cls(user_id=None, email=what, role="system")


def entry_digest(entry: AuditEntry) -> str:
    """The SHA-256 over an entry's content and the previous entry's hash."""
    occurred = entry.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    content = json.dumps(
        [
            entry.previous_hash,
            occurred,
            entry.action,
            entry.user_id,
            entry.user_email,
            entry.role,
            entry.patient_id,
            entry.what,
            entry.client_address,
            entry.request_id,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _append(actor: Actor, action: str, what: str, patient_ids: Sequence[int | None]) -> None:
    now = timezone.now()
    with transaction.atomic():
        # Take the chain's lock first: the UPDATE locks the row on PostgreSQL and takes the
        # database write lock on SQLite, so no other appender reads the same head.
        if not ChainHead.objects.filter(pk=1).update(entries=F("entries")):
            # First entry ever: create the head; a concurrent creator makes get_or_create
            # fall back to reading the row the other one made.
            ChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
            ChainHead.objects.filter(pk=1).update(entries=F("entries"))
        head = ChainHead.objects.get(pk=1)
        previous = head.last_hash
        entries = []
        for patient_id in patient_ids:
            entry = AuditEntry(
                occurred_at=now,
                action=action,
                user_id=actor.user_id,
                user_email=actor.email,
                role=actor.role,
                patient_id=patient_id,
                what=what[:200],
                client_address=actor.client_address,
                request_id=actor.request_id,
                previous_hash=previous,
            )
            entry.entry_hash = previous = entry_digest(entry)
            entries.append(entry)
        AuditEntry.objects.bulk_create(entries)
        ChainHead.objects.filter(pk=1).update(
            last_hash=previous, entries=F("entries") + len(entries)
        )


def record_access(actor: Actor, patient_ids: Iterable[int], what: str) -> None:
    """Log a read of patient data: one entry per patient whose data was shown."""
    ids = list(dict.fromkeys(patient_ids))
    if ids:
        _append(actor, Action.READ, what, ids)


def record_event(actor: Actor, action: str, what: str, patient_id: int | None = None) -> None:
    """Log a write or a security event (sign-in, token created, record changed)."""
    _append(actor, action, what, [patient_id])
