"""The audit trail: an append-only, keyed hash-chained log of every read of patient data and every
audited write. Record versions (who changed which field when) are kept separately by
django-simple-history on each clinical model."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    """The audit log offers no update or delete."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be updated.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be deleted.")


class Action(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    SIGN_OUT = "sign_out", "Signed out"
    TOKEN = "token", "API token"
    # A 401 or 403 on a page or the API (HIPAA 164.312(b): attempts are events too).
    REFUSED = "refused", "Refused"
    MFA = "mfa", "Second factor"
    PASSWORD = "password", "Password"


class AuditEntry(models.Model):
    # The primary key orders the chain: each entry's hash covers the previous entry's hash.
    occurred_at = models.DateTimeField()
    action = models.CharField(max_length=20, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Copied at the time, so the entry still says who it was if the account changes later.
    user_email = models.CharField(max_length=254, blank=True)
    role = models.CharField(max_length=20, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    what = models.CharField(max_length=200)
    client_address = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # The id of the key that sealed the entry (kapcare.audit.chain), never the key itself.
    key_id = models.CharField(max_length=40)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["user", "occurred_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.occurred_at:%Y-%m-%d %H:%M:%S} {self.user_email} {self.what}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit entries cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be deleted.")


class ChainHead(models.Model):
    """One row holding the newest entry's hash. Appenders lock it, so the chain stays linear
    when many requests write at once (row lock on PostgreSQL, write lock on SQLite)."""

    last_hash = models.CharField(max_length=64)
    entries = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit chain head after {self.entries} entries"
