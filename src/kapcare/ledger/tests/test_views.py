"""The ledger's pages: the home, receiving, counting with a second person signing in, resolving
a discrepancy, marking a loss filed, the inventory, and the reports as page, CSV and PDF (each
logging the patients it shows); who may open them; what each costs in queries."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from kapcare.audit.models import Action, AuditEntry
from kapcare.conftest import TEST_PASSWORD
from kapcare.ledger import services
from kapcare.ledger.models import Container, Discrepancy, Inventory, Kind, Receipt
from kapcare.ledger.tests.conftest import K50, withdraw, witness_of


@pytest.fixture
def admin_client(client_for, users):
    return client_for(users["clinic_admin"])


@pytest.mark.parametrize("role", ["nurse", "therapist", "front_desk"])
def test_the_ledger_pages_are_the_admins(client_for, users, role, safe):
    client = client_for(users[role])
    assert client.get("/ledger/").status_code == 403
    assert client.get("/ledger/receipts/new/").status_code == 403
    assert client.get("/ledger/reports/").status_code == 403


def test_the_home_shows_stock_expiry_discrepancies_and_unfiled_losses(
    admin_client, receive, admin, django_assert_max_num_queries
):
    receive(containers=3, expires_on=date.today() + timedelta(days=20))
    vial = Container.objects.earliest("id")
    services.record_adjustment(
        admin, container_id=vial.pk, kind=Kind.LOSS, quantity_ml=Decimal(10), reason="Missing",
        loss=services.LossDetails(timezone.now(), "other", "Not in the safe"),
    )  # fmt: skip
    with django_assert_max_num_queries(14):
        page = admin_client.get("/ledger/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "DEA Form 106 not filed" in text
    assert "Expiring soon" in text
    assert text.count(" expires ") >= 2  # the two vials left
    for label in Container.objects.exclude(pk=vial.pk).values_list("label", flat=True):
        assert label in text


def test_receiving_stock_from_the_form(admin_client, safe, seeded_products):
    form = {
        "product": K50, "location": safe.pk, "supplier.name": "Example Wholesale",
        "supplier.address": "2 Depot Road", "supplier.dea_number": "AB1234564",
        "invoice": "INV-7", "lot": "LOT-F", "containers": 2,
        "expires_on": (date.today() + timedelta(days=200)).isoformat(),
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }  # fmt: skip
    refused = admin_client.post("/ledger/receipts/new/", form)
    assert refused.status_code == 400
    assert "the check digit (the seventh digit) is wrong" in refused.content.decode()
    assert not Receipt.objects.exists()
    done = admin_client.post("/ledger/receipts/new/", {**form, "supplier.dea_number": "AB1234563"})
    assert done.status_code == 302
    assert Container.objects.filter(lot="LOT-F").count() == 2


def test_a_count_with_the_second_counter_signing_in(admin_client, receive, safe, users):
    first, second = receive().container_set.order_by("id")
    found = {f"found[{first.pk}]": "10", f"found[{second.pk}]": "9.80"}
    nurse = users["nurse"].email
    wrong = admin_client.post(
        f"/ledger/count/?location={safe.pk}",
        {**found, "second_email": nurse, "second_password": "wrong"},
    )
    assert wrong.status_code == 409
    assert "could not be authenticated" in wrong.content.decode()
    done = admin_client.post(
        f"/ledger/count/?location={safe.pk}",
        {**found, "second_email": nurse, "second_password": TEST_PASSWORD},
    )
    assert done.status_code == 302
    discrepancy = Discrepancy.objects.get()
    assert discrepancy.difference_ml == Decimal("-0.20")
    home = admin_client.get("/ledger/").content.decode()
    assert "Open discrepancies" in home and second.label in home
    resolved = admin_client.post(
        "/ledger/discrepancies/resolve/",
        {"discrepancy": discrepancy.pk, "reason": "Spilled at priming"},
    )
    assert resolved.status_code == 302
    discrepancy.refresh_from_db()
    assert discrepancy.resolved_at is not None


def test_marking_a_loss_filed_stops_the_reminder(admin_client, vial, admin):
    entry = services.record_adjustment(
        admin, container_id=vial.pk, kind=Kind.LOSS, quantity_ml=Decimal(10), reason="Missing",
        loss=services.LossDetails(timezone.now(), "break_in", "Safe forced"),
    )  # fmt: skip
    assert "DEA Form 106 not filed" in admin_client.get("/ledger/receipts/new/").content.decode()
    answer = admin_client.post(
        "/ledger/losses/filed/", {"report": entry.loss_report.pk, "dea_reference": "106-1"}
    )
    assert answer.status_code == 302
    assert "DEA Form 106 not filed" not in admin_client.get("/ledger/").content.decode()


def test_the_inventory_is_signed_and_has_a_pdf(admin_client, vial, users):
    answer = admin_client.post(
        "/ledger/inventories/new/",
        {"kind": "biennial", "taken_on": date.today().isoformat(), "timing": "close"},
    )
    assert answer.status_code == 302
    inventory = Inventory.objects.get()
    assert inventory.signed_by == users["clinic_admin"]
    pdf = admin_client.get(f"/ledger/reports/?kind=inventory&inventory={inventory.pk}&format=pdf")
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Biennial inventory" in text and vial.label in text


@pytest.fixture
def drawn(vial, dosing, nurse, users):
    for _ in range(3):
        withdraw(nurse, vial, dosing, witness=witness_of(users["prescriber"]))
    return dosing


@pytest.mark.parametrize(
    "query",
    ["kind=dispensing", "kind=running", "kind=patient&patient={patient}",
     "kind=container&container={container}", "kind=lot&product={product}&lot=LOT-A"],
)  # fmt: skip
def test_each_report_as_page_csv_and_pdf_logs_the_patients(
    client_for, users, drawn, vial, query, django_assert_max_num_queries
):
    client = client_for(users["prescriber"])
    query = query.format(patient=drawn.patient_id, container=vial.pk, product=vial.product_id)
    before = AuditEntry.objects.count()
    # Whatever the rows: the page's rows, their count, the five small lookups of the names
    # they refer to (containers, patients, staff, locations, products), the access log.
    with django_assert_max_num_queries(17):
        page = client.get(f"/ledger/reports/?{query}")
    assert page.status_code == 200
    assert "Cleared, Casey" in page.content.decode()
    assert AuditEntry.objects.filter(
        pk__gt=before, action=Action.READ, patient_id=drawn.patient_id
    ).exists()
    csv_text = client.get(f"/ledger/reports/?{query}&format=csv").content.decode()
    assert "Cleared, Casey" in csv_text
    assert csv_text.count("Test nurse") == 3  # the three withdrawals, one row each
    pdf = client.get(f"/ledger/reports/?{query}&format=pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Casey" in text


def test_a_bad_report_query_names_the_field(admin_client, seeded_products):
    answer = admin_client.get("/ledger/reports/?kind=dispensing&start=yesterday")
    assert answer.status_code == 400
    assert "a date (YYYY-MM-DD)" in answer.content.decode()


def test_a_destruction_from_the_page_with_two_witnesses_signing_in(admin_client, vial, users):
    form = {
        "container": vial.pk, "kind": "destruction", "quantity_ml": "10", "reason": "Expired",
        "manner": "Reverse distributor", "witness_email": users["nurse"].email,
        "witness_password": TEST_PASSWORD,
    }  # fmt: skip
    missing = admin_client.post("/ledger/adjustments/new/", form)
    assert missing.status_code == 409
    assert "needs a witness" in missing.content.decode()
    done = admin_client.post(
        "/ledger/adjustments/new/",
        {**form, "second_witness_email": users["prescriber"].email,
         "second_witness_password": TEST_PASSWORD},
    )  # fmt: skip
    assert done.status_code == 302
    entry = vial.entries.get(kind=Kind.DESTRUCTION)
    assert (entry.witness, entry.second_witness) == (users["nurse"], users["prescriber"])


def test_a_loss_from_the_page_keeps_its_form_106_details(admin_client, vial):
    answer = admin_client.post(
        "/ledger/adjustments/new/",
        {"container": vial.pk, "kind": "loss", "quantity_ml": "10", "reason": "Missing at count",
         "loss_type": "employee_theft", "description": "Vial gone from the safe",
         "discovered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
         "police_notified": "true", "police_report": "PD-77"},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content
    report = vial.entries.get(kind=Kind.LOSS).loss_report
    assert (report.loss_type, report.police_notified, report.filed_at) == (
        "employee_theft", True, None,
    )  # fmt: skip
    assert "DEA Form 106 not filed" in admin_client.get("/ledger/").content.decode()
