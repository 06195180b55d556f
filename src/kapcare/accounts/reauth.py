"""Signing asks who is signing: a dose order or a note is signed only by someone who proved
their identity recently (a shared tablet left signed in must not sign for its last user).

The routes that sign are listed in the access policy (``SIGNING_ROUTES``). A POST to one of
them, when the session's last authentication is older than ``KAPCARE_REAUTH_SIGN_MINUTES``
(clinic policy, default 10), is answered by a page that asks for the signer's password (or,
for someone with a second factor, a code from it) and carries the form that was posted;
posting it again with the right password or code signs as intended. The password goes
through Django's ``authenticate``, so django-axes counts a wrong one like a failed sign-in; a
code goes through ``mfa.verify_second_factor``, with django-otp's throttle. The API is not
affected: a bearer token is the credential there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import url_has_allowed_host_and_scheme

from kapcare.accounts.mfa import session_has_factor, verify_second_factor
from kapcare.accounts.policy import SIGNING_ROUTES
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.errors import FieldInvalid

AUTHENTICATED_AT = "kapcare_authenticated_at"
"""Session key: when the user last gave their credentials (POSIX seconds)."""
PASSWORD_FIELD = "confirm_password"
CODE_FIELD = "confirm_code"


def mark_authenticated(request: HttpRequest) -> None:
    """Record that the user proved their identity now (sign-in, or a confirmation here)."""
    request.session[AUTHENTICATED_AT] = timezone.now().timestamp()


def authenticated_recently(request: HttpRequest) -> bool:
    at = request.session.get(AUTHENTICATED_AT)
    limit_s = settings.KAPCARE_REAUTH_SIGN_MINUTES * 60
    return isinstance(at, int | float) and timezone.now().timestamp() - at <= limit_s


def _carried_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """The posted form, to post again once the password is confirmed."""
    skip = {"csrfmiddlewaretoken", "username", PASSWORD_FIELD, CODE_FIELD}
    return [(k, v) for k, values in request.POST.lists() if k not in skip for v in values]


def _back(request: HttpRequest) -> str:
    """The page the form was on (this site only), to leave without signing."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return "/"


def _confirmed(request: HttpRequest, how: str) -> None:
    mark_authenticated(request)
    record_event(Actor.from_request(request), Action.SIGN_IN, f"identity confirmed to sign ({how})")


class SigningNeedsRecentAuthenticationMiddleware(MiddlewareMixin):
    """After the access policy: it only ever sees users the policy already let through."""

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in SIGNING_ROUTES:
            return None
        if not request.user.is_authenticated or authenticated_recently(request):
            return None
        error = ""
        password = request.POST.get(PASSWORD_FIELD, "")
        code = request.POST.get(CODE_FIELD, "").strip()
        has_factor = session_has_factor(request)
        if code and has_factor:
            try:
                verify_second_factor(Actor.from_request(request), request.user, code)
            except FieldInvalid:
                error = "That code is not right. Nothing was signed."
            else:
                _confirmed(request, "second factor")
                return None
        elif password:
            user = authenticate(request, username=request.user.get_username(), password=password)
            if user is not None and user.pk == request.user.pk:
                _confirmed(request, "password")
                return None
            error = "That is not your password. Nothing was signed."
        context = {
            "action": request.get_full_path(),
            "fields": _carried_fields(request),
            "password_field": PASSWORD_FIELD,
            "code_field": CODE_FIELD if has_factor else "",
            "error": error,
            "minutes": settings.KAPCARE_REAUTH_SIGN_MINUTES,
            "back": _back(request),
        }
        # 200, not 401: the page is the next step of signing, not a refusal.
        return render(request, "registration/confirm_identity.html", context)
