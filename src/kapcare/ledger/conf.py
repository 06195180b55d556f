"""Ledger settings (clinic policy, each with its labelled default).

Set them in Django settings or the environment:
- ``KAPCARE_LEDGER_WITNESS_REQUIRED``: wasted drug (and a breakage or spill) needs a second
  licensed staff member as witness. Default on: a witness is state or institutional policy,
  not a federal rule (docs/clinical-reference.md §12).
- ``KAPCARE_LEDGER_EXPIRING_DAYS``: the ledger home lists containers expiring within this many
  days. Default 60 (clinic policy).
"""

from __future__ import annotations

import os

from django.conf import settings

_OFF = {"0", "false", "no", "off"}


def _setting(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return str(value)


def witness_required() -> bool:
    return _setting("KAPCARE_LEDGER_WITNESS_REQUIRED", "1").strip().lower() not in _OFF


def expiring_days() -> int:
    return int(_setting("KAPCARE_LEDGER_EXPIRING_DAYS", "60"))
