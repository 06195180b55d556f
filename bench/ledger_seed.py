"""A million-entry ledger, written in bulk for the ledger benchmark (never for a clinic).

Calling `record_withdrawal` a million times would take hours; this writes the rows that a
million service calls would have written — receipts, containers, entries each sealed into the
hash chain with the installation's key (`kapcare.ledger.chain.seal_values`), the running
balances and the chain's head — so `kapcare ledger verify` walks a real chain and the balances
agree with the entries. What it does not write: an audit entry per withdrawal (the audit trail
is not what is measured).

The mix, over two years, oldest first, interleaved day by day: IV sessions drawing 1.0 mL of
the 50 mg/mL vial (0.9 mL given, 0.1 mL wasted, witnessed; ten draws empty a vial), IM sessions
drawing 0.5 mL of the 100 mg/mL vial (0.45 mL given, 0.05 mL wasted, witnessed; twenty draws),
and esketamine devices (one 28 mg device a withdrawal); every box received the day it is
needed, 25 vials or 24 devices. Shares of entries: about 45 % IV, 20 % IM, 35 % esketamine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

BATCH = 5000
MANNER = "Expelled into a drug-disposal container"


@dataclass
class Stream:
    """One product's draws: how much each draw takes and leaves, and how many a day."""

    ndc: str
    drawn_ml: Decimal
    given_ml: Decimal
    wasted_ml: Decimal
    drawn_mg: Decimal
    given_mg: Decimal
    wasted_mg: Decimal
    per_box: int
    share: float  # of the entries
    per_container: int  # draws that empty one container


def streams() -> list[Stream]:
    d = Decimal
    return [
        Stream("99999-0050-10", d("1.00"), d("0.90"), d("0.10"), d(50), d(45), d(5), 25, 0.45, 10),
        Stream("99999-0100-10", d("0.50"), d("0.45"), d("0.05"), d(50), d(45), d(5), 25, 0.20, 20),
        Stream("99999-0028-01", d(0), d(0), d(0), d(28), d(28), d(0), 24, 0.35, 1),
    ]


