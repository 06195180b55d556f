"""Screening through the API and the pages: stored with its inputs, reviewed by a prescriber; an
item not recorded is never read as "no"."""

from __future__ import annotations

import dataclasses
import re
import typing
from datetime import date

import pytest
from django.test import Client

from kapcare.audit.services import Actor
from kapcare.clinical.eligibility import RULESET_VERSION, SEXES_AT_BIRTH, Intake
from kapcare.errors import Conflict, FieldInvalid, Forbidden
from kapcare.intake.api import IntakeIn
from kapcare.intake.demo import complete_intake_fields
from kapcare.intake.models import Screening
from kapcare.intake.selectors import course_planning_clearance
from kapcare.intake.services import review_screening, screen_patient
from kapcare.patients.models import Patient, SexAtBirth
from kapcare.patients.services import create_patient

# Spelled out, not read from the clinical core, so a dropped item fails here.
YES_NO_ITEMS = (
    "ketamine_hypersensitivity",
    "aneurysmal_vascular_disease",
    "arteriovenous_malformation",
    "intracerebral_hemorrhage_history",
    "history_of_psychosis",
    "current_mania",
    "active_substance_use_disorder",
    "unstable_cardiovascular_disease",
    "severe_hepatic_impairment",
    "elevated_intracranial_or_intraocular_pressure",
)
PREGNANCY_ITEMS = ("pregnant", "breastfeeding")
OTHER_ITEMS = ("age_years", "systolic_bp", "diastolic_bp", "medications", "cssrs_risk")


def _patient(sex_at_birth: str) -> Patient:
    return create_patient(
        Actor.system("test"), given_name="Sam", family_name="Sample",
        birth_date=date(1980, 5, 1), sex_at_birth=sex_at_birth, is_synthetic=True,
    )  # fmt: skip


@pytest.fixture
def patient(db) -> Patient:
    return _patient("male")


@pytest.fixture
def female_patient(db) -> Patient:
    return _patient("female")


def _api(user, token_for):
    return Client(headers={"Authorization": f"Bearer {token_for(user)}"})


def _screen(api, patient, **fields):
    return api.post(
        f"/api/v1/patients/{patient.pk}/screenings", fields, content_type="application/json"
    )


def _not_recorded(body) -> list[str]:
    return [r["field"] for r in body["reasons"] if r["code"] == "not_recorded"]


# --- the API --------------------------------------------------------------------------------


def test_screening_is_stored_with_inputs_and_ruleset(patient, users, token_for):
    fields = complete_intake_fields(systolic_bp=150, diastolic_bp=85, medications=["lorazepam"])
    response = _screen(_api(users["nurse"], token_for), patient, **fields)
    assert response.status_code == 201
    body = response.json()
    assert body["verdict"] == "needs_review"
    codes = {reason["code"]: reason for reason in body["reasons"]}
    assert set(codes) == {"bp_elevated", "medication_benzodiazepine"}
    assert codes["bp_elevated"]["level"] == "needs_review" and codes["bp_elevated"]["source"]
    assert codes["bp_elevated"]["field"] == "systolic_bp"
    assert codes["medication_benzodiazepine"]["level"] == "note"
    screening = Screening.objects.get(pk=body["id"])
    assert screening.inputs["age_years"] == patient.age_years(date.today())
    assert screening.inputs["sex_at_birth"] == "male"
    assert screening.inputs["medications"] == ["lorazepam"]
    assert screening.ruleset_version == RULESET_VERSION == body["ruleset_version"]
    assert body["review_status"] == "pending" and body["planning_verdict"] is None


@pytest.mark.parametrize(
    ("sex", "pregnancy_items"), [("female", PREGNANCY_ITEMS), ("male", ())]
)  # fmt: skip
def test_an_empty_screening_needs_review_naming_each_item(db, users, token_for, sex,
                                                          pregnancy_items):  # fmt: skip
    patient = _patient(sex)
    response = _screen(_api(users["nurse"], token_for), patient)
    assert response.status_code == 201
    body = response.json()
    assert body["verdict"] == "needs_review"
    expected = {*YES_NO_ITEMS, *pregnancy_items, *OTHER_ITEMS} - {"age_years"}  # age: the record
    assert sorted(_not_recorded(body)) == sorted(expected)
    assert len(body["reasons"]) == len(expected)
    messages = {r["field"]: r["message"] for r in body["reasons"]}
    assert messages["history_of_psychosis"] == "Psychosis history: not recorded"
    assert messages["systolic_bp"] == "Systolic BP: not recorded"
    assert Screening.objects.get(pk=body["id"]).inputs["history_of_psychosis"] is None


def test_a_complete_clean_intake_is_eligible(female_patient, users, token_for):
    api = _api(users["nurse"], token_for)
    body = _screen(api, female_patient, **complete_intake_fields()).json()
    assert (body["verdict"], body["reasons"]) == ("eligible", [])


