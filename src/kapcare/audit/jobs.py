"""The worker anchors every registered chain (the audit trail's, and any other table's that
registered with `kapcare.audit.chain.register`): every `KAPCARE_AUDIT_CHECKPOINT_SECONDS` (an
hour by default, and once when it starts) it appends each signed head to the checkpoint file."""

from __future__ import annotations

import logging

from django.conf import settings

from kapcare.audit import chain, services  # noqa: F401  (services registers the audit chain)
from kapcare.jobs.services import register_periodic

logger = logging.getLogger(__name__)


def checkpoint_interval_seconds() -> int:
    return int(settings.KAPCARE_AUDIT_CHECKPOINT_SECONDS)


def checkpoint_chains() -> None:
    """Two workers may both append one: each is a true, signed statement of the head."""
    for table in chain.registered():
        try:
            chain.write_checkpoint(table)
        except chain.ChainBroken as broken:
            # Said loudly, and never anchored: the operator runs `kapcare audit verify`.
            logger.error("%s chain not checkpointed: %s", table.name, broken.report.describe())


# Not in a transaction: the walk reads only, and must not hold SQLite's write lock meanwhile.
register_periodic("audit checkpoint", checkpoint_interval_seconds, checkpoint_chains, atomic=False)
