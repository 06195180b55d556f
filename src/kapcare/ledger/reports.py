"""The ledger's reports, each one table shown three ways: a page, CSV and PDF (fpdf2, core
fonts, nothing fetched). A report is built once from a selector (`build`), so the three agree.

- ``dispensing``: a product's withdrawals in a period (patient, quantity given and wasted, who
  drew and who witnessed; 21 CFR 1304.22(c));
- ``container`` and ``lot``: every entry of one container or one lot;
- ``patient``: a patient's administrations from the ledger;
- ``running``: a product's entries in a period with the product's balance after each;
- ``inventory``: a signed initial or biennial inventory (21 CFR 1304.11).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from kapcare.errors import FieldInvalid, NotFound
from kapcare.ledger import selectors
from kapcare.ledger.models import Container, Entry, Product

KINDS = ("dispensing", "container", "lot", "patient", "running", "inventory")


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    patient_ids: list[int] = field(default_factory=list)


def _person(user: Any) -> str:
    return user.full_name if user is not None else ""


def _patient(entry: Entry) -> str:
    patient = entry.patient
    if patient is None:
        return ""
    return f"{patient.family_name}, {patient.given_name} (MRN {patient.pk})"


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _when(entry: Entry) -> str:
    return timezone.localtime(entry.occurred_at).strftime("%Y-%m-%d %H:%M")


ENTRY_COLUMNS = (
    "Entry", "When", "Kind", "Container", "Lot", "Location", "Change (mL)", "Change (mg)",
    "Balance (mL)", "Patient", "By", "Witnesses", "Reason or manner",
)  # fmt: skip


def _entry_row(entry: Entry, balance_ml: Decimal | None = None) -> tuple[str, ...]:
    witnesses = ", ".join(
        name for name in (_person(entry.witness), _person(entry.second_witness)) if name
    )
    reason = "; ".join(text for text in (entry.reason, entry.manner) if text)
    if entry.reverses_id:
        reason = f"reverses #{entry.reverses_id}: {reason}"
    return (
        str(entry.pk),
        _when(entry),
        entry.get_kind_display(),
        entry.container.label,
        entry.lot,
        entry.location.name,
        _amount(entry.delta_ml),
        _amount(entry.delta_mg),
        _amount(entry.balance_ml_after if balance_ml is None else balance_ml),
        _patient(entry),
        _person(entry.by),
        witnesses,
        reason,
    )


def _patients(entries: list[Entry]) -> list[int]:
    return sorted({e.patient_id for e in entries if e.patient_id is not None})


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


def _dispensing(params: Mapping[str, str]) -> Report:
    """One product's, or every product's when none is chosen."""
    product = _product(params) if params.get("product") else None
    start, end = _period(params)
    entries = list(selectors.dispensing_log(product.pk if product else None, start, end))
    return Report(
        f"Dispensing log: {product.name if product else 'all products'}",
        f"{f'NDC {product.ndc}, ' if product else ''}{start} to {end}",
        ("Entry", "When", "Patient", "Product", "Container", "Lot", "Drawn (mL)", "Given (mg)",
         "Given (mL)", "Wasted (mL)", "Manner of waste", "By", "Witness"),
        [
            (str(e.pk), _when(e), _patient(e), e.product.name, e.container.label, e.lot,
             _amount(-e.delta_ml),
             _amount(e.given_mg), _amount(e.given_ml), _amount(e.wasted_ml),
             e.manner if e.kind != "reversal" else f"reversal of #{e.reverses_id}: {e.reason}",
             _person(e.by), _person(e.witness))
            for e in entries
        ],
        _patients(entries),
    )  # fmt: skip


def _container(params: Mapping[str, str]) -> Report:
    container = Container.objects.select_related("product").filter(pk=_number(params, "container"))
    found = container.first()
    if found is None:
        raise NotFound("container", "No such container.")
    entries = list(selectors.container_history(found.pk))
    return Report(
        f"Container history: {found.label}",
        f"{found.product.name}, lot {found.lot}, expires {found.expires_on}",
        ENTRY_COLUMNS,
        [_entry_row(e) for e in entries],
        _patients(entries),
    )


def _lot(params: Mapping[str, str]) -> Report:
    product = _product(params)
    lot = params.get("lot", "").strip()
    if not lot:
        raise FieldInvalid("lot", "required", "the lot number")
    entries = list(selectors.lot_history(product.pk, lot))
    return Report(
        f"Lot history: {lot}",
        f"{product.name} (NDC {product.ndc})",
        ENTRY_COLUMNS,
        [_entry_row(e) for e in entries],
        _patients(entries),
    )


def _patient_report(params: Mapping[str, str]) -> Report:
    patient_id = _number(params, "patient")
    entries = list(selectors.patient_administrations(patient_id))
    name = _patient(entries[0]) if entries else f"MRN {patient_id}"
    return Report(
        f"Administrations from the ledger: {name}",
        "Every withdrawal for the patient's dosing sessions, and any reversal of one",
        ("Entry", "When", "Session", "Product", "Container", "Lot", "Given (mg)", "Wasted (mg)",
         "By", "Witness"),
        [
            (str(e.pk), _when(e), str(e.session_id or ""), e.product.name, e.container.label,
             e.lot, _amount(e.given_mg), _amount(e.wasted_mg), _person(e.by),
             _person(e.witness))
            for e in entries
        ],
        [patient_id],
    )  # fmt: skip


def _running(params: Mapping[str, str]) -> Report:
    product = _product(params)
    start, end = _period(params)
    lines = selectors.running_ledger(product.pk, start, end)
    columns = (*ENTRY_COLUMNS[:8], "Product balance (mL)", *ENTRY_COLUMNS[9:])
    return Report(
        f"Running-balance ledger: {product.name}",
        f"NDC {product.ndc}, {start} to {end}; the balance is the product's, after each entry",
        columns,
        [_entry_row(line.entry, line.product_balance_ml) for line in lines],
        _patients([line.entry for line in lines]),
    )


def _inventory(params: Mapping[str, str]) -> Report:
    inventory = selectors.inventory(_number(params, "inventory"))
    if inventory is None:
        raise NotFound("inventory", "No such inventory.")
    registration = inventory.registration
    return Report(
        f"{inventory.get_kind_display()} of controlled substances",
        f"{registration.name}, {registration.address}, DEA {registration.dea_number}; taken "
        f"{inventory.taken_on} {inventory.get_timing_display().lower()}; signed by "
        f"{_person(inventory.signed_by)} at "
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
            for line in inventory.lines.all()
        ],
    )  # fmt: skip


BUILDERS: dict[str, Callable[[Mapping[str, str]], Report]] = {
    "dispensing": _dispensing,
    "container": _container,
    "lot": _lot,
    "patient": _patient_report,
    "running": _running,
    "inventory": _inventory,
}


def build(kind: str, params: Mapping[str, str]) -> Report:
    if kind not in BUILDERS:
        raise NotFound("kind", "No such report.")
    return BUILDERS[kind](params)


# --- CSV and PDF ---------------------------------------------------------------------------


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([report.title])
    writer.writerow([report.subtitle])
    writer.writerow(report.columns)
    writer.writerows(report.rows)
    return out.getvalue()


def _latin(text: str) -> str:
    # The core PDF fonts are Latin-1: anything else becomes "?" rather than failing.
    return text.replace("\u2014", "-").replace("\u2013", "-").encode("latin-1", "replace").decode()


PDF_LINE_MM = 3.6
PDF_PAD_MM = 0.8


def _wrapped(pdf: FPDF, text: str, width_mm: float) -> list[str]:
    """``text`` in lines that fit ``width_mm`` at the current font, broken between words (a
    word longer than the width, by characters). Measured here, a word's width once (the core
    fonts have no kerning, so a line is the sum of its words), rather than by fpdf2's table,
    which lays out a two-year report in about a minute."""
    space = pdf.get_string_width(" ")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, line_mm = "", 0.0
        for word in paragraph.split(" "):
            word_mm = pdf.get_string_width(word)
            if line and line_mm + space + word_mm <= width_mm:
                line, line_mm = f"{line} {word}", line_mm + space + word_mm
                continue
            if line:
                lines.append(line)
            while word_mm > width_mm and len(word) > 1:
                cut = max(1, int(len(word) * width_mm / word_mm))
                lines.append(word[:cut])
                word = word[cut:]
                word_mm = pdf.get_string_width(word)
            line, line_mm = word, word_mm
        lines.append(line)
    return lines


def _pdf_row(pdf: FPDF, widths: list[float], cells: list[Any]) -> None:
    """One table row: each cell's lines (a string is one cell of one line) in a bordered box
    as tall as the row's longest cell."""
    cells = [[c] if isinstance(c, str) else c for c in cells]
    height = PDF_LINE_MM * max(map(len, cells)) + 2 * PDF_PAD_MM
    x, y = pdf.l_margin, pdf.y
    for lines, w in zip(cells, widths, strict=True):
        pdf.rect(x, y, w, height)
        for number, line in enumerate(lines):
            pdf.text(x + PDF_PAD_MM, y + PDF_PAD_MM + PDF_LINE_MM * (number + 0.75), line)
        x += w
    pdf.set_xy(pdf.l_margin, y + height)


