"""The worker anchors the ledger's chain as it does the audit trail's: every
`KAPCARE_AUDIT_CHECKPOINT_SECONDS` it appends the ledger's signed head to the checkpoint file."""

from __future__ import annotations

import logging

from kapcare.audit import chain
from kapcare.audit.jobs import checkpoint_interval_seconds
from kapcare.jobs.services import register_periodic
from kapcare.ledger.chain import LEDGER_CHAIN

logger = logging.getLogger(__name__)


def checkpoint_ledger_chain() -> None:
    try:
        chain.write_checkpoint(LEDGER_CHAIN)
    except chain.ChainBroken as broken:
        # Never anchored: the operator runs `kapcare ledger verify`.
        logger.error("ledger chain not checkpointed: %s", broken.report.describe())


# Not in a transaction: the walk reads only (as the audit trail's checkpoint).
register_periodic(
    "ledger checkpoint", checkpoint_interval_seconds, checkpoint_ledger_chain, atomic=False
)
