"""Every HTML route and every API operation the project serves, for the policy tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from kapcare.accounts.policy import API_NAMESPACE, HTML_ROUTES
from kapcare.api.main import api

# Sample values for URL parameters, by name, so every route can be requested.
SAMPLE_KWARGS: dict[str, object] = {
    "app_label": "accounts",
    "object_id": "1",
    "content_type_id": "1",
    "token_id": 1,
    "patient_id": 1,
    "kind": "allergy",
    "entry_id": 1,
    "template_id": 1,
    "screening_id": 1,
    "consultation_id": 1,
    "instrument": "phq9",
    "assessment_id": 1,
    "schedule_id": 1,
    "alert_id": 1,
    "token": "not-a-real-link",
    "uidb64": "MQ",
    "id": "1",
    "history_id": "1",
    "session_id": 1,
    "course_id": 1,
    "appointment_id": 1,
    "protocol_id": 1,
    "feed_id": 1,
    "resource_id": 1,
    "note_id": 1,
    "vital_alert_id": 1,
    "day": "2026-11-23",
}


@dataclass(frozen=True)
class HtmlRoute:
    view_name: str
    kwarg_names: tuple[str, ...]
    positional_args: int = 0

    def url(self) -> str:
        if self.positional_args:
            return reverse(self.view_name, args=["1"] * self.positional_args)
        return reverse(self.view_name, kwargs={k: SAMPLE_KWARGS[k] for k in self.kwarg_names})


def _walk(patterns: list[URLPattern | URLResolver], namespace: str = "") -> list[HtmlRoute]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            found += _walk(pattern.url_patterns, inner)
            continue
        if pattern.name is None:
            # Django's admin has a few unnamed redirects; its wildcard rule covers them.
            if f"{namespace}:*" in HTML_ROUTES:
                continue
            raise AssertionError(f"URL pattern {pattern.pattern} has no name: name it")
        view_name = f"{namespace}:{pattern.name}" if namespace else pattern.name
        regex = pattern.pattern.regex
        names = tuple(regex.groupindex)
        found.append(HtmlRoute(view_name, names, 0 if names else regex.groups))
    return found


def html_routes() -> list[HtmlRoute]:
    """All URL patterns except the API operations (the API's schema and docs pages count)."""
    every = _walk(get_resolver().url_patterns)
    return [
        r
        for r in every
        if not r.view_name.startswith(f"{API_NAMESPACE}:") or r.view_name in HTML_ROUTES
    ]


def api_url_names() -> list[str]:
    return [
        r.view_name
        for r in _walk(get_resolver().url_patterns)
        if r.view_name.startswith(f"{API_NAMESPACE}:")
    ]


@dataclass(frozen=True)
class ApiOperation:
    operation_id: str
    method: str
    path: str

    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", "1", self.path)


def api_operations() -> list[ApiOperation]:
    """Every operation in the OpenAPI schema (ninja builds it from the registered routes)."""
    schema = api.get_openapi_schema()
    operations = []
    for path, methods in schema["paths"].items():
        for method, spec in methods.items():
            operations.append(ApiOperation(spec["operationId"], method.upper(), path))
    return operations


def bound_operations():
    """The ninja Operation objects that will actually serve requests."""
    return [
        operation
        for router in api._get_bound_routers()
        for path_view in router.path_operations.values()
        for operation in path_view.operations
    ]