def test_null_is_not_recorded_and_false_is_no(female_patient, users, token_for):
    api = _api(users["nurse"], token_for)
    fields = complete_intake_fields(current_mania=None, medications=None)
    body = _screen(api, female_patient, **fields).json()
    assert sorted(_not_recorded(body)) == ["current_mania", "medications"]


def test_an_ineligible_finding_is_ineligible_with_items_missing(patient, users, token_for):
    body = _screen(_api(users["prescriber"], token_for), patient, pregnant=True).json()
    assert body["verdict"] == "ineligible"
    assert body["reasons"][0]["field"] == "pregnant"
    assert "history_of_psychosis" in _not_recorded(body)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"systolic_bp": 400}, "systolic_bp"),
        ({"cssrs_risk": "extreme"}, "cssrs_risk"),
        ({"pregnant": "perhaps"}, "pregnant"),
        ({"medications": ["lorazepam", " "]}, "medications"),
        ({"age_years": 40}, "age_years"),
        ({"sex_at_birth": "female"}, "sex_at_birth"),
        ({"history_of_psychosys": False}, "history_of_psychosys"),
    ],
)
def test_bad_intake_names_the_field_and_stores_nothing(patient, users, token_for, payload, field):
    response = _screen(_api(users["nurse"], token_for), patient, **payload)
    assert response.status_code == 422
    body = response.json()
    assert field in body["detail"]
    assert [e["field"].removeprefix("body.") for e in body["errors"]] == [field]
    assert not Screening.objects.exists()


def test_the_service_refuses_record_fields_by_name(patient):
    with pytest.raises(FieldInvalid) as raised:
        screen_patient(Actor.system("test"), patient, {"age_years": 40})
    assert (raised.value.field, raised.value.rule) == ("age_years", "from_the_record")


def test_the_api_body_is_the_clinical_cores_intake_without_the_record_fields():
    """IntakeIn is made from kapcare.clinical.eligibility.Intake: same names, types and
    defaults, less what the record supplies."""
    types = typing.get_type_hints(Intake)
    core = {
        f.name: (types[f.name], f.default)
        for f in dataclasses.fields(Intake)
        if f.name not in ("age_years", "sex_at_birth")
    }
    body = {name: (f.annotation, f.default) for name, f in IntakeIn.model_fields.items()}
    assert body == core
    assert IntakeIn.model_config["extra"] == "forbid"


def test_the_records_sexes_at_birth_are_the_clinical_cores():
    assert tuple(SexAtBirth.values) == SEXES_AT_BIRTH


def test_the_openapi_schema_offers_every_item_as_optional(client):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["IntakeIn"]
    assert set(schema["properties"]) == set(YES_NO_ITEMS + PREGNANCY_ITEMS + OTHER_ITEMS) - {
        "age_years"
    }
    assert not schema.get("required")
    assert "not recorded" in schema["properties"]["current_mania"]["description"]


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
    fields = complete_intake_fields(history_of_psychosis=True)
    screening_id = _screen(nurse, patient, **fields).json()["id"]
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
    assert again.status_code == 409 and "already overridden" in again.json()["detail"]
    history = Screening.history.filter(id=screening_id).order_by("history_date")
    assert [h.review_status for h in history] == ["pending", "overridden"]


def test_review_refusals_carry_their_field_and_rule(patient, users):
    nurse, prescriber = Actor.for_user(users["nurse"]), Actor.for_user(users["prescriber"])
    eligible = screen_patient(nurse, patient, complete_intake_fields())
    with pytest.raises(Forbidden):
        review_screening(nurse, eligible.pk, "accept", "")
    with pytest.raises(FieldInvalid) as raised:
        review_screening(prescriber, eligible.pk, "override", "Because.")
    assert (raised.value.field, raised.value.rule) == ("decision", "not_needed")
    review_screening(prescriber, eligible.pk, "accept", "")
    with pytest.raises(Conflict) as conflict:
        review_screening(prescriber, eligible.pk, "accept", "")
    assert conflict.value.rule == "already_reviewed"


def test_accepting_an_ineligible_verdict(patient, users, token_for):
    prescriber = _api(users["prescriber"], token_for)
    screening_id = _screen(prescriber, patient, ketamine_hypersensitivity=True).json()["id"]
    body = _review(prescriber, screening_id, decision="accept").json()
    assert body["planning_verdict"] == "ineligible"
    patient.refresh_from_db()
    assert patient.care_status == "not_eligible"
    assert not course_planning_clearance(patient).allowed


def test_a_screening_stored_before_reasons_named_their_field_still_reads(patient, users, token_for):
    old = Screening.objects.create(
        patient=patient, inputs={"age_years": 45}, ruleset_version="2025.1", verdict="eligible",
        reasons=[{"code": "age_unknown", "level": "note", "message": "m", "source": "s"}],
    )  # fmt: skip
    body = _review(_api(users["prescriber"], token_for), old.pk, decision="accept").json()
    assert body["ruleset_version"] == "2025.1"
    assert body["reasons"] == [
        {"code": "age_unknown", "level": "note", "message": "m", "source": "s", "field": None}
    ]


# --- the intake form ------------------------------------------------------------------------


