"""Reads of the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from kapcare.audit.models import AuditEntry, ChainHead
from kapcare.audit.services import GENESIS_HASH, entry_digest


@dataclass(frozen=True)
class ChainReport:
    entries_checked: int
    first_broken_id: int | None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify_chain() -> ChainReport:
    """Walk the whole chain in order; report the first entry whose hash or link is wrong."""
    previous = GENESIS_HASH
    checked = 0
    last_id: int | None = None
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=5000):
        if entry.previous_hash != previous:
            return ChainReport(checked, entry.pk, "its link to the previous entry is broken")
        if entry_digest(entry) != entry.entry_hash:
            return ChainReport(checked, entry.pk, "its content does not match its hash")
        previous = entry.entry_hash
        last_id = entry.pk
        checked += 1
    # Entries cut off the end leave the chain consistent, so compare with the recorded head.
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != previous or head.entries != checked):
        return ChainReport(
            checked,
            last_id or 0,
            f"the chain ends here but the head records {head.entries} entries",
        )
    return ChainReport(checked, None)
