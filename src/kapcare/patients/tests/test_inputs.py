"""Inputs the database cannot take answered as 4xx naming the field, on SQLite and PostgreSQL
alike: a NUL character in the search or in a new patient's name, and page numbers past the end
or past the largest page."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from kapcare.api.paging import MAX_PAGE
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.patients.models import Patient
from kapcare.patients.services import create_patient


@pytest.fixture
def staff_api(users, token_for) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_for(users['front_desk'])}"})


@pytest.fixture
def ada(db) -> Patient:
    return create_patient(
        Actor.system("test"), given_name="Ada", family_name="Lovelace",
        birth_date=date(1985, 12, 10), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip


def _errors(response) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]


def test_a_nul_in_the_search_is_422_naming_q(ada, staff_api):
    reads = AuditEntry.objects.count()
    response = staff_api.get("/api/v1/patients", {"q": "a\x00b"})
    assert response.status_code == 422 and _errors(response) == [("q", "nul_character")]
    assert AuditEntry.objects.count() == reads


def test_a_nul_in_a_new_patients_name_is_422_and_stores_nothing(db, staff_api):
    body = {
        "given_name": "Ada\x00",
        "family_name": "Lovelace",
        "birth_date": "1985-12-10",
        "sex_at_birth": "female",
    }
    entries = AuditEntry.objects.count()
    response = staff_api.post("/api/v1/patients", body, "application/json")
    assert response.status_code == 422 and _errors(response) == [("given_name", "nul_character")]
    assert not Patient.objects.exists() and AuditEntry.objects.count() == entries


def test_pages_past_the_end_are_empty_and_past_the_largest_page_422(ada, staff_api):
    last = staff_api.get("/api/v1/patients", {"page": MAX_PAGE, "page_size": 200})
    assert last.status_code == 200
    assert (last.json()["count"], last.json()["results"]) == (1, [])
    for page in (MAX_PAGE + 1, 9223372036854775807):
        response = staff_api.get("/api/v1/patients", {"page": page})
        assert response.status_code == 422, page
        assert [field for field, _ in _errors(response)] == ["page"]
