"""Keyed, anchored hash chains for append-only tables: the audit trail uses them, and any other
append-only table (the controlled-substance ledger) uses the same code for its own chain.

- **Keyed.** Each entry's hash is an HMAC-SHA256, under a key kept outside the database
  (`settings.KAPCARE_AUDIT_KEYS`, read from `KAPCARE_AUDIT_KEY` or the key file beside the secret
  key), over the entry's key id, the previous entry's hash and the entry's content. Someone who
  can write to the database but does not hold the key cannot re-hash an edited chain.
- **Rotatable.** Each entry records the id of the key that sealed it (a fingerprint of the key,
  never the key); retired keys stay in the keyring, so older entries still verify. Entries
  written before the chain was keyed carry `LEGACY_KEY_ID` (plain SHA-256); they are accepted
  only as the chain's first entries, and only as many as the checkpoints recorded.
- **Anchored.** A checkpoint (chain name, entry count, last id and hash, time, key id), signed
  with the key, is appended to a file outside the database (`KAPCARE_AUDIT_CHECKPOINT_FILE`,
  one file for every chain). Verifying compares the chain with every checkpoint since the last
  start (a new database, the upgrade to keyed entries, a restore), so truncation, and a head
  row rewritten to match, are found too.

How a table uses it (the audit trail does exactly this in `kapcare.audit.services`)::

    from kapcare.audit import chain

    # The model has, beside its content: key_id = CharField(max_length=40),
    # previous_hash = CharField(max_length=64), entry_hash = CharField(max_length=64,
    # unique=True); and a one-row head model with last_hash and entries, locked by appenders.
    LEDGER_CHAIN = chain.ChainedTable(
        name="ledger",                                  # names its checkpoints
        model=Entry,
        fields=("occurred_at", "kind", "container_id", "delta_mg", ...),  # hashed, in order
        head_model=LedgerHead,
    )

    # Appending, after locking the head row and reading its last_hash as `previous`:
    sealed = chain.seal(chain.keyring(), previous, [entry.occurred_at, entry.kind, ...])
    entry.key_id, entry.previous_hash, entry.entry_hash = sealed.key_id, previous, sealed.hash

    chain.register(LEDGER_CHAIN)           # so a restore anchors it too
    report = chain.verify(LEDGER_CHAIN)    # report.intact; else first_broken_id and problem
    chain.write_checkpoint(LEDGER_CHAIN)   # the worker does it hourly for registered chains

Values are hashed as they read back from the database: datetimes in UTC to the microsecond,
decimals normalised (`Decimal("5.00")` and `Decimal("5")` hash alike), dates in ISO form.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64
"""What the first entry of every chain links to."""

LEGACY_KEY_ID = "sha256-legacy"
"""Entries hashed with plain SHA-256, before the chain was keyed."""

CHECKPOINT = "checkpoint"
START = "start"
"""A chain's first anchor in a database: written when the database is created or upgraded to
the keyed chain (migration audit 0003) and after a restore. Checkpoints before it describe an
earlier database, so verifying starts from the newest start."""


class UnknownKey(LookupError):
    """An entry or checkpoint names a key that is not in the keyring."""


class ChainBroken(Exception):
    """A chain that does not verify is never checkpointed (that would anchor the tampering)."""

    def __init__(self, report: ChainReport) -> None:
        super().__init__(report.describe())
        self.report = report


def key_id_of(secret: str) -> str:
    """A key's public id: a fingerprint that names the key without revealing it."""
    return "k" + hmac.new(secret.encode(), b"kapcare chain key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The chain keys, by id; `current_id` seals new entries and signs checkpoints."""

    keys: dict[str, bytes]
    current_id: str

    @classmethod
    def of(cls, secrets: Sequence[str]) -> Keyring:
        """From the secrets, oldest first: the last is the current key."""
        if not secrets:
            raise ValueError("The chain keyring needs at least one key.")
        return cls({key_id_of(s): s.encode() for s in secrets}, key_id_of(secrets[-1]))

    def digest(self, key_id: str, message: bytes) -> str:
        if key_id == LEGACY_KEY_ID:
            return hashlib.sha256(message).hexdigest()
        key = self.keys.get(key_id)
        if key is None:
            raise UnknownKey(key_id)
        return hmac.new(key, message, hashlib.sha256).hexdigest()


@cache
def _keyring_of(secrets: tuple[str, ...]) -> Keyring:
    return Keyring.of(secrets)


def keyring() -> Keyring:
    """The installation's keyring (`settings.KAPCARE_AUDIT_KEYS`)."""
    return _keyring_of(tuple(settings.KAPCARE_AUDIT_KEYS))


class KeyRotationRefused(Exception):
    """The keys come from the environment, which kapcare does not write."""


def rotate_key() -> tuple[str, Path]:
    """Append a new key to the key file: it seals entries from the next start on, and the
    older keys stay to verify what they sealed. Returns the new key's id and the file."""
    path = settings.KAPCARE_AUDIT_KEY_FILE
    if path is None:
        raise KeyRotationRefused(
            "The audit keys come from KAPCARE_AUDIT_KEY: put the current key into "
            "KAPCARE_AUDIT_RETIRED_KEYS (comma-separated, oldest first) and set "
            "KAPCARE_AUDIT_KEY to a new random key, then restart kapcare."
        )
    secret = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(descriptor, f"{secret}\n".encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return key_id_of(secret), Path(path)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return value


@lru_cache(maxsize=4096)
def _decimal_text(value: Decimal) -> str:
    # Cached: a ledger's quantities repeat (and 5.00 and 5 are equal keys, with equal text).
    return format(value.normalize(), "f")


_AS_THEY_ARE = frozenset({str, int, bool, float, type(None)})
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def canonical(values: Sequence[Any]) -> bytes:
    """The bytes hashed for a list of values (compact JSON, as the unkeyed chain hashed them)."""
    # Verifying walks every entry: the plain values skip the function call.
    return _COMPACT.encode([v if type(v) in _AS_THEY_ARE else _plain(v) for v in values]).encode()


def entry_hash(ring: Keyring, key_id: str, previous_hash: str, values: Sequence[Any]) -> str:
    """An entry's hash under the key `key_id`; the legacy hash covered no key id."""
    if key_id == LEGACY_KEY_ID:
        return ring.digest(key_id, canonical([previous_hash, *values]))
    return ring.digest(key_id, canonical([key_id, previous_hash, *values]))


@dataclass(frozen=True)
class Sealed:
    key_id: str
    hash: str


def seal(ring: Keyring, previous_hash: str, values: Sequence[Any]) -> Sealed:
    """Seal a new entry with the current key."""
    return Sealed(ring.current_id, entry_hash(ring, ring.current_id, previous_hash, values))


@dataclass(frozen=True)
class ChainedTable:
    """An append-only table with a chain: rows in primary-key order, each with `key_id`,
    `previous_hash` and `entry_hash`; `fields` are the hashed content, in order; `head_model`
    the one-row head (pk 1) holding `last_hash` and `entries`."""

    name: str
    model: type[models.Model]
    fields: tuple[str, ...]
    head_model: type[models.Model]


_REGISTERED: dict[str, ChainedTable] = {}


def register(table: ChainedTable) -> ChainedTable:
    """Make a chain known to the tools that handle every chain (a restore anchors each)."""
    _REGISTERED[table.name] = table
    return table


def registered() -> list[ChainedTable]:
    return list(_REGISTERED.values())


# --- checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    chain: str
    kind: str
    entries: int
    last_id: int | None
    last_hash: str
    legacy_entries: int
    at: str
    key_id: str
    signature: str = ""

    def _signed_part(self) -> bytes:
        content = asdict(self)
        del content["signature"]
        return canonical(sorted(content.items()))

    def signed(self, ring: Keyring) -> Checkpoint:
        signature = ring.digest(self.key_id, self._signed_part())
        return Checkpoint(**{**asdict(self), "signature": signature})

    def signature_valid(self, ring: Keyring) -> bool:
        if self.key_id == LEGACY_KEY_ID:
            return False  # a checkpoint is always keyed: plain SHA-256 anyone could forge
        expected = ring.digest(self.key_id, self._signed_part())
        return hmac.compare_digest(expected, self.signature)


class CheckpointError(Exception):
    """The checkpoint file cannot be trusted (a line is unreadable or wrongly signed)."""


def checkpoint_file() -> Path:
    return Path(settings.KAPCARE_AUDIT_CHECKPOINT_FILE)


def append_checkpoint(checkpoint: Checkpoint, path: Path | None = None) -> None:
    """Append one line, under an exclusive lock, flushed to disk. The file is opened for
    appending only; the operating system can enforce that (`chattr +a`, docs/security.md)."""
    path = path or checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(checkpoint), sort_keys=True) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_checkpoints(chain: str, ring: Keyring, path: Path | None = None) -> list[Checkpoint]:
    """The chain's checkpoints since its newest start, oldest first; CheckpointError when any
    line of the file is unreadable, or any of this chain's lines is wrongly signed."""
    path = path or checkpoint_file()
    if not path.exists():
        return []
    found: list[Checkpoint] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                checkpoint = Checkpoint(**json.loads(line))
            except (ValueError, TypeError) as error:
                raise CheckpointError(f"{path} line {number} is not a checkpoint") from error
            if checkpoint.chain != chain:
                continue
            try:
                valid = checkpoint.signature_valid(ring)
            except UnknownKey:
                raise CheckpointError(
                    f"{path} line {number} is signed with key {checkpoint.key_id}, which is "
                    "not in the keyring"
                ) from None
            if not valid:
                raise CheckpointError(f"{path} line {number} has a wrong signature")
            if checkpoint.kind == START:
                found = []
            found.append(checkpoint)
    return found


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the chain found. `first_broken_id` names the first bad entry (for entries
    missing at the end: the last one left); `problem` is empty when the chain verifies."""

    entries_checked: int
    first_broken_id: int | None = None
    problem: str = ""
    last_id: int | None = None
    last_hash: str = GENESIS_HASH
    legacy_entries: int = 0
    anchored_by: Checkpoint | None = field(default=None)

    @property
    def intact(self) -> bool:
        return not self.problem

    def describe(self) -> str:
        if self.intact:
            anchor = (
                f"; matches the checkpoint of {self.anchored_by.at}"
                if self.anchored_by
                else "; no checkpoint yet (run `kapcare audit checkpoint`)"
            )
            return f"intact: {self.entries_checked} entries verified{anchor}"
        where = f" at entry {self.first_broken_id}" if self.first_broken_id is not None else ""
        return f"BROKEN{where}: {self.problem} ({self.entries_checked} entries before it verified)"


def _rows(table: ChainedTable, after: int | None = None) -> Iterable[tuple[Any, ...]]:
    rows = table.model._default_manager.order_by("pk")
    if after is not None:
        rows = rows.filter(pk__gt=after)
    return rows.values_list("pk", "key_id", "previous_hash", "entry_hash", *table.fields).iterator(
        chunk_size=5000
    )


def verify_rows(
    rows: Iterable[tuple[Any, ...]],
    ring: Keyring,
    anchors: Sequence[Checkpoint] = (),
    head: tuple[int, str] | None = None,
    start: Checkpoint | None = None,
) -> ChainReport:
    """Walk `rows` (pk, key_id, previous_hash, entry_hash, *content) in chain order, comparing
    them with the checkpoints `anchors` (oldest first) and the database's `head` (entries,
    hash). Read the head before the rows: entries appended meanwhile then only extend it.
    From `start`, a checkpoint, the rows are those after the entry it recorded."""
    latest = anchors[-1] if anchors else None
    # Where the chain must pass: (hash, id or None, who recorded it), by position.
    marks: dict[int, tuple[str, int | None, str]] = {
        anchor.entries: (anchor.last_hash, anchor.last_id, f"the checkpoint of {anchor.at}")
        for anchor in anchors
    }
    if head is not None and head[0] not in marks:
        marks[head[0]] = (head[1], None, "the head row")
    required = max(marks, default=0)
    previous, checked, last_id, legacy, keyed_seen = GENESIS_HASH, 0, None, 0, False
    if start is not None:
        previous, checked, last_id = start.last_hash, start.entries, start.last_id
        legacy, keyed_seen = start.legacy_entries, start.entries > start.legacy_entries

    def broken(pk: int | None, problem: str) -> ChainReport:
        return ChainReport(checked, pk, problem, last_id, previous, legacy, latest)

    for pk, key_id, previous_hash, stored_hash, *values in rows:
        if previous_hash != previous:
            return broken(pk, "its link to the previous entry is broken")
        if key_id == LEGACY_KEY_ID:
            if keyed_seen or (latest is not None and legacy >= latest.legacy_entries):
                return broken(pk, "it is an unkeyed entry where only keyed entries may be")
            legacy += 1
        else:
            keyed_seen = True
        try:
            expected = entry_hash(ring, key_id, previous_hash, values)
        except UnknownKey:
            return broken(pk, f"it is sealed with key {key_id}, which is not in the keyring")
        if not hmac.compare_digest(expected, stored_hash):
            return broken(pk, "its content does not match its hash")
        mark = marks.get(checked + 1)
        if mark is not None and (mark[0] != stored_hash or mark[1] not in (None, pk)):
            return broken(pk, f"it is not entry {checked + 1} as {mark[2]} recorded it")
        checked, previous, last_id = checked + 1, stored_hash, pk
    if checked < required:
        _hash, required_id, by = marks[required]
        upto = f" (up to entry {required_id})" if required_id is not None else ""
        return broken(
            last_id,
            f"the chain ends after {checked} entries, but {by} recorded {required}{upto}: "
            "entries after this one were removed",
        )
    return ChainReport(checked, None, "", last_id, previous, legacy, latest)


def _head(table: ChainedTable) -> tuple[int, str] | None:
    row = table.head_model._default_manager.filter(pk=1).values_list("entries", "last_hash")
    return next(iter(row), None)


def verify(
    table: ChainedTable, *, use_checkpoints: bool = True, from_latest: bool = False
) -> ChainReport:
    """Verify the table's chain against the key, its head row and (unless told not to) every
    checkpoint since its newest start. `from_latest`: only the entries after the latest
    checkpoint, once the entry it recorded is still there, as the entries-th one (the hourly
    checkpoint; `kapcare audit verify` walks it all)."""
    ring = keyring()
    try:
        anchors = read_checkpoints(table.name, ring) if use_checkpoints else []
    except CheckpointError as error:
        return ChainReport(0, None, f"the checkpoint file cannot be trusted: {error}")
    head = _head(table)  # before the rows (verify_rows)
    start = anchors[-1] if from_latest and anchors else None
    if start is not None and start.last_id is not None:
        rows = table.model._default_manager.filter(pk__lte=start.last_id)
        if (
            rows.filter(pk=start.last_id).values_list("entry_hash", flat=True).first()
            != start.last_hash
            or rows.count() != start.entries
        ):
            start = None  # changed before the checkpoint: walk it all, to name the entry
    if start is None or start.last_id is None:
        return verify_rows(_rows(table), ring, anchors, head)
    return verify_rows(_rows(table, start.last_id), ring, [start], head, start=start)


def write_checkpoint(table: ChainedTable, *, kind: str = CHECKPOINT) -> Checkpoint:
    """Verify the chain from its latest checkpoint on, then append its signed head to the
    checkpoint file. A start (`kind=START`) verifies the whole chain alone, since earlier
    checkpoints describe another database. Raises ChainBroken, writing nothing, when the chain
    does not verify. (An entry before the latest checkpoint edited in place fails under the
    key whenever `verify` walks it all; the new checkpoint does not hide it.)"""
    report = (
        verify(table, use_checkpoints=False) if kind == START else verify(table, from_latest=True)
    )
    if not report.intact:
        raise ChainBroken(report)
    ring = keyring()
    checkpoint = Checkpoint(
        chain=table.name,
        kind=kind,
        entries=report.entries_checked,
        last_id=report.last_id,
        last_hash=report.last_hash,
        legacy_entries=report.legacy_entries,
        at=timezone.now().astimezone(UTC).isoformat(timespec="seconds"),
        key_id=ring.current_id,
    ).signed(ring)
    append_checkpoint(checkpoint)
    return checkpoint
