"""Issue 14: a C-SSRS question its skip logic did not ask is stored and shown as "not asked"
(None / "Not asked"), never as 0 ("No"); an answer to one is refused naming the item."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from kapcare.accounts.roles import Role
from kapcare.assessments import services
from kapcare.assessments.models import Assessment, Source
from kapcare.audit.services import Actor
from kapcare.errors import FieldInvalid

migration = importlib.import_module("kapcare.assessments.migrations.0003_cssrs_not_asked_as_null")

ACTOR = Actor.system("test")
NOT_ASKED_Q2_Q6_NO = [1, 0, None, None, None, 0, None]


def _record_url(patient: Any) -> str:
    return reverse(
        "assessments:record", kwargs={"patient_id": patient.pk, "instrument": "cssrs_screen"}
    )


def _answer_cells(html: str) -> list[str]:
    rows = html.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    return [row.split("<td>")[3].split("</td>")[0] for row in rows]


def test_q2_no_stores_q3_to_q5_as_not_asked_and_the_page_says_so(
    client_for, users, patient
) -> None:
    client = client_for(users[Role.NURSE])
    response = client.post(_record_url(patient), {"item_1": "1", "item_2": "0", "item_6": "0"})
    assert response.status_code == 302
    assessment = Assessment.objects.get()
    assert assessment.responses == NOT_ASKED_Q2_Q6_NO
    assert (assessment.total, assessment.band) == (1, "low")
    page = client.get(reverse("assessments:detail", args=[assessment.pk])).content.decode()
    cells = _answer_cells(page)
    assert cells[0] == "1 — Yes" and cells[1] == "0 — No" and cells[5] == "0 — No"
    for index in (2, 3, 4, 6):
        assert "Not asked" in cells[index] and "No" not in cells[index].replace("Not asked", "")


@pytest.mark.parametrize("value", ["0", "1"])
def test_an_answer_to_a_question_not_asked_is_refused_naming_it(
    client_for, users, patient, value
) -> None:
    client = client_for(users[Role.NURSE])
    response = client.post(
        _record_url(patient), {"item_1": "0", "item_2": "0", "item_4": value, "item_6": "0"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "item 4: leave this question blank: it is asked only after “Yes” to question 2" in (
        body.replace("&ldquo;", "“").replace("&rdquo;", "”")
    )
    assert 'id="id_item_4_error"' in body
    assert not Assessment.objects.exists()


def test_the_service_refuses_a_yes_to_a_question_not_asked(patient) -> None:
    with pytest.raises(FieldInvalid) as refused:
        services.record_assessment(
            ACTOR, patient, "cssrs_screen", [0, 0, None, None, None, 1, None], source="api"
        )
    assert (refused.value.field, refused.value.rule) == ("responses[6]", "required")
    with pytest.raises(FieldInvalid) as refused:
        services.record_assessment(
            ACTOR, patient, "cssrs_screen", [0, 0, 1, None, None, 0, None], source="api"
        )
    assert (refused.value.field, refused.value.rule) == ("responses[2]", "not_asked")
    assert "item 3" in refused.value.message
    assert not Assessment.objects.exists()


def test_older_callers_zeros_are_stored_as_not_asked(patient) -> None:
    assessment = services.record_assessment(
        ACTOR, patient, "cssrs_screen", [0] * 7, source=Source.STAFF
    )
    assert assessment.responses == [0, 0, None, None, None, 0, None]
    assert (assessment.total, assessment.band, assessment.flags) == (0, "none", [])


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def api(users, token_for) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(users[Role.NURSE])}")


def _post(client: Client, patient_id: int, responses: list[Any]) -> Any:
    return client.post(
        f"/api/v1/patients/{patient_id}/assessments",
        {"instrument": "cssrs_screen", "responses": responses},
        content_type="application/json",
    )


def test_the_api_takes_null_or_the_old_zeros_and_returns_null(api, patient) -> None:
    with_null = _post(api, patient.pk, [1, 0, None, None, None, 1, 0])
    assert with_null.status_code == 201, with_null.content
    assert with_null.json()["responses"] == [1, 0, None, None, None, 1, 0]
    with_zeros = _post(api, patient.pk, [1, 0, 0, 0, 0, 0, 0])
    assert with_zeros.status_code == 201
    assert with_zeros.json()["responses"] == NOT_ASKED_Q2_Q6_NO
    assert with_zeros.json()["band"] == "low"
    listed = api.get(f"/api/v1/patients/{patient.pk}/assessments").json()
    assert [a["responses"] for a in listed] == [
        [1, 0, None, None, None, 1, 0],
        NOT_ASKED_Q2_Q6_NO,
    ]


def test_the_api_refuses_a_yes_to_a_question_not_asked_naming_it(api, patient) -> None:
    response = _post(api, patient.pk, [0, 0, 0, 1, 0, 0, 0])
    assert response.status_code == 422
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
        ("responses[3]", "not_asked")
    ]
    assert not Assessment.objects.exists()


def test_the_openapi_says_skipped_questions_are_null(db) -> None:
    schemas = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    out = schemas["AssessmentOut"]["properties"]["responses"]
    assert {"type": "null"} in out["items"]["anyOf"]
    assert "null" in out["description"] and "not ask" in out["description"]
    assert "null" in schemas["AssessmentIn"]["properties"]["responses"]["description"]


# --- the data migration ----------------------------------------------------------------------


def _stored(patient: Any, responses: list[Any]) -> Assessment:
    return Assessment.objects.create(
        patient=patient,
        instrument="cssrs_screen",
        responses=responses,
        total=sum(v or 0 for v in responses[:6]),
        band="x",
        source=Source.STAFF,
    )


def test_the_migration_turns_stored_zeros_of_questions_not_asked_into_null(patient) -> None:
    rows = {
        "q2_q6_no": (_stored(patient, [1, 0, 0, 0, 0, 0, 0]), NOT_ASKED_Q2_Q6_NO),
        "q2_yes": (_stored(patient, [1, 1, 0, 1, 0, 0, 0]), [1, 1, 0, 1, 0, 0, None]),
        "q6_yes": (_stored(patient, [0, 0, 0, 0, 0, 1, 0]), [0, 0, None, None, None, 1, 0]),
        "all_yes": (_stored(patient, [1] * 7), [1] * 7),
        "odd": (_stored(patient, [0, 0, 0]), [0, 0, 0]),
    }
    phq9 = Assessment.objects.create(
        patient=patient, instrument="phq9", responses=[0] * 9, total=0, band="x", source="api"
    )
    migration.forwards(apps, None)
    for name, (row, expected) in rows.items():
        row.refresh_from_db()
        assert row.responses == expected, name
    phq9.refresh_from_db()
    assert phq9.responses == [0] * 9
    migration.backwards(apps, None)
    rows["q2_q6_no"][0].refresh_from_db()
    assert rows["q2_q6_no"][0].responses == [1, 0, 0, 0, 0, 0, 0]
