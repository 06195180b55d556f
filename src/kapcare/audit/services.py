"""Writes to the audit trail. Reads of patient data are logged by `kapcare.audit.reads`, which
appends them with `record_access`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from kapcare.audit import chain
from kapcare.audit.middleware import REQUEST_ID_META
from kapcare.audit.models import Action, AuditEntry, ChainHead
from kapcare.errors import Forbidden


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
        """The signed-in user's id, for records that name their author; Forbidden (rule
        ``signed_in``) for an actor who is no person (the system, the public form)."""
        if self.user_id is None:
            raise Forbidden("This record needs a signed-in staff member.", rule="signed_in")
        return self.user_id

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        return cls.for_user(getattr(request, "user", None), request)

    @classmethod
    def system(cls, what: str = "kapcare command") -> Actor:
        return cls(user_id=None, email=what, role="system")


# What an entry's hash covers, in order, besides its key id and the previous entry's hash.
HASHED_FIELDS = (
    "occurred_at",
    "action",
    "user_id",
    "user_email",
    "role",
    "patient_id",
    "what",
    "client_address",
    "request_id",
)

AUDIT_CHAIN = chain.register(
    chain.ChainedTable(name="audit", model=AuditEntry, fields=HASHED_FIELDS, head_model=ChainHead)
)


@dataclass(frozen=True)
class _ChainStatements:
    take_head: str  # param: entries added; returns the hash to link to
    insert_entry: str  # params: one value per name in `columns`, in order
    set_head: str  # param: the newest entry's hash
    columns: list[str]  # attribute names (`user_id`, not `user`)


@cache
def _chain_statements() -> _ChainStatements:
    """The appender's SQL, from the models' own table and column names; values are bound."""
    quote = connection.ops.quote_name
    head = quote(ChainHead._meta.db_table)
    # Concrete fields always have a column; the filter only tells the type checker so.
    fields = [
        (f.attname, f.column)
        for f in AuditEntry._meta.concrete_fields
        if not f.primary_key and f.column is not None
    ]
    columns = ", ".join(quote(column) for _, column in fields)
    marks = ", ".join(["%s"] * len(fields))
    entries = quote(AuditEntry._meta.db_table)
    return _ChainStatements(
        take_head=f"UPDATE {head} SET entries = entries + %s WHERE id = 1 RETURNING last_hash",  # noqa: S608  (model names only; values bound)
        insert_entry=f"INSERT INTO {entries} ({columns}) VALUES ({marks})",  # noqa: S608  (as above)
        set_head=f"UPDATE {head} SET last_hash = %s WHERE id = 1",  # noqa: S608  (as above)
        columns=[attname for attname, _ in fields],
    )


def _append(actor: Actor, action: str, what: str, patient_ids: Sequence[int | None]) -> None:
    # Every read of patient data lands here, so this is three plain statements over plain
    # values: the ORM's query building and model instances would cost more than the database
    # does. The chain's lock comes first: the UPDATE locks the head row on PostgreSQL and takes
    # the write lock on SQLite, so no other appender reads the same head; RETURNING hands back
    # the hash to link to.
    sql = _chain_statements()
    now = timezone.now()
    content: dict[str, Any] = {
        "occurred_at": now,
        "action": action,
        "user_id": actor.user_id,
        "user_email": actor.email,
        "role": actor.role,
        "what": what[:200],
        "client_address": actor.client_address,
        "request_id": actor.request_id,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.take_head, [len(patient_ids)])
        row = cursor.fetchone()
        if row is None:
            # First entry ever: create the head; a concurrent creator makes get_or_create
            # fall back to reading the row the other one made.
            ChainHead.objects.get_or_create(pk=1, defaults={"last_hash": chain.GENESIS_HASH})
            cursor.execute(sql.take_head, [len(patient_ids)])
            row = cursor.fetchone()
        previous = row[0]
        ring = chain.keyring()
        stored = {**content, "occurred_at": connection.ops.adapt_datetimefield_value(now)}
        rows = []
        for patient_id in patient_ids:
            content["patient_id"] = patient_id
            sealed = chain.seal(ring, previous, [content[name] for name in HASHED_FIELDS])
            stored.update(
                patient_id=patient_id,
                key_id=sealed.key_id,
                previous_hash=previous,
                entry_hash=sealed.hash,
            )
            rows.append([stored[name] for name in sql.columns])
            previous = sealed.hash
        cursor.executemany(sql.insert_entry, rows)
        cursor.execute(sql.set_head, [previous])


def record_access(actor: Actor, patient_ids: Iterable[int], what: str) -> None:
    """Log a read of patient data: one entry per patient whose data was shown. Views and API
    operations log through `kapcare.audit.reads`, which calls this."""
    ids = list(dict.fromkeys(patient_ids))
    if ids:
        _append(actor, Action.READ, what, ids)


def record_event(actor: Actor, action: str, what: str, patient_id: int | None = None) -> None:
    """Log a write or a security event (sign-in, token created, record changed)."""
    _append(actor, action, what, [patient_id])
