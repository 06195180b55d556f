"""The ledger's hash chain, on the audit trail's keyed mechanism (`kapcare.audit.chain`): each
entry's hash is an HMAC under the installation's chain key over its key id, the previous
entry's hash and its content; one locked head row (`LedgerHead`) keeps the chain linear and
records its length; the chain is registered, so the worker appends a signed checkpoint of the
ledger's head to the same checkpoint file as the audit trail's, and a restore anchors it.
`kapcare ledger verify` walks it.

This module is the one place the ledger meets the mechanism: nothing else computes a hash.
"""

from __future__ import annotations

from typing import Any

from kapcare.audit import chain
from kapcare.audit.chain import GENESIS_HASH, ChainReport
from kapcare.ledger.models import Entry, LedgerHead

__all__ = [
    "GENESIS_HASH", "LEDGER_CHAIN", "ChainReport", "append", "entry_digest", "seal", "verify",
]  # fmt: skip

# What an entry's hash covers, in order, after the previous entry's hash (attribute names).
HASHED_FIELDS = (
    "kind",
    "container_id",
    "product_id",
    "lot",
    "location_id",
    "delta_mg",
    "delta_ml",
    "balance_mg_after",
    "balance_ml_after",
    "given_mg",
    "given_ml",
    "wasted_mg",
    "wasted_ml",
    "manner",
    "session_id",
    "administration_id",
    "patient_id",
    "receipt_id",
    "by_id",
    "witness_id",
    "second_witness_id",
    "reason",
    "reverses_id",
    "counterpart_id",
    "occurred_at",
)


# Registered, so the worker checkpoints it hourly and a restore anchors it, as the audit trail.
LEDGER_CHAIN = chain.register(
    chain.ChainedTable(name="ledger", model=Entry, fields=HASHED_FIELDS, head_model=LedgerHead)
)

_FIELDS = {field.attname: field for field in Entry._meta.concrete_fields}


def _content(entry: Entry) -> list[Any]:
    """The hashed values as the database gives them back (a default ``0`` is a Decimal)."""
    return [_FIELDS[name].to_python(getattr(entry, name)) for name in HASHED_FIELDS]


def entry_digest(entry: Entry) -> str:
    """The hash ``entry`` should carry under the key it names."""
    return chain.entry_hash(chain.keyring(), entry.key_id, entry.previous_hash, _content(entry))


def seal(entry: Entry, previous_hash: str) -> tuple[str, str]:
    """The key id and hash of ``entry`` following an entry whose hash is ``previous_hash``."""
    sealed = chain.seal(chain.keyring(), previous_hash, _content(entry))
    return sealed.key_id, sealed.hash


def append(entry: Entry) -> Entry:
    """Link ``entry`` to the newest one and store it; the caller's transaction holds the head's
    row lock until it commits, so concurrent appenders take turns."""
    head = LedgerHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        LedgerHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        head = LedgerHead.objects.select_for_update().get(pk=1)
    entry.previous_hash = head.last_hash
    entry.key_id, entry.entry_hash = seal(entry, head.last_hash)
    entry.save()
    head.last_hash = entry.entry_hash
    head.entries += 1
    head.save(update_fields=["last_hash", "entries"])
    return entry


def verify() -> ChainReport:
    """Walk the ledger: the first altered entry (its hash does not match its content under the
    key), an entry deleted (the next one's link is broken) or inserted (its hash cannot be made
    without the key), a head row or checkpoint the chain no longer reaches (cut off the end)."""
    return chain.verify(LEDGER_CHAIN)
