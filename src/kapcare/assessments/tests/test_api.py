from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kapcare.accounts.roles import Role
from kapcare.assessments.models import Alert, Assessment
from kapcare.assessments.tests.conftest import PHQ9_CALM, PHQ9_ITEM9_TWO
from kapcare.audit.models import Action, AuditEntry
from kapcare.jobs.models import Job


@pytest.fixture
def api(users, token_for):
    def make(role: str = Role.NURSE) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(users[role])}")

    return make


def _post(client: Client, patient_id: int, body: dict) -> Any:
    return client.post(
        f"/api/v1/patients/{patient_id}/assessments", body, content_type="application/json"
    )


def test_record_contract(api, patient) -> None:
    response = _post(api(), patient.pk, {"instrument": "pcl5", "responses": [2] * 20})
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {
        "id",
        "instrument",
        "total",
        "band",
        "flags",
        "subscales",
        "provisional_diagnosis",
        "administered_at",
    }
    assert body["instrument"] == "pcl5" and body["total"] == 40 and body["band"] == "probable_ptsd"
    assert body["subscales"] == {"B": 10, "C": 4, "D": 14, "E": 12}
    assert body["provisional_diagnosis"] is True and body["flags"] == []
    assert Assessment.objects.get().responses == [2] * 20


def test_api_flag_raises_alert(api, patient) -> None:
    response = _post(api(), patient.pk, {"instrument": "phq9", "responses": PHQ9_ITEM9_TWO})
    assert response.status_code == 201
    assert response.json()["flags"] == ["suicide_risk"]
    alert = Alert.objects.get()
    assert alert.assessment_id == response.json()["id"]
    assert Job.objects.filter(kind="assessments.alert_email").exists()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"instrument": "phq9", "responses": [0] * 8 + [4]}, "responses", "phq9 item 9"),
        ({"instrument": "phq9", "responses": [0] * 8}, "responses", "expects 9 responses"),
        ({"instrument": "phq9", "responses": [0] * 8 + ["x"]}, "responses", "item 9"),
        ({"instrument": "phq9", "responses": "000000000"}, "responses", ""),
        ({"instrument": "bdi2", "responses": [0] * 9}, "instrument", "unknown instrument"),
        ({"responses": [0] * 9}, "instrument", ""),
        ({"instrument": "phq9"}, "responses", ""),
    ],
)
def test_bad_input_is_422_naming_the_field_and_stores_nothing(
    api, patient, body, field, words
) -> None:
    response = _post(api(), patient.pk, body)
    assert response.status_code == 422, response.content
    data = response.json()
    assert field in data["detail"] and words in data["detail"]
    assert any(field in error["field"] for error in data["errors"])
    assert not Assessment.objects.exists() and not Alert.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"instrument": "phq9", "responses": [0] * 8 + [4]}, "responses[8]", "out_of_range"),
        ({"instrument": "phq9", "responses": [0] * 8 + ["x"]}, "responses[8]", "type"),
        ({"instrument": "phq9", "responses": [0] * 8}, "responses", "count"),
        ({"instrument": "bdi2", "responses": [0] * 9}, "instrument", "one_of"),
    ],
)
def test_a_refused_scale_names_the_item_and_the_rule(api, patient, body, field, rule) -> None:
    response = _post(api(), patient.pk, body)
    assert response.status_code == 422
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(field, rule)]
    assert not Assessment.objects.exists()


def test_unknown_patient_is_404(api, patient) -> None:
    assert _post(api(), 999999, {"instrument": "phq9", "responses": PHQ9_CALM}).status_code == 404
    missing = api().get("/api/v1/patients/999999/assessments")
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"field": "patient_id", "rule": "not_found"}]
    no_alert = api(Role.PRESCRIBER).post(
        "/api/v1/alerts/999999/acknowledge", {"action_taken": "x"}, "application/json"
    )
    assert no_alert.status_code == 404
    assert no_alert.json()["errors"] == [{"field": "alert_id", "rule": "not_found"}]


