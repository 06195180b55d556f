"""Reads of the audit trail."""

from __future__ import annotations

from kapcare.audit import chain
from kapcare.audit.chain import ChainReport
from kapcare.audit.services import AUDIT_CHAIN

__all__ = ["ChainReport", "verify_chain"]


def verify_chain() -> ChainReport:
    """Walk the whole chain against the keyring, the head row and the checkpoints; report the
    first entry that is wrong."""
    return chain.verify(AUDIT_CHAIN)
