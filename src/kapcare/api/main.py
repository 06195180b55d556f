"""The API instance: every app's router mounted under /api/v1, with one error shape.

Every refusal is mapped to HTTP here, once: a use case's `kapcare.errors` (FieldInvalid 422,
Conflict 409, Forbidden 403, NotFound 404), ninja's own errors and Django's Http404. Each 4xx
names the field and the rule it is about (`kapcare.api.errors.ApiErrorOut`). A 401 or 403 notes
its reason for its audit entry (`kapcare.web.refusals.RefusalAuditMiddleware`); failed
authentications are counted and throttled (`kapcare.api.security`).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from kapcare.accounts.api import router as accounts_router
from kapcare.accounts.policy import API_NAMESPACE
from kapcare.api.errors import error_response, status_field_rule
from kapcare.api.security import (
    DenyUnlisted,
    auth_failures_per_minute,
    record_auth_failure,
    throttle_wait,
)
from kapcare.assessments.api import router as assessments_router
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.consultations.api import router as consultations_router
from kapcare.courses.api import router as courses_router
from kapcare.dosing.api import router as dosing_router
from kapcare.errors import Conflict, FieldInvalid, Forbidden, NotFound
from kapcare.intake.api import router as intake_router
from kapcare.ledger.api import router as ledger_router
from kapcare.patients.api import router as patients_router
from kapcare.web.refusals import note_refusal, refusal_reason

api = NinjaAPI(
    title="kapcare API",
    version="1",
    description=(
        "kapcare's JSON API. Authenticate with a personal token: `Authorization: Bearer TOKEN`. "
        "Errors are JSON: `detail` says what went wrong and `errors` names each field and rule."
    ),
    urls_namespace=API_NAMESPACE,
    auth=DenyUnlisted(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/", accounts_router)
api.add_router("/patients", patients_router)
api.add_router("/", intake_router)
api.add_router("/", assessments_router)
api.add_router("/", consultations_router)
api.add_router("/", courses_router)
api.add_router("/", dosing_router)
api.add_router("/ledger", ledger_router)


# Where ninja found the input, and its name for the parsed parameter: neither is a field the
# client sent.
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie", "form", "payload", "filters"})


def _field_name(location: list[object]) -> str:
    """The field as the services name it: ninja's ``["body", "payload", "readings", 3, "spo2"]``
    is ``readings[3].spo2``."""
    name = ""
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        elif str(part) not in _LOCATIONS or name:
            name += f".{part}" if name else str(part)
    return name or "body"


def _path_field(request: HttpRequest) -> str:
    """The path parameter a 404 is about: the operation's only one, else the whole path."""
    match = request.resolver_match
    names = list(match.kwargs) if match is not None else []
    return names[0] if len(names) == 1 else "path"


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": _field_name(list(error.get("loc", []))),
            "rule": str(error.get("type") or "invalid"),
            "message": str(error.get("msg", "")),
        }
        for error in exc.errors
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return error_response(422, f"Invalid input — {summary}", errors)


@api.exception_handler(FieldInvalid)
def on_field_invalid(request: HttpRequest, exc: FieldInvalid) -> HttpResponse:
    errors = [{"field": p.field, "rule": p.rule, "message": p.message} for p in exc.problems]
    return error_response(422, exc.message, errors)


@api.exception_handler(Conflict)
def on_conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    errors = [
        {"field": exc.field, "rule": u.code, "message": u.message, "overridable": u.overridable}
        for u in exc.unmet
    ] or [{"field": exc.field, "rule": exc.rule}]
    return error_response(409, exc.message, errors)


@api.exception_handler(Forbidden)
def on_forbidden(request: HttpRequest, exc: Forbidden) -> HttpResponse:
    note_refusal(request, f"{exc.rule}: {exc.message}")
    return error_response(403, exc.message, [{"field": "actor", "rule": exc.rule}])


@api.exception_handler(NotFound)
def on_not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    return error_response(404, exc.message, [{"field": exc.field, "rule": "not_found"}])


@api.exception_handler(Http404)
def on_http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    # get_object_or_404's message names the model, not what the caller sent: name the path
    # parameter instead.
    field = _path_field(request)
    return error_response(404, f"{field}: no such record", [{"field": field, "rule": "not_found"}])


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    """401, and 429 once the address has failed too often this minute (`api.security`)."""
    address = request.META.get("REMOTE_ADDR", "")
    failures = record_auth_failure(address)
    wait_s = throttle_wait(failures)
    if wait_s is not None:
        if failures == auth_failures_per_minute() + 1:
            # One entry when the address crosses the limit, not one per throttled call.
            what = f"API authentication throttled: over {failures - 1} failures in a minute"
            record_event(Actor.for_user(None, request), Action.REFUSED, what)
        return _throttled(wait_s)
    if refusal_reason(request) is None:
        note_refusal(request, "no bearer token")
    field, rule = status_field_rule(401)
    response = error_response(
        401,
        "Authentication required: send Authorization: Bearer TOKEN",
        [{"field": field, "rule": rule}],
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


def _throttled(wait_s: int) -> HttpResponse:
    field, rule = status_field_rule(429)
    response = error_response(
        429,
        f"Too many failed authentications from your address: retry after {wait_s} s",
        [{"field": field, "rule": rule}],
    )
    response["Retry-After"] = str(wait_s)
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja's own errors (a body it cannot parse, ...): the field and the rule from the status
    (a 404 names the path parameter). The message is not read for a field: a refusal about a
    field is a `kapcare.errors` type, raised as such."""
    field, rule = status_field_rule(exc.status_code)
    if exc.status_code == 404:
        field = _path_field(request)
    errors = [{"field": field, "rule": rule, "message": str(exc.message)}]
    return error_response(exc.status_code, str(exc.message), errors)
