"""Sign-ins, sign-outs and lockouts go into the audit trail; a deactivated user's API tokens
are revoked."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from kapcare.accounts.models import User, normalise_email
from kapcare.accounts.reauth import mark_authenticated
from kapcare.accounts.services import revoke_tokens_of_inactive_user
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event


@receiver(user_logged_in)
def on_sign_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record_event(Actor.for_user(user, request), Action.SIGN_IN, "signed in")
    if request is not None and hasattr(request, "session"):
        mark_authenticated(request)


@receiver(user_logged_out)
def on_sign_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        # An automatic logoff says so (kapcare.accounts.middleware.IdleLogoutMiddleware).
        what = getattr(request, "kapcare_sign_out_reason", "signed out")
        record_event(Actor.for_user(user, request), Action.SIGN_OUT, what)


@receiver(user_login_failed)
def on_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    attempt = Actor.for_user(None, request)
    # Logged as normalised, so one person's failures read alike whatever case they typed.
    email = normalise_email(str(credentials.get("username", "")))[:200]
    actor = Actor(None, email, "", attempt.client_address, attempt.request_id)
    record_event(actor, Action.SIGN_IN_FAILED, "sign-in failed")


@receiver(user_locked_out)
def on_locked_out(
    sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    # django-axes sends this when a sign-in reaches the failure limit, and again for each
    # attempt refused while locked out.
    attempt = Actor.for_user(None, request)
    email = str(username or "")[:200]
    actor = Actor(None, email, "", attempt.client_address, attempt.request_id)
    record_event(actor, Action.SIGN_IN_FAILED, "account locked out")


@receiver(post_save, sender=User)
def on_user_saved(sender: Any, instance: User, **kwargs: Any) -> None:
    # However a user is deactivated (the admin's form, a script's save), their API tokens are
    # revoked with it. A queryset update sends no signal: `kapcare.api.security` revokes such a
    # user's token when it is next presented.
    if not instance.is_active:
        revoke_tokens_of_inactive_user(instance)
