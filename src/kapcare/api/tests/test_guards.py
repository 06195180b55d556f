"""The request guards: a body over the limit is a 413 (JSON on the API, a plain page elsewhere)
and a NUL character in a page's parameter a 400 naming it; neither reaches a view."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client

from kapcare.api.guards import find_nul
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.patients.models import Allergy, Patient
from kapcare.patients.services import create_patient


@pytest.fixture
def patient(db) -> Patient:
    return create_patient(
        Actor.system("test"), given_name="Ada", family_name="Lovelace",
        birth_date=date(1985, 12, 10), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip


def test_find_nul_names_the_field_as_the_client_does():
    body = {"readings": [{"note": "ok"}, {"note": "a\x00b"}], "text": "fine"}
    assert find_nul(body, "") == "readings[1].note"
    assert find_nul("a\x00", "q") == "q"
    assert find_nul({"readings": [{"note": "ok"}], "count": 3}, "") is None


def test_an_api_body_over_the_limit_is_413_and_stores_nothing(users, token_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    client = Client(headers={"Authorization": f"Bearer {token_for(users['front_desk'])}"})
    body = {
        "given_name": "Ada",
        "family_name": "L" * 100,
        "birth_date": "1985-12-10",
        "sex_at_birth": "female",
        "phone": "1" * 40,
        "email": "a" * 900 + "@example.org",
    }
    audit_entries = AuditEntry.objects.count()
    response = client.post("/api/v1/patients", json.dumps(body), "application/json")
    assert response.status_code == 413
    assert response.json()["errors"] == [{"field": "body", "rule": "too_large"}]
    assert not Patient.objects.exists() and AuditEntry.objects.count() == audit_entries
    body["email"] = "ada@example.org"
    assert client.post("/api/v1/patients", body, "application/json").status_code == 201


def test_a_page_body_over_the_limit_is_a_plain_413(patient, users, client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    nurse = client_for(users["nurse"])
    url = f"/patients/{patient.pk}/record/allergy/"
    response = nurse.post(url, {"substance": "x" * 2_000})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert not Allergy.objects.exists()
    assert nurse.post(url, {"substance": "Latex"}).status_code == 302
    assert Allergy.objects.get().substance == "Latex"


def test_a_nul_in_a_page_parameter_is_400_naming_it(patient, users, client_for):
    nurse = client_for(users["nurse"])
    search = nurse.get("/patients/", {"q": "a\x00b"})
    assert search.status_code == 400 and search.content.decode().startswith("q:")
    contacts = nurse.post(
        f"/patients/{patient.pk}/contacts/",
        {"email": "ada@example.org", "preferred_contact": "email",
         "emergency_contact_name": "Charles\x00Babbage"},
    )  # fmt: skip
    assert contacts.status_code == 400
    assert contacts.content.decode().startswith("emergency_contact_name:")
    patient.refresh_from_db()
    assert patient.email == "" and patient.emergency_contact_name == ""