def seed(target_entries: int, first: datetime, days: int, context: dict[str, Any]) -> int:
    """About ``target_entries`` entries from ``first`` over ``days`` days; returns how many.
    ``context``: the session, patient, nurse, witness (a prescriber), admin and location."""
    from django.db import transaction

    from kapcare.ledger import chain
    from kapcare.ledger.models import Balance, Container, Entry, LedgerHead, Product, Receipt

    products = {p.ndc: p for p in Product.objects.all()}
    location = context["location"]
    session, nurse, witness, admin = (
        context["session"], context["nurse"], context["witness"], context["admin"],
    )  # fmt: skip
    plan = streams()
    # Draws a day per product: each draw is one entry, each container one receipt entry more.
    per_day = {}
    for s in plan:
        draws = target_entries * s.share / days * s.per_container / (s.per_container + 1)
        per_day[s.ndc] = max(1, round(draws))
    # After whatever the set-up wrote (the session's own draw): the chain and balances go on.
    head = LedgerHead.objects.filter(pk=1).first()
    head_hash = head.last_hash if head else chain.GENESIS_HASH
    before = head.entries if head else 0
    written = 0
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for key, mg, ml in Balance.objects.values_list("key", "balance_mg", "balance_ml"):
        sums[key] = [mg, ml]
    known = set(sums)
    pending: list[Entry] = []
    open_containers: dict[str, list[Any]] = {s.ndc: [] for s in plan}  # [container, draws left]
    receipts = 0

    def flush() -> None:
        nonlocal pending
        if pending:
            Entry.objects.bulk_create(pending, batch_size=BATCH)
            pending = []

    def post(entry: Entry) -> None:
        nonlocal head_hash, written
        entry.previous_hash = head_hash
        entry.key_id, entry.entry_hash = chain.seal(entry, head_hash)
        head_hash = entry.entry_hash
        written += 1
        for key in (
            f"product:{entry.product_id}",
            f"lot:{entry.product_id}:{entry.lot}",
            f"location:{entry.product_id}:{entry.location_id}",
        ):
            sums[key][0] += entry.delta_mg
            sums[key][1] += entry.delta_ml
        pending.append(entry)
        if len(pending) >= BATCH:
            flush()

    def receive(stream: Stream, at: datetime) -> None:
        nonlocal receipts
        flush()  # the containers' entries come after the receipt's, in id order
        receipts += 1
        product = products[stream.ndc]
        receipt = Receipt.objects.create(
            registration_id=location.registration_id, product=product, location=location,
            supplier_name="Bench Wholesale (synthetic)", supplier_address="1 Bench Road",
            supplier_dea_number="PW7654329", invoice=f"BENCH-{receipts}",
            lot=f"BENCH-{product.pk}-{receipts}", expires_on=(at + timedelta(days=540)).date(),
            containers=stream.per_box, received_at=at, received_by_id=admin.pk,
        )  # fmt: skip
        full_mg, full_ml = Decimal(product.mg_per_container), Decimal(product.ml_container)
        # Stored empty, as nearly all end up; the few still holding stock are set at the end.
        containers = Container.objects.bulk_create(
            Container(
                receipt=receipt,
                product=product,
                lot=receipt.lot,
                expires_on=receipt.expires_on,
                label=f"R{receipt.pk}-{n:03d}",
                location=location,
                balance_mg=0,
                balance_ml=0,
            )
            for n in range(1, stream.per_box + 1)
        )
        for container in containers:
            post(
                Entry(
                    kind="receipt",
                    container_id=container.pk,
                    product_id=product.pk,
                    lot=receipt.lot,
                    location_id=location.pk,
                    delta_mg=full_mg,
                    delta_ml=full_ml,
                    balance_mg_after=full_mg,
                    balance_ml_after=full_ml,
                    receipt_id=receipt.pk,
                    by_id=admin.pk,
                    occurred_at=at,
                )
            )
            container.balance_mg, container.balance_ml = full_mg, full_ml
            open_containers[stream.ndc].append([container, stream.per_container])

    def draw(stream: Stream, at: datetime) -> None:
        if not open_containers[stream.ndc]:
            receive(stream, at - timedelta(minutes=30))
        slot = open_containers[stream.ndc][0]
        container, left = slot
        container.balance_mg -= stream.drawn_mg
        container.balance_ml -= stream.drawn_ml
        post(
            Entry(
                kind="withdrawal",
                container_id=container.pk,
                product_id=container.product_id,
                lot=container.lot,
                location_id=location.pk,
                delta_mg=-stream.drawn_mg,
                delta_ml=-stream.drawn_ml,
                balance_mg_after=container.balance_mg,
                balance_ml_after=container.balance_ml,
                given_mg=stream.given_mg,
                given_ml=stream.given_ml,
                wasted_mg=stream.wasted_mg,
                wasted_ml=stream.wasted_ml,
                manner=MANNER if stream.wasted_mg else "",
                session_id=session.pk,
                patient_id=session.patient_id,
                by_id=nurse.pk,
                witness_id=witness.pk if stream.wasted_mg else None,
                occurred_at=at,
            )
        )
        slot[1] = left - 1
        if slot[1] == 0:
            open_containers[stream.ndc].pop(0)

    with transaction.atomic():
        for day in range(days):
            opening = first + timedelta(days=day, hours=8)
            draws = [(s, n) for s in plan for n in range(per_day[s.ndc])]
            # Spread over a ten-hour day, the products interleaved, a microsecond apart at least.
            draws.sort(key=lambda item: item[1] / per_day[item[0].ndc])
            step = timedelta(hours=10) / max(1, len(draws))
            for number, (stream, _) in enumerate(draws):
                draw(stream, opening + step * number)
        flush()
        # The containers still holding stock, and the running balances, as the service keeps them.
        for stream in plan:
            for container, _left in open_containers[stream.ndc]:
                Container.objects.filter(pk=container.pk).update(
                    balance_mg=container.balance_mg, balance_ml=container.balance_ml
                )
        for key in known:
            mg, ml = sums.pop(key)
            Balance.objects.filter(key=key).update(balance_mg=mg, balance_ml=ml)
        Balance.objects.bulk_create(
            Balance(
                key=key,
                scope=key.split(":")[0],
                product_id=int(key.split(":")[1]),
                lot=key.split(":")[2] if key.startswith("lot:") else "",
                location_id=int(key.split(":")[2]) if key.startswith("location:") else None,
                balance_mg=mg,
                balance_ml=ml,
            )
            for key, (mg, ml) in sums.items()
        )
        LedgerHead.objects.update_or_create(
            pk=1, defaults={"last_hash": head_hash, "entries": before + written}
        )
    return written
