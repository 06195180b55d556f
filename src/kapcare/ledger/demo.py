"""The demo clinic's ledger (synthetic): a registration with a safe and a cart, stock received
the day before a session needs it, every documented past session drawn from a real container
as it runs (``kapcare.dosing.scenario`` calls ``container_for``; waste witnessed by the
prescriber), a count whose discrepancy was resolved, and an inventory. Everything goes through
the services, at the times the sessions happened."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.ledger import services
from kapcare.ledger.models import Container, Form, Product, Receipt, StorageLocation
from kapcare.ledger.witness import Witness

# The seeded products (a data migration, so a test's flush empties them).
_SEED = importlib.import_module("kapcare.ledger.migrations.0002_seed_products")
DEMO_INVOICE = "DEMO-INV-"  # the demo's receipts (the scenario draws from these only)
DEMO_DEA = "FK1234563"  # synthetic; 1+3+5 + 2 x (2+4+6) = 33, check digit 3
SUPPLIER = services.Supplier(
    "Example Pharmaceutical Wholesale (synthetic)", "400 Depot Road, Springfield", "PW7654329"
)


def _staff(role: str) -> User:
    return User.objects.filter(role=role, is_active=True).order_by("id").first()  # type: ignore[return-value]  # the demo has one of each


def _receiver() -> Actor:
    """The clinic admin who receives synthetic stock (made when a test clinic has none)."""
    admin = _staff(Role.CLINIC_ADMIN) or User.objects.create_user(
        "stock.receiver@example.org",
        None,
        full_name="Stock Receiver (synthetic)",
        role=Role.CLINIC_ADMIN,
        is_synthetic=True,
    )
    return Actor.for_user(admin)


def _registration(admin: Actor, at: datetime) -> StorageLocation:
    """The demo registration's safe, set up at ``at`` the first time it is needed."""
    safe = StorageLocation.objects.filter(kind="safe").order_by("id").first()
    if safe is not None:
        return safe
    registration = services.create_registration(
        admin,
        name="kapcare Demo Clinic (synthetic)",
        address="1 Example Street, Springfield",
        dea_number=DEMO_DEA,
        expires_on=(at + timedelta(days=3 * 365)).date(),
    )
    safe = services.add_location(admin, registration, name="Main safe", kind="safe")
    services.add_location(admin, registration, name="Infusion cart", kind="cart")
    # The clinic opened with nothing on hand: its initial inventory records that (21 CFR
    # 1304.11(b)), taken then, before the first receipt.
    services.take_inventory(
        admin,
        registration_id=registration.pk,
        kind="initial",
        taken_on=timezone.localtime(at).date(),
        timing="opening",
        now=at,
    )
    return safe


def receive(product: Product, at: datetime) -> Receipt:
    """A box of the product received into the safe at ``at`` (12 devices or 6 vials)."""
    admin = _receiver()
    safe = _registration(admin, at)
    number = Receipt.objects.filter(product=product).count() + 1
    return services.record_receipt(
        admin,
        product_ndc=product.ndc,
        supplier=SUPPLIER,
        invoice=f"{DEMO_INVOICE}{product.pk}-{number}",
        lot=f"DEMO-LOT-{product.pk}-{number}",
        expires_on=(at + timedelta(days=540)).date(),
        containers=12 if product.form == Form.NASAL_DEVICE else 6,
        received_at=at,
        location_id=safe.pk,
        now=at,
    )


def container_for(route: str, needed_mg: Decimal, at: datetime) -> Container:
    """A usable container of the demo's own stock (``receive``) of the route's product (the
    50 mg/mL vial for IV and IM) holding at least ``needed_mg`` on ``at``'s date, from a box
    received a day before when there is none: the scenario's sessions draw from real
    containers, and never from stock a test received for itself."""
    if not Product.objects.exists():  # a test database flushed of the seeded products
        _SEED.seed(apps, None)
    products = Product.objects.filter(route__contains=route)
    if route != "esketamine":
        products = products.filter(mg_per_ml=50)
    usable = Container.objects.filter(
        product__in=products,
        balance_mg__gte=needed_mg,
        quarantined=False,
        expires_on__gte=timezone.localtime(at).date(),
        receipt__received_at__lte=at,
        receipt__invoice__startswith=DEMO_INVOICE,
    ).order_by("receipt__received_at", "label")
    container = usable.first()
    if container is None:
        product = products.order_by("id").first()
        if product is None:
            raise RuntimeError(f"no ledger product for the route {route}")
        receive(product, at - timedelta(days=1))
        container = usable.first()
    assert container is not None  # a full box was just received
    return container


def waste_witness(prescriber: User) -> Witness:
    """The prescriber witnessing a synthetic session's waste (as if signed in at the cart)."""
    return Witness(prescriber.pk, prescriber.role, prescriber.email, "password")


def load_demo() -> None:
    """After the sessions (which drew their stock as they ran): a biennial inventory of
    today's stock (the initial one, of nothing, was taken when the registration was set up),
    and a count with a resolved discrepancy."""
    admin_user, nurse_user = _staff(Role.CLINIC_ADMIN), _staff(Role.NURSE)
    admin = Actor.for_user(admin_user)
    first = Receipt.objects.order_by("received_at").first()
    at = first.received_at if first is not None else timezone.now() - timedelta(days=3)
    safe = _registration(admin, at)
    if first is None:
        for product in Product.objects.order_by("id"):
            receive(product, at)
    # A biennial inventory (21 CFR 1304.11(c): at least every two years after the initial
    # one; taking it sooner is allowed) of today's stock, which is what the service counts.
    services.take_inventory(
        admin,
        registration_id=safe.registration_id,
        kind="biennial",
        taken_on=timezone.localdate(),
        timing="close",
    )
    _count_and_resolve(admin, nurse_user, safe.pk)


def _count_and_resolve(admin: Actor, nurse_user: User, location_id: int) -> None:
    """A count that finds 0.2 mL less in one opened vial than the book: resolved as loss to
    the hub of the syringe, with its adjusting entry."""
    on_hand = list(
        Container.objects.filter(location_id=location_id, balance_mg__gt=0).order_by("id")
    )
    found = {c.pk: c.balance_ml if c.product.mg_per_device is None else Decimal(1) for c in on_hand}
    opened = next(
        (c for c in on_hand if c.product.mg_per_device is None and c.balance_ml < 10), None
    )
    if opened is not None:
        found[opened.pk] = opened.balance_ml - Decimal("0.2")
    at = timezone.now() - timedelta(days=1)
    second = Witness(nurse_user.pk, nurse_user.role, nurse_user.email, "password")
    count = services.record_count(
        admin, location_id=location_id, found=found, second_counter=second, counted_at=at, now=at
    )
    for line in count.lines.select_related("discrepancy"):
        discrepancy = getattr(line, "discrepancy", None)
        if discrepancy is not None:
            services.resolve_discrepancy(
                admin,
                discrepancy.pk,
                reason="Dead volume in the syringe hub, not recorded as waste (synthetic)",
                now=at,
            )
