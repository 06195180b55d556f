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

from django.db.models import Case, CharField, F, FloatField, QuerySet, Value, When
from django.db.models.functions import Cast, Concat
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
    once (for the CSV and the PDF); ``total_rows`` and ``pages`` count them all.
    ``patient_ids``: the patients the rows name, for the access log; a streamed report's fill
    as its rows are read, so a caller logs them after writing the CSV or PDF."""

    title: str
    subtitle: str
    columns: tuple[str, ...]
    rows: Iterable[tuple[str, ...]]
    patient_ids: set[int] = field(default_factory=set)
    total_rows: int = 0
    page: int = 1
    pages: int = 1
    # Some of the last rows (of a streamed report), for the PDF's column widths: later ids,
    # labels and lots are longer than the first rows'.
    last_rows: list[tuple[str, ...]] = field(default_factory=list)


KIND_WORDS = dict(Kind.choices)


# --- the columns each report reads (selectors.report_rows) ------------------------------------
# Two years of entries are hundreds of thousands of rows, so each is few plain values: ids,
# named from a few small queries (selectors.report_names) rather than joined on every row;
# quantities as floats (exact to the 0.01 the ledger keeps; a driver makes a float several
# times faster than a Decimal); the time as text.


def _quantity(name: str) -> Cast:
    return Cast(name, FloatField())


_TEXT = CharField()
# The time as the database writes it in ISO form (UTC): parsed here a tenth as costly as the
# driver's own conversion (psycopg's, like the ISO DateStyle it needs; Django's, on SQLite).
TIME = Cast("occurred_at", _TEXT)
MANNER_OR_REVERSAL = Case(
    When(
        kind=Kind.REVERSAL,
        then=Concat(
            Value("reversal of #"), Cast("reverses_id", _TEXT), Value(": "), "reason",
            output_field=_TEXT,
        ),
    ),
    default=F("manner"),
    output_field=_TEXT,
)  # fmt: skip


def _amount(value: Any) -> str:
    # A float as selectors.report_rows reads a quantity (or a Decimal an inventory holds).
    return f"{value:.2f}"


def _when(value: str) -> str:
    """A time read as text (``TIME``: UTC, "YYYY-MM-DD HH:MM:SS.ffffff", with "+00" from
    PostgreSQL) in the clinic's zone (settings.TIME_ZONE; nothing activates another), to the
    minute. For every row of two years: the zone's offset is looked up once an hour, where it
    holds all hour."""
    zone = timezone.get_default_timezone()
    seconds = value[16:]  # ":SS.ffffff", then "+00" from PostgreSQL's UTC
    in_utc = seconds.endswith("+00") or ("+" not in seconds and "-" not in seconds)
    offset = _hour_offset(value[:13], zone) if in_utc else None
    if offset is None:  # a zone's change within this hour, or a time not in UTC
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(zone).replace(tzinfo=None)
    else:
        local = datetime.fromisoformat(value[:16]) + offset
    return local.isoformat(" ", "minutes")


@functools.lru_cache(maxsize=4096)
def _hour_offset(hour: str, zone: tzinfo) -> timedelta | None:
    """``zone``'s offset through the UTC hour ``hour`` ("YYYY-MM-DD HH"), or None when it
    changes within it (a daylight-saving switch at a half hour)."""
    start = datetime.fromisoformat(f"{hour}:00").replace(tzinfo=UTC)
    first = start.astimezone(zone).utcoffset()
    last = (start + timedelta(minutes=59, seconds=59)).astimezone(zone).utcoffset()
    return first if first == last else None


ENTRY_COLUMNS = (
    "Entry", "When", "Kind", "Container", "Lot", "Location", "Change (mL)", "Change (mg)",
    "Balance (mL)", "Patient", "By", "Witnesses", "Reason or manner",
)  # fmt: skip
ENTRY_SHAPE = (
    "pk", TIME, "kind", "container_id", "lot", "location_id", _quantity("delta_ml"),
    _quantity("delta_mg"), _quantity("balance_ml_after"), "patient_id", "by_id",
    "witness_id", "second_witness_id", "reason", "manner", "reverses_id",
)  # fmt: skip
ENTRY_DELTA_ML = ENTRY_SHAPE.index(_quantity("delta_ml"))

EntryRow = Callable[..., tuple[str, ...]]  # (row, balance_ml=None)


def _entry_rows(names: selectors.ReportNames) -> EntryRow:
    """An ENTRY_SHAPE row in words, with the balance given (the product's running one) or the
    container's after the entry."""
    containers, locations, patients, people = (
        names.containers, names.locations, names.patients, names.people,
    )  # fmt: skip

    def row_of(row: tuple[Any, ...], balance_ml: Any = None) -> tuple[str, ...]:
        (pk, at, kind, container, lot, location, delta_ml, delta_mg, balance_after, patient,
         by, witness, second_witness, reason, manner, reverses) = row  # fmt: skip
        # Plain conditionals, not joins over generators: this runs for every row of two years.
        why = f"{reason}; {manner}" if reason and manner else reason or manner
        if reverses:
            why = f"reverses #{reverses}: {why}"
        witnesses = "" if witness is None else people[witness]
        if second_witness is not None:
            witnesses = f"{witnesses}, {people[second_witness]}"
        balance = balance_after if balance_ml is None else balance_ml
        return (
            str(pk), _when(at), KIND_WORDS.get(kind, kind), containers[container], lot,
            locations[location], f"{delta_ml:.2f}", f"{delta_mg:.2f}", f"{balance:.2f}",
            patients.get(patient, ""), people[by], witnesses, why,
        )  # fmt: skip

    return row_of


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
RowsOf = Callable[[selectors.ReportNames], RowMaker]


def _entries(
    title: str,
    subtitle: str,
    columns: tuple[str, ...],
    found: QuerySet[Entry],
    shape: tuple[Any, ...],
    rows_of: RowsOf,
    page: int | None,
    *,
    skipped: Callable[[QuerySet[Entry]], None] | None = None,
) -> Report:
    """A report of the entries ``found`` (ordered), read as ``shape`` (which has the
    ``patient_id``, for the access log) and made into rows by ``rows_of`` the names the rows
    refer to: all of them, streamed, or one page (``page``, from 1), after ``skipped`` is told
    the entries before it."""
    total = found.count()
    pages = max(1, -(-total // PAGE_ROWS))
    patient = shape.index("patient_id")
    if page is None:
        named: set[int] = set()

        def noting(found_rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
            for row in found_rows:
                if row[patient] is not None:
                    named.add(row[patient])
                yield row

        rows = rows_of(selectors.report_names(found))
        streamed = rows(noting(selectors.report_rows(found, shape)))
        last = list(rows(selectors.report_rows(found.reverse(), shape, 0, PDF_SAMPLE_ROWS)))
        return Report(title, subtitle, columns, streamed, named, total, 1, pages, last)
    page = min(max(page, 1), pages)
    offset = (page - 1) * PAGE_ROWS
    if skipped is not None and offset:
        skipped(found[:offset])
    fetched = list(selectors.report_rows(found, shape, offset, PAGE_ROWS))
    rows = rows_of(selectors.report_names(found[offset : offset + PAGE_ROWS]))
    on_page = {row[patient] for row in fetched if row[patient] is not None}
    return Report(title, subtitle, columns, list(rows(iter(fetched))), on_page, total, page, pages)


def _each(make: Callable[[selectors.ReportNames], Callable[..., tuple[str, ...]]]) -> RowsOf:
    """Rows made one by one, each by ``make``'s function of the names."""
    return lambda names: functools.partial(map, make(names))


def _each_entry(names: selectors.ReportNames) -> RowMaker:
    row_of = _entry_rows(names)
    return lambda found: (row_of(row) for row in found)


DISPENSING_COLUMNS: tuple[str, ...] = (
    "Entry", "When", "Patient", "Product", "Container", "Lot", "Drawn (mL)", "Given (mg)",
    "Given (mL)", "Wasted (mL)", "Manner of waste", "By", "Witness",
)  # fmt: skip
PRODUCT_COLUMN = DISPENSING_COLUMNS.index("Product")
DISPENSING_SHAPE = (
    "pk", TIME, "patient_id", "product_id", "container_id", "lot", _quantity("delta_ml"),
    _quantity("given_mg"), _quantity("given_ml"), _quantity("wasted_ml"), MANNER_OR_REVERSAL,
    "by_id", "witness_id",
)  # fmt: skip


def _dispensing_rows(
    names: selectors.ReportNames, with_product: bool
) -> Callable[[tuple[Any, ...]], tuple[str, ...]]:
    containers, patients, people, products = (
        names.containers, names.patients, names.people, names.products,
    )  # fmt: skip

    def row_of(row: tuple[Any, ...]) -> tuple[str, ...]:
        (pk, at, patient, product, container, lot, delta_ml, given_mg, given_ml, wasted_ml,
         manner, by, witness) = row  # fmt: skip
        # One product's log: the title names the product, so no column for it.
        where = (products[product], containers[container]) if with_product else (
            containers[container],
        )  # fmt: skip
        return (
            str(pk), _when(at), patients.get(patient, ""), *where, lot, f"{0 - delta_ml:.2f}",
            f"{given_mg:.2f}", f"{given_ml:.2f}", f"{wasted_ml:.2f}", manner, people[by],
            people.get(witness, ""),
        )  # fmt: skip

    return row_of


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
        DISPENSING_SHAPE,
        _each(functools.partial(_dispensing_rows, with_product=product is None)),
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
        ENTRY_SHAPE,
        _each_entry,
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
        ENTRY_SHAPE,
        _each_entry,
        page,
    )


ADMINISTRATION_SHAPE = (
    "pk", TIME, "patient_id", "session_id", "product_id", "container_id", "lot",
    _quantity("given_mg"), _quantity("wasted_mg"), "by_id", "witness_id",
)  # fmt: skip


def _administration_rows(
    names: selectors.ReportNames,
) -> Callable[[tuple[Any, ...]], tuple[str, ...]]:
    def row_of(row: tuple[Any, ...]) -> tuple[str, ...]:
        pk, at, _patient, session, product, container, lot, given_mg, wasted_mg, by, witness = row
        return (
            str(pk), _when(at), str(session or ""), names.products[product],
            names.containers[container], lot, f"{given_mg:.2f}", f"{wasted_mg:.2f}",
            names.people[by], names.people.get(witness, ""),
        )  # fmt: skip

    return row_of


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
        ADMINISTRATION_SHAPE,
        _each(_administration_rows),
        page,
    )  # fmt: skip


def _running(params: Mapping[str, str], page: int | None) -> Report:
    product = _product(params)
    start, end = _period(params)
    opening = list(selectors.product_balance_before(product.pk, start, None))

    def skipped(before_page: QuerySet[Entry]) -> None:
        opening[:] = selectors.product_balance_before(product.pk, start, before_page)

    def rows_of(names: selectors.ReportNames) -> RowMaker:
        row_of = _entry_rows(names)

        def rows(found: Iterator[tuple[Any, ...]]) -> Iterator[tuple[str, ...]]:
            # In hundredths of a mL: the rows give floats, summed exactly this way.
            balance_cml = round(opening[1] * 100)
            for row in found:
                balance_cml += round(row[ENTRY_DELTA_ML] * 100)
                yield row_of(row, balance_cml / 100)

        return rows

    return _entries(
        f"Running-balance ledger: {product.name}",
        f"NDC {product.ndc}, {start} to {end}; the balance is the product's, after each entry",
        (*ENTRY_COLUMNS[:8], "Product balance (mL)", *ENTRY_COLUMNS[9:]),
        selectors.product_entries(product.pk, start, end),
        ENTRY_SHAPE,
        rows_of,
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
PDF_SAMPLE_ROWS = 200  # from the start and from the end: what the column widths are made for


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
    sample = list(itertools.islice(rows, PDF_SAMPLE_ROWS))
    widths, size_pt = _layout(report.columns, sample + report.last_rows)
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
