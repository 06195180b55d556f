"""The whole API fuzzed against its own OpenAPI description (schemathesis, issue 13): every
operation answers generated requests, valid ones and ones that break the schema, with no server
error, a documented status code, a documented content type and a body matching the documented
schema.

- **Roles:** each operation's requests are sent in turn as each staff role the access policy
  allows it (a refused role is the policy walk's business, `accounts/tests/test_policy.py`).
- **Records:** besides generated path parameters (mostly unknown records: the 404 path), part of
  the requests name records that exist, a patient with a planned course, so bodies reach the
  services and their refusals.
- **Bounded and deterministic:** ``EXAMPLES`` requests per operation from a fixed seed
  (hypothesis ``derandomize``), no example database, no shrinking; CI is neither slow nor flaky.
- **Isolated:** requests go to Django in-process through WSGI, inside the test's transaction,
  which is rolled back after each operation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kapcare.accounts.models import User
from kapcare.accounts.policy import API_OPERATIONS
from kapcare.accounts.roles import STAFF
from kapcare.api.main import api

EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema())
SCHEMA.app = WSGIHandler()


def _operations() -> list[Any]:
    found = []
    for result in SCHEMA.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # the OpenAPI description itself is broken
        found.append(result.ok())
    return found


OPERATIONS = _operations()


def _id(operation: Any) -> str:
    return str(operation.definition.raw["operationId"])


@pytest.fixture
def connection_kept() -> Iterator[None]:
    """As Django's test client does: a request does not close the database connection, which
    holds the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def existing_records(cleared_patient: Any, plan_course_for: Callable[..., Any]) -> dict[str, int]:
    """Path parameters naming records that exist: a cleared patient, their screening, a planned
    course's first dosing session and its appointment."""
    course = plan_course_for(cleared_patient)
    session = course.dosing_sessions.order_by("appointment__starts_at").first()
    return {
        "patient_id": cleared_patient.pk,
        "screening_id": cleared_patient.screenings.get().pk,
        "session_id": session.pk,
        "appointment_id": session.appointment_id,
    }


def _strategies(operation: Any, records: dict[str, int]) -> list[tuple[int, Any]]:
    """(examples, strategy): half the requests name existing records when the operation's path
    parameters are all known, the rest fit the schema or break it."""
    valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    if not list(operation.iter_parameters()) and not operation.body:
        return [(EXAMPLES, valid)]  # no input to get wrong: the one request there is
    invalid = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    names = {parameter.name for parameter in operation.path_parameters}
    if not names or not names <= set(records):
        return [(EXAMPLES * 2 // 3, valid), (EXAMPLES // 3, invalid)]
    known = operation.as_strategy(
        generation_mode=GenerationMode.POSITIVE,
        path_parameters={name: records[name] for name in names},
    )
    return [(EXAMPLES // 2, known), (EXAMPLES // 4, valid), (EXAMPLES // 4, invalid)]


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
@pytest.mark.usefixtures("connection_kept")
def test_operation_answers_as_documented(
    operation: Any,
    existing_records: dict[str, int],
    make_user: Callable[..., User],
    token_for: Callable[[User], str],
) -> None:
    roles = sorted(API_OPERATIONS[_id(operation)] & STAFF)
    headers = [{"Authorization": f"Bearer {token_for(make_user(role))}"} for role in roles]
    turn = count()

    def answers_as_documented(case: Any) -> None:
        response = case.call(headers=headers[next(turn) % len(headers)])
        case.validate_response(response, checks=CHECKS)

    for examples, cases in _strategies(operation, existing_records):
        run = settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(case=cases)(answers_as_documented))
        run()
