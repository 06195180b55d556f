"""The whole API fuzzed against its own OpenAPI description (schemathesis, issue 13): every
operation, as each staff role the policy allows, answers generated requests (valid ones, and
ones that break the schema) with no server error, a documented status code, a documented
content type and a body matching the documented schema.

Bounded and deterministic, so CI is neither slow nor flaky: ``EXAMPLES`` cases per operation and
role, generated from a fixed seed (hypothesis ``derandomize``), without hypothesis's example
database. Each operation and role is one pytest test in its own rolled-back transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
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
# Requests go to Django in-process through WSGI: the test's database transaction is theirs.
SCHEMA.app = WSGIHandler()


def _operations() -> list[Any]:
    found = []
    for result in SCHEMA.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # the OpenAPI description itself is broken
        found.append(result.ok())
    return found


OPERATIONS = _operations()


def _runs() -> list[Any]:
    runs = []
    for operation in OPERATIONS:
        operation_id = operation.definition.raw["operationId"]
        for role in sorted(API_OPERATIONS[operation_id] & STAFF):
            runs.append(pytest.param(operation, role, id=f"{operation_id}-{role}"))
    return runs


@pytest.fixture
def connection_kept() -> Iterator[None]:
    """As Django's test client does: a request does not close the database connection, which
    holds the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.parametrize(("operation", "role"), _runs())
@pytest.mark.usefixtures("connection_kept")
def test_operation_answers_as_documented(
    operation: Any, role: str, token_for: Callable[[User], str], make_user: Callable[..., User]
) -> None:
    headers = {"Authorization": f"Bearer {token_for(make_user(role))}"}
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    answers_as_documented()
