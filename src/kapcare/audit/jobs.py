"""The worker anchors the audit chain: every `KAPCARE_AUDIT_CHECKPOINT_SECONDS` (an hour by
default, and once when it starts) it appends the signed head to the checkpoint file."""

from __future__ import annotations

import logging

from django.conf import settings

from kapcare.audit import chain
from kapcare.audit.services import AUDIT_CHAIN
from kapcare.jobs.services import register_periodic

logger = logging.getLogger(__name__)


def checkpoint_interval_seconds() -> int:
    return int(settings.KAPCARE_AUDIT_CHECKPOINT_SECONDS)


def checkpoint_audit_chain() -> None:
    """Two workers may both append one: each is a true, signed statement of the head."""
    try:
        chain.write_checkpoint(AUDIT_CHAIN)
    except chain.ChainBroken as broken:
        # Said loudly, and never anchored: the operator runs `kapcare audit verify`.
        logger.error("audit chain not checkpointed: %s", broken.report.describe())


# Not in a transaction: the walk reads only, and must not hold SQLite's write lock meanwhile.
register_periodic(
    "audit checkpoint", checkpoint_interval_seconds, checkpoint_audit_chain, atomic=False
)
