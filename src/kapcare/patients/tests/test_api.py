"""GET /api/v1/patients: authentication, the role rule, search, paging and the access log."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.patients.services import create_patient


@pytest.fixture
def patients(db):
    actor = Actor.system("test")
    names = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing")]
    return [
        create_patient(
            actor,
            given_name=given,
            family_name=family,
            birth_date=date(1980, 1, 1),
            sex_at_birth="female",
            is_synthetic=True,
        )
        for given, family in names
    ]


def _api(token: str | None = None) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"} if token else {})


def test_no_token_is_401(patients):
    response = _api().get("/api/v1/patients")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]
    assert not AuditEntry.objects.filter(action=Action.READ).exists()


def test_nurse_token_lists_patients_and_the_read_is_logged(patients, users, token_for):
    nurse = users["nurse"]
    response = _api(token_for(nurse)).get(
        "/api/v1/patients", REMOTE_ADDR="192.0.2.7", headers={"X-Request-ID": "req-12345678"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [p["family_name"] for p in body["results"]] == ["Hopper", "Lovelace", "Turing"]
    assert all(p["is_synthetic"] for p in body["results"])
    reads = AuditEntry.objects.filter(action=Action.READ).order_by("patient_id")
    assert [e.patient_id for e in reads] == sorted(p.pk for p in patients)
    for entry in reads:
        assert entry.user_id == nurse.pk
        assert entry.role == "nurse"
        assert entry.client_address == "192.0.2.7"
        assert entry.request_id == "req-12345678"
        assert "API patient list" in entry.what
    assert response["X-Request-ID"] == "req-12345678"


def test_search_and_paging(patients, users, token_for):
    api = _api(token_for(users["prescriber"]))
    found = api.get("/api/v1/patients", {"q": "hop"}).json()
    assert [p["given_name"] for p in found["results"]] == ["Grace"]
    by_mrn = api.get("/api/v1/patients", {"q": patients[2].mrn.lower()}).json()
    assert [p["id"] for p in by_mrn["results"]] == [patients[2].pk]
    second = api.get("/api/v1/patients", {"page": 2, "page_size": 2}).json()
    assert second["count"] == 3 and [p["family_name"] for p in second["results"]] == ["Turing"]


def test_patient_role_is_403(patients, users, token_for):
    response = _api(token_for(users["patient"])).get("/api/v1/patients")
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=Action.READ).exists()


def test_revoked_token_is_401(patients, users):
    from kapcare.accounts.services import create_api_token, revoke_api_token

    nurse = users["nurse"]
    token, raw = create_api_token(Actor.system("test"), nurse, "soon revoked")
    assert _api(raw).get("/api/v1/patients").status_code == 200
    revoke_api_token(Actor.system("test"), nurse, token.pk)
    assert _api(raw).get("/api/v1/patients").status_code == 401


def test_bad_query_is_422_naming_the_field_and_rule(patients, users, token_for):
    response = _api(token_for(users["nurse"])).get("/api/v1/patients", {"page": 0})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "page"
    assert body["errors"][0]["rule"] == "greater_than_equal"
    assert "greater than or equal to 1" in body["errors"][0]["message"]
    assert "page" in body["detail"]


def test_openapi_and_docs_are_served_locally(db):
    schema = Client().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/patients" in schema.json()["paths"]
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
