"""Applies the access policy (kapcare.accounts.policy) to every HTML request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kapcare.accounts.policy import API_NAMESPACE, Public, html_rule

logger = logging.getLogger(__name__)


class AccessPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None:  # pragma: no cover - Django always resolves before process_view
            return refuse(request, "Unknown page.")
        rule = html_rule(match.view_name)
        if rule is None and match.namespaces[:1] == [API_NAMESPACE]:
            return None  # an API operation: its own policy check runs per operation
        if rule is None:
            logger.error("No access rule for view %s: refused", match.view_name)
            return refuse(request, "This page has no access rule.")
        if isinstance(rule, Public):
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(user, "role", None) not in rule:
            return refuse(request, "Your role may not use this page.")
        return None


POLICY_HEADER = "X-Access-Policy"


def refuse(request: HttpRequest, reason: str) -> HttpResponse:
    """The 403 page, marked so tests can tell a policy refusal from a view's own 403."""
    response = render(request, "403.html", {"reason": reason}, status=403)
    response[POLICY_HEADER] = "denied"
    return response
