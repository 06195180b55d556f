"""The ledger's API (issue 12; fixed for integrators): receipts, containers, withdrawals,
adjustments, products and entries under /api/v1/ledger.

A witness authenticates with their own token in ``X-Witness-Authorization: Bearer TOKEN`` (a
destruction's second witness in ``X-Second-Witness-Authorization``). A withdrawal names the
dosing session by ``session_id``; it is linked to the session's administration when one is
recorded (the session page records both in one transaction; an integrator may draw before
recording the administration). Refusals: 409 naming the rule (``insufficient_balance``,
``expired``, ``quarantined``, ``witness_required``, ``witness_is_same_person``,
``witness_not_licensed``, ...), 422 naming the field. A refused call stores nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kapcare.api.routing import endpoint
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.dosing.models import DosingSession
from kapcare.errors import NotFound
from kapcare.ledger import selectors, services
from kapcare.ledger.models import Container, Entry
from kapcare.ledger.witness import from_header

router = Router(tags=["controlled-substance ledger"])

WITNESS_HEADER = "X-Witness-Authorization"
SECOND_WITNESS_HEADER = "X-Second-Witness-Authorization"
MAX_ENTRIES = 1000


class SupplierIn(Schema):
    name: str = Field(max_length=200)
    address: str = Field(max_length=1000)
    dea_number: str = Field(max_length=20)


class ReceiptIn(Schema):
    product_ndc: str = Field(max_length=13)
    supplier: SupplierIn
    invoice: str = Field(max_length=60)
    lot: str = Field(max_length=40)
    expires_on: date
    containers: int
    received_at: datetime
    location_id: int | None = Field(None, description="Where it is stored (default: the first)")


class ContainerOut(Schema):
    id: int
    label: str
    product_ndc: str
    lot: str
    expires_on: date
    location: str
    balance_mg: Decimal
    balance_ml: Decimal
    quarantined: bool


class ReceiptOut(Schema):
    id: int
    containers: list[ContainerOut]


class ProductOut(Schema):
    id: int
    name: str
    ndc: str
    ndc_is_placeholder: bool
    form: str
    mg_per_ml: Decimal | None
    mg_per_device: Decimal | None
    ml_per_container: Decimal | None
    schedule: str


class EntryOut(Schema):
    id: int
    kind: str
    container_id: int
    container_label: str
    product_ndc: str
    lot: str
    location_id: int
    delta_mg: Decimal
    delta_ml: Decimal
    balance_mg_after: Decimal
    balance_ml_after: Decimal
    given_mg: Decimal
    given_ml: Decimal
    wasted_mg: Decimal
    wasted_ml: Decimal
    manner: str
    session_id: int | None
    administration_id: int | None
    patient_id: int | None
    by_id: int
    witness_id: int | None
    second_witness_id: int | None
    reason: str
    reverses_id: int | None
    occurred_at: datetime
    entry_hash: str


class WithdrawalIn(Schema):
    session_id: int
    drawn_ml: Decimal | None = Field(None, description="Omit for a nasal device (used whole)")
    given_ml: Decimal | None = None
    wasted_ml: Decimal | None = None
    waste_manner: str = Field("", max_length=200)


class WithdrawalOut(Schema):
    entry: EntryOut
    balance_mg: Decimal
    balance_ml: Decimal


class LossIn(Schema):
    discovered_at: datetime
    loss_type: str = Field(max_length=20)
    description: str = Field(max_length=2000)
    police_notified: bool | None = None
    police_report: str = Field("", max_length=200)


class AdjustmentIn(Schema):
    container_id: int
    kind: str = Field(
        max_length=20,
        description="transfer, return, breakage, set_aside, destruction, loss or reversal",
    )
    quantity_ml: Decimal | None = Field(None, description="Omit for a nasal device")
    reason: str = Field(max_length=2000)
    reverses: int | None = Field(None, description="The entry a reversal corrects")
    manner: str = Field("", max_length=200, description="How it was destroyed")
    to_location_id: int | None = None
    loss: LossIn | None = Field(None, description="DEA Form 106 details of a theft or loss")


class EntriesQuery(Schema):
    container: int | None = None
    since: datetime | None = None
    after: int = Field(0, ge=0, description="Entries after this id (the last one of a page)")
    limit: int = Field(200, ge=1, le=MAX_ENTRIES)


class ContainersQuery(Schema):
    product_ndc: str = Field("", max_length=13)
    lot: str = Field("", max_length=40)


def _container_out(container: Container) -> ContainerOut:
    return ContainerOut(
        id=container.pk,
        label=container.label,
        product_ndc=container.product.ndc,
        lot=container.lot,
        expires_on=container.expires_on,
        location=container.location.name,
        balance_mg=container.balance_mg,
        balance_ml=container.balance_ml,
        quarantined=container.quarantined,
    )


def _entry_out(entry: Entry) -> EntryOut:
    return EntryOut(
        **{name: getattr(entry, name) for name in EntryOut.model_fields if hasattr(entry, name)},
        container_label=entry.container.label,
        product_ndc=entry.product.ndc,
    )


@endpoint(
    router, "POST", "/receipts", operation_id="record_ledger_receipt", response={201: ReceiptOut}
)
def record_receipt(request: HttpRequest, payload: ReceiptIn) -> Status:
    """Stock received: each container (vial or device) gets its id, label and balance. Only
    the clinic admin records receipts."""
    receipt = services.record_receipt(
        Actor.from_request(request),
        product_ndc=payload.product_ndc,
        supplier=services.Supplier(**payload.supplier.dict()),
        invoice=payload.invoice,
        lot=payload.lot,
        expires_on=payload.expires_on,
        containers=payload.containers,
        received_at=payload.received_at,
        location_id=payload.location_id,
    )
    found = selectors.containers().filter(receipt=receipt)
    return Status(201, ReceiptOut(id=receipt.pk, containers=[_container_out(c) for c in found]))


@endpoint(
    router,
    "GET",
    "/containers",
    operation_id="list_ledger_containers",
    response=list[ContainerOut],
)
def list_containers(request: HttpRequest, filters: Query[ContainersQuery]) -> list[ContainerOut]:
    """Containers with their balances, by product NDC and lot."""
    found = selectors.containers(product_ndc=filters.product_ndc, lot=filters.lot)
    return [_container_out(c) for c in found]


@endpoint(
    router,
    "POST",
    "/containers/{container_id}/withdrawals",
    operation_id="record_ledger_withdrawal",
    response={201: WithdrawalOut},
)
def record_withdrawal(request: HttpRequest, container_id: int, payload: WithdrawalIn) -> Status:
    """Draw from a container for a dosing session: drawn = given + wasted (to 0.01 mL); waste
    needs a witness's own token in X-Witness-Authorization (unless the clinic turned the
    witness off)."""
    session = DosingSession.objects.select_related("course").filter(pk=payload.session_id).first()
    if session is None:
        raise NotFound("session_id", "No such dosing session.")
    entry = services.record_withdrawal(
        Actor.from_request(request),
        container_id=container_id,
        session=session,
        drawn_ml=payload.drawn_ml,
        given_ml=payload.given_ml,
        wasted_ml=payload.wasted_ml,
        waste_manner=payload.waste_manner,
        witness=from_header(request.headers.get(WITNESS_HEADER)),
    )
    out = WithdrawalOut(
        entry=_entry_out(entry),
        balance_mg=entry.balance_mg_after,
        balance_ml=entry.balance_ml_after,
    )
    return Status(201, out)


@endpoint(
    router,
    "POST",
    "/adjustments",
    operation_id="record_ledger_adjustment",
    response={201: EntryOut},
)
def record_adjustment(request: HttpRequest, payload: AdjustmentIn) -> Status:
    """A transfer, return, breakage (witnessed), set-aside, destruction (DEA Form 41: manner
    and two witnesses, X-Witness-Authorization and X-Second-Witness-Authorization), theft or
    loss (DEA Form 106 details in ``loss``) or a reversal citing the entry it reverses."""
    loss = payload.loss
    entry = services.record_adjustment(
        Actor.from_request(request),
        container_id=payload.container_id,
        kind=payload.kind,
        quantity_ml=payload.quantity_ml,
        reason=payload.reason,
        reverses=payload.reverses,
        manner=payload.manner,
        to_location_id=payload.to_location_id,
        witness=from_header(request.headers.get(WITNESS_HEADER)),
        second_witness=from_header(
            request.headers.get(SECOND_WITNESS_HEADER), field="second_witness"
        ),
        loss=services.LossDetails(**loss.dict()) if loss is not None else None,
    )
    return Status(
        201, _entry_out(Entry.objects.select_related("container", "product").get(pk=entry.pk))
    )


@endpoint(
    router, "GET", "/products", operation_id="list_ledger_products", response=list[ProductOut]
)
def list_products(request: HttpRequest) -> list[ProductOut]:
    """The controlled products, with their NDC (a placeholder NDC is marked)."""
    return [ProductOut.from_orm(p) for p in selectors.products()]


@reads_patient_data
@endpoint(router, "GET", "/entries", operation_id="list_ledger_entries", response=list[EntryOut])
def list_entries(request: HttpRequest, filters: Query[EntriesQuery]) -> list[EntryOut]:
    """Ledger entries in order, of one container and from a time if asked, ``limit`` at a time
    after the entry id ``after``. Entries name the patient they were drawn for, so the read is
    recorded in the access log."""
    found = list(
        selectors.entries(container_id=filters.container, since=filters.since).filter(
            pk__gt=filters.after
        )[: filters.limit]
    )
    shown(request, [e.patient_id for e in found if e.patient_id is not None])
    return [_entry_out(e) for e in found]
