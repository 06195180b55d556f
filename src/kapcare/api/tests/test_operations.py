"""A walk over every operation in the OpenAPI schema: each documents the 4xx it can give with
the error schema (and a POST its Idempotency-Key header), and each answers them in that shape,
naming the field and the rule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from hashlib import sha256
from typing import Any

import pytest
from django.test import Client

from kapcare.accounts.models import ApiToken, hash_token
from kapcare.accounts.policy import API_OPERATIONS
from kapcare.accounts.roles import Role
from kapcare.api.idempotency import HEADER
from kapcare.api.main import api
from kapcare.api.models import IdempotencyKey

MISSING_ID = 987_654_321


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.spec["operationId"])

    def parameters(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", str(MISSING_ID), self.path)

    def expected_4xx(self) -> set[int]:
        expected = {401, 403, 429}
        if self.parameters("path"):
            expected |= {404, 422}
        if self.parameters("query") or "requestBody" in self.spec:
            expected.add(422)
        if "requestBody" in self.spec:
            expected.add(400)
        if self.method == "POST":
            expected |= {409, 413, 422}
        return expected


@cache
def _schema() -> dict[str, Any]:
    return api.get_openapi_schema()


def _operations() -> Iterator[Operation]:
    for path, methods in _schema()["paths"].items():
        for method, spec in methods.items():
            yield Operation(method.upper(), path, spec)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return _schema()["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def test_every_operation_documents_its_4xx_with_the_error_schema():
    operations = list(_operations())
    assert len(operations) >= 20 and {op.method for op in operations} == {"GET", "POST"}
    for op in operations:
        documented = {int(code): spec for code, spec in op.spec["responses"].items()}
        missing = op.expected_4xx() - set(documented)
        assert not missing, f"{op.id} does not document {sorted(missing)}"
        for status in op.expected_4xx():
            schema = _resolve(documented[status]["content"]["application/json"]["schema"])
            assert {"detail", "errors"} <= set(schema["properties"]), (op.id, status)
        headers = [p["name"] for p in op.parameters("header")]
        assert (HEADER in headers) == (op.method == "POST"), op.id


def _check(op: Operation, response: Any, status: int) -> list[dict[str, Any]]:
    """The response is ``status`` in the error shape, documented for the operation."""
    assert response.status_code == status, (op.id, response.status_code, response.content)
    assert status in {int(code) for code in op.spec["responses"]}, (op.id, status)
    assert response["Content-Type"].startswith("application/json"), op.id
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], op.id
    assert body["errors"], op.id
    for error in body["errors"]:
        assert isinstance(error["field"], str) and error["field"], (op.id, error)
        assert isinstance(error["rule"], str) and error["rule"], (op.id, error)
    return list(body["errors"])


def _needs_a_body(op: Operation) -> bool:
    """Whether an empty JSON object fails the body's schema (it has required fields)."""
    content = op.spec.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    return bool(_resolve(schema).get("required"))


@pytest.mark.django_db
def test_every_operation_answers_its_4xx_naming_field_and_rule(users, token_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    raw_tokens = {role: token_for(users[role]) for role in Role.values}
    clients = {
        role: Client(headers={"Authorization": f"Bearer {raw}"}) for role, raw in raw_tokens.items()
    }
    not_found_checked = []
    for op in _operations():
        roles = API_OPERATIONS[op.id]
        # The prescriber where allowed: a service may refuse other clinical roles (only a
        # prescriber signs an order) before it looks the record up.
        allowed = Role.PRESCRIBER if Role.PRESCRIBER in roles else sorted(roles)[0]
        client = clients[allowed]
        _check(op, Client().generic(op.method, op.url), 401)
        refused = sorted(set(Role.values) - roles)
        if refused:
            assert _check(op, clients[refused[0]].generic(op.method, op.url), 403) == [
                {"field": "actor", "rule": "role"}
            ]
        for param in op.parameters("query")[:1]:
            # A string may not hold NUL; a number must be one.
            bad = "x" if param["schema"].get("type") == "integer" else "a\x00b"
            errors = _check(op, client.get(op.url, {param["name"]: bad}), 422)
            assert param["name"] in errors[0]["field"], (op.id, errors)
        if "requestBody" in op.spec:
            _check(op, client.generic(op.method, op.url, "{", "application/json"), 400)
        if op.method == "POST":
            too_large = client.post(op.url, "x" * 10_001, content_type="application/json")
            assert _check(op, too_large, 413) == [{"field": "body", "rule": "too_large"}]
            bad_key = client.post(op.url, {}, "application/json", headers={HEADER: "ключ"})
            assert _check(op, bad_key, 422)[0]["field"] == HEADER
            IdempotencyKey.objects.create(
                token=ApiToken.objects.get(token_hash=hash_token(raw_tokens[allowed])),
                key=f"in-flight-{op.id}",
                scope_sha256=sha256(f"POST {op.url}".encode()).hexdigest(),
                body_sha256=sha256(b"{}").hexdigest(),
            )
            in_flight = client.post(
                op.url, {}, "application/json", headers={HEADER: f"in-flight-{op.id}"}
            )
            assert _check(op, in_flight, 409) == [{"field": HEADER, "rule": "in_flight"}]
        # A missing record, where the request gets as far as looking it up: an operation
        # whose body has required fields refuses the empty body first (422).
        if op.parameters("path") and not _needs_a_body(op):
            errors = _check(op, client.generic(op.method, op.url, "{}", "application/json"), 404)
            assert errors[0]["rule"] == "not_found", (op.id, errors)
            not_found_checked.append(op.id)
    assert {"get_patient", "list_courses", "get_session", "screen_patient"} <= set(
        not_found_checked
    )
