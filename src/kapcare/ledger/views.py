"""The ledger's pages for the clinic admin: the home (stock by product, lot, location and
container; expiring soon; open discrepancies; unfiled losses), receiving stock, counting a
location, a transfer, return, breakage, set-aside, destruction or loss (witnesses signing in
on the same page), resolving a discrepancy, marking a loss filed, taking the inventory, and the
reports (page, CSV, PDF), and the set-up (registrations, storage locations and the rooms and
chairs each stocks, products). Thin: each parses a form, calls one service or selector and
renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.errors import Refused
from kapcare.ledger import reports, selectors, services, witness
from kapcare.ledger.forms import (
    AdjustmentForm,
    CountForm,
    InventoryForm,
    LocationForm,
    LossFiledForm,
    NdcForm,
    ProductForm,
    ReceiptForm,
    RegistrationForm,
    RenewalForm,
    ResolveForm,
    ServesForm,
)
from kapcare.ledger.models import Container, Product, StorageLocation
from kapcare.ledger.witness import Witness
from kapcare.web.errors import add_form_errors, page_status


def _page(
    request: HttpRequest, template: str, context: dict[str, object], status: int = 200
) -> HttpResponse:
    """A ledger page (the reminder of a theft or loss not yet filed is on every page of the
    clinic admin's, `kapcare.web.context.ledger_reminder`)."""
    return render(request, template, context, status=status)


@dataclass(frozen=True)
class FormPage:
    heading: str
    intro: str
    submit: str


RECEIPT_PAGE = FormPage(
    "Receive controlled stock",
    "Each vial or device received gets its own label (listed on the ledger home) and its full "
    "balance.",
    "Record the receipt",
)
ADJUST_PAGE = FormPage(
    "Record a movement",
    "A breakage or spill needs a witness, a destruction two (DEA Form 41): each signs in here "
    "with their own email and password. A theft or loss takes the DEA Form 106 details; it "
    "stays on every ledger page until marked filed.",
    "Record it",
)


def _form_page(request: HttpRequest, form: Form, status: int, page: FormPage) -> HttpResponse:
    return _page(request, "ledger/form.html", {"form": form, **vars(page)}, status)


def _home(request: HttpRequest, status: int = 200, **forms: object) -> HttpResponse:
    found = selectors.home()
    context = {
        "home": found,
        "unfiled": found.unfiled_losses,
        "products": selectors.products(),
        "inventories": selectors.inventories(),
        "inventory_form": forms.get("inventory_form") or InventoryForm(),
        "resolve_form": ResolveForm(),
        "loss_form": LossFiledForm(),
        "error": forms.get("error"),
    }
    return _page(request, "ledger/home.html", context, status)


def _id(value: str | None) -> int:
    """A record's id from a query or a form (0, which names nothing, when it is not one)."""
    return int(value) if value and value.isdigit() else 0


@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    return _home(request)


@require_http_methods(["GET", "POST"])
def receipt(request: HttpRequest) -> HttpResponse:
    form = ReceiptForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                received = services.record_receipt(
                    Actor.from_request(request),
                    product_ndc=data["product"].ndc,
                    supplier=services.Supplier(
                        data["supplier.name"], data["supplier.address"], data["supplier.dea_number"]
                    ),
                    invoice=data["invoice"],
                    lot=data["lot"],
                    expires_on=data["expires_on"],
                    containers=data["containers"],
                    received_at=data["received_at"],
                    location_id=data["location"].pk,
                )
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(
                    request,
                    f"Received {received.containers} containers, labelled "
                    f"R{received.pk}-001 to R{received.pk}-{received.containers:03d}.",
                )
                return redirect("ledger:home")
    return _form_page(request, form, status, RECEIPT_PAGE)


@require_http_methods(["GET", "POST"])
def count(request: HttpRequest) -> HttpResponse:
    location = get_object_or_404(StorageLocation, pk=_id(request.GET.get("location")))
    on_hand = list(
        Container.objects.filter(location=location, balance_mg__gt=0)
        .select_related("product")
        .order_by("product__name", "label")
    )
    form = CountForm(request.POST or None, containers=on_hand)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                second = witness.by_password(
                    request,
                    form.cleaned_data["second_email"],
                    form.cleaned_data["second_password"],
                    field="second_email",
                )
                done = services.record_count(
                    Actor.from_request(request),
                    location_id=location.pk,
                    found=form.found(),
                    second_counter=second,
                )
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                opened = sum(hasattr(line, "discrepancy") for line in done.lines.all())
                messages.success(
                    request, f"Count of {location.name} recorded; {opened} discrepancies opened."
                )
                return redirect("ledger:home")
    page = FormPage(
        f"Count {location.name}",
        "Enter what you find in each container. A second staff member counts with you and signs "
        "in here with their own email and password. A difference from the book opens a "
        "discrepancy.",
        "Record the count",
    )
    return _form_page(request, form, status, page)


def _witness(request: HttpRequest, email: str, password: str, field: str) -> Witness | None:
    """The person who signed in on the page as witness, or None when nobody did."""
    if not email:
        return None
    return witness.by_password(request, email, password, field=field)


@require_http_methods(["GET", "POST"])
def adjust(request: HttpRequest) -> HttpResponse:
    form = AdjustmentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            loss = None
            if data["kind"] == "loss" and data["discovered_at"] is not None:
                loss = services.LossDetails(
                    data["discovered_at"],
                    data["loss_type"],
                    data["description"],
                    data["police_notified"],
                    data["police_report"],
                )
            try:
                entry = services.record_adjustment(
                    Actor.from_request(request),
                    container_id=data["container"].pk,
                    kind=data["kind"],
                    quantity_ml=data["quantity_ml"],
                    reason=data["reason"],
                    manner=data["manner"],
                    to_location_id=data["to_location_id"].pk if data["to_location_id"] else None,
                    witness=_witness(
                        request, data["witness_email"], data["witness_password"], "witness"
                    ),
                    second_witness=_witness(
                        request,
                        data["second_witness_email"],
                        data["second_witness_password"],
                        "second_witness",
                    ),
                    loss=loss,
                )
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(
                    request, f"Recorded: {entry.get_kind_display()} of {entry.container.label}."
                )
                return redirect("ledger:home")
    return _form_page(request, form, status, ADJUST_PAGE)


@require_POST
def resolve_discrepancy(request: HttpRequest) -> HttpResponse:
    form = ResolveForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    discrepancy_id = _id(request.POST.get("discrepancy"))
    try:
        services.resolve_discrepancy(Actor.from_request(request), discrepancy_id, reason=reason)
    except Refused as error:
        return _home(request, page_status(error), error=error)
    messages.success(request, "Discrepancy resolved with an adjusting entry.")
    return redirect("ledger:home")


@require_POST
def loss_filed(request: HttpRequest) -> HttpResponse:
    form = LossFiledForm(request.POST)
    reference = form.cleaned_data["dea_reference"] if form.is_valid() else ""
    report_id = _id(request.POST.get("report"))
    try:
        services.mark_loss_filed(Actor.from_request(request), report_id, dea_reference=reference)
    except Refused as error:
        return _home(request, page_status(error), error=error)
    messages.success(request, "Loss report marked filed with the DEA.")
    return redirect("ledger:home")


@require_POST
def inventory_take(request: HttpRequest) -> HttpResponse:
    form = InventoryForm(request.POST)
    registration = selectors.home().registrations
    if not form.is_valid() or not registration:
        return _home(request, 400, inventory_form=form)
    try:
        taken = services.take_inventory(
            Actor.from_request(request),
            registration_id=registration[0].pk,
            kind=form.cleaned_data["kind"],
            taken_on=form.cleaned_data["taken_on"],
            timing=form.cleaned_data["timing"],
        )
    except Refused as error:
        add_form_errors(form, error)
        return _home(request, page_status(error), inventory_form=form)
    return redirect(f"{reverse('ledger:report')}?kind=inventory&inventory={taken.pk}")


@reads_patient_data
@require_http_methods(["GET"])
def report(request: HttpRequest) -> HttpResponse:
    """A report (``?kind=``, the dispensing log of the last two years by default) as a page,
    or ``&format=csv`` / ``&format=pdf``. Reports name patients: each one shown is recorded in
    the access log."""
    params = request.GET.dict()
    output = params.pop("format", "html")
    kind = params.pop("kind", "dispensing")
    page_asked = params.pop("page", "1")
    # The page shows one page of rows; the CSV and the PDF hold every row.
    page = (int(page_asked) if page_asked.isdigit() else 1) if output == "html" else None
    chooser: dict[str, object] = {
        "kind": kind,
        "kinds": reports.KINDS,
        "products": Product.objects.order_by("name"),
        "params": params,
        "id_value": params.get(kind, ""),
    }
    try:
        built = reports.build(kind, params, page)
    except Refused as error:
        return _page(request, "ledger/report.html", {**chooser, "error": error}, page_status(error))
    # The patients are logged once the rows are read (a streamed report names them as it goes).
    if output == "csv":
        response = HttpResponse(reports.as_csv(built), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="ledger-{kind}.csv"'
        shown(request, built.patient_ids)
        return response
    if output == "pdf":
        response = HttpResponse(reports.as_pdf(built), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="ledger-{kind}.pdf"'
        shown(request, built.patient_ids)
        return response
    shown(request, built.patient_ids)
    return _page(
        request,
        "ledger/report.html",
        {**chooser, "report": built, "query": urlencode({"kind": kind, **params})},
    )


# --- the set-up ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A record on the set-up page with its own small form."""

    item: Any
    form: Form | None
    rows: list[Row] = field(default_factory=list)  # a registration's storage locations
    used_for: str = ""  # a product's routes in words


def _setup(
    request: HttpRequest, status: int = 200, bound: Form | None = None, bound_id: int = 0
) -> HttpResponse:
    """The set-up page; ``bound``: a form refused, shown again with its errors in its place
    (a row's form, for the record ``bound_id``, or one of the add forms)."""
    found = selectors.setup()
    resources = found.resources
    placed: list[Form] = []

    def form_of(kind: type[Form], pk: int = 0, **kwargs: Any) -> Form:
        if bound is not None and type(bound) is kind and bound_id == pk:
            placed.append(bound)
            return bound
        # Each row's form has its own ids, so each label names its own input.
        return kind(auto_id=f"id_{kind.__name__.lower()}{pk}_%s", **kwargs)

    context: dict[str, object] = {
        "registrations": [
            Row(
                found_registration,
                form_of(RenewalForm, found_registration.registration.pk),
                [
                    Row(
                        location,
                        form_of(
                            ServesForm,
                            location.pk,
                            resources=resources,
                            initial={"serves": [r.pk for r in location.serves.all()]},
                        ),
                    )
                    for location in found_registration.locations
                ],
            )
            for found_registration in found.registrations
        ],
        # A placeholder's NDC is entered until stock is received under it (then it stays).
        "products": [
            Row(
                product,
                form_of(NdcForm, product.pk)
                if product.ndc_is_placeholder and not getattr(product, "stocked", False)
                else None,
                used_for=services.PRODUCT_ROUTES.get(product.route, product.route),
            )
            for product in found.products
        ],
        "resources": resources,
        "registration_form": form_of(RegistrationForm),
        "location_form": form_of(LocationForm, resources=resources),
        "product_form": form_of(ProductForm),
    }
    # A refused row form whose record is not on the page (gone, or never there).
    context["stray"] = bound if bound is not None and not placed else None
    return _page(request, "ledger/setup.html", context, status)


def _set_up(
    request: HttpRequest, form: Form, call: Callable[[dict[str, Any]], str], bound_id: int = 0
) -> HttpResponse:
    """A set-up form posted: the service called with its values, the page with what was done,
    or the page again with the form's refusal in words."""
    status = 400
    if form.is_valid():
        try:
            done = call(form.cleaned_data)
        except Refused as error:
            add_form_errors(form, error)
            status = page_status(error)
        else:
            messages.success(request, done)
            return redirect("ledger:setup")
    return _setup(request, status, form, bound_id)


@require_http_methods(["GET"])
def setup(request: HttpRequest) -> HttpResponse:
    return _setup(request)


@require_POST
def registration_add(request: HttpRequest) -> HttpResponse:
    def add(data: dict[str, Any]) -> str:
        added = services.create_registration(Actor.from_request(request), **data)
        return f"Registration {added.dea_number} of {added.name} recorded."

    return _set_up(request, RegistrationForm(request.POST), add)


@require_POST
def registration_renew(request: HttpRequest) -> HttpResponse:
    registration_id = _id(request.POST.get("registration"))

    def renew(data: dict[str, Any]) -> str:
        renewed = services.renew_registration(
            Actor.from_request(request), registration_id, expires_on=data["expires_on"]
        )
        return f"Registration {renewed.dea_number} now expires {renewed.expires_on:%Y-%m-%d}."

    return _set_up(request, RenewalForm(request.POST), renew, registration_id)


@require_POST
def location_add(request: HttpRequest) -> HttpResponse:
    def add(data: dict[str, Any]) -> str:
        added = services.add_location(
            Actor.from_request(request),
            data["registration"],
            name=data["name"],
            kind=data["kind"],
            serves=tuple(data["serves"]),
        )
        return f"Storage location {added.name} added."

    form = LocationForm(request.POST, resources=selectors.setup_resources())
    return _set_up(request, form, add)


@require_POST
def location_serves(request: HttpRequest) -> HttpResponse:
    location_id = _id(request.POST.get("location"))

    def serve(data: dict[str, Any]) -> str:
        location = services.set_location_serves(
            Actor.from_request(request), location_id, serves=data["serves"]
        )
        return f"Saved the rooms and chairs {location.name} stocks."

    form = ServesForm(request.POST, resources=selectors.setup_resources())
    return _set_up(request, form, serve, location_id)


@require_POST
def product_add(request: HttpRequest) -> HttpResponse:
    def add(data: dict[str, Any]) -> str:
        added = services.add_product(Actor.from_request(request), **data)
        return f"Product {added.name} (NDC {added.ndc}) added."

    return _set_up(request, ProductForm(request.POST), add)


@require_POST
def product_ndc(request: HttpRequest) -> HttpResponse:
    product_id = _id(request.POST.get("product"))

    def enter(data: dict[str, Any]) -> str:
        product = services.set_product_ndc(Actor.from_request(request), product_id, ndc=data["ndc"])
        return f"{product.name} now has NDC {product.ndc}."

    return _set_up(request, NdcForm(request.POST), enter, product_id)
