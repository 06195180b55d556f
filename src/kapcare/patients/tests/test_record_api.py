"""POST /api/v1/patients and GET /api/v1/patients/{id}: the contract and bad input."""

from __future__ import annotations

import pytest
from django.test import Client

from kapcare.audit.models import Action, AuditEntry
from kapcare.patients.models import Patient

VALID = {
    "given_name": "Rowan",
    "family_name": "Example",
    "birth_date": "1984-03-09",
    "sex_at_birth": "female",
    "email": "rowan@example.org",
}


@pytest.fixture
def front_desk_api(users, token_for):
    return Client(headers={"Authorization": f"Bearer {token_for(users['front_desk'])}"})


def _post(api, body):
    return api.post("/api/v1/patients", body, content_type="application/json")


def test_create_returns_201_with_an_mrn_and_is_audited(front_desk_api):
    response = _post(front_desk_api, VALID)
    assert response.status_code == 201
    body = response.json()
    assert body["mrn"].startswith("KC-") and len(body["mrn"]) == 11
    assert (body["given_name"], body["family_name"]) == ("Rowan", "Example")
    patient = Patient.objects.get(pk=body["id"])
    assert patient.care_status == "intake" and not patient.is_synthetic
    assert AuditEntry.objects.filter(action=Action.CREATE, patient_id=patient.pk).exists()


def test_get_patient_returns_demographics_and_logs_the_read(front_desk_api, users):
    patient_id = _post(front_desk_api, VALID).json()["id"]
    response = front_desk_api.get(f"/api/v1/patients/{patient_id}")
    assert response.status_code == 200
    assert response.json()["email"] == "rowan@example.org"
    assert AuditEntry.objects.filter(
        action=Action.READ, patient_id=patient_id, user=users["front_desk"]
    ).exists()
    assert front_desk_api.get("/api/v1/patients/999999").status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"given_name": None}, "given_name", "Field required"),
        ({"given_name": ""}, "given_name", "at least 1 character"),
        ({"birth_date": "09/03/1984"}, "birth_date", "date"),
        ({"birth_date": "2999-01-01"}, "birth_date", "future"),
        ({"sex_at_birth": "x"}, "sex_at_birth", "'female'"),
        ({"email": "not-an-email"}, "email", "pattern"),
        ({"nickname": "Ro"}, "nickname", "Extra inputs"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(front_desk_api, change, field, rule):
    body = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    response = _post(front_desk_api, body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert field in detail and rule in detail
    assert not Patient.objects.exists()


def test_missing_fields_are_each_named(front_desk_api):
    response = _post(front_desk_api, {"given_name": "Only"})
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"family_name", "birth_date", "sex_at_birth"} <= fields
    assert not Patient.objects.exists()


def test_patients_have_no_access_to_the_staff_api(users, token_for):
    api = Client(headers={"Authorization": f"Bearer {token_for(users['patient'])}"})
    assert _post(api, VALID).status_code == 403
    assert not Patient.objects.exists()