def test_list_oldest_first_with_filter_and_access_log(api, patient) -> None:
    client = api()
    _post(client, patient.pk, {"instrument": "phq9", "responses": [3] * 8 + [0]})
    _post(client, patient.pk, {"instrument": "gad7", "responses": [1] * 7})
    _post(client, patient.pk, {"instrument": "phq9", "responses": PHQ9_CALM})
    everything = client.get(f"/api/v1/patients/{patient.pk}/assessments").json()
    assert [a["instrument"] for a in everything] == ["phq9", "gad7", "phq9"]
    phq9 = client.get(f"/api/v1/patients/{patient.pk}/assessments?instrument=phq9").json()
    assert [a["total"] for a in phq9] == [24, 5]
    bad = client.get(f"/api/v1/patients/{patient.pk}/assessments?instrument=nope")
    assert bad.status_code == 422 and "instrument" in bad.json()["detail"]
    assert [(e["field"], e["rule"]) for e in bad.json()["errors"]] == [("instrument", "one_of")]
    assert AuditEntry.objects.filter(
        action=Action.READ, patient_id=patient.pk, what="API assessments list"
    ).exists()


def test_alerts_list_and_acknowledge(api, patient, users) -> None:
    _post(api(), patient.pk, {"instrument": "phq9", "responses": PHQ9_ITEM9_TWO})
    prescriber = api(Role.PRESCRIBER)
    listed = prescriber.get("/api/v1/alerts").json()
    assert len(listed) == 1 and listed[0]["status"] == "open"
    alert_id = listed[0]["id"]
    # The nurse is not the assigned clinician (none assigned: it goes to every prescriber).
    assert api(Role.NURSE).get("/api/v1/alerts").json() == []
    url = f"/api/v1/alerts/{alert_id}/acknowledge"
    blank = prescriber.post(url, {"action_taken": "  "}, content_type="application/json")
    assert blank.status_code == 422 and "action_taken" in blank.json()["detail"]
    missing = prescriber.post(url, {}, content_type="application/json")
    assert missing.status_code == 422 and "action_taken" in missing.json()["detail"]
    done = prescriber.post(
        url, {"action_taken": "Phoned; safety plan updated."}, content_type="application/json"
    )
    assert done.status_code == 200
    assert done.json()["status"] == "acknowledged"
    assert done.json()["acknowledged_by"] == users[Role.PRESCRIBER].email
    again = prescriber.post(url, {"action_taken": "x"}, content_type="application/json")
    assert again.status_code == 409
    assert [(e["field"], e["rule"]) for e in again.json()["errors"]] == [
        ("status", "already_acknowledged")
    ]
    assert prescriber.get("/api/v1/alerts").json() == []
    assert (
        prescriber.post(
            "/api/v1/alerts/99999/acknowledge",
            {"action_taken": "x"},
            content_type="application/json",
        ).status_code
        == 404
    )


def test_assigned_nurse_sees_her_alert(api, patient, users) -> None:
    patient.primary_clinician = users[Role.NURSE]
    patient.save()
    _post(api(Role.THERAPIST), patient.pk, {"instrument": "phq9", "responses": PHQ9_ITEM9_TWO})
    assert len(api(Role.NURSE).get("/api/v1/alerts").json()) == 1
    assert api(Role.THERAPIST).get("/api/v1/alerts").json() == []


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PATIENT, Role.CLINIC_ADMIN])
def test_non_clinical_roles_are_refused(api, patient, role) -> None:
    client = api(role)
    assert (
        _post(client, patient.pk, {"instrument": "phq9", "responses": PHQ9_CALM}).status_code == 403
    )
    assert client.get(f"/api/v1/patients/{patient.pk}/assessments").status_code == 403
    assert client.get("/api/v1/alerts").status_code == 403
    assert not Assessment.objects.exists()
