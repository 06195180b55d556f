"""Every 401 and 403, of pages and of the API alike, is an audit entry (action ``refused``;
HIPAA 164.312(b): attempts are events too). Whoever refuses may note why with `note_refusal`;
`RefusalAuditMiddleware` writes the entry."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event

# Where a refusal's reason is noted on the request for `RefusalAuditMiddleware`.
_REFUSAL_REASON = "kapcare.refusal_reason"
# The access policy's 403 page carries this header (`accounts.middleware.POLICY_HEADER`).
_POLICY_HEADER = "X-Access-Policy"


def note_refusal(request: HttpRequest, reason: str) -> None:
    """Say why a request is refused, for its audit entry. Never put a credential here."""
    request.META[_REFUSAL_REASON] = reason


def refusal_reason(request: HttpRequest) -> str | None:
    return request.META.get(_REFUSAL_REASON)


# URL parameters that are credentials: a patient's home link, a calendar feed.
_SECRET_PARAMETERS = frozenset({"token"})


def _logged_path(request: HttpRequest) -> str:
    # A path holding a credential is logged as its pattern, so the log never holds the secret.
    match = request.resolver_match
    if match is not None and _SECRET_PARAMETERS & set(match.kwargs):
        return "/" + match.route
    return request.path


class RefusalAuditMiddleware:
    """Every 401 and 403, of a page or of the API, is an audit entry (action ``refused``,
    HIPAA 164.312(b)): who (if known), from which address, which path and why. The entry is
    written after the response is made, outside the refused call's own transaction, which
    rolled back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code in (401, 403):
            reason = refusal_reason(request)
            if reason is None:
                policy = response.get(_POLICY_HEADER) == "denied"
                reason = "access policy" if policy else response.reason_phrase.lower()
            what = f"{response.status_code} {request.method} {_logged_path(request)}: {reason}"
            record_event(Actor.from_request(request), Action.REFUSED, what)
        return response
