"""Every write to the controlled-substance ledger. Each use case is one call in one transaction:
lock the containers it moves, validate (refusing with `kapcare.errors`), write the entry with
the running balances and the chain link, and audit. A refused call stores nothing.

Lock order, the same in every use case so that no two writers wait on each other in a cycle:
the container rows (by id), then the chain head (`chain.append`), then the balance rows.
`record_withdrawal` is the call the dosing session's administration step makes inside its
own transaction (the nested atomic block joins it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.clinical import controlled, dea
from kapcare.courses.models import Resource
from kapcare.errors import Conflict, FieldInvalid, FieldProblem, Forbidden, NotFound
from kapcare.ledger import chain, conf
from kapcare.ledger.models import (
    Balance,
    Container,
    Count,
    CountLine,
    Discrepancy,
    Entry,
    Form,
    Inventory,
    InventoryKind,
    InventoryLine,
    InventoryTiming,
    Kind,
    LocationKind,
    LossReport,
    LossType,
    Product,
    Receipt,
    Registration,
    Scope,
    StorageLocation,
)
from kapcare.ledger.witness import Witness

# Who may do what (the access policy lets these roles reach the operations; the services say
# which of them may make each kind of entry).
LICENSED: frozenset[str] = frozenset({Role.NURSE, Role.PRESCRIBER})
MANAGERS: frozenset[str] = frozenset({Role.CLINIC_ADMIN})
# An adjustment that moves a container to another location (two entries: out and in).
TRANSFER = "transfer"
# A breakage or spill happens at the cart: the nurse or prescriber records it, witnessed.
ADJUSTERS: dict[str, frozenset[str]] = {
    Kind.BREAKAGE: LICENSED | MANAGERS,
    Kind.RETURN: MANAGERS,
    Kind.SET_ASIDE: MANAGERS,
    Kind.DESTRUCTION: MANAGERS,
    Kind.LOSS: MANAGERS,
    Kind.REVERSAL: MANAGERS,
    TRANSFER: MANAGERS,
}
ADJUSTMENT_KINDS: frozenset[str] = frozenset(ADJUSTERS)
# Entries a reversal may undo: a transfer is undone by transferring back.
REVERSIBLE: frozenset[str] = frozenset(
    {
        Kind.RECEIPT,
        Kind.WITHDRAWAL,
        Kind.RETURN,
        Kind.BREAKAGE,
        Kind.SET_ASIDE,
        Kind.DESTRUCTION,
        Kind.LOSS,
        Kind.COUNT_ADJUSTMENT,
    }
)
MAX_CONTAINERS_PER_RECEIPT = 1000
# Session states in which nothing is drawn yet (kapcare.clinical.session: the order comes first).
BEFORE_ORDER: frozenset[str] = frozenset({"scheduled", "checked_in", "checklist_passed"})


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _require_role(actor: Actor, roles: frozenset[str], doing: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"Your role may not {doing}.", rule="role")


def _text(value: str | None) -> str:
    return (value or "").strip()


def _required(field: str, value: str | None, what: str) -> str:
    value = _text(value)
    if not value:
        raise FieldInvalid(field, "required", what)
    return value


# No ledger record predates electronic ledgers; the floor also keeps a fuzzed year-1 time from
# overflowing when it is turned into the clinic's local date.
EARLIEST_LEDGER_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def _plausible_time(field: str, at: datetime, now: datetime) -> datetime:
    if at < EARLIEST_LEDGER_TIME:
        raise FieldInvalid(field, "too_early", f"on or after {EARLIEST_LEDGER_TIME:%Y-%m-%d}")
    if at > now + timedelta(minutes=5):
        raise FieldInvalid(field, "in_future", "cannot be in the future")
    return at


def strength(product: Product) -> controlled.ProductStrength:
    return controlled.ProductStrength(product.mg_per_ml, product.mg_per_device)


def _audit(
    actor: Actor, what: str, patient_id: int | None = None, action: str = Action.CREATE
) -> None:
    record_event(actor, action, f"ledger {what}"[:200], patient_id=patient_id)


# --- balances and entries ------------------------------------------------------------------


def _balance_keys(product_id: int, lot: str, location_id: int) -> list[tuple[str, str, str, Any]]:
    return [
        (f"product:{product_id}", Scope.PRODUCT, "", None),
        (f"lot:{product_id}:{lot}", Scope.LOT, lot, None),
        (f"location:{product_id}:{location_id}", Scope.LOCATION, "", location_id),
    ]


def _move_balances(
    product_id: int, lot: str, location_id: int, delta_mg: Decimal, delta_ml: Decimal
) -> None:
    for key, scope, key_lot, key_location in _balance_keys(product_id, lot, location_id):
        row = Balance.objects.select_for_update().filter(key=key).first()
        if row is None:
            row = Balance(
                key=key, scope=scope, product_id=product_id, lot=key_lot, location_id=key_location
            )
        row.balance_mg += delta_mg
        row.balance_ml += delta_ml
        row.save()


def _lock_container(container_id: int, field: str = "container_id") -> Container:
    container = (
        Container.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk=container_id)
        .first()
    )
    if container is None:
        raise NotFound(field, "No such container.")
    return container


def _post(
    actor: Actor,
    container: Container,
    kind: str,
    delta_mg: Decimal,
    delta_ml: Decimal,
    *,
    occurred_at: datetime,
    location_id: int | None = None,
    **fields: Any,
) -> Entry:
    """One entry on a locked container: its balance and the running balances move with it,
    refused (rule ``insufficient_balance``) when the container would go below zero."""
    delta_mg, delta_ml = delta_mg + 0, delta_ml + 0  # + 0: never a stored negative zero
    balance_mg = container.balance_mg + delta_mg
    balance_ml = container.balance_ml + delta_ml
    if balance_mg < 0 or balance_ml < 0:
        raise Conflict(
            f"{container.label} holds {container.balance_ml} mL ({container.balance_mg} mg): "
            "the ledger never goes below zero.",
            field="container_id",
            rule="insufficient_balance",
        )
    location_id = location_id or container.location_id
    container.balance_mg, container.balance_ml = balance_mg, balance_ml
    container.save(update_fields=["balance_mg", "balance_ml", "location", "quarantined"])
    entry = Entry(
        kind=kind,
        container=container,
        product_id=container.product_id,
        lot=container.lot,
        location_id=location_id,
        delta_mg=delta_mg,
        delta_ml=delta_ml,
        balance_mg_after=balance_mg,
        balance_ml_after=balance_ml,
        by_id=actor.person_id,
        occurred_at=occurred_at,
        **fields,
    )
    chain.append(entry)
    if delta_mg or delta_ml:
        _move_balances(container.product_id, container.lot, location_id, delta_mg, delta_ml)
    return entry


def _check_witness(
    witness: Witness | None,
    actor: Actor,
    *,
    field: str = "witness",
    roles: frozenset[str] = LICENSED,
    others: tuple[int, ...] = (),
) -> Witness:
    if witness is None:
        raise Conflict(
            "This needs a witness who signs in now.", field=field, rule="witness_required"
        )
    if witness.user_id == actor.user_id or witness.user_id in others:
        raise Conflict(
            "The witness must be someone else.", field=field, rule="witness_is_same_person"
        )
    if witness.role not in roles:
        raise Conflict(
            "The witness must be licensed staff (a nurse or a prescriber).",
            field=field,
            rule="witness_not_licensed",
        )
    return witness


def _usable(container: Container, on: date) -> None:
    if container.quarantined:
        raise Conflict(
            f"{container.label} is set aside and cannot be drawn from.",
            field="container_id",
            rule="quarantined",
        )
    if container.expires_on < on:
        raise Conflict(
            f"{container.label} expired on {container.expires_on}.",
            field="container_id",
            rule="expired",
        )


def _at_the_sessions_location(container: Container, session: Any) -> None:
    """The nurse draws where the session is: when locations serve the session's room or chair,
    the container must be at one of them (clinical-reference.md §12)."""
    resource_id = session.appointment.resource_id
    serving = set(
        StorageLocation.serves.through.objects.filter(resource_id=resource_id).values_list(
            "storagelocation_id", flat=True
        )
    )
    if serving and container.location_id not in serving:
        raise Conflict(
            f"{container.label} is at {container.location}, which does not serve "
            f"{session.appointment.resource}: draw from the stock at the session's chair.",
            field="container_id",
            rule="other_location",
        )


# --- the registrant ------------------------------------------------------------------------


def create_registration(
    actor: Actor, *, name: str, address: str, dea_number: str, expires_on: date
) -> Registration:
    _require_role(actor, MANAGERS, "manage registrations")
    number = dea.validate(dea_number)
    name = _required("name", name, "the registrant's name")
    address = _required("address", address, "the registered address")
    with transaction.atomic():
        if Registration.objects.filter(dea_number=number).exists():
            raise FieldInvalid("dea_number", "duplicate", "this DEA number is registered already")
        registration = Registration.objects.create(
            name=name, address=address, dea_number=number, expires_on=expires_on
        )
        _audit(actor, f"registration {registration.pk} {number}")
    return registration


def add_location(
    actor: Actor,
    registration: Registration,
    *,
    name: str,
    kind: str,
    serves: tuple[int, ...] = (),
) -> StorageLocation:
    """A storage location; ``serves``: the ids of the rooms and chairs it stocks (a session
    there draws only from the locations serving it)."""
    _require_role(actor, MANAGERS, "manage storage locations")
    name = _required("name", name, "the location's name")
    if kind not in LocationKind.values:
        raise FieldInvalid("kind", "choice", f"one of {', '.join(LocationKind.values)}")
    with transaction.atomic():
        if StorageLocation.objects.filter(registration=registration, name=name).exists():
            raise FieldInvalid("name", "duplicate", "a location of this name exists already")
        location = StorageLocation.objects.create(registration=registration, name=name, kind=kind)
        location.serves.set(_resources(serves))
        _audit(actor, f"location {location.pk} {name}")
    return location


def _resources(serves: Iterable[int]) -> list[int]:
    """The ids of rooms and chairs that exist (refused naming ``serves`` otherwise): a
    location serving a resource that is not there would stock no session."""
    wanted = sorted(set(serves))
    known = set(Resource.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [pk for pk in wanted if pk not in known]
    if missing:
        raise FieldInvalid("serves", "not_found", "no such room or chair", entered=missing)
    return wanted


def renew_registration(
    actor: Actor, registration_id: int, *, expires_on: date, now: datetime | None = None
) -> Registration:
    """The DEA renewed the registration: its new expiry, later than the current one and not
    in the past (a renewal never shortens a registration)."""
    _require_role(actor, MANAGERS, "manage registrations")
    today = timezone.localtime(_now(now)).date()
    if expires_on < today:
        raise FieldInvalid("expires_on", "in_past", "cannot be in the past", entered=expires_on)
    with transaction.atomic():
        registration = Registration.objects.select_for_update().filter(pk=registration_id).first()
        if registration is None:
            raise NotFound("registration_id", "No such registration.")
        if expires_on <= registration.expires_on:
            raise FieldInvalid(
                "expires_on",
                "not_later",
                f"must be after the current expiry, {registration.expires_on:%Y-%m-%d}",
                entered=expires_on,
            )
        before = registration.expires_on
        registration.expires_on = expires_on
        registration.save(update_fields=["expires_on"])
        _audit(
            actor,
            f"registration {registration.pk} renewed: expires {before} -> {expires_on}",
            action=Action.UPDATE,
        )
    return registration


def set_location_serves(
    actor: Actor, location_id: int, *, serves: Iterable[int]
) -> StorageLocation:
    """Which rooms and chairs a location stocks from now on (none: it stocks no one room)."""
    _require_role(actor, MANAGERS, "manage storage locations")
    with transaction.atomic():
        location = StorageLocation.objects.select_for_update().filter(pk=location_id).first()
        if location is None:
            raise NotFound("location_id", "No such storage location.")
        wanted = _resources(serves)
        location.serves.set(wanted)
        _audit(
            actor,
            f"location {location.pk} {location.name} serves {wanted or 'none'}",
            action=Action.UPDATE,
        )
    return location


# --- products ------------------------------------------------------------------------------

# The NDC as printed on a package, hyphenated: labeler, product and package codes (5-4-2, or
# the 10-digit 4-4-2 and 5-3-2; a 5-4-1 package code is written 5-4-2 with a leading zero).
# Without the hyphens a 10-digit NDC is ambiguous, so they are required.
NDC_SHAPE = re.compile(r"\d{5}-\d{4}-\d{2}|\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}")
# The labeler code of the seeded placeholder NDCs (migration 0002), and the words the seeded
# names carry until the clinic enters its own NDC.
PLACEHOLDER_LABELER = "99999"
PLACEHOLDER_NAME = " (placeholder NDC)"
# The session routes a product serves (``Product.route``; a session's route is one word).
PRODUCT_ROUTES: dict[str, str] = {
    "iv im": "IV infusion or IM injection (racemic ketamine)",
    "esketamine": "Esketamine nasal spray",
}
CONTROLLED_SCHEDULES: tuple[str, ...] = ("II", "III", "IV", "V")
# A strength fits the product's columns (7 digits, 2 of them decimals).
STRENGTH_LOW, STRENGTH_HIGH = Decimal("0.01"), Decimal("99999.99")
# Which strengths each form states: a vial its concentration and volume, a device its dose.
STRENGTH_FIELDS: dict[str, tuple[str, ...]] = {
    Form.VIAL: ("mg_per_ml", "ml_per_container"),
    Form.NASAL_DEVICE: ("mg_per_device",),
}


def _ndc(value: str | None) -> str:
    ndc = _required("ndc", value, "the NDC on the package")
    if not NDC_SHAPE.fullmatch(ndc):
        raise FieldInvalid(
            "ndc",
            "format",
            "must be written as on the package, with its hyphens: 5-4-2, 4-4-2 or 5-3-2 digits "
            "(for example 12345-6789-01)",
            entered=ndc,
        )
    if ndc.startswith(f"{PLACEHOLDER_LABELER}-"):
        raise FieldInvalid(
            "ndc",
            "placeholder",
            f"{PLACEHOLDER_LABELER} is the placeholder labeler code: enter the NDC on your package",
        )
    return ndc


def _ndc_free(ndc: str, product_id: int = 0) -> None:
    """No other product has ``ndc`` (0: a product not stored yet)."""
    if Product.objects.filter(ndc=ndc).exclude(pk=product_id).exists():
        raise FieldInvalid("ndc", "duplicate", "a product with this NDC exists already")


def _strengths(form: str, given: Mapping[str, Decimal | None]) -> list[FieldProblem]:
    """What is wrong with a product's strengths for its form: each the form needs, given and
    in range to 0.01; none it does not."""
    if form not in STRENGTH_FIELDS:
        return []  # the form itself is refused
    needed, a_form = STRENGTH_FIELDS[form], f"a {Form(form).label.lower()}"
    problems = []
    for field, value in given.items():
        if field not in needed:
            if value is not None:
                problems.append(FieldProblem(field, "not_for_form", f"is not given for {a_form}"))
        elif value is None:
            problems.append(FieldProblem(field, "required", f"is required for {a_form}"))
        elif not STRENGTH_LOW <= value <= STRENGTH_HIGH or value != value.quantize(STRENGTH_LOW):
            problems.append(
                FieldProblem(
                    field,
                    "out_of_range",
                    f"{STRENGTH_LOW} to {STRENGTH_HIGH}, to 0.01",
                    low=float(STRENGTH_LOW),
                    high=float(STRENGTH_HIGH),
                    entered=value,
                )
            )
    return problems


def add_product(
    actor: Actor,
    *,
    name: str,
    ndc: str,
    form: str,
    route: str,
    mg_per_ml: Decimal | None = None,
    ml_per_container: Decimal | None = None,
    mg_per_device: Decimal | None = None,
    schedule: str = "III",
) -> Product:
    """A controlled product as its package describes it: a vial by ``mg_per_ml`` and
    ``ml_per_container``, a nasal device by ``mg_per_device``; the session routes it serves."""
    _require_role(actor, MANAGERS, "manage products")
    problems: list[FieldProblem] = []
    checked: dict[str, str] = {}
    for field, test in (
        ("name", lambda: _required("name", name, "the product's name as on the package")),
        ("ndc", lambda: _ndc(ndc)),
    ):
        try:
            checked[field] = test()
        except FieldInvalid as refused:
            problems.extend(refused.problems)
    if form not in Form.values:
        problems.append(FieldProblem("form", "choice", f"one of {', '.join(Form.values)}"))
    if route not in PRODUCT_ROUTES:
        problems.append(FieldProblem("route", "choice", f"one of {', '.join(PRODUCT_ROUTES)}"))
    if schedule not in CONTROLLED_SCHEDULES:
        problems.append(
            FieldProblem("schedule", "choice", f"one of {', '.join(CONTROLLED_SCHEDULES)}")
        )
    strengths = {
        "mg_per_ml": mg_per_ml,
        "ml_per_container": ml_per_container,
        "mg_per_device": mg_per_device,
    }
    problems += _strengths(form, strengths)
    if problems:
        raise FieldInvalid.of(problems)
    with transaction.atomic():
        _ndc_free(checked["ndc"])
        product = Product.objects.create(
            name=checked["name"],
            ndc=checked["ndc"],
            form=form,
            route=route,
            schedule=schedule,
            **strengths,
        )
        _audit(actor, f"product {product.pk} {product.ndc} {product.name}")
    return product


def set_product_ndc(actor: Actor, product_id: int, *, ndc: str) -> Product:
    """The NDC on the clinic's package, in place of a placeholder (or a mistyped one): only
    while no container of the product was received, so every receipt and entry of it was
    made under the NDC it carries. Clears the placeholder mark (and the seeded name's)."""
    _require_role(actor, MANAGERS, "manage products")
    ndc = _ndc(ndc)
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise NotFound("product_id", "No such product.")
        if Container.objects.filter(product=product).exists():
            raise Conflict(
                f"{product.name} has stock received under NDC {product.ndc}: its NDC stays.",
                field="ndc",
                rule="has_stock",
            )
        _ndc_free(ndc, product.pk)
        before = product.ndc
        product.ndc, product.ndc_is_placeholder = ndc, False
        product.name = product.name.removesuffix(PLACEHOLDER_NAME)
        product.save(update_fields=["ndc", "ndc_is_placeholder", "name"])
        _audit(actor, f"product {product.pk} NDC {before} -> {ndc}", action=Action.UPDATE)
    return product


# --- receipts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Supplier:
    name: str
    address: str
    dea_number: str


def record_receipt(
    actor: Actor,
    *,
    product_ndc: str,
    supplier: Supplier,
    invoice: str,
    lot: str,
    expires_on: date,
    containers: int,
    received_at: datetime,
    location_id: int | None = None,
    witness: Witness | None = None,
    now: datetime | None = None,
) -> Receipt:
    """Stock received: the receipt, one labelled container per vial or device (each full), and
    a receipt entry for each."""
    _require_role(actor, MANAGERS, "record receipts")
    at = _now(now)
    problems: list[FieldProblem] = []

    def check(field: str, test: Any) -> Any:
        try:
            return test()
        except FieldInvalid as refused:
            problems.extend(refused.problems)
            return None

    supplier_dea = check(
        "supplier.dea_number", lambda: dea.validate(supplier.dea_number, "supplier.dea_number")
    )
    for field, value, what in (
        ("supplier.name", supplier.name, "the supplier's name"),
        ("supplier.address", supplier.address, "the supplier's address"),
        ("invoice", invoice, "the invoice number"),
        ("lot", lot, "the lot on the package"),
    ):
        check(field, lambda v=value, f=field, w=what: _required(f, v, w))
    if not 1 <= containers <= MAX_CONTAINERS_PER_RECEIPT:
        problems.append(
            FieldProblem("containers", "out_of_range", f"1 to {MAX_CONTAINERS_PER_RECEIPT}")
        )
    if check("received_at", lambda: _plausible_time("received_at", received_at, at)) and (
        expires_on < timezone.localtime(received_at).date()
    ):
        problems.append(FieldProblem("expires_on", "expired", "the stock had expired on receipt"))
    product = Product.objects.filter(ndc=_text(product_ndc)).first()
    if product is None:
        problems.append(FieldProblem("product_ndc", "not_found", "no product with this NDC"))
    if problems:
        raise FieldInvalid.of(problems)
    assert product is not None
    with transaction.atomic():
        location = _location(location_id)
        if witness is not None:
            _check_witness(witness, actor, roles=MANAGERS | LICENSED)
        receipt = Receipt.objects.create(
            registration_id=location.registration_id,
            product=product,
            location=location,
            supplier_name=_text(supplier.name),
            supplier_address=_text(supplier.address),
            supplier_dea_number=supplier_dea,
            invoice=_text(invoice),
            lot=_text(lot),
            expires_on=expires_on,
            containers=containers,
            received_at=received_at,
            received_by_id=actor.person_id,
            witnessed_by_id=witness.user_id if witness else None,
        )
        full_mg, full_ml = product.mg_per_container, product.ml_container
        for number in range(1, containers + 1):
            container = Container.objects.create(
                receipt=receipt,
                product=product,
                lot=receipt.lot,
                expires_on=expires_on,
                label=f"R{receipt.pk}-{number:03d}",
                location=location,
                balance_mg=0,
                balance_ml=0,
            )
            _post(
                actor,
                container,
                Kind.RECEIPT,
                Decimal(full_mg),
                Decimal(full_ml),
                occurred_at=received_at,
                receipt=receipt,
                witness_id=receipt.witnessed_by_id,
            )
        _audit(actor, f"receipt {receipt.pk}: {containers} x {product.ndc} lot {receipt.lot}")
    return receipt


def _location(location_id: int | None, field: str = "location_id") -> StorageLocation:
    locations = StorageLocation.objects.order_by("id")
    location = locations.filter(pk=location_id).first() if location_id else locations.first()
    if location is None:
        if location_id:
            raise NotFound(field, "No such storage location.")
        raise Conflict(
            "Set up a registration and a storage location first.",
            field=field,
            rule="no_location",
        )
    return location


# --- withdrawals ---------------------------------------------------------------------------


def record_withdrawal(
    actor: Actor,
    *,
    container_id: int,
    session: Any,
    administration: Any = None,
    drawn_ml: Decimal | None,
    given_ml: Decimal | None,
    wasted_ml: Decimal | None,
    waste_manner: str = "",
    witness: Witness | None = None,
    now: datetime | None = None,
) -> Entry:
    """Drawn from one container for a dosing session (and its administration, when recorded):
    drawn = given + wasted to 0.01 mL; waste with its manner and, by default, a witness; refused
    below zero, from an expired or set-aside container, or for a product of another route.

    The session page's administration step calls this inside its own transaction, so the
    administration and the entry are stored together or not at all."""
    _require_role(actor, LICENSED, "draw controlled substances")
    at = _now(now)
    manner = _text(waste_manner)
    with transaction.atomic():
        container = _lock_container(container_id)
        quantities = controlled.withdrawal(
            strength(container.product), drawn_ml=drawn_ml, given_ml=given_ml, wasted_ml=wasted_ml
        )
        if quantities.wasted_ml > 0 and not manner:
            raise FieldInvalid("waste_manner", "required", "how the rest was wasted")
        if session.state == "cancelled":
            raise Conflict("The session was cancelled.", field="session_id", rule="cancelled")
        if session.state in BEFORE_ORDER:
            raise Conflict(
                "The session has no signed dose order yet.", field="session_id", rule="no_order"
            )
        if session.course.route not in container.product.route.split():
            raise Conflict(
                f"{container.product.name} is not used for this session's route.",
                field="container_id",
                rule="wrong_route",
            )
        if administration is None:
            administration = getattr(session, "administration", None)
        elif administration.session_id != session.pk:
            raise FieldInvalid("administration", "other_session", "not this session's")
        _usable(container, timezone.localtime(at).date())
        _at_the_sessions_location(container, session)
        witnessed = None
        if quantities.wasted_ml > 0 and conf.witness_required():
            witnessed = _check_witness(witness, actor)
        entry = _post(
            actor,
            container,
            Kind.WITHDRAWAL,
            -quantities.drawn_mg,
            -quantities.drawn_ml,
            occurred_at=at,
            given_mg=quantities.given_mg,
            given_ml=quantities.given_ml,
            wasted_mg=quantities.wasted_mg,
            wasted_ml=quantities.wasted_ml,
            manner=manner,
            session_id=session.pk,
            administration_id=administration.pk if administration is not None else None,
            patient_id=session.patient_id,
            witness_id=witnessed.user_id if witnessed else None,
        )
        _audit(
            actor,
            f"withdrawal {entry.pk} from {container.label} for session {session.pk}: "
            f"{quantities.given_mg} mg given, {quantities.wasted_mg} mg wasted",
            session.patient_id,
        )
    return entry


# --- adjustments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LossDetails:
    """The DEA Form 106 details of a theft or significant loss."""

    discovered_at: datetime
    loss_type: str
    description: str
    police_notified: bool | None = None
    police_report: str = ""


def record_adjustment(
    actor: Actor,
    *,
    container_id: int,
    kind: str,
    reason: str,
    quantity_ml: Decimal | None = None,
    reverses: int | None = None,
    manner: str = "",
    witness: Witness | None = None,
    second_witness: Witness | None = None,
    to_location_id: int | None = None,
    loss: LossDetails | None = None,
    now: datetime | None = None,
) -> Entry:
    """Any movement that is not a receipt or a withdrawal: a transfer (``transfer``, to
    ``to_location_id``), a return to the supplier, a breakage or spill (witnessed), expired
    stock set aside, a destruction (DEA Form 41: manner and two witnesses), a theft or
    significant loss (DEA Form 106 details), or a reversal citing the entry it reverses."""
    if kind not in ADJUSTMENT_KINDS:
        raise FieldInvalid("kind", "choice", f"one of {', '.join(sorted(ADJUSTMENT_KINDS))}")
    _require_role(actor, ADJUSTERS[kind], f"record this kind of entry ({kind})")
    at = _now(now)
    reason = _required("reason", reason, "why (a sentence)")
    with transaction.atomic():
        container = _lock_container(container_id)
        if kind == Kind.REVERSAL:
            entry = _reverse(actor, container, reverses, reason, at)
        elif kind == TRANSFER:
            entry = _transfer(actor, container, to_location_id, reason, at)
        elif kind == Kind.SET_ASIDE:
            container.quarantined = True
            entry = _post(
                actor, container, kind, Decimal(0), Decimal(0), occurred_at=at, reason=reason
            )
        else:
            entry = _remove(
                actor,
                container,
                kind,
                quantity_ml,
                reason,
                manner,
                witness,
                second_witness,
                loss,
                at,
            )
        _audit(actor, f"{kind} {entry.pk} of {container.label}: {entry.delta_ml} mL")
    return entry


def _remove(
    actor: Actor,
    container: Container,
    kind: str,
    quantity_ml: Decimal | None,
    reason: str,
    manner: str,
    witness: Witness | None,
    second_witness: Witness | None,
    loss: LossDetails | None,
    at: datetime,
) -> Entry:
    mg, ml = controlled.movement(strength(container.product), quantity_ml)
    fields: dict[str, Any] = {"reason": reason}
    if kind == Kind.DESTRUCTION:
        # DEA Form 41: the manner, and two employees who witness the destruction.
        fields["manner"] = _required("manner", manner, "how it was destroyed")
        staff = LICENSED | MANAGERS
        first = _check_witness(witness, actor, roles=staff)
        second = _check_witness(
            second_witness, actor, field="second_witness", roles=staff, others=(first.user_id,)
        )
        fields.update(witness_id=first.user_id, second_witness_id=second.user_id)
    elif kind == Kind.BREAKAGE and conf.witness_required():
        fields["witness_id"] = _check_witness(witness, actor, roles=LICENSED | MANAGERS).user_id
    if kind == Kind.LOSS:
        details = _loss_details(loss, at)
    entry = _post(actor, container, kind, -mg, -ml, occurred_at=at, **fields)
    if kind == Kind.LOSS:
        LossReport.objects.create(entry=entry, **details)
    return entry


def _loss_details(loss: LossDetails | None, at: datetime) -> dict[str, Any]:
    if loss is None:
        raise FieldInvalid("loss", "required", "the DEA Form 106 details")
    problems: list[FieldProblem] = []
    if loss.loss_type not in LossType.values:
        problems.append(
            FieldProblem("loss.loss_type", "choice", f"one of {', '.join(LossType.values)}")
        )
    if not _text(loss.description):
        problems.append(FieldProblem("loss.description", "required", "what happened"))
    try:
        _plausible_time("loss.discovered_at", loss.discovered_at, at)
    except FieldInvalid as refused:
        problems.extend(refused.problems)
    if problems:
        raise FieldInvalid.of(problems)
    return {
        "discovered_at": loss.discovered_at,
        "loss_type": loss.loss_type,
        "description": _text(loss.description),
        "police_notified": loss.police_notified,
        "police_report": _text(loss.police_report),
    }


def _transfer(
    actor: Actor, container: Container, to_location_id: int | None, reason: str, at: datetime
) -> Entry:
    if not to_location_id:
        raise FieldInvalid("to_location_id", "required", "where it goes")
    target = _location(to_location_id, "to_location_id")
    if target.pk == container.location_id:
        raise FieldInvalid("to_location_id", "same_location", "it is there already")
    moving_mg, moving_ml = container.balance_mg, container.balance_ml
    out = _post(
        actor, container, Kind.TRANSFER_OUT, -moving_mg, -moving_ml, occurred_at=at, reason=reason
    )
    container.location = target
    _post(
        actor,
        container,
        Kind.TRANSFER_IN,
        moving_mg,
        moving_ml,
        occurred_at=at,
        reason=reason,
        counterpart=out,
    )
    return out


def _reverse(
    actor: Actor, container: Container, reverses: int | None, reason: str, at: datetime
) -> Entry:
    if not reverses:
        raise FieldInvalid("reverses", "required", "the entry this reverses")
    original = Entry.objects.filter(pk=reverses, container=container).first()
    if original is None:
        raise NotFound("reverses", "No such entry of this container.")
    if original.kind not in REVERSIBLE:
        raise Conflict(
            f"A {original.get_kind_display().lower()} entry is not reversed (transfer back "
            "instead).",
            field="reverses",
            rule="not_reversible",
        )
    if Entry.objects.filter(reverses=original).exists():
        raise Conflict("That entry is reversed already.", field="reverses", rule="already_reversed")
    if original.kind == Kind.SET_ASIDE:
        container.quarantined = False
    return _post(
        actor,
        container,
        Kind.REVERSAL,
        -original.delta_mg,
        -original.delta_ml,
        occurred_at=at,
        reason=reason,
        reverses=original,
        given_mg=-original.given_mg,
        given_ml=-original.given_ml,
        wasted_mg=-original.wasted_mg,
        wasted_ml=-original.wasted_ml,
        session_id=original.session_id,
        administration_id=original.administration_id,
        patient_id=original.patient_id,
    )


def mark_loss_filed(
    actor: Actor,
    report_id: int,
    *,
    dea_reference: str = "",
    filed_at: datetime | None = None,
    now: datetime | None = None,
) -> LossReport:
    """The Form 106 was filed with the DEA: the reminder stops."""
    _require_role(actor, MANAGERS, "file loss reports")
    at = _now(now)
    filed_at = filed_at or at
    _plausible_time("filed_at", filed_at, at)
    with transaction.atomic():
        report = LossReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound("report_id", "No such loss report.")
        if report.filed_at is not None:
            raise Conflict("This loss report is marked filed already.", rule="already_filed")
        report.filed_at, report.filed_by_id = filed_at, actor.person_id
        report.dea_reference = _text(dea_reference)
        report.save()
        _audit(actor, f"loss report {report.pk} filed {report.dea_reference}")
    return report


# --- counts --------------------------------------------------------------------------------


def record_count(
    actor: Actor,
    *,
    location_id: int,
    found: Mapping[int, Decimal],
    second_counter: Witness | None,
    counted_at: datetime | None = None,
    now: datetime | None = None,
) -> Count:
    """Two staff count a location: ``found`` gives, per container id on hand there, mL found
    in a vial or devices found (0 or 1). A difference from the book opens a discrepancy."""
    _require_role(actor, MANAGERS | LICENSED, "count stock")
    at = _now(now)
    counted_at = counted_at or at
    _plausible_time("counted_at", counted_at, at)
    with transaction.atomic():
        location = _location(location_id)
        second = _check_witness(
            second_counter, actor, field="second_counter", roles=MANAGERS | LICENSED
        )
        on_hand = list(
            Container.objects.select_for_update(of=("self",))
            .select_related("product")
            .filter(location=location, balance_mg__gt=0)
            .order_by("id")
        )
        problems = [
            FieldProblem(f"found[{c.pk}]", "required", f"what was found in {c.label}")
            for c in on_hand
            if found.get(c.pk) is None
        ]
        known = {c.pk for c in on_hand}
        problems += [
            FieldProblem(f"found[{pk}]", "not_here", "no such container on hand at this location")
            for pk in found
            if pk not in known
        ]
        if problems:
            raise FieldInvalid.of(problems)
        count = Count.objects.create(
            location=location,
            counted_at=counted_at,
            counted_by_id=actor.person_id,
            second_counter_id=second.user_id,
        )
        opened = 0
        for container in on_hand:
            found_mg, found_ml = _found(container, found[container.pk])
            line = CountLine.objects.create(
                count=count,
                container=container,
                found_mg=found_mg,
                found_ml=found_ml,
                book_mg=container.balance_mg,
                book_ml=container.balance_ml,
            )
            if found_mg != container.balance_mg or found_ml != container.balance_ml:
                Discrepancy.objects.create(
                    line=line,
                    difference_mg=found_mg - container.balance_mg,
                    difference_ml=found_ml - container.balance_ml,
                )
                opened += 1
        _audit(actor, f"count {count.pk} of {location.name}: {opened} discrepancies")
    return count


def _found(container: Container, value: Decimal) -> tuple[Decimal, Decimal]:
    field = f"found[{container.pk}]"
    product = container.product
    if value < 0 or value != value.quantize(controlled.ML_STEP):
        raise FieldInvalid(field, "out_of_range", "0 or more, to 0.01 mL")
    if product.mg_per_device is not None:
        if value not in (0, 1):
            raise FieldInvalid(field, "out_of_range", "a device is there (1) or not (0)")
        return product.mg_per_device * value, Decimal(0)
    return controlled.mg_of(value, strength(product)), value


def resolve_discrepancy(
    actor: Actor, discrepancy_id: int, *, reason: str, now: datetime | None = None
) -> Discrepancy:
    """Close a discrepancy with a reason and an entry adjusting the book to what was found."""
    _require_role(actor, MANAGERS | {Role.PRESCRIBER}, "resolve discrepancies")
    at = _now(now)
    reason = _required("reason", reason, "what explains the difference")
    with transaction.atomic():
        found = Discrepancy.objects.select_related("line").filter(pk=discrepancy_id).first()
        if found is None:
            raise NotFound("discrepancy_id", "No such discrepancy.")
        container = _lock_container(found.line.container_id, "discrepancy_id")
        discrepancy = Discrepancy.objects.select_for_update().get(pk=found.pk)
        if discrepancy.resolved_at is not None:
            raise Conflict("This discrepancy is resolved already.", rule="already_resolved")
        entry = _post(
            actor,
            container,
            Kind.COUNT_ADJUSTMENT,
            discrepancy.difference_mg,
            discrepancy.difference_ml,
            occurred_at=at,
            reason=reason,
        )
        discrepancy.resolved_at, discrepancy.resolved_by_id = at, actor.person_id
        discrepancy.resolution, discrepancy.adjustment = reason, entry
        discrepancy.save()
        _audit(actor, f"discrepancy {discrepancy.pk} resolved by entry {entry.pk}")
    return discrepancy


# --- the biennial inventory ----------------------------------------------------------------


def take_inventory(
    actor: Actor,
    *,
    registration_id: int,
    kind: str,
    taken_on: date,
    timing: str,
    estimates_ml: Mapping[int, Decimal] | None = None,
    now: datetime | None = None,
) -> Inventory:
    """The initial or biennial inventory of every container on hand (21 CFR 1304.11): the book
    quantity for a sealed container; for an opened one, the book quantity or the estimate given
    (Schedule III allows an estimate). Signed by the admin who takes it."""
    _require_role(actor, MANAGERS, "take inventories")
    at = _now(now)
    problems: list[FieldProblem] = []
    if kind not in InventoryKind.values:
        problems.append(FieldProblem("kind", "choice", "initial or biennial"))
    if timing not in InventoryTiming.values:
        problems.append(FieldProblem("timing", "choice", "opening or close of business"))
    # The lines are the book quantities on hand now: an inventory dated another day would
    # record that day with today's stock.
    if taken_on != timezone.localtime(at).date():
        problems.append(
            FieldProblem(
                "taken_on", "not_today", "must be today: an inventory counts the stock on hand now"
            )
        )
    if problems:
        raise FieldInvalid.of(problems)
    estimates = dict(estimates_ml or {})
    with transaction.atomic():
        registration = Registration.objects.filter(pk=registration_id).first()
        if registration is None:
            raise NotFound("registration_id", "No such registration.")
        containers = list(
            Container.objects.select_related("product")
            .filter(location__registration=registration, balance_mg__gt=0)
            .order_by("id")
        )
        inventory = Inventory.objects.create(
            registration=registration,
            kind=kind,
            taken_on=taken_on,
            timing=timing,
            signed_by_id=actor.person_id,
            signed_at=at,
        )
        for container in containers:
            sealed = container.balance_mg == container.product.mg_per_container
            estimate = None if sealed else estimates.pop(container.pk, None)
            ml = container.balance_ml if estimate is None else estimate
            mg = container.balance_mg if estimate is None else _found(container, estimate)[0]
            InventoryLine.objects.create(
                inventory=inventory,
                container=container,
                sealed=sealed,
                quantity_ml=ml,
                quantity_mg=mg,
                estimated=estimate is not None,
            )
        if estimates:
            raise FieldInvalid.of(
                [
                    FieldProblem(f"estimates_ml[{pk}]", "not_opened", "only an opened container")
                    for pk in estimates
                ]
            )
        _audit(actor, f"{kind} inventory {inventory.pk} of {taken_on}")
    return inventory