def as_pdf(report: Report) -> bytes:
    """Landscape A4, the columns sharing the width by how much they hold, rows wrapping."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_margins(10, 10, 10)
    pdf.set_title(_latin(report.title))
    pdf.set_creator("kapcare")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(width, 7, _latin(report.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(width, 4.5, _latin(report.subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    weights = [
        max([len(column), *(len(row[i]) for row in report.rows[:200])], default=4)
        for i, column in enumerate(report.columns)
    ]
    weights = [min(max(w, 4), 40) for w in weights]
    total = sum(weights)
    widths = [width * w / total for w in weights]
    pdf.set_font("Helvetica", "B", 7)
    _pdf_row(pdf, widths, [_latin(c) for c in report.columns])
    heading_end = pdf.y
    pdf.set_font("Helvetica", "", 7)
    for row in report.rows:
        lines = [
            _wrapped(pdf, _latin(value), w - 2 * PDF_PAD_MM)
            for value, w in zip(row, widths, strict=True)
        ]
        if pdf.y + PDF_LINE_MM * max(map(len, lines)) > pdf.page_break_trigger:
            pdf.add_page()  # the headings again on every page
            pdf.set_font("Helvetica", "B", 7)
            _pdf_row(pdf, widths, [_latin(c) for c in report.columns])
            pdf.set_font("Helvetica", "", 7)
        _pdf_row(pdf, widths, lines)
    if not report.rows:
        pdf.set_y(heading_end)
        pdf.cell(width, 6, "No entries.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
