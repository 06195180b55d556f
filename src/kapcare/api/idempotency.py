"""Idempotency-Key on the API's POSTs: a client that retries a POST (after a timeout or a dropped
connection) with the same key gets the first response again, and nothing is stored twice.

- A key is scoped by the caller's token and by the method and path: the same key sent
  elsewhere, or by another token, is another key.
- The same key with the same body (byte for byte, by SHA-256) replays the first response, its
  status and body, marked ``Idempotent-Replayed: true``.
- The same key with another body: 422 (``Idempotency-Key``, ``reused_with_other_body``).
- The same key while its first request is still running: 409 (``in_flight``): retry later. The
  claim of a request that died (its worker killed) is taken over after `IN_FLIGHT_LEASE`.
- Only responses below 500 are kept: after a server error the key may be sent again.
- The operation's work and its recorded response commit in one transaction, so a request that
  dies midway leaves neither.
- Keys are kept KAPCARE_IDEMPOTENCY_HOURS (24 by default, clinic policy); the background worker
  purges them after.

A request without a valid token, or whose role may not use the operation, is not claimed: the
operation refuses it (401, 403) as it would without a key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from hashlib import sha256
from types import MethodType
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja.operation import Operation

from kapcare.accounts.models import ApiToken
from kapcare.api.models import IdempotencyKey
from kapcare.errors import Conflict, FieldInvalid, Refused
from kapcare.jobs.services import register_periodic

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_KEY_PATTERN = r"[\x20-\x7e]+"  # printable ASCII
_KEY = re.compile(_KEY_PATTERN)

IN_FLIGHT_LEASE = timedelta(minutes=5)
"""After this, an in-flight claim is taken to be a dead request's: far longer than a request
may run (gunicorn stops a worker whose request takes over 30 s)."""
PURGE_EVERY_SECONDS = 3600

OPENAPI_PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Send the same key to retry this POST safely: the first response comes back again and "
        "nothing is stored twice. Kept at least 24 hours, for this token, method and path. "
        "Another body with a used key: 422; the first request still running: 409."
    ),
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": f"^{_KEY_PATTERN}$"},
}


def idempotent(run: MethodType) -> Callable[..., HttpResponseBase]:
    """Decorates a POST operation's ``run`` (applied with ninja's ``decorate_view``, which
    hands it the bound method of the operation that serves the requests)."""
    operation = cast(Operation, run.__self__)

    @wraps(run)
    def run_once(request: HttpRequest, **path_params: Any) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        token = _caller(operation, request) if key is not None else None
        if key is None or token is None:
            return run(request, **path_params)
        try:
            claim = _claim(token, key, request)
        except Refused as refusal:
            return operation.api.on_exception(request, refusal)
        if claim.status is not None:
            return _replay(claim)
        try:
            with transaction.atomic():
                response = run(request, **path_params)
                _settle(claim, response)
        except Exception:
            IdempotencyKey.objects.filter(pk=claim.pk).delete()
            raise
        return response

    return run_once


def _caller(operation: Operation, request: HttpRequest) -> ApiToken | None:
    """The token the operation's own authentication accepts; None when it refuses the
    request, which the operation then answers itself."""
    for authenticate in operation.auth_callbacks:
        try:
            found = authenticate(request)
        except Refused:
            return None
        if isinstance(found, ApiToken):
            return found
    return None


def _check_key(key: str) -> None:
    if len(key) > MAX_KEY_LENGTH:
        raise FieldInvalid(HEADER, "too_long", f"at most {MAX_KEY_LENGTH} characters")
    if not _KEY.fullmatch(key):
        raise FieldInvalid(
            HEADER, "not_printable_ascii", "one or more printable ASCII characters only"
        )


def _claim(token: ApiToken, key: str, request: HttpRequest) -> IdempotencyKey:
    """A new in-flight claim of the key (``status`` null), or the finished record to replay.
    FieldInvalid when the key is malformed or was sent with another body; Conflict while its
    first request is still running."""
    _check_key(key)
    scope_sha256 = sha256(f"{request.method} {request.path}".encode()).hexdigest()
    body_sha256 = sha256(request.body).hexdigest()
    now = timezone.now()
    try:
        # Committed at once (outside the work's transaction) so a concurrent duplicate sees it.
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                token=token,
                key=key,
                scope_sha256=scope_sha256,
                body_sha256=body_sha256,
                created_at=now,
            )
    except IntegrityError:
        pass  # the key was sent before
    stored = IdempotencyKey.objects.filter(token=token, scope_sha256=scope_sha256, key=key).first()
    if stored is None:  # released a moment ago, after a server error: the client retries
        raise _in_flight()
    if stored.body_sha256 != body_sha256:
        raise FieldInvalid(
            HEADER,
            "reused_with_other_body",
            "this key was sent with another request body; use a new key for a new request",
        )
    if stored.status is not None:
        return stored
    abandoned = IdempotencyKey.objects.filter(
        pk=stored.pk, status__isnull=True, created_at__lt=now - IN_FLIGHT_LEASE
    )
    if abandoned.update(created_at=now):
        return stored
    raise _in_flight()


def _in_flight() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still in progress: retry it later.",
        field=HEADER,
        rule="in_flight",
    )


def _settle(claim: IdempotencyKey, response: HttpResponseBase) -> None:
    """Keep the response for replays; a server error is not kept, so the key may be resent."""
    claimed = IdempotencyKey.objects.filter(pk=claim.pk)
    if isinstance(response, HttpResponse) and response.status_code < 500:
        claimed.update(
            status=response.status_code,
            content_type=response.get("Content-Type", ""),
            response_body=response.content,
        )
    else:
        claimed.delete()


def _replay(stored: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(stored.response_body), status=stored.status, content_type=stored.content_type
    )
    response[REPLAYED_HEADER] = "true"
    return response


def purge_expired_keys() -> int:
    """Delete the keys claimed more than KAPCARE_IDEMPOTENCY_HOURS ago; how many there were."""
    cutoff = timezone.now() - timedelta(hours=settings.KAPCARE_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


register_periodic("purge expired idempotency keys", lambda: PURGE_EVERY_SECONDS, purge_expired_keys)
