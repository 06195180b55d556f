"""Applies the access policy (kapcare.accounts.policy) to every HTML request, ends idle
sessions (kapcare.accounts.idle) and keeps a session that has not passed its second factor to
enrolment and verification (kapcare.accounts.mfa)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import url_has_allowed_host_and_scheme

from kapcare.accounts import idle, mfa
from kapcare.accounts.policy import API_NAMESPACE, Public, html_rule

logger = logging.getLogger(__name__)


class AccessPolicyMiddleware(MiddlewareMixin):
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


def _same_site_path(url: str, request: HttpRequest) -> str | None:
    """The path and query of ``url`` when it is an address of this site, else None."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_the_user_was_on(request: HttpRequest) -> str | None:
    """Where signing in again should return: the page asked for, or, for a request a page
    made (htmx, a form's POST), the page itself; same-site addresses only."""
    if request.headers.get("HX-Request") == "true":
        return _same_site_path(request.headers.get("HX-Current-URL", ""), request)
    if request.method == "GET":
        return request.get_full_path()
    return _same_site_path(request.headers.get("Referer", ""), request)


class IdleLogoutMiddleware:
    """Ends a session after KAPCARE_IDLE_LOGOUT_SECONDS without activity, or
    KAPCARE_SESSION_SECONDS after sign-in, on the server (docs/security.md, automatic logoff).
    Requests marked as background (`idle.BACKGROUND_HEADER`) are no activity."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY not in session:
            return self.get_response(request)
        now = time.time()
        last = session.get(idle.LAST_ACTIVITY_SESSION_KEY)
        if last is None:  # signed in before automatic logoff existed: start counting now
            session[idle.LAST_ACTIVITY_SESSION_KEY] = last = now
            session.setdefault(idle.SIGNED_IN_AT_SESSION_KEY, now)
        idle_left, absolute_left = idle.time_left(request, now)
        if min(idle_left, absolute_left) <= 0:
            ended = self._end(request, timed_out=idle_left <= 0)
            if ended is not None:
                return ended
        elif not idle.is_background(request) and now - last >= idle.activity_resolution_seconds():
            session[idle.LAST_ACTIVITY_SESSION_KEY] = now
        return self.get_response(request)

    def _end(self, request: HttpRequest, timed_out: bool) -> HttpResponse | None:
        """Sign out, then send the person to sign in again and back to where they were. A
        plain GET goes on, signed out: the access policy sends it to sign in with ?next=."""
        back_to = page_the_user_was_on(request)
        # Read by the sign-out audit receiver (accounts/signals.py); an attribute of our own
        # on the request, which HttpRequest's type does not declare.
        request.kapcare_sign_out_reason = (  # type: ignore[attr-defined]
            f"signed out automatically after {idle.idle_limit_words()} without activity"
            if timed_out
            else "signed out automatically: the session reached its time limit"
        )
        logout(request)
        messages.info(
            request,
            f"You were signed out after {idle.idle_limit_words()} without activity. Sign in "
            "again to continue."
            if timed_out
            else "Your session reached its time limit. Sign in again to continue.",
        )
        login_url = reverse(settings.LOGIN_URL)
        if back_to:
            login_url += "?" + urlencode({"next": back_to})
        if request.headers.get("HX-Request") == "true":
            # htmx would swap the sign-in page into the fragment: have it load the page.
            return HttpResponse(status=200, headers={"HX-Redirect": login_url})
        if request.method == "GET":
            return None
        return HttpResponseRedirect(login_url)


# Pages a signed-in session reaches before its second factor: the factor's own pages and
# signing out (public pages, static files and the favicon need no sign-in anyway).
BEFORE_SECOND_FACTOR = frozenset(
    {"accounts:verify", "accounts:second_factor", "accounts:session_status", "web:logout"}
)


class SecondFactorMiddleware(MiddlewareMixin):
    """A signed-in session that has not passed its second factor reaches only
    `BEFORE_SECOND_FACTOR`: it is sent to verify when the user has a factor, and to enrol when
    one is required (staff under KAPCARE_REQUIRE_MFA). So creating an API token (a page like
    any other) needs a verified factor. The API takes bearer tokens only, never the session,
    so it is not concerned here."""

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or SESSION_KEY not in request.session:
            return None
        name = match.view_name
        if name in BEFORE_SECOND_FACTOR or match.namespaces[:1] == [API_NAMESPACE]:
            return None
        if isinstance(html_rule(name), Public):
            return None
        user = request.user
        # OTPMiddleware gives the user is_verified(), which the stubs do not know.
        if not user.is_authenticated or user.is_verified():  # type: ignore[union-attr,attr-defined]
            return None
        if mfa.session_has_factor(request):
            target = "accounts:verify"
        elif mfa.must_enrol(user):
            target = "accounts:second_factor"
        else:
            return None
        url = reverse(target)
        back_to = page_the_user_was_on(request)
        if back_to and back_to != "/":
            url += "?" + urlencode({"next": back_to})
        return HttpResponseRedirect(url)
