"""The reports at size: a page shows one page of rows with the way to the others, the running
balance carries across pages, the period is whole clinic days, the access log names the
patients a page shows, and the PDF listing holds every row, wraps what is too long and heads
and numbers every page."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from kapcare.audit.models import Action, AuditEntry
from kapcare.ledger import listing, reports, services
from kapcare.ledger.models import Entry, Kind
from kapcare.ledger.tests.conftest import withdraw, witness_of


@pytest.fixture
def five_draws(vial, dosing, nurse, users):
    """Five withdrawals of 1 mL from the first of two 10 mL vials received, each wasting
    0.3 mL with a witness: seven entries."""
    for _ in range(5):
        withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]))
    return vial


def _period(vial) -> dict[str, str]:
    return {"product": str(vial.product_id)}


def test_a_page_shows_its_rows_and_the_way_to_the_others(
    client_for, users, five_draws, monkeypatch
):
    monkeypatch.setattr(reports, "PAGE_ROWS", 2)
    client = client_for(users["prescriber"])
    query = f"kind=running&product={five_draws.product_id}"
    first = client.get(f"/ledger/reports/?{query}").content.decode()
    assert "7 rows; page 1 of 4" in first  # two vials received, five withdrawals
    link = query.replace("&", "&amp;")
    assert f'href="?{link}&amp;page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    last = client.get(f"/ledger/reports/?{query}&page=4").content.decode()
    assert "page 4 of 4" in last and 'rel="prev"' in last and 'rel="next"' not in last
    # The product's running balance goes on from the pages before: 20 mL less 5 mL drawn.
    ids = list(Entry.objects.order_by("id").values_list("pk", flat=True))
    assert f"<td>{ids[-1]}</td>" in last and "<td>15.00</td>" in last
    assert f"<td>{ids[0]}</td>" not in last


def test_the_running_balance_on_a_later_page_matches_the_book(five_draws, monkeypatch):
    monkeypatch.setattr(reports, "PAGE_ROWS", 2)
    pages = [reports.build("running", _period(five_draws), page=n).rows for n in (1, 2, 3, 4)]
    shown = [row for page in pages for row in page]
    balance_column = reports.ENTRY_COLUMNS.index("Balance (mL)")
    book, balance = [], Decimal(0)
    for delta_ml in Entry.objects.order_by("id").values_list("delta_ml", flat=True):
        balance += delta_ml
        book.append(f"{balance:.2f}")
    assert [row[balance_column] for row in shown] == book
    assert book[-1] == "15.00"


def test_a_page_past_the_last_shows_the_last(five_draws, monkeypatch):
    monkeypatch.setattr(reports, "PAGE_ROWS", 4)
    built = reports.build("running", _period(five_draws), page=99)
    assert (built.page, built.pages, built.total_rows, len(list(built.rows))) == (2, 2, 7, 3)


def test_the_period_is_whole_clinic_days(vial, dosing, nurse, users):
    """An entry late on the end date is in; one just after midnight of the next day is not."""
    end = timezone.localdate() - timedelta(days=1)
    late = timezone.make_aware(datetime.combine(end, time(23, 50)))
    withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]), now=late)
    period = {"product": str(vial.product_id), "end": end.isoformat(), "start": end.isoformat()}
    assert reports.build("dispensing", period).total_rows == 1
    period["end"] = period["start"] = (end - timedelta(days=1)).isoformat()
    assert reports.build("dispensing", period).total_rows == 0


def test_a_page_logs_the_patients_it_shows_and_the_csv_all(
    client_for, users, five_draws, monkeypatch
):
    monkeypatch.setattr(reports, "PAGE_ROWS", 1)
    client = client_for(users["prescriber"])
    query = f"kind=running&product={five_draws.product_id}"
    patient_id = Entry.objects.exclude(patient=None).values_list("patient_id", flat=True)[0]

    def logged(path: str) -> bool:
        before = AuditEntry.objects.count()
        assert client.get(path).status_code == 200
        return AuditEntry.objects.filter(
            pk__gt=before, action=Action.READ, patient_id=patient_id
        ).exists()

    assert not logged(f"/ledger/reports/?{query}&page=2")  # a receipt: no patient on it
    assert logged(f"/ledger/reports/?{query}&page=3")
    assert logged(f"/ledger/reports/?{query}&format=csv")


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_the_pdf_listing_holds_every_row_on_numbered_pages_headed_by_the_columns():
    rows = [(str(n), f"value {n}", "short") for n in range(400)]
    report = reports.Report(
        "A long report", "Synthetic rows", ("Entry", "What", "Note"), rows, set(), 400
    )
    pages = _pdf_text(reports.as_pdf(report))
    assert len(pages) > 1
    for number, text in enumerate(pages, start=1):
        assert "Entry" in text and "What" in text, "the headings on every page"
        assert f"page {number} of {len(pages)}" in text
    every = "\n".join(pages)
    assert all(f"value {n}" in every for n in range(400))
    assert "Synthetic rows (400 rows)" in pages[0]


def test_a_value_longer_than_its_column_wraps_without_losing_a_word():
    long_reason = " ".join(f"word{n}" for n in range(60)) + " " + "x" * 70
    rows = [("1", "short"), ("2", long_reason)]
    text = "".join(_pdf_text(reports.as_pdf(reports.Report("T", "S", ("Id", "Reason"), rows))))
    words = text.split()
    assert all(f"word{n}" in words for n in range(60))
    assert "x" * 40 in text.replace("\n", "")  # a word longer than the column is cut, not lost


def test_text_outside_the_fonts_encoding_prints_as_a_question_mark_and_parentheses_escape():
    report = reports.Report("Ünïcode (test)", "S", ("A",), [("日本 (kept)",)], set(), 1)
    text = "".join(_pdf_text(reports.as_pdf(report)))
    assert "Ünïcode (test)" in text and "?? (kept)" in text


def test_the_font_shrinks_to_fit_many_columns_and_then_the_columns_narrow():
    columns = tuple(f"Column {n}" for n in range(30))
    widths, size_pt = reports._layout(columns, [tuple("v" * 30 for _ in columns)])
    needed = sum(widths) + len(reports.PDF_GAP) * (len(widths) - 1)
    assert size_pt == reports.PDF_SIZES_PT[1]
    assert needed <= listing.chars_per_line(size_pt)


def test_a_reversal_reads_as_one_in_the_dispensing_log(five_draws, nurse, admin):
    drawn = Entry.objects.filter(kind=Kind.WITHDRAWAL).earliest("id")
    services.record_adjustment(
        admin, container_id=five_draws.pk, kind=Kind.REVERSAL, reverses=drawn.pk,
        reason="Drawn twice in error",
    )  # fmt: skip
    rows = list(reports.build("dispensing", _period(five_draws)).rows)
    manner = reports.DISPENSING_COLUMNS.index("Manner of waste") - 1  # one product: no column
    assert rows[-1][manner] == f"reversal of #{drawn.pk}: Drawn twice in error"
    assert rows[-1][reports.DISPENSING_COLUMNS.index("Drawn (mL)") - 1] == "-1.00"
    assert Decimal(rows[0][5]) == Decimal("1.00")


def test_a_streamed_report_brings_its_last_rows_for_the_pdf_column_widths(five_draws):
    """Ids and labels grow over two years: the PDF sizes its columns from the last rows too,
    so the later rows fit on one line instead of each wrapping."""
    built = reports.build("running", _period(five_draws))
    newest = Entry.objects.order_by("-id").values_list("pk", flat=True)[0]
    assert built.last_rows[0][0] == str(newest)
    assert len(built.last_rows) == 7  # every row, newest first: fewer than the sample size
    wide = reports.Report("T", "S", ("Id",), [("1",)] * 3, set(), 3, last_rows=[("1234567",)])
    widths, _size = reports._layout(wide.columns, [*wide.rows, *wide.last_rows])
    assert widths == [7 + reports.PDF_SLACK]


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_report_times_are_the_clinics_local_minute_across_every_switch(zone, settings):
    """Times are read as the database's UTC text and shown in the clinic's zone; the offset is
    looked up once an hour, so every minute of two years, daylight-saving switches included
    (Lord Howe's moves by half an hour, at a half hour UTC), must come out as the zone says."""
    settings.TIME_ZONE = zone
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    while moment < datetime(2027, 1, 1, tzinfo=UTC):
        expected = f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
        naive = moment.replace(tzinfo=None).isoformat(" ")
        assert reports._when(naive) == expected  # SQLite's text
        assert reports._when(f"{naive}+00") == expected  # PostgreSQL's, in UTC
        moment += timedelta(minutes=13, seconds=7)


def test_a_time_written_with_another_offset_is_converted_from_it():
    assert reports._when("2025-06-01 09:15:41+02") == "2025-06-01 03:15"  # 07:15 UTC, New York
    assert reports._when("2025-06-01 09:15:41.5+05:30") == "2025-05-31 23:45"


def test_a_destruction_shows_its_reason_manner_and_both_witnesses(vial, admin, users):
    services.record_adjustment(
        admin, container_id=vial.pk, kind=Kind.DESTRUCTION, quantity_ml=Decimal(10),
        reason="Expired", manner="Reverse distributor", witness=witness_of(users["nurse"]),
        second_witness=witness_of(users["prescriber"]),
    )  # fmt: skip
    (*_, destroyed) = reports.build("container", {"container": str(vial.pk)}).rows
    columns = reports.ENTRY_COLUMNS
    assert destroyed[columns.index("Reason or manner")] == "Expired; Reverse distributor"
    assert destroyed[columns.index("Witnesses")] == (
        f"{users['nurse'].full_name}, {users['prescriber'].full_name}"
    )
    received = next(iter(reports.build("container", {"container": str(vial.pk)}).rows))
    assert received[columns.index("Witnesses")] == received[columns.index("Reason or manner")] == ""