def _answers(**changes):
    """The intake form with every question answered and nothing found."""
    answers = {
        **dict.fromkeys(YES_NO_ITEMS + PREGNANCY_ITEMS, "no"),
        "systolic_bp": "128",
        "diastolic_bp": "82",
        "takes_medications": "yes",
        "medications": "sertraline\nlamotrigine",
        "cssrs_risk": "none",
    }
    return answers | changes


def _checked(page: str) -> dict[str, str]:
    """Each radio group's checked value, as the page shows it."""
    return dict(re.findall(r'<input type="radio" name="(\w+)" value="(\w*)"[^>]* checked', page))


def test_intake_form_page_screens_and_saves_histories(female_patient, users, client_for):
    client = client_for(users["nurse"])
    url = f"/patients/{female_patient.pk}/intake/"
    assert client.get(url).status_code == 200
    response = client.post(url, _answers(trauma="Combat deployment 2009 (synthetic)."))
    assert response.status_code == 302
    screening = Screening.objects.get()
    assert screening.verdict == "eligible"
    assert screening.inputs["medications"] == ["sertraline", "lamotrigine"]
    assert screening.inputs["history_of_psychosis"] is False
    assert "Eligible" in client.get(f"/patients/{female_patient.pk}/").content.decode()
    record = client.get(f"/patients/{female_patient.pk}/chart/record/").content.decode()
    assert "Combat deployment 2009" in record


def test_the_form_offers_not_recorded_and_chooses_it_until_answered(female_patient, users,
                                                                    client_for):  # fmt: skip
    page = client_for(users["nurse"]).get(f"/patients/{female_patient.pk}/intake/")
    html = page.content.decode()
    questions = YES_NO_ITEMS + PREGNANCY_ITEMS + ("takes_medications", "cssrs_risk")
    assert _checked(html) == dict.fromkeys(questions, "")
    for name in YES_NO_ITEMS + PREGNANCY_ITEMS + ("takes_medications",):
        for value in ("yes", "no", ""):
            assert f'name="{name}" value="{value}"' in html
    assert html.count(">Not recorded</span>") == len(questions)
    assert 'type="checkbox"' not in html


def test_the_form_with_nothing_chosen_stores_not_recorded(female_patient, users, client_for):
    client = client_for(users["nurse"])
    response = client.post(f"/patients/{female_patient.pk}/intake/", {})
    assert response.status_code == 302
    screening = Screening.objects.get()
    assert screening.verdict == "needs_review"
    items = YES_NO_ITEMS + PREGNANCY_ITEMS + ("systolic_bp", "diastolic_bp", "medications")
    assert {name: screening.inputs[name] for name in (*items, "cssrs_risk")} == dict.fromkeys(
        (*items, "cssrs_risk")
    )
    not_recorded = {r["field"] for r in screening.reasons if r["code"] == "not_recorded"}
    assert not_recorded == {*items, "cssrs_risk"}


def test_one_question_left_not_recorded_is_stored_as_none(female_patient, users, client_for):
    client = client_for(users["nurse"])
    answers = _answers()
    del answers["history_of_psychosis"]
    client.post(f"/patients/{female_patient.pk}/intake/", answers)
    screening = Screening.objects.get()
    assert screening.inputs["history_of_psychosis"] is None
    assert screening.verdict == "needs_review"


def test_no_medications_is_an_answer_and_the_list_must_agree(female_patient, users, client_for):
    client = client_for(users["nurse"])
    url = f"/patients/{female_patient.pk}/intake/"
    for contradiction in (
        {"takes_medications": "yes", "medications": ""},
        {"takes_medications": "no"},
        {"takes_medications": ""},
    ):
        assert client.post(url, _answers(**contradiction)).status_code == 400
    assert not Screening.objects.exists()
    assert client.post(url, _answers(takes_medications="no", medications="")).status_code == 302
    screening = Screening.objects.get()
    assert (screening.inputs["medications"], screening.verdict) == ([], "eligible")


def test_a_reading_out_of_range_is_shown_on_its_field(female_patient, users, client_for):
    client = client_for(users["nurse"])
    response = client.post(f"/patients/{female_patient.pk}/intake/", _answers(systolic_bp="400"))
    assert response.status_code == 400 and not Screening.objects.exists()
    assert response.context["form"].errors["systolic_bp"] == [
        "must be between 40 and 300 mmHg (you entered 400)"
    ]


def test_pregnancy_questions_only_where_the_screening_needs_them(patient, female_patient, users,
                                                                 client_for):  # fmt: skip
    client = client_for(users["nurse"])
    male_page = client.get(f"/patients/{patient.pk}/intake/").content.decode()
    female_page = client.get(f"/patients/{female_patient.pk}/intake/").content.decode()
    assert 'name="pregnant"' not in male_page and 'name="pregnant"' in female_page
    answers = {k: v for k, v in _answers().items() if k not in PREGNANCY_ITEMS}
    assert client.post(f"/patients/{patient.pk}/intake/", answers).status_code == 302
    assert Screening.objects.get().verdict == "eligible"


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
