"""`endpoint` declares an API operation together with its access rule, and gives it what every
operation shares: its 4xx responses documented with the error schema, NUL characters refused
in its inputs, and on a POST the Idempotency-Key (`kapcare.api.idempotency`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.decorators import decorate_view
from ninja.operation import Operation
from ninja.utils import contribute_operation_callback
from pydantic import BaseModel

from kapcare.api.errors import ApiErrorOut
from kapcare.api.guards import INT64_MAX, INT64_MIN, find_nul, find_out_of_range
from kapcare.api.idempotency import OPENAPI_PARAMETER, idempotent
from kapcare.api.security import RoleBearer
from kapcare.errors import FieldInvalid


def endpoint(
    router: Router,
    method: str,
    path: str,
    *,
    operation_id: str,
    openapi_extra: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an operation whose roles come from `policy.API_OPERATIONS[operation_id]`.

    The operation's own ``response=`` codes stay as declared; the 4xx it can give are added
    with `ApiErrorOut`. With more than one response declared, ninja answers 200 for a plain
    return value: return ``Status(201, ...)`` for a creation."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        contribute_operation_callback(view, _share_guards)
        extra = dict(openapi_extra or {})
        if method == "POST":
            view = decorate_view(idempotent)(view)
            extra["parameters"] = [*extra.get("parameters", []), OPENAPI_PARAMETER]
        return router.api_operation(
            [method],
            path,
            operation_id=operation_id,
            url_name=operation_id,
            auth=RoleBearer(operation_id),
            openapi_extra=extra or None,
            **kwargs,
        )(view)

    return register


def error_statuses(operation: Operation) -> set[int]:
    """The 4xx an operation can give, from what it reads: every operation 401, 403 and 429 (too
    many failed authentications, `api.security`); path parameters 404 (no such record) and 422;
    a query or a body 422, an unparseable body 400; a POST 422 and 409 (its Idempotency-Key) and
    413 (a body over the limit)."""
    sources = {model.__ninja_param_source__ for model in operation.models}
    statuses = {401, 403, 429}
    if "path" in sources:
        statuses |= {404, 422}
    if sources & {"query", "body"}:
        statuses.add(422)
    if "body" in sources:
        statuses.add(400)
    if "POST" in operation.methods:
        statuses |= {409, 413, 422}
    return statuses


def _share_guards(operation: Operation) -> None:
    # Called by ninja once the operation has read its signature and its response= codes.
    error_model = operation._create_response_model(ApiErrorOut)
    for status in sorted(error_statuses(operation)):
        operation.response_models.setdefault(status, error_model)
    operation.view_func = _refusing_nul(operation.view_func)


def _refusing_nul(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view, called only when no string among its parsed inputs holds a NUL character
    (PostgreSQL can neither store nor compare one) and no integer is beyond 64 bits."""

    @wraps(view)
    def checked(request: HttpRequest, **inputs: Any) -> Any:
        for name, value in inputs.items():
            # A schema's fields are named as the client sends them, without the parameter's
            # name ("given_name", not "payload.given_name").
            named = "" if isinstance(value, BaseModel) else name
            field = find_nul(value, named)
            if field is not None:
                raise FieldInvalid(field, "nul_character", "must not contain a NUL character")
            field = find_out_of_range(value, named)
            if field is not None:
                raise FieldInvalid(
                    field, "out_of_range", f"must be between {INT64_MIN} and {INT64_MAX}"
                )
        return view(request, **inputs)

    return checked
