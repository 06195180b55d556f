"""Screening through the API and the pages: stored with its inputs, reviewed by a prescriber."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from kapcare.audit.services import Actor
from kapcare.clinical.eligibility import RULESET_VERSION
from kapcare.intake.models import Screening
from kapcare.intake.selectors import course_planning_clearance
from kapcare.patients.models import Patient
from kapcare.patients.services import create_patient


@pytest.fixture
def patient(db) -> Patient:
    return create_patient(
        Actor.system("test"), given_name="Sam", family_name="Sample",
        birth_date=date(1980, 5, 1), sex_at_birth="male", is_synthetic=True,
    )  # fmt: skip


def _api(user, token_for):
    return Client(headers={"Authorization": f"Bearer {token_for(user)}"})


def _screen(api, patient, **fields):
    return api.post(
        f"/api/v1/patients/{patient.pk}/screenings", fields, content_type="application/json"
    )


def test_screening_is_stored_with_inputs_and_ruleset(patient, users, token_for):
    response = _screen(
        _api(users["nurse"], token_for), patient, systolic_bp=150, diastolic_bp=85,
        medications=["lorazepam"], cssrs_risk="none",
    )  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    assert body["verdict"] == "needs_review"
    codes = {reason["code"]: reason for reason in body["reasons"]}
    assert codes["bp_elevated"]["level"] == "needs_review" and codes["bp_elevated"]["source"]
    assert any(r["level"] == "note" for r in body["reasons"])  # the benzodiazepine
    screening = Screening.objects.get(pk=body["id"])
    assert screening.inputs["age_years"] == patient.age_years(date.today())
    assert screening.inputs["medications"] == ["lorazepam"]
    assert screening.ruleset_version == RULESET_VERSION
    assert body["review_status"] == "pending" and body["planning_verdict"] is None


def test_ineligible_patient(patient, users, token_for):
    body = _screen(_api(users["prescriber"], token_for), patient, pregnant=True).json()
    assert body["verdict"] == "ineligible"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"systolic_bp": 400}, "systolic_bp"),
        ({"cssrs_risk": "extreme"}, "cssrs_risk"),
        ({"pregnant": "perhaps"}, "pregnant"),
        ({"age_years": 40}, "age_years"),
    ],
)
def test_bad_intake_names_the_field_and_stores_nothing(patient, users, token_for, payload, field):
    response = _screen(_api(users["nurse"], token_for), patient, **payload)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert not Screening.objects.exists()


def test_front_desk_may_not_screen_or_review(patient, users, token_for):
    api = _api(users["front_desk"], token_for)
    assert _screen(api, patient).status_code == 403
    assert api.post("/api/v1/screenings/1/review", {"decision": "accept"},
                    content_type="application/json").status_code == 403  # fmt: skip


def _review(api, screening_id, **body):
    return api.post(
        f"/api/v1/screenings/{screening_id}/review", body, content_type="application/json"
    )


def test_override_needs_a_reason_and_keeps_the_original(patient, users, token_for):
    nurse, prescriber = _api(users["nurse"], token_for), _api(users["prescriber"], token_for)
    screening_id = _screen(nurse, patient, history_of_psychosis=True).json()["id"]
    assert course_planning_clearance(patient).allowed is False

    assert _review(nurse, screening_id, decision="override", reason="x").status_code == 403
    missing = _review(prescriber, screening_id, decision="override", reason=" ")
    assert missing.status_code == 422 and "reason" in missing.json()["detail"]
    assert Screening.objects.get(pk=screening_id).review_status == "pending"

    response = _review(
        prescriber, screening_id, decision="override",
        reason="Remote single episode, stable 10 years; psychiatrist agrees.",
    )  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["review_status"] == "overridden"
    assert body["verdict"] == "needs_review" and body["planning_verdict"] == "eligible"
    patient.refresh_from_db()
    assert patient.care_status == "eligible"
    assert course_planning_clearance(patient).allowed is True
    again = _review(prescriber, screening_id, decision="accept")
    assert again.status_code == 409
    history = Screening.history.filter(id=screening_id).order_by("history_date")
    assert [h.review_status for h in history] == ["pending", "overridden"]


def test_accepting_an_ineligible_verdict(patient, users, token_for):
    prescriber = _api(users["prescriber"], token_for)
    screening_id = _screen(prescriber, patient, ketamine_hypersensitivity=True).json()["id"]
    body = _review(prescriber, screening_id, decision="accept").json()
    assert body["planning_verdict"] == "ineligible"
    patient.refresh_from_db()
    assert patient.care_status == "not_eligible"
    assert not course_planning_clearance(patient).allowed


def test_intake_form_page_screens_and_saves_histories(patient, users, client_for):
    client = client_for(users["nurse"])
    assert client.get(f"/patients/{patient.pk}/intake/").status_code == 200
    bad = client.post(f"/patients/{patient.pk}/intake/", {"systolic_bp": "", "diastolic_bp": 80})
    assert bad.status_code == 400 and not Screening.objects.exists()
    response = client.post(
        f"/patients/{patient.pk}/intake/",
        {"systolic_bp": 128, "diastolic_bp": 82, "medications": "sertraline\nlamotrigine",
         "cssrs_risk": "none", "trauma": "Combat deployment 2009 (synthetic)."},
    )  # fmt: skip
    assert response.status_code == 302
    screening = Screening.objects.get()
    assert screening.verdict == "eligible"
    assert screening.inputs["medications"] == ["sertraline", "lamotrigine"]
    assert "Eligible" in client.get(f"/patients/{patient.pk}/").content.decode()
    record = client.get(f"/patients/{patient.pk}/chart/record/").content.decode()
    assert "Combat deployment 2009" in record


def test_front_desk_sees_demographics_not_the_chart(patient, users, client_for):
    client = client_for(users["front_desk"])
    assert client.get(f"/patients/{patient.pk}/details/").status_code == 200
    assert client.get(f"/patients/{patient.pk}/").status_code == 403
    assert client.get(f"/patients/{patient.pk}/intake/").status_code == 403


@pytest.mark.parametrize("screenings", [1, 8])
def test_chart_query_count_does_not_grow(
    patient, users, client_for, token_for, screenings, django_assert_max_num_queries
):
    api = _api(users["nurse"], token_for)
    for _ in range(screenings):
        _screen(api, patient, systolic_bp=150, diastolic_bp=95, medications=["lorazepam", "x"])
    client = client_for(users["nurse"])
    client.get("/today/")
    with django_assert_max_num_queries(24):
        assert client.get(f"/patients/{patient.pk}/").status_code == 200


def test_the_api_body_has_exactly_the_clinical_cores_intake_fields():
    """IntakeIn is spelled out for the OpenAPI schema and type checks; this keeps it from
    drifting from kapcare.clinical.eligibility.Intake."""
    import dataclasses

    from kapcare.clinical.eligibility import Intake
    from kapcare.intake.api import IntakeIn

    core = {field.name for field in dataclasses.fields(Intake)} - {"age_years"}
    assert set(IntakeIn.model_fields) == core
