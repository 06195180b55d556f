"""The API's one error shape, ``{"detail": str, "errors": [{"field", "rule", ...}]}``: its
schema (documented on every operation by `routing.endpoint`) and the response that carries it.
`main.py` maps every exception to it; the modules raise `kapcare.errors` types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.http import HttpResponse, JsonResponse
from ninja import Schema

# The same media type as ninja's own JSON responses.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

# What a refusal without a field of its own is about, by status: ninja's HttpError, and the
# 4xx answered before an operation runs (an unknown API URL, a method not allowed).
_STATUS_FIELD_RULE: dict[int, tuple[str, str]] = {
    400: ("body", "malformed"),
    401: ("authorization", "unauthenticated"),
    403: ("actor", "role"),
    404: ("path", "not_found"),
    405: ("method", "not_allowed"),
    409: ("state", "conflict"),
    413: ("body", "too_large"),
    422: ("body", "invalid"),
    429: ("actor", "throttled"),
}


class ErrorItemOut(Schema):
    field: str
    rule: str
    message: str | None = None
    overridable: bool | None = None


class ApiErrorOut(Schema):
    """Every 4xx of the API: ``detail`` for a person, ``errors`` naming each field and rule."""

    detail: str
    errors: list[ErrorItemOut]


def error_response(
    status: int, detail: str, errors: Sequence[Mapping[str, object]]
) -> HttpResponse:
    return JsonResponse(
        {"detail": detail, "errors": list(errors)}, status=status, content_type=JSON_CONTENT_TYPE
    )


def status_field_rule(status: int) -> tuple[str, str]:
    """The (field, rule) a refusal of this status names when it names none itself."""
    return _STATUS_FIELD_RULE.get(status, ("request", "refused"))
