"""The ledger's fixed API: each operation's success shape, its refusals (409 naming the rule,
422 naming the field, 403 for a role), the witness header, and what each read costs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kapcare.audit.models import Action, AuditEntry
from kapcare.ledger.models import Container, Entry, Kind
from kapcare.ledger.tests.conftest import K50


@pytest.fixture
def api(token_for):
    def client(user, **headers) -> Client:
        return Client(headers={"Authorization": f"Bearer {token_for(user)}", **headers})

    return client


RECEIPT: dict[str, Any] = {
    "product_ndc": K50,
    "supplier": {"name": "Example Wholesale", "address": "2 Depot Road", "dea_number": "AB1234563"},
    "invoice": "INV-9",
    "lot": "LOT-API",
    "containers": 2,
}


def receipt_body(**changes):
    return {
        **RECEIPT,
        "expires_on": (date.today() + timedelta(days=300)).isoformat(),
        "received_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        **changes,
    }


def post(client, path, body, **headers):
    return client.post(f"/api/v1/ledger{path}", body, content_type="application/json", **headers)


def test_a_receipt_answers_with_each_container_its_label_and_balance(api, users, safe):
    response = post(api(users["clinic_admin"]), "/receipts", receipt_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert [c["label"] for c in body["containers"]] == [f"R{body['id']}-001", f"R{body['id']}-002"]
    assert {(c["balance_mg"], c["balance_ml"]) for c in body["containers"]} == {("500.00", "10.00")}


def test_a_receipt_with_a_bad_supplier_dea_number_is_422_naming_the_field(api, users, safe):
    body = receipt_body(supplier={**RECEIPT["supplier"], "dea_number": "AB1234564"})
    response = post(api(users["clinic_admin"]), "/receipts", body)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("supplier.dea_number", "check_digit")
    assert not Container.objects.exists()


@pytest.mark.parametrize(
    ("received_at", "rule"),
    [
        # Year 1 just after midnight UTC is still year 0 in the Americas: it must be refused,
        # not overflow (found by the schema fuzz).
        ("0001-01-01T00:00:10Z", "too_early"),
        ("1999-12-31T23:59:00Z", "too_early"),
        ((timezone.now() + timedelta(hours=1)).isoformat(), "in_future"),
    ],
)
def test_an_implausible_receipt_time_is_422_naming_the_field(api, users, safe, received_at, rule):
    body = receipt_body(received_at=received_at)
    response = post(api(users["clinic_admin"]), "/receipts", body)
    assert response.status_code == 422, response.content
    (error,) = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("received_at", rule)
    assert not Container.objects.exists() and not Entry.objects.exists()


@pytest.mark.parametrize("role", ["nurse", "therapist", "front_desk", "prescriber"])
def test_only_the_admin_records_receipts(api, users, safe, role):
    assert post(api(users[role]), "/receipts", receipt_body()).status_code == 403


def test_containers_by_ndc_and_lot(api, users, receive, django_assert_max_num_queries):
    receive(lot="LOT-A")
    receive(lot="LOT-B", containers=3)
    client = api(users["nurse"])
    client.get("/api/v1/ledger/products")  # the token's first use is written once
    with django_assert_max_num_queries(4):
        response = client.get(f"/api/v1/ledger/containers?product_ndc={K50}&lot=LOT-B")
    assert response.status_code == 200
    assert [(c["lot"], c["balance_ml"]) for c in response.json()] == [("LOT-B", "10.00")] * 3
    assert api(users["therapist"]).get("/api/v1/ledger/containers").status_code == 403


def test_products_carry_their_ndc(api, users, seeded_products):
    products = api(users["prescriber"]).get("/api/v1/ledger/products").json()
    assert {p["ndc"] for p in products} == {"99999-0050-10", "99999-0100-10", "99999-0028-01"}
    assert all(p["ndc_is_placeholder"] for p in products)
    assert api(users["front_desk"]).get("/api/v1/ledger/products").status_code == 403


WITHDRAWAL = {"drawn_ml": "1.00", "given_ml": "0.70", "wasted_ml": "0.30", "waste_manner": "Sink"}


def test_a_witnessed_withdrawal(api, users, vial, dosing, token_for):
    client = api(
        users["nurse"], **{"X-Witness-Authorization": f"Bearer {token_for(users['prescriber'])}"}
    )
    response = post(
        client, f"/containers/{vial.pk}/withdrawals", {"session_id": dosing.pk, **WITHDRAWAL}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["balance_ml"], body["balance_mg"]) == ("9.00", "450.00")
    entry = body["entry"]
    assert (entry["kind"], entry["session_id"], entry["patient_id"]) == (
        "withdrawal",
        dosing.pk,
        dosing.patient_id,
    )
    assert entry["administration_id"] is None  # not recorded yet (the session page links it)
    assert entry["witness_id"] == users["prescriber"].pk
    assert AuditEntry.objects.filter(
        action=Action.CREATE, what__startswith="ledger withdrawal", patient_id=dosing.patient_id
    ).exists()


@pytest.mark.parametrize(
    ("witness", "rule"),
    [(None, "witness_required"), ("nurse", "witness_is_same_person"),
     ("therapist", "witness_not_licensed"), ("bad", "witness_not_authenticated")],
)  # fmt: skip
def test_a_witness_problem_is_409_naming_the_rule(
    api, users, vial, dosing, token_for, witness, rule
):
    headers = {}
    if witness == "bad":
        headers["X-Witness-Authorization"] = "Bearer not-a-token"
    elif witness:
        headers["X-Witness-Authorization"] = f"Bearer {token_for(users[witness])}"
    response = post(
        api(users["nurse"], **headers),
        f"/containers/{vial.pk}/withdrawals",
        {"session_id": dosing.pk, **WITHDRAWAL},
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["rule"] == rule
    assert not Entry.objects.filter(kind=Kind.WITHDRAWAL).exists()


def test_below_zero_is_409_and_bad_input_422(api, users, vial, dosing):
    client = api(users["nurse"])
    path = f"/containers/{vial.pk}/withdrawals"
    too_much = {"session_id": dosing.pk, "drawn_ml": "11", "given_ml": "11", "wasted_ml": "0"}
    response = post(client, path, too_much)
    assert (response.status_code, response.json()["errors"][0]["rule"]) == (
        409,
        "insufficient_balance",
    )
    unequal = {"session_id": dosing.pk, "drawn_ml": "2", "given_ml": "1", "wasted_ml": "0"}
    response = post(client, path, unequal)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "drawn_ml"
    response = post(client, path, {**unequal, "drawn_ml": "lots"})
    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "drawn_ml")
    response = post(client, path, {**unequal, "session_id": 999999})
    assert (response.status_code, response.json()["errors"][0]["field"]) == (404, "session_id")
    assert post(client, "/containers/999999/withdrawals", unequal).status_code == 404
    assert not Entry.objects.filter(kind=Kind.WITHDRAWAL).exists()
    assert post(api(users["clinic_admin"]), path, unequal).status_code == 403


def test_adjustments_and_a_reversal(api, users, vial, cart, token_for):
    admin = api(users["clinic_admin"])
    moved = post(
        admin,
        "/adjustments",
        {
            "container_id": vial.pk,
            "kind": "transfer",
            "reason": "Stock the cart",
            "to_location_id": cart.pk,
        },
    )
    assert moved.status_code == 201, moved.content
    breakage = {
        "container_id": vial.pk,
        "kind": "breakage",
        "quantity_ml": "2.5",
        "reason": "Spilled",
    }
    nurse = api(
        users["nurse"], **{"X-Witness-Authorization": f"Bearer {token_for(users['prescriber'])}"}
    )
    broken = post(nurse, "/adjustments", breakage)
    assert broken.status_code == 201, broken.content
    assert broken.json()["balance_ml_after"] == "7.50"
    reversal = {
        "container_id": vial.pk,
        "kind": "reversal",
        "reverses": broken.json()["id"],
        "reason": "Recorded twice",
    }
    assert post(nurse, "/adjustments", reversal).status_code == 403
    reversed_ = post(admin, "/adjustments", reversal)
    assert reversed_.status_code == 201
    assert (reversed_.json()["reverses_id"], reversed_.json()["balance_ml_after"]) == (
        broken.json()["id"],
        "10.00",
    )
    again = post(admin, "/adjustments", reversal)
    assert (again.status_code, again.json()["errors"][0]["rule"]) == (409, "already_reversed")
    wrong_kind = post(admin, "/adjustments", {**reversal, "kind": "gift"})
    assert (wrong_kind.status_code, wrong_kind.json()["errors"][0]["field"]) == (422, "kind")


def test_a_destruction_takes_two_witness_tokens(api, users, vial, token_for, make_user):
    headers = {
        "X-Witness-Authorization": f"Bearer {token_for(users['nurse'])}",
        "X-Second-Witness-Authorization": f"Bearer {token_for(users['prescriber'])}",
    }
    body = {
        "container_id": vial.pk,
        "kind": "destruction",
        "quantity_ml": "10",
        "reason": "Expired",
        "manner": "Reverse distributor",
    }
    response = post(api(users["clinic_admin"], **headers), "/adjustments", body)
    assert response.status_code == 201, response.content
    assert (response.json()["witness_id"], response.json()["second_witness_id"]) == (
        users["nurse"].pk,
        users["prescriber"].pk,
    )


def test_entries_of_a_container_since_a_time_log_the_patients_read(
    api, users, vial, dosing, token_for, django_assert_max_num_queries
):
    witness = {"X-Witness-Authorization": f"Bearer {token_for(users['prescriber'])}"}
    nurse = api(users["nurse"], **witness)
    for _ in range(3):
        post(nurse, f"/containers/{vial.pk}/withdrawals", {"session_id": dosing.pk, **WITHDRAWAL})
    admin = api(users["clinic_admin"])
    admin.get("/api/v1/ledger/products")
    # The token, the entries (joined), and the access-log append: not one per entry.
    with django_assert_max_num_queries(7):
        response = admin.get(f"/api/v1/ledger/entries?container={vial.pk}")
    kinds = [e["kind"] for e in response.json()]
    assert kinds == ["receipt", "withdrawal", "withdrawal", "withdrawal"]
    later = response.json()[2]["occurred_at"]
    since = admin.get("/api/v1/ledger/entries", {"container": vial.pk, "since": later}).json()
    assert len(since) == 2
    assert AuditEntry.objects.filter(
        action=Action.READ, what="API ledger entries", patient_id=dosing.patient_id
    ).exists()
