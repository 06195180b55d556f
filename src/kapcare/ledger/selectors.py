"""Every read of the ledger that a page, a report, the API or a check shows. Each is a fixed
number of queries whatever the number of rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count as Counted
from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Sum
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.courses.models import Resource
from kapcare.ledger import conf
from kapcare.ledger.models import (
    Balance,
    Container,
    Discrepancy,
    Entry,
    Inventory,
    Kind,
    LossReport,
    Product,
    Registration,
    StorageLocation,
)
from kapcare.patients.models import Patient


def products() -> QuerySet[Product]:
    return Product.objects.order_by("name")


def containers(*, product_ndc: str = "", lot: str = "") -> QuerySet[Container]:
    found = Container.objects.select_related("product", "location").order_by("id")
    if product_ndc:
        found = found.filter(product__ndc=product_ndc)
    if lot:
        found = found.filter(lot=lot)
    return found


def usable_containers(route: str, on: date, resource_id: int | None = None) -> list[Container]:
    """What a session of ``route`` in room or chair ``resource_id`` may draw from on ``on``:
    its products' containers with something left, not expired and not set aside, at a location
    serving the room or chair when any does, by product, expiry (first to expire first) and
    label. Two queries."""
    found = Container.objects.select_related("product", "location").filter(
        product__route__contains=route, balance_mg__gt=0, quarantined=False, expires_on__gte=on
    )
    serving = list(
        StorageLocation.objects.filter(serves=resource_id).values_list("pk", flat=True)
        if resource_id
        else []
    )
    if serving:
        found = found.filter(location__in=serving)
    return list(found.order_by("product__name", "expires_on", "label"))


def container_choice(container: Container) -> str:
    """A container as a select shows it: label, lot, expiry and balance in mL and mg."""
    return (
        f"{container.label} · {container.product.name} · lot {container.lot} · "
        f"expires {container.expires_on:%Y-%m-%d} · {container.balance_ml} mL "
        f"({container.balance_mg} mg) · {container.location.name}"
    )


def entries(*, container_id: int | None = None, since: datetime | None = None) -> QuerySet[Entry]:
    found = Entry.objects.select_related("container", "product").order_by("id")
    if container_id is not None:
        found = found.filter(container_id=container_id)
    if since is not None:
        found = found.filter(occurred_at__gte=since)
    return found


# --- the ledger home ----------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    registrations: list[Registration]
    balances: list[Balance]  # per product, lot and location
    on_hand: list[Container]
    expiring: list[Container]
    discrepancies: list[Discrepancy]
    unfiled_losses: list[LossReport]
    locations: list[StorageLocation]


def unfiled_losses() -> list[LossReport]:
    return list(
        LossReport.objects.filter(filed_at__isnull=True)
        .select_related("entry__container", "entry__product")
        .order_by("discovered_at")
    )


def open_discrepancies() -> list[Discrepancy]:
    return list(
        Discrepancy.objects.filter(resolved_at__isnull=True)
        .select_related("line__container__product", "line__count__location")
        .order_by("id")
    )


def home(today: date | None = None) -> Home:
    today = today or timezone.localdate()
    on_hand = list(
        Container.objects.filter(balance_mg__gt=0)
        .select_related("product", "location")
        .order_by("product__name", "expires_on", "lot", "label")
    )
    soon = today + timedelta(days=conf.expiring_days())
    return Home(
        registrations=list(Registration.objects.order_by("name")),
        balances=list(
            Balance.objects.select_related("product", "location")
            .exclude(balance_mg=0)
            .order_by("product__name", "scope", "lot", "location__name")
        ),
        on_hand=on_hand,
        expiring=[c for c in on_hand if c.expires_on <= soon],
        discrepancies=open_discrepancies(),
        unfiled_losses=unfiled_losses(),
        locations=list(StorageLocation.objects.order_by("name")),
    )


# --- the set-up ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationSetUp:
    registration: Registration
    locations: list[StorageLocation]  # each with its ``serves`` fetched
    expired: bool
    expiring: bool  # within the ledger's expiring window (``conf.expiring_days``)


@dataclass(frozen=True)
class SetUp:
    registrations: list[RegistrationSetUp]
    products: list[Product]  # each with ``stocked``: any container received
    resources: list[Resource]  # every room and chair a location may serve


def setup(today: date | None = None) -> SetUp:
    """The registrant's set-up: registrations with their locations and the rooms and chairs
    each serves, products, and the rooms and chairs. Five queries."""
    today = today or timezone.localdate()
    soon = today + timedelta(days=conf.expiring_days())
    registrations = Registration.objects.order_by("name").prefetch_related(
        Prefetch(
            "locations",
            StorageLocation.objects.order_by("name").prefetch_related(
                Prefetch("serves", Resource.objects.order_by("kind", "name"))
            ),
        )
    )
    return SetUp(
        registrations=[
            RegistrationSetUp(
                registration,
                list(registration.locations.all()),
                expired=registration.expires_on < today,
                expiring=today <= registration.expires_on <= soon,
            )
            for registration in registrations
        ],
        products=list(
            Product.objects.annotate(
                stocked=Exists(Container.objects.filter(product=OuterRef("pk")))
            ).order_by("name")
        ),
        resources=setup_resources(),
    )


def setup_resources() -> list[Resource]:
    """Every room and chair a storage location may serve (one no longer in use too, so that
    a location serving it keeps it until the admin unticks it)."""
    return list(Resource.objects.order_by("kind", "name"))


# --- the balance check --------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    what: str  # "container R1-001", or a balance key
    stored_mg: Decimal
    entries_mg: Decimal
    stored_ml: Decimal
    entries_ml: Decimal


def check_balances() -> list[Mismatch]:
    """Compare every stored balance (each container's, and each per product, lot and
    location) with the sum of the entries; an empty list when they all agree."""
    rows = (
        Entry.objects.values("container_id", "product_id", "lot", "location_id")
        .annotate(mg=Sum("delta_mg"), ml=Sum("delta_ml"))
        .order_by()
    )
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        product, lot, location = row["product_id"], row["lot"], row["location_id"]
        for key in (
            f"container:{row['container_id']}",
            f"product:{product}",
            f"lot:{product}:{lot}",
            f"location:{product}:{location}",
        ):
            totals[key][0] += row["mg"]
            totals[key][1] += row["ml"]
    sums = {key: (mg, ml) for key, (mg, ml) in totals.items()}
    stored = {
        f"container:{pk}": (label, mg, ml)
        for pk, label, mg, ml in Container.objects.values_list(
            "pk", "label", "balance_mg", "balance_ml"
        )
    }
    stored |= {
        key: (key, mg, ml)
        for key, mg, ml in Balance.objects.values_list("key", "balance_mg", "balance_ml")
    }
    zero = (Decimal(0), Decimal(0))
    found = []
    for key in sorted(stored.keys() | sums.keys()):
        name, mg, ml = stored.get(key, (key, Decimal(0), Decimal(0)))
        entries_mg, entries_ml = sums.get(key, zero)
        if (mg, ml) != (entries_mg, entries_ml):
            what = f"container {name}" if key.startswith("container:") else key
            found.append(Mismatch(what, mg, entries_mg, ml, entries_ml))
    return found


# --- reports ------------------------------------------------------------------------------


def _in_period(found: QuerySet[Entry], start: date, end: date) -> QuerySet[Entry]:
    """Entries from the start of ``start`` to the end of ``end``, clinic time; bounds on the
    column itself, so the (product, occurred_at) index serves (a ``__date`` lookup would
    compute a date for every row)."""
    return found.filter(occurred_at__gte=_day_start(start), occurred_at__lt=_day_start(end, 1))


def _day_start(day: date, plus_days: int = 0) -> datetime:
    return timezone.make_aware(
        datetime.combine(day + timedelta(days=plus_days), datetime.min.time())
    )


def dispensing_log(product_id: int | None, start: date, end: date) -> QuerySet[Entry]:
    """Withdrawals of one product (or all) in a period, and their reversals."""
    found = (
        Entry.objects.all() if product_id is None else Entry.objects.filter(product_id=product_id)
    )
    return _in_period(
        found.filter(kind__in=[Kind.WITHDRAWAL, Kind.REVERSAL], patient__isnull=False), start, end
    ).order_by("occurred_at", "id")


def container_history(container_id: int) -> QuerySet[Entry]:
    return Entry.objects.filter(container_id=container_id).order_by("id")


def lot_history(product_id: int, lot: str) -> QuerySet[Entry]:
    return Entry.objects.filter(product_id=product_id, lot=lot).order_by("id")


def patient_administrations(patient_id: int) -> QuerySet[Entry]:
    return Entry.objects.filter(patient_id=patient_id).order_by("occurred_at", "id")


def product_entries(product_id: int, start: date, end: date) -> QuerySet[Entry]:
    """Every entry of one product in a period, in order (the running-balance ledger)."""
    return _in_period(Entry.objects.filter(product_id=product_id), start, end).order_by(
        "occurred_at", "id"
    )


def product_balance_before(
    product_id: int, start: date, skipped: QuerySet[Entry] | None
) -> tuple[Decimal, Decimal]:
    """The product's balance (mg, mL) before ``start``, plus the entries of ``skipped`` (the
    period's rows before a report page): one sum each."""
    mg, ml = Decimal(0), Decimal(0)
    for found in (
        Entry.objects.filter(product_id=product_id, occurred_at__lt=_day_start(start)),
        skipped,
    ):
        if found is None:
            continue
        total = found.aggregate(mg=Sum("delta_mg"), ml=Sum("delta_ml"))
        mg, ml = mg + (total["mg"] or 0), ml + (total["ml"] or 0)
    return mg, ml


