"""`kapcare ledger verify`: walk the ledger's hash chain and compare the stored balances with
the entries. Exit 1 naming the first altered, deleted or inserted entry (or the first balance
that disagrees)."""

from __future__ import annotations

import sys
from typing import TextIO

from kapcare.ledger import chain, selectors


def verify(out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    report = chain.verify()
    if not report.intact:
        print(f"ledger chain {report.describe()}", file=err)
        return 1
    mismatches = selectors.check_balances()
    if mismatches:
        first = mismatches[0]
        print(
            f"ledger balances DISAGREE ({len(mismatches)}): {first.what} stores "
            f"{first.stored_ml} mL / {first.stored_mg} mg, its entries sum to "
            f"{first.entries_ml} mL / {first.entries_mg} mg",
            file=err,
        )
        return 1
    print(f"ledger chain {report.describe()}; balances agree", file=out)
    return 0
