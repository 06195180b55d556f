"""Fixtures for the ledger tests: a registration with two locations, stock received, and a
dosing session (IV, its dose ordered) to draw for; witnesses who authenticated."""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from kapcare.audit.services import Actor
from kapcare.dosing.models import State
from kapcare.dosing.tests.conftest import (  # noqa: F401  (fixtures, used by name)
    dosing_session_for,
    run_to,
    session,
)
from kapcare.ledger import services
from kapcare.ledger.models import Container, Product, Registration, StorageLocation
from kapcare.ledger.witness import Witness

VALID_DEA = "AB1234563"  # 1+3+5 + 2*(2+4+6) = 33: check digit 3
K50 = "99999-0050-10"
ESK = "99999-0028-01"


def witness_of(user: Any) -> Witness:
    return Witness(user.pk, user.role, user.email, "password")


@pytest.fixture
def seeded_products(db: None) -> None:
    """The products come from a data migration that a transactional test's flush empties."""
    importlib.import_module("kapcare.ledger.migrations.0002_seed_products").seed(apps, None)


@pytest.fixture
def admin(users) -> Actor:
    return Actor.for_user(users["clinic_admin"])


@pytest.fixture
def nurse(users) -> Actor:
    return Actor.for_user(users["nurse"])


@pytest.fixture
def registration(admin, seeded_products) -> Registration:
    return services.create_registration(
        admin,
        name="Synthetic Ketamine Clinic",
        address="1 Example Street, Springfield",
        dea_number=VALID_DEA,
        expires_on=date.today() + timedelta(days=700),
    )


@pytest.fixture
def safe(admin, registration) -> StorageLocation:
    return services.add_location(admin, registration, name="Main safe", kind="safe")


@pytest.fixture
def cart(admin, registration, safe) -> StorageLocation:
    return services.add_location(admin, registration, name="Infusion cart", kind="cart")


SUPPLIER = services.Supplier("Example Wholesale (synthetic)", "2 Depot Road", "AB1234563")


@pytest.fixture
def receive(admin, safe, users):
    def make(ndc: str = K50, containers: int = 2, lot: str = "LOT-A", **kwargs: Any):
        return services.record_receipt(
            admin,
            product_ndc=ndc,
            supplier=SUPPLIER,
            invoice="INV-1",
            lot=lot,
            expires_on=kwargs.pop("expires_on", date.today() + timedelta(days=365)),
            containers=containers,
            received_at=timezone.now() - timedelta(hours=1),
            **kwargs,
        )

    return make


@pytest.fixture
def vial(receive) -> Container:
    return receive().container_set.order_by("id").first()


@pytest.fixture
def dosing(session, users):  # noqa: F811  (the dosing tests' fixture, imported above)
    """An IV session with its signed order, its administration not recorded yet: the session
    page records it with its own withdrawal (the dosing tests), so here the ledger's own calls
    are the only entries."""
    return run_to(session, users, State.DOSE_ORDERED, minutes_ago=30)


def withdraw(actor: Actor, container: Container, for_session: Any, **kwargs: Any):
    values: dict[str, Any] = {
        "drawn_ml": Decimal("1.00"),
        "given_ml": Decimal("0.70"),
        "wasted_ml": Decimal("0.30"),
    }
    values.update(kwargs)
    values.setdefault("waste_manner", "Squirted into a drug disposal container")
    return services.record_withdrawal(
        actor, container_id=container.pk, session=for_session, **values
    )


def product(ndc: str) -> Product:
    return Product.objects.get(ndc=ndc)
