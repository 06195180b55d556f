from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.errors import FieldInvalid


def normalise_email(email: str) -> str:
    """The one form an email is stored and looked up in: emails are case-insensitive here, so
    PRESCRIBER@Example.org signs in as prescriber@example.org."""
    return unicodedata.normalize("NFKC", email).strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> User:
        if not email:
            raise FieldInvalid("email", "required", "required")
        user = self.model(email=normalise_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # Sign-in (ModelBackend) finds the user here: look up the normalised form.
        return self.get(email=normalise_email(username or ""))

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> User:
        fields.update(is_staff=True, is_superuser=True, role=Role.CLINIC_ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: staff in one of the roles, or a patient."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    # Django admin access; granted to clinic admins only.
    is_staff = models.BooleanField(default=False)
    is_synthetic = models.BooleanField(
        default=False, help_text="Demo or benchmark data, never a real person."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name", "role"]

    class Meta:
        ordering = ["full_name"]
        constraints = [
            # Stored lower-cased already (save); this keeps case-insensitive uniqueness even
            # for writes that bypass save, such as bulk updates.
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_unique_ignoring_case",
                violation_error_message="A user with this email already exists.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    @classmethod
    def normalize_username(cls, username: Any) -> Any:
        # Django's clean() (the admin's forms) normalises the username field with this.
        return normalise_email(username) if isinstance(username, str) else username

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)


TOKEN_PREFIX = "kc_"


def hash_token(raw_token: str) -> str:
    """Tokens are 256-bit random strings, so one SHA-256 is enough to keep them safe at rest."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def new_raw_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiToken(models.Model):
    """A personal API token. Only its hash is stored; the token is shown once at creation.

    A token works until ``expires_at`` (KAPCARE_TOKEN_DAYS after creation) unless revoked
    first: by its owner, by the clinic admin, or when its user is deactivated. A revoked token
    stays revoked, so reactivating the user does not bring it back."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a user can tell their tokens apart without the secret.
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Kept to the minute (`kapcare.api.security`), so a read does not become a write each time.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    def status(self, now: datetime | None = None) -> str:
        """ "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= (now or timezone.now()):
            return "expired"
        return "active"

    @property
    def is_active(self) -> bool:
        return self.status() == "active"
