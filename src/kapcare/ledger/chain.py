"""The ledger's hash chain: each entry's hash covers its content and the previous entry's hash,
and one locked head row (`LedgerHead`) keeps the chain linear and records its length, as the
audit trail does (docs/architecture.md §8).

This module is the one place the ledger meets the chaining mechanism. Today it seals entries
the way the audit trail's unkeyed chain does (SHA-256 over compact JSON of the previous hash
and the content; key id ``sha256-legacy``), in exactly the form of the shared module's legacy
entries. When the keyed chain module (`kapcare.audit.chain`, the security work) is committed,
`_seal` and `verify` here switch to it (``chain.seal(chain.keyring(), ...)`` and
``chain.verify(ChainedTable(name="ledger", ...))``); entries sealed before then verify as its
legacy entries. Nothing else in the ledger computes a hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from kapcare.ledger.models import Entry, LedgerHead

GENESIS_HASH = "0" * 64  # what the first entry links to, as in the audit trail

UNKEYED = "sha256-legacy"

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


def _plain(value: Any) -> Any:
    # As the values read back from either database: UTC to the microsecond, decimals
    # normalised (5.00 and 5 hash alike).
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format((value + 0).normalize(), "f")  # + 0: no negative zero
    return value


def _seal(previous_hash: str, values: Sequence[Any]) -> tuple[str, str]:
    """(key id, hash) of one entry's content linked to ``previous_hash``."""
    message = json.dumps([_plain(v) for v in (previous_hash, *values)], separators=(",", ":"))
    return UNKEYED, hashlib.sha256(message.encode()).hexdigest()


_FIELDS = {field.attname: field for field in Entry._meta.concrete_fields}


def _content(entry: Entry) -> list[Any]:
    """The hashed values as the database gives them back (a default ``0`` is a Decimal)."""
    return [_FIELDS[name].to_python(getattr(entry, name)) for name in HASHED_FIELDS]


def entry_digest(entry: Entry) -> str:
    return _seal(entry.previous_hash, _content(entry))[1]


def append(entry: Entry) -> Entry:
    """Link ``entry`` to the newest one and store it; the caller's transaction holds the head's
    row lock until it commits, so concurrent appenders take turns."""
    head = LedgerHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        LedgerHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        head = LedgerHead.objects.select_for_update().get(pk=1)
    entry.previous_hash = head.last_hash
    entry.key_id, entry.entry_hash = _seal(head.last_hash, _content(entry))
    entry.save()
    head.last_hash = entry.entry_hash
    head.entries += 1
    head.save(update_fields=["last_hash", "entries"])
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries_checked: int
    first_broken_id: int | None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def _entries() -> Iterator[Entry]:
    return Entry.objects.order_by("id").iterator(chunk_size=5000)


def verify() -> ChainReport:
    """Walk the ledger in order and name the first entry that is wrong: one whose content does
    not match its hash (altered); one whose successor links past it to the entry before it
    (inserted); one whose link matches neither (an entry before it was deleted); one beyond
    the length the head records (appended around the head), or a head recording more entries
    than there are (cut off the end)."""
    head = LedgerHead.objects.filter(pk=1).first()
    previous, before_previous = GENESIS_HASH, None
    checked = 0
    last_id: int | None = None
    for entry in _entries():
        if entry.previous_hash != previous:
            if last_id is not None and entry.previous_hash == before_previous:
                return ChainReport(
                    checked - 1, last_id, "it was inserted: the entry after it links past it"
                )
            return ChainReport(
                checked, entry.pk, "its link does not match the entry before it (deleted)"
            )
        if entry_digest(entry) != entry.entry_hash:
            return ChainReport(checked, entry.pk, "its content does not match its hash (altered)")
        if head is not None and checked == head.entries:
            return ChainReport(checked, entry.pk, "it lies beyond the end the head records")
        before_previous, previous = previous, entry.entry_hash
        last_id = entry.pk
        checked += 1
    if head is not None and (head.last_hash != previous or head.entries != checked):
        return ChainReport(
            checked,
            last_id or 0,
            f"the ledger ends here but its head records {head.entries} entries (deleted "
            "from the end)",
        )
    return ChainReport(checked, None)
