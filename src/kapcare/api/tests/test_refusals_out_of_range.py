"""An integer beyond 64 bits names no record and fits no column: the API refuses it with 422
naming the field (rule ``out_of_range``) instead of a 500 from the database (found by the
schemathesis run, `test_schema_fuzz.py`)."""

from __future__ import annotations

from django.test import Client

from kapcare.api.guards import INT64_MAX, find_out_of_range

TOO_LARGE = 2**64


def test_find_out_of_range_names_the_field_as_the_client_does():
    assert find_out_of_range({"staff_ids": [3, TOO_LARGE]}, "") == "staff_ids[1]"
    assert find_out_of_range(-(2**63) - 1, "patient_id") == "patient_id"
    assert find_out_of_range({"staff_ids": [INT64_MAX], "ok": True}, "") is None


def test_a_path_parameter_beyond_64_bits_is_422(users, token_for):
    client = Client(headers={"Authorization": f"Bearer {token_for(users['nurse'])}"})
    response = client.get(f"/api/v1/patients/{TOO_LARGE}")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("patient_id", "out_of_range")