def report_rows(
    found: QuerySet[Entry], shape: Sequence[Any], offset: int = 0, limit: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """``found``'s rows (from ``offset``, at most ``limit``) as tuples of ``shape``'s columns,
    each a field path or an expression (a report's columns, ``reports``), streamed.

    Straight from the driver, past Django's per-value converters, which cost more than the
    fetch itself at two years of entries: a time is aware or naive UTC (SQLite), and a report
    asks for quantities as floats and shapes names and texts in the query, so each row is few
    values, cheap to convert."""
    annotations = {
        f"report_{number}": column
        for number, column in enumerate(shape)
        if not isinstance(column, str)
    }
    names = [
        column if isinstance(column, str) else f"report_{number}"
        for number, column in enumerate(shape)
    ]
    rows = found.annotate(**annotations).values_list(*names)
    if limit is not None:
        rows = rows[offset : offset + limit]
    sql, params = rows.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(5000):
            yield from chunk


@dataclass(frozen=True)
class ReportNames:
    """What a report's rows name by id: containers by label, patients as "Family, Given (MRN
    n)", staff, storage locations and products by name."""

    containers: dict[int, str]
    patients: dict[int, str]
    people: dict[int, str]
    locations: dict[int, str]
    products: dict[int, str]


def report_names(found: QuerySet[Entry]) -> ReportNames:
    """The names ``found``'s rows refer to: five queries whatever the number of rows (the
    containers and patients of ``found``; every member of staff, location and product)."""
    ids = found.values("container_id")
    patients = Patient.objects.filter(pk__in=found.values("patient_id")).values_list(
        "pk", "family_name", "given_name"
    )
    staff = User.objects.exclude(role=Role.PATIENT).values_list("pk", "full_name")
    return ReportNames(
        containers=dict(Container.objects.filter(pk__in=ids).values_list("pk", "label")),
        patients={pk: f"{family}, {given} (MRN {pk})" for pk, family, given in patients},
        people=dict(staff),
        locations=dict(StorageLocation.objects.values_list("pk", "name")),
        products=dict(Product.objects.values_list("pk", "name")),
    )


def inventory(inventory_id: int) -> Inventory | None:
    return (
        Inventory.objects.select_related("registration", "signed_by")
        .prefetch_related("lines__container__product", "lines__container__location")
        .filter(pk=inventory_id)
        .first()
    )


def inventories() -> list[Inventory]:
    return list(
        Inventory.objects.select_related("signed_by")
        .annotate(containers=Counted("lines"))
        .order_by("-taken_on", "-id")
    )
