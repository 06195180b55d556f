"""The controlled-substance ledger (docs/architecture.md §15; docs/clinical-reference.md §12).

`Entry` is the ledger: every movement of stock, append-only and hash-chained. Everything else
is either the registrant's set-up (registration, locations, products), a record that an entry
starts from (receipt, count, loss report, biennial inventory), or a stored running balance
(`Container`'s own balance and `Balance` per lot, product and location), which services update
in the same transaction as the entry that moves it.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models

from kapcare.records import ImmutableError


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """No bulk update or delete of ledger records (a mistake is corrected by a new entry)."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableError("Ledger records cannot be updated; add a reversing entry.")

    def delete(self) -> NoReturn:
        raise ImmutableError("Ledger records cannot be deleted.")


class WrittenOnce(models.Model):
    """A row stored once and never changed or deleted."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableError("Ledger records cannot be changed; add a reversing entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableError("Ledger records cannot be deleted.")


def _staff(related_name: str = "+", *, null: bool = False) -> Any:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name=related_name,
        null=null,
        blank=null,
    )


# --- the registrant ------------------------------------------------------------------------


class Registration(models.Model):
    """A DEA registration of the clinic (name, address, number, expiry)."""

    name = models.CharField(max_length=200)
    address = models.TextField()
    dea_number = models.CharField(max_length=9, unique=True)
    expires_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.dea_number})"


class LocationKind(models.TextChoices):
    SAFE = "safe", "Safe"
    LOCKBOX = "lockbox", "Lockbox"
    CART = "cart", "Cart"


class StorageLocation(models.Model):
    registration = models.ForeignKey(
        Registration, on_delete=models.PROTECT, related_name="locations"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=LocationKind.choices)
    # The rooms and chairs this location stocks (a cart at two chairs). A session in a room or
    # chair named here draws only from such locations; one named by none may draw from any.
    serves = models.ManyToManyField("courses.Resource", blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "name"], name="location_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class Form(models.TextChoices):
    VIAL = "vial", "Vial"
    NASAL_DEVICE = "nasal_device", "Nasal spray device"


class Product(models.Model):
    """A controlled product as its package describes it. A vial has ``mg_per_ml`` and
    ``ml_per_container``; a nasal device has ``mg_per_device`` and is used whole."""

    name = models.CharField(max_length=120)
    ndc = models.CharField(max_length=13, unique=True, help_text="National Drug Code")
    ndc_is_placeholder = models.BooleanField(
        default=False, help_text="A synthetic NDC standing in until the clinic enters its own."
    )
    form = models.CharField(max_length=14, choices=Form.choices)
    mg_per_ml = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    mg_per_device = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    ml_per_container = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    schedule = models.CharField(max_length=4, default="III")
    route = models.CharField(
        max_length=20, help_text="The session routes it serves: 'iv im' or 'esketamine'."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (NDC {self.ndc})"

    @property
    def mg_per_container(self) -> Any:
        if self.mg_per_device is not None:
            return self.mg_per_device
        return self.mg_per_ml * self.ml_per_container  # type: ignore[operator]  # a vial has both

    @property
    def ml_container(self) -> Any:
        return self.ml_per_container if self.mg_per_device is None else 0


# --- receipts and containers ---------------------------------------------------------------


class Receipt(WrittenOnce):
    """Controlled substances received (21 CFR 1304.22(c): the supplier's name, address and DEA
    number, the date, the product, form, strength, units per container and number received)."""

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="receipts")
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="+")
    supplier_name = models.CharField(max_length=200)
    supplier_address = models.TextField()
    supplier_dea_number = models.CharField(max_length=9)
    invoice = models.CharField(max_length=60)
    lot = models.CharField(max_length=40)
    expires_on = models.DateField()
    containers = models.PositiveIntegerField()
    received_at = models.DateTimeField()
    received_by = _staff()
    witnessed_by = _staff(null=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"Receipt #{self.pk}: {self.containers} x {self.product.name}, lot {self.lot}"


class Container(models.Model):
    """One vial or device, with its own label and its running balance (updated only by the
    service that writes the entry moving it, in the same transaction)."""

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="container_set")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="containers")
    lot = models.CharField(max_length=40)
    expires_on = models.DateField()
    label = models.CharField(max_length=40, unique=True)
    location = models.ForeignKey(
        StorageLocation, on_delete=models.PROTECT, related_name="containers"
    )
    balance_mg = models.DecimalField(max_digits=12, decimal_places=2)
    balance_ml = models.DecimalField(max_digits=12, decimal_places=2)
    # Set aside (expired, damaged, pending destruction): still on hand and counted, never drawn.
    quarantined = models.BooleanField(default=False)

    class Meta:
        ordering = ["product", "expires_on", "lot", "label"]
        indexes = [models.Index(fields=["product", "lot"])]

    def __str__(self) -> str:
        return self.label

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableError("A container stays in the ledger; it is never deleted.")


class Scope(models.TextChoices):
    PRODUCT = "product", "Product"
    LOT = "lot", "Lot"
    LOCATION = "location", "Location (per product)"


class Balance(models.Model):
    """A running balance per product, per lot of a product, or per location per product; a
    read is one row. ``key`` names the scope ("product:3", "lot:3:L123", "location:3:5")."""

    key = models.CharField(max_length=80, unique=True)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(max_length=40, blank=True)
    location = models.ForeignKey(
        StorageLocation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    balance_mg = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    balance_ml = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.balance_mg} mg"


# --- the ledger ------------------------------------------------------------------------------


class Kind(models.TextChoices):
    RECEIPT = "receipt", "Received"
    WITHDRAWAL = "withdrawal", "Drawn for a patient"
    TRANSFER_OUT = "transfer_out", "Transferred out"
    TRANSFER_IN = "transfer_in", "Transferred in"
    RETURN = "return", "Returned to supplier"
    BREAKAGE = "breakage", "Breakage or spill"
    SET_ASIDE = "set_aside", "Set aside (expired)"
    DESTRUCTION = "destruction", "Destroyed (DEA Form 41)"
    LOSS = "loss", "Theft or significant loss (DEA Form 106)"
    COUNT_ADJUSTMENT = "count_adjustment", "Count adjustment"
    REVERSAL = "reversal", "Reversal"


class Entry(WrittenOnce):
    """One movement of one container, never changed or deleted. ``delta_mg``/``delta_ml`` is
    what it did to the container (negative out); ``balance_*_after`` the container's balance
    after it. The primary key orders the hash chain (``kapcare.ledger.chain``)."""

    kind = models.CharField(max_length=20, choices=Kind.choices)
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="entries")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    lot = models.CharField(max_length=40)
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="+")
    delta_mg = models.DecimalField(max_digits=12, decimal_places=2)
    delta_ml = models.DecimalField(max_digits=12, decimal_places=2)
    balance_mg_after = models.DecimalField(max_digits=12, decimal_places=2)
    balance_ml_after = models.DecimalField(max_digits=12, decimal_places=2)
    # A withdrawal: what was drawn went to the patient (given) or was wasted, with its manner.
    given_mg = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    given_ml = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    wasted_mg = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    wasted_ml = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    manner = models.CharField(max_length=200, blank=True, help_text="Of waste or destruction.")
    session = models.ForeignKey(
        "dosing.DosingSession", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    administration = models.ForeignKey(
        "dosing.Administration", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    receipt = models.ForeignKey(
        Receipt, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    by = _staff()
    witness = _staff(null=True)
    second_witness = _staff(null=True)
    reason = models.TextField(blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    counterpart = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField()
    key_id = models.CharField(max_length=40)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "entries"
        # The reports read entries in (occurred_at, id) order: with the id in the index the
        # database reads them in order instead of sorting two years of rows.
        indexes = [
            models.Index(fields=["container", "id"]),
            models.Index(fields=["product", "occurred_at", "id"]),
            models.Index(fields=["patient", "occurred_at", "id"]),
            models.Index(fields=["occurred_at", "id"]),
            models.Index(fields=["lot", "id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.delta_ml} mL of {self.container_id}"


class LedgerHead(models.Model):
    """One row: the newest entry's hash and the count, locked by every appender (as the audit
    trail's ``ChainHead``), so the ledger's chain stays linear."""

    last_hash = models.CharField(max_length=64)
    entries = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"ledger head after {self.entries} entries"


# --- losses (DEA Form 106) ------------------------------------------------------------------


class LossType(models.TextChoices):
    EMPLOYEE_THEFT = "employee_theft", "Employee theft"
    BREAK_IN = "break_in", "Break-in"
    ARMED_ROBBERY = "armed_robbery", "Armed robbery"
    CUSTOMER_THEFT = "customer_theft", "Customer theft"
    LOST_IN_TRANSIT = "lost_in_transit", "Lost in transit"
    OTHER = "other", "Other"


class LossReport(models.Model):
    """The DEA Form 106 details of a theft or significant loss. Due within one business day of
    discovery; until ``filed_at`` is set every ledger page reminds the admin. Only the filing
    fields change, once (``services.mark_loss_filed``)."""

    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="loss_report")
    discovered_at = models.DateTimeField()
    loss_type = models.CharField(max_length=20, choices=LossType.choices)
    police_notified = models.BooleanField(null=True, help_text="Not recorded when empty.")
    police_report = models.CharField(max_length=200, blank=True)
    description = models.TextField()
    filed_at = models.DateTimeField(null=True, blank=True)
    filed_by = _staff(null=True)
    dea_reference = models.CharField(max_length=60, blank=True)

    def __str__(self) -> str:
        return f"Loss report for entry #{self.entry_id}"


# --- counts and discrepancies ---------------------------------------------------------------


class Count(WrittenOnce):
    """A count of one location by two staff, each authenticated."""

    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="+")
    counted_at = models.DateTimeField()
    counted_by = _staff()
    second_counter = _staff()

    def __str__(self) -> str:
        return f"Count #{self.pk} of {self.location}"


class CountLine(WrittenOnce):
    count = models.ForeignKey(Count, on_delete=models.PROTECT, related_name="lines")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="+")
    found_ml = models.DecimalField(max_digits=12, decimal_places=2)
    found_mg = models.DecimalField(max_digits=12, decimal_places=2)
    book_ml = models.DecimalField(max_digits=12, decimal_places=2)
    book_mg = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.container} found {self.found_mg} mg (book {self.book_mg} mg)"


class Discrepancy(models.Model):
    """A count that differed from the book. Blocks nothing; stays open until resolved with a
    reason and an adjusting entry (only the resolution fields change, once)."""

    line = models.OneToOneField(CountLine, on_delete=models.PROTECT, related_name="discrepancy")
    difference_mg = models.DecimalField(max_digits=12, decimal_places=2)
    difference_ml = models.DecimalField(max_digits=12, decimal_places=2)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = _staff(null=True)
    resolution = models.TextField(blank=True)
    adjustment = models.OneToOneField(
        Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Discrepancy of {self.difference_mg} mg on {self.line.container}"


# --- the biennial inventory (21 CFR 1304.11) -------------------------------------------------


class InventoryKind(models.TextChoices):
    INITIAL = "initial", "Initial inventory"
    BIENNIAL = "biennial", "Biennial inventory"


class InventoryTiming(models.TextChoices):
    OPENING = "opening", "At the opening of business"
    CLOSE = "close", "At the close of business"


class Inventory(WrittenOnce):
    """A signed inventory of every container on hand: exact for sealed containers, estimated
    allowed for opened Schedule III ones."""

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=InventoryKind.choices)
    taken_on = models.DateField()
    timing = models.CharField(max_length=8, choices=InventoryTiming.choices)
    signed_by = _staff()
    signed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "inventories"
        ordering = ["-taken_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.taken_on}"


class InventoryLine(WrittenOnce):
    inventory = models.ForeignKey(Inventory, on_delete=models.PROTECT, related_name="lines")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="+")
    sealed = models.BooleanField()
    quantity_ml = models.DecimalField(max_digits=12, decimal_places=2)
    quantity_mg = models.DecimalField(max_digits=12, decimal_places=2)
    estimated = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.container}: {self.quantity_mg} mg"
