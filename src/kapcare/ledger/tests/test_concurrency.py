"""Two nurses draw from the same vial at the same moment, each more than half of it: one is
stored and the other refused below zero, never both (the container's row lock on PostgreSQL,
SQLite's immediate write transaction). Each thread has its own database connection."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from kapcare.audit.services import Actor
from kapcare.errors import Conflict
from kapcare.ledger import chain, selectors, services
from kapcare.ledger.models import Container, Entry, Kind

DRAWERS = 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_withdrawals_never_take_more_than_the_vial_holds(
    seeded_protocols, seeded_products, vial, dosing, users, make_user
):
    nurses = [Actor.for_user(users["nurse"]), Actor.for_user(users["prescriber"])]
    nurses += [Actor.for_user(make_user("nurse")) for _ in range(DRAWERS - 2)]
    barrier = threading.Barrier(DRAWERS)
    stored: list[int] = []
    refusals: list[str] = []
    errors: list[BaseException] = []

    def draw(actor: Actor) -> None:
        try:
            barrier.wait(timeout=30)
            entry = services.record_withdrawal(
                actor,
                container_id=vial.pk,
                session=dosing,
                drawn_ml=Decimal("6.00"),
                given_ml=Decimal("6.00"),
                wasted_ml=Decimal(0),
            )
            stored.append(entry.pk)
        except Conflict as refusal:
            refusals.append(refusal.rule)
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=draw, args=(actor,)) for actor in nurses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(stored) == 1
    assert refusals == ["insufficient_balance"] * (DRAWERS - 1)
    vial.refresh_from_db()
    assert vial.balance_ml == 4
    assert Entry.objects.filter(kind=Kind.WITHDRAWAL).count() == 1
    assert Container.objects.get(pk=vial.pk).balance_mg == 200
    assert selectors.check_balances() == []
    assert chain.verify().intact
