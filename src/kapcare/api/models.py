"""The API's own records: the Idempotency-Keys of POSTs and the responses they got."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from kapcare.accounts.models import ApiToken


class IdempotencyKey(models.Model):
    """A POST sent with an Idempotency-Key, so that a retry gets the first response again
    instead of doing the work twice (`kapcare.api.idempotency`). Scoped by the token that sent
    it and by the method and path; ``status`` is null while the first request is in flight.
    The response may hold patient data: keys are purged after KAPCARE_IDEMPOTENCY_HOURS."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of "METHOD /path": a path may be longer than an index entry may be.
    scope_sha256 = models.CharField(max_length=64)
    body_sha256 = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    response_body = models.BinaryField(blank=True)
    # When the key was claimed: the start of its retention, and of an in-flight claim's lease.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "scope_sha256", "key"], name="idempotency_key_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status or 'in flight'})"


class AuthFailureWindow(models.Model):
    """Failed API authentications from one address within one clock minute, counted in the
    database so that every app server process sees the same count (`kapcare.api.security`).
    Windows older than the current minute are deleted as new failures arrive."""

    client_address = models.CharField(max_length=45)
    window_start = models.DateTimeField(db_index=True)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client_address", "window_start"], name="auth_failure_window_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_address} {self.window_start:%H:%M}: {self.failures}"
