"""The ledger's reports, each one table shown three ways: a page (200 rows a page), CSV and
PDF (a fixed-pitch listing, ``kapcare.ledger.listing``). A report is built once from a
selector (`build`), so the three agree.

- ``dispensing``: a product's withdrawals in a period (patient, quantity given and wasted, who
  drew and who witnessed; 21 CFR 1304.22(c));
- ``container`` and ``lot``: every entry of one container or one lot;
- ``patient``: a patient's administrations from the ledger;
- ``running``: a product's entries in a period with the product's balance after each;
- ``inventory``: a signed initial or biennial inventory (21 CFR 1304.11).
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from kapcare.errors import FieldInvalid, NotFound
from kapcare.ledger import listing, selectors
from kapcare.ledger.models import Container, Entry, Kind, Product
from kapcare.patients.models import Patient

KINDS = ("dispensing", "container", "lot", "patient", "running", "inventory")


PAGE_ROWS = 200
"""Rows on one page of a report; the CSV and the PDF hold them all."""


@dataclass(frozen=True)
class Report:
    """A report's table. ``rows``: one page's (``build(..., page=n)``) or every row, streamed
    once (for the CSV and the PDF); ``total_rows`` and ``pages`` count them all."""

    title: str
    subtitle: str
    columns: tuple[str, ...]
    rows: Iterable[tuple[str, ...]]
    patient_ids: list[int] = field(default_factory=list)
    total_rows: int = 0
    page: int = 1
    pages: int = 1


# A row of selectors.REPORT_FIELDS, by name.
(ID, AT, KIND, LABEL, LOT, LOCATION, DELTA_ML, DELTA_MG, BALANCE_ML, PATIENT, FAMILY, GIVEN,
 BY, WITNESS, SECOND_WITNESS, REASON, MANNER, REVERSES, PRODUCT, GIVEN_MG, GIVEN_ML,
 WASTED_MG, WASTED_ML, SESSION) = range(len(selectors.REPORT_FIELDS))  # fmt: skip
KIND_WORDS = dict(Kind.choices)


def _amount(value: Any) -> str:
    # A float as selectors.report_rows reads a quantity (or a Decimal an inventory holds).
    return f"{value:.2f}"


def _when(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite's driver gives UTC without the zone
        value = value.replace(tzinfo=UTC)
    # The clinic's zone (settings.TIME_ZONE; nothing activates another), looked up once.
    return value.astimezone(_clinic_zone()).strftime("%Y-%m-%d %H:%M")


@functools.cache
def _clinic_zone() -> tzinfo:
    return timezone.get_default_timezone()


def _person(name: str | None) -> str:
    return name or ""


def _patient(row: tuple[Any, ...]) -> str:
    if row[PATIENT] is None:
        return ""
    return f"{row[FAMILY]}, {row[GIVEN]} (MRN {row[PATIENT]})"


ENTRY_COLUMNS = (
    "Entry", "When", "Kind", "Container", "Lot", "Location", "Change (mL)", "Change (mg)",
    "Balance (mL)", "Patient", "By", "Witnesses", "Reason or manner",
)  # fmt: skip


def _entry_row(row: tuple[Any, ...], balance_ml: Any = None) -> tuple[str, ...]:
    witnesses = ", ".join(name for name in (row[WITNESS], row[SECOND_WITNESS]) if name)
    reason = "; ".join(text for text in (row[REASON], row[MANNER]) if text)
    if row[REVERSES]:
        reason = f"reverses #{row[REVERSES]}: {reason}"
    return (
        str(row[ID]),
        _when(row[AT]),
        KIND_WORDS.get(row[KIND], row[KIND]),
        row[LABEL],
        row[LOT],
        row[LOCATION],
        _amount(row[DELTA_ML]),
        _amount(row[DELTA_MG]),
        _amount(row[BALANCE_ML] if balance_ml is None else balance_ml),
        _patient(row),
        _person(row[BY]),
        witnesses,
        reason,
    )


def _date(params: Mapping[str, str], name: str) -> date:
    try:
        return date.fromisoformat(params.get(name, ""))
    except ValueError:
        raise FieldInvalid(name, "date", "a date (YYYY-MM-DD)") from None


def _product(params: Mapping[str, str]) -> Product:
    """The product chosen, by default the first one."""
    products = Product.objects.order_by("id")
    product = (
        products.filter(pk=_number(params, "product")).first()
        if params.get("product")
        else products.first()
    )
    if product is None:
        raise NotFound("product", "No such product.")
    return product


def _number(params: Mapping[str, str], name: str) -> int:
    value = params.get(name, "")
    if not value.isdigit():
        raise FieldInvalid(name, "required", "choose one")
    return int(value)


RETENTION_DAYS = 2 * 365 + 1  # 21 CFR 1304.04(a): records kept at least two years


def _period(params: Mapping[str, str]) -> tuple[date, date]:
    """From ``start`` to ``end`` (dates), by default the last two years."""
    today = timezone.localdate()
    end = _date(params, "end") if params.get("end") else today
    start = _date(params, "start") if params.get("start") else end - timedelta(days=RETENTION_DAYS)
    if end < start:
        raise FieldInvalid("end", "before_start", "the end is before the start")
    return start, end


RowMaker = Callable[[Iterator[tuple[Any, ...]]], Iterator[tuple[str, ...]]]


def _entries(
    title: str,
    subtitle: str,
    columns: tuple[str, ...],
    found: QuerySet[Entry],
    rows: RowMaker,
    page: int | None,
    *,
    skipped: Callable[[QuerySet[Entry]], None] | None = None,
) -> Report:
    """A report of the entries ``found`` (ordered), made into rows by ``rows``: all of them,
    streamed, or one page (``page``, from 1), after ``skipped`` is told the entries before it."""
    total = found.count()
    pages = max(1, -(-total // PAGE_ROWS))
    if page is None:
        everyone = selectors.patients_in(found)
        streamed = rows(selectors.report_rows(found))
        return Report(title, subtitle, columns, streamed, everyone, total, 1, pages)
    page = min(max(page, 1), pages)
    offset = (page - 1) * PAGE_ROWS
    if skipped is not None and offset:
        skipped(found[:offset])
    fetched = list(selectors.report_rows(found[offset : offset + PAGE_ROWS]))
    on_page = sorted({row[PATIENT] for row in fetched if row[PATIENT] is not None})
    return Report(title, subtitle, columns, list(rows(iter(fetched))), on_page, total, page, pages)


def _each(make: Callable[[tuple[Any, ...]], tuple[str, ...]]) -> RowMaker:
    return lambda found: map(make, found)


def _dispensing_row(row: tuple[Any, ...]) -> tuple[str, ...]:
    manner = row[MANNER]
    if row[KIND] == Kind.REVERSAL:
        manner = f"reversal of #{row[REVERSES]}: {row[REASON]}"
    # The amounts formatted inline (as _amount does): this runs for every row of two years.
    return (
        str(row[ID]), _when(row[AT]), _patient(row), row[PRODUCT], row[LABEL], row[LOT],
        f"{0 - row[DELTA_ML]:.2f}", f"{row[GIVEN_MG]:.2f}", f"{row[GIVEN_ML]:.2f}",
        f"{row[WASTED_ML]:.2f}", manner, row[BY] or "", row[WITNESS] or "",
    )  # fmt: skip


DISPENSING_COLUMNS: tuple[str, ...] = (
    "Entry", "When", "Patient", "Product", "Container", "Lot", "Drawn (mL)", "Given (mg)",
    "Given (mL)", "Wasted (mL)", "Manner of waste", "By", "Witness",
)  # fmt: skip
PRODUCT_COLUMN = DISPENSING_COLUMNS.index("Product")


def _one_product_row(row: tuple[Any, ...]) -> tuple[str, ...]:
    # The title names the product: no column for it.
    full = _dispensing_row(row)
    return full[:PRODUCT_COLUMN] + full[PRODUCT_COLUMN + 1 :]


def _dispensing(params: Mapping[str, str], page: int | None) -> Report:
    """One product's (named in the title), or every product's when none is chosen."""
    product = _product(params) if params.get("product") else None
    start, end = _period(params)
    columns = DISPENSING_COLUMNS
    if product is not None:
        columns = columns[:PRODUCT_COLUMN] + columns[PRODUCT_COLUMN + 1 :]
    return _entries(
        f"Dispensing log: {product.name if product else 'all products'}",
        f"{f'NDC {product.ndc}, ' if product else ''}{start} to {end}",
        columns,
        selectors.dispensing_log(product.pk if product else None, start, end),
        _each(_one_product_row if product else _dispensing_row),
        page,
    )


def _container(params: Mapping[str, str], page: int | None) -> Report:
    container = Container.objects.select_related("product").filter(pk=_number(params, "container"))
    found = container.first()
    if found is None:
        raise NotFound("container", "No such container.")
    return _entries(
        f"Container history: {found.label}",
        f"{found.product.name}, lot {found.lot}, expires {found.expires_on}",
        ENTRY_COLUMNS,
        selectors.container_history(found.pk),
        _each(_entry_row),
        page,
    )


def _lot(params: Mapping[str, str], page: int | None) -> Report:
    product = _product(params)
    lot = params.get("lot", "").strip()
    if not lot:
        raise FieldInvalid("lot", "required", "the lot number")
    return _entries(
        f"Lot history: {lot}",
        f"{product.name} (NDC {product.ndc})",
        ENTRY_COLUMNS,
        selectors.lot_history(product.pk, lot),
        _each(_entry_row),
        page,
    )


def _administration_row(row: tuple[Any, ...]) -> tuple[str, ...]:
    return (
        str(row[ID]), _when(row[AT]), str(row[SESSION] or ""), row[PRODUCT], row[LABEL],
        row[LOT], _amount(row[GIVEN_MG]), _amount(row[WASTED_MG]), _person(row[BY]),
        _person(row[WITNESS]),
    )  # fmt: skip


def _patient_report(params: Mapping[str, str], page: int | None) -> Report:
    patient_id = _number(params, "patient")
    patient = Patient.objects.filter(pk=patient_id).values_list("family_name", "given_name")
    names = patient.first()
    name = f"{names[0]}, {names[1]} (MRN {patient_id})" if names else f"MRN {patient_id}"
    return _entries(
        f"Administrations from the ledger: {name}",
        "Every withdrawal for the patient's dosing sessions, and any reversal of one",
        ("Entry", "When", "Session", "Product", "Container", "Lot", "Given (mg)",
         "Wasted (mg)", "By", "Witness"),
        selectors.patient_administrations(patient_id),
        _each(_administration_row),
        page,
    )  # fmt: skip


def _running(params: Mapping[str, str], page: int | None) -> Report:
    product = _product(params)
    start, end = _period(params)
    opening = list(selectors.product_balance_before(product.pk, start, None))

    def skipped(before_page: QuerySet[Entry]) -> None:
        opening[:] = selectors.product_balance_before(product.pk, start, before_page)

    def rows(found: Iterator[tuple[Any, ...]]) -> Iterator[tuple[str, ...]]:
        # In hundredths of a mL: the rows give floats, summed exactly this way.
        balance_cml = round(opening[1] * 100)
        for row in found:
            balance_cml += round(row[DELTA_ML] * 100)
            yield _entry_row(row, balance_cml / 100)

    return _entries(
        f"Running-balance ledger: {product.name}",
        f"NDC {product.ndc}, {start} to {end}; the balance is the product's, after each entry",
        (*ENTRY_COLUMNS[:8], "Product balance (mL)", *ENTRY_COLUMNS[9:]),
        selectors.product_entries(product.pk, start, end),
        rows,
        page,
        skipped=skipped,
    )


def _inventory(params: Mapping[str, str], page: int | None) -> Report:
    """Every line on one page: an inventory is the stock on hand on one day."""
    inventory = selectors.inventory(_number(params, "inventory"))
    if inventory is None:
        raise NotFound("inventory", "No such inventory.")
    registration = inventory.registration
    lines = list(inventory.lines.all())
    return Report(
        f"{inventory.get_kind_display()} of controlled substances",
        f"{registration.name}, {registration.address}, DEA {registration.dea_number}; taken "
        f"{inventory.taken_on} {inventory.get_timing_display().lower()}; signed by "
        f"{inventory.signed_by.full_name} at "
        f"{timezone.localtime(inventory.signed_at):%Y-%m-%d %H:%M}",
        ("Container", "Product", "NDC", "Form", "Strength", "Lot", "Location", "Sealed",
         "Quantity (mL)", "Quantity (mg)", "Counted"),
        [
            (line.container.label, line.container.product.name, line.container.product.ndc,
             line.container.product.get_form_display(),
             f"{line.container.product.mg_per_ml} mg/mL"
             if line.container.product.mg_per_ml is not None
             else f"{line.container.product.mg_per_device} mg per device",
             line.container.lot, line.container.location.name,
             "sealed" if line.sealed else "opened", _amount(line.quantity_ml),
             _amount(line.quantity_mg), "estimated" if line.estimated else "exact")
            for line in lines
        ],
        total_rows=len(lines),
    )  # fmt: skip


BUILDERS: dict[str, Callable[[Mapping[str, str], int | None], Report]] = {
    "dispensing": _dispensing,
    "container": _container,
    "lot": _lot,
    "patient": _patient_report,
    "running": _running,
    "inventory": _inventory,
}


def build(kind: str, params: Mapping[str, str], page: int | None = None) -> Report:
    """The report ``kind``: every row (streamed, for the CSV and the PDF) or one ``page``."""
    if kind not in BUILDERS:
        raise NotFound("kind", "No such report.")
    return BUILDERS[kind](params, page)


# --- CSV and PDF ---------------------------------------------------------------------------


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([report.title])
    writer.writerow([report.subtitle])
    writer.writerow(report.columns)
    writer.writerows(report.rows)
    return out.getvalue()


# The PDF is a fixed-pitch listing (``kapcare.ledger.listing``): a row is one line per line of
# its tallest cell, the columns padded to their widths.
PDF_SIZES_PT = (7.0, 4.5)  # the largest that fits the page's width, down to the smallest
PDF_GAP = "  "
PDF_MAX_CELL_CHARS = 40
PDF_SLACK = 2


def _cell_lines(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken between words where it can."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def _layout(columns: tuple[str, ...], sample: list[tuple[str, ...]]) -> tuple[list[int], float]:
    """Each column's width in characters (by its heading and the first rows) and the font size
    at which they fit the page; the widest columns narrow when even the smallest size is too
    big."""
    # A little room beyond the first rows' longest value: later labels and ids grow.
    widths = [
        min(max(len(column), 4, *(len(row[i]) + PDF_SLACK for row in sample)), PDF_MAX_CELL_CHARS)
        for i, column in enumerate(columns)
    ]
    largest, smallest = PDF_SIZES_PT
    needed = sum(widths) + len(PDF_GAP) * (len(widths) - 1)
    while needed > listing.chars_per_line(smallest):
        widths[widths.index(max(widths))] -= 1
        needed -= 1
    size = largest
    while size > smallest and listing.chars_per_line(size) < needed:
        size = round(size - 0.25, 2)
    return widths, size


def _row_lines(row: tuple[str, ...], widths: list[int]) -> list[str]:
    cells = [
        [value] if len(value) <= width else _cell_lines(value, width)
        for value, width in zip(row, widths, strict=True)
    ]
    return [
        PDF_GAP.join(
            (cell[n] if n < len(cell) else "").ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ).rstrip()
        for n in range(max(map(len, cells)))
    ]


def _line_maker(widths: list[int]) -> Callable[[tuple[str, ...]], list[str]]:
    """A row's lines: one padded line when every value fits its column (one string format,
    the common case), else each cell wrapped (``_row_lines``)."""
    template = PDF_GAP.join(f"%-{width}s" for width in widths)
    fitting = sum(widths) + len(PDF_GAP) * (len(widths) - 1)

    def lines(row: tuple[str, ...]) -> list[str]:
        line = template % row
        if len(line) == fitting and "\n" not in line:
            return [line]
        return _row_lines(row, widths)  # a value too long for its column, or of two lines

    return lines


def as_pdf(report: Report) -> bytes:
    """The report as a listing: title, subtitle and row count, then the rows, wrapping within
    their columns, the headings on every page."""
    rows = iter(report.rows)
    sample = list(itertools.islice(rows, 200))
    widths, size_pt = _layout(report.columns, sample)
    count = f"{report.total_rows} rows" if report.total_rows != 1 else "1 row"
    intro = _cell_lines(f"{report.subtitle} ({count})", listing.chars_per_line(size_pt))
    headings = _row_lines(report.columns, widths)
    pdf = listing.Listing(report.title, intro, headings, size_pt)
    lines = _line_maker(widths)
    for row in itertools.chain(sample, rows):
        pdf.add(lines(row))
    if not report.total_rows:
        pdf.add(["No entries."])
    return pdf.output()
