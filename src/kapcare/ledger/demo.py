"""The demo clinic's ledger (synthetic): a registration with a safe and a cart, stock received
before the first demo session, every documented past session drawn from a real container
(waste witnessed by the prescriber), a count whose discrepancy was resolved, and the initial
inventory. Everything goes through the services, at the times the sessions happened."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.dosing.models import Administration
from kapcare.ledger import services
from kapcare.ledger.models import Container, Form, Product
from kapcare.ledger.witness import Witness

DEMO_DEA = "FK1234563"  # synthetic; 1+3+5 + 2 x (2+4+6) = 33, check digit 3
SUPPLIER = services.Supplier(
    "Example Pharmaceutical Wholesale (synthetic)", "400 Depot Road, Springfield", "PW7654329"
)


def _staff(role: str) -> User:
    return User.objects.filter(role=role, is_active=True).order_by("id").first()  # type: ignore[return-value]  # the demo has one of each


def load_demo() -> None:
    admin_user, nurse_user = _staff(Role.CLINIC_ADMIN), _staff(Role.NURSE)
    prescriber = _staff(Role.PRESCRIBER)
    admin, nurse = Actor.for_user(admin_user), Actor.for_user(nurse_user)
    witness = Witness(prescriber.pk, prescriber.role, prescriber.email, "password")
    administrations = list(
        Administration.objects.select_related("session__course", "order").order_by("started_at")
    )
    first = administrations[0].started_at if administrations else timezone.now()
    received_at = first - timedelta(days=3)
    registration = services.create_registration(
        admin,
        name="kapcare Demo Clinic (synthetic)",
        address="1 Example Street, Springfield",
        dea_number=DEMO_DEA,
        expires_on=(received_at + timedelta(days=3 * 365)).date(),
    )
    safe = services.add_location(admin, registration, name="Main safe", kind="safe")
    services.add_location(admin, registration, name="Infusion cart", kind="cart")
    expires_on = (received_at + timedelta(days=540)).date()
    for product in Product.objects.order_by("id"):
        services.record_receipt(
            admin,
            product_ndc=product.ndc,
            supplier=SUPPLIER,
            invoice=f"DEMO-INV-{product.pk}",
            lot=f"DEMO-LOT-{product.pk}",
            expires_on=expires_on,
            containers=12 if product.form == Form.NASAL_DEVICE else 6,
            received_at=received_at,
            location_id=safe.pk,
            now=received_at,
        )
    # The initial inventory (21 CFR 1304.11(b)): the stock on hand when the clinic began.
    services.take_inventory(
        admin,
        registration_id=registration.pk,
        kind="initial",
        taken_on=received_at.date(),
        timing="close",
        now=received_at + timedelta(hours=1),
    )
    for administration in administrations:
        _draw(nurse, witness, administration)
    _count_and_resolve(admin, nurse_user, safe.pk)


def _draw(nurse: Actor, witness: Witness, administration: Administration) -> None:
    session = administration.session
    esketamine = session.course.route == "esketamine"
    products = Product.objects.filter(route__contains=session.course.route)
    dose_mg = Decimal(administration.order.dose_mg)
    if esketamine:
        for _device in range(int(dose_mg // 28)):
            container = _full_container(products, Decimal(28))
            services.record_withdrawal(
                nurse,
                container_id=container.pk,
                session=session,
                administration=administration,
                drawn_ml=None,
                given_ml=None,
                wasted_ml=None,
                now=administration.started_at,
            )
        return
    # The 50 mg/mL vial: draw the dose rounded up to 0.1 mL, waste the rest of the draw.
    product = products.filter(mg_per_ml=50).first()
    if product is None:
        return
    given_ml = (dose_mg / product.mg_per_ml).quantize(Decimal("0.01"))  # type: ignore[operator]  # a vial has mg_per_ml
    drawn_ml = (given_ml + Decimal("0.05")).quantize(Decimal("0.1"))
    container = _full_container(products.filter(pk=product.pk), drawn_ml * product.mg_per_ml)  # type: ignore[operator]  # as above
    services.record_withdrawal(
        nurse,
        container_id=container.pk,
        session=session,
        administration=administration,
        drawn_ml=drawn_ml,
        given_ml=given_ml,
        wasted_ml=drawn_ml - given_ml,
        waste_manner="Expelled into a drug-disposal container",
        witness=witness,
        now=administration.started_at,
    )


def _full_container(products: QuerySet[Product], needed_mg: Decimal) -> Container:
    container = (
        Container.objects.filter(product__in=products, balance_mg__gte=needed_mg)
        .order_by("id")
        .first()
    )
    if container is None:
        raise RuntimeError("the demo ledger ran out of stock; receive more containers")
    return container


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
