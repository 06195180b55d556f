"""Every refusal reaches the client in one shape, naming its field and rule: the use cases'
error types, ninja's HttpError, Http404, and the 4xx no operation answers itself."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory
from ninja.errors import HttpError

from kapcare.api.main import api
from kapcare.errors import Conflict, FieldInvalid, FieldProblem, Forbidden, NotFound, Unmet


def _answer(exc: Exception) -> tuple[int, dict]:
    response = api.on_exception(RequestFactory().post("/api/v1/anything"), exc)
    return response.status_code, json.loads(response.content)


def test_field_invalid_is_422_with_one_error_per_problem():
    status, body = _answer(
        FieldInvalid.of(
            [
                FieldProblem("readings[0].spo2", "out_of_range", "must be 50-100 %"),
                FieldProblem("readings[2].taken_at", "in_future", "must not be in the future"),
            ]
        )
    )
    assert status == 422
    assert body["errors"] == [
        {"field": "readings[0].spo2", "rule": "out_of_range", "message": "must be 50-100 %"},
        {
            "field": "readings[2].taken_at",
            "rule": "in_future",
            "message": "must not be in the future",
        },
    ]
    assert "readings[0].spo2" in body["detail"]


def test_conflict_is_409_naming_each_unmet_requirement():
    status, body = _answer(
        Conflict(
            "Cannot start dosing yet",
            [Unmet("order_signed", "A signed order is needed"), Unmet("fasting", "Fast 6 h", True)],
            field="to",
        )
    )
    assert status == 409
    assert body == {
        "detail": "Cannot start dosing yet",
        "errors": [
            {
                "field": "to",
                "rule": "order_signed",
                "message": "A signed order is needed",
                "overridable": False,
            },
            {"field": "to", "rule": "fasting", "message": "Fast 6 h", "overridable": True},
        ],
    }


def test_conflict_without_unmet_requirements_names_its_field_and_rule():
    status, body = _answer(Conflict("The note is signed", field="text", rule="note_signed"))
    assert (status, body["errors"]) == (409, [{"field": "text", "rule": "note_signed"}])


def test_forbidden_is_403_naming_the_actor_and_not_found_is_404_naming_its_field():
    assert _answer(Forbidden("Only a prescriber signs an order", rule="prescriber_only")) == (
        403,
        {
            "detail": "Only a prescriber signs an order",
            "errors": [{"field": "actor", "rule": "prescriber_only"}],
        },
    )
    status, body = _answer(NotFound("session_id", "No such dosing session"))
    assert (status, body["errors"]) == (404, [{"field": "session_id", "rule": "not_found"}])


@pytest.mark.parametrize(
    ("status", "message", "field", "rule"),
    [
        (400, "Cannot parse request body", "body", "malformed"),
        (413, "Request body too large", "body", "too_large"),
        (404, "Not Found", "path", "not_found"),
        # A message that looks like "field: message" is not parsed for a field: a refusal about
        # a field is raised as a kapcare.errors type.
        (422, "birth_date: must not be in the future", "body", "invalid"),
        (409, "status: the alert is already closed", "state", "conflict"),
    ],
)
def test_an_http_error_names_the_field_and_rule_of_its_status(status, message, field, rule):
    answered, body = _answer(HttpError(status, message))
    assert answered == status and body["detail"] == message
    assert body["errors"] == [{"field": field, "rule": rule, "message": message}]


@pytest.mark.django_db
def test_live_4xx_name_their_field_and_rule(users, token_for):
    nurse = Client(headers={"Authorization": f"Bearer {token_for(users['nurse'])}"})
    patient = Client(headers={"Authorization": f"Bearer {token_for(users['patient'])}"})

    def errors(response) -> list[tuple[str, str]]:
        assert response["Content-Type"].startswith("application/json")
        return [(e["field"], e["rule"]) for e in response.json()["errors"]]

    unauthenticated = Client().get("/api/v1/patients")
    assert unauthenticated.status_code == 401 and unauthenticated["WWW-Authenticate"] == "Bearer"
    assert errors(unauthenticated) == [("authorization", "unauthenticated")]
    refused = patient.get("/api/v1/patients")
    assert refused.status_code == 403 and errors(refused) == [("actor", "role")]
    # get_object_or_404 names the model; the error names the path parameter the client sent.
    missing = nurse.get("/api/v1/patients/987654321")
    assert missing.status_code == 404 and errors(missing) == [("patient_id", "not_found")]
    unknown = nurse.get("/api/v1/no-such-operation")
    assert unknown.status_code == 404 and errors(unknown) == [("path", "not_found")]
    not_allowed = nurse.delete("/api/v1/patients")
    assert not_allowed.status_code == 405 and errors(not_allowed) == [("method", "not_allowed")]
    assert set(not_allowed["Allow"].split(", ")) == {"GET", "POST"}
    assert int(not_allowed["Content-Length"]) == len(not_allowed.content)
