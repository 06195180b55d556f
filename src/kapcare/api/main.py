"""The API instance: every app's router mounted under /api/v1, with one error shape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from kapcare.accounts.api import router as accounts_router
from kapcare.accounts.policy import API_NAMESPACE
from kapcare.api.security import DenyUnlisted
from kapcare.assessments.api import router as assessments_router
from kapcare.consultations.api import router as consultations_router
from kapcare.courses.api import router as courses_router
from kapcare.dosing.api import router as dosing_router
from kapcare.intake.api import router as intake_router
from kapcare.patients.api import router as patients_router

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


def _field_name(location: list[object]) -> str:
    # ninja reports e.g. ["body", "payload", "birth_date"]; the client knows the field by its
    # last parts, without ninja's parameter name.
    parts = [str(part) for part in location if part not in ("payload",)]
    return ".".join(parts)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": _field_name(list(error.get("loc", []))), "rule": str(error.get("msg", ""))}
        for error in exc.errors
    ]
    summary = "; ".join(f"{e['field']}: {e['rule']}" for e in errors)
    return api.create_response(
        request, {"detail": f"Invalid input — {summary}", "errors": errors}, status=422
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {"detail": "Authentication required: send Authorization: Bearer TOKEN", "errors": []},
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(AuthorizationError)
def on_forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "errors": []}, status=403)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(
        request, {"detail": str(exc.message), "errors": []}, status=exc.status_code
    )
