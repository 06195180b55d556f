"""The clinic admin's page of every API token, where any of them is revoked. A user's own
tokens are on their profile page (`kapcare.web.views`). Access: `accounts.policy`."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kapcare.accounts.selectors import all_api_tokens
from kapcare.accounts.services import revoke_any_api_token
from kapcare.audit.services import Actor
from kapcare.errors import NotFound


@require_GET
def all_tokens(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = [(token, token.status(now)) for token in all_api_tokens()]
    return render(request, "tokens/all.html", {"rows": rows})


@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = revoke_any_api_token(Actor.from_request(request), token_id)
    except NotFound as missing:
        raise Http404(missing.message) from missing
    messages.success(request, f"Token “{token.name}” of {token.user.full_name} revoked.")
    return redirect("tokens:all")
