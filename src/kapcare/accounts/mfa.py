"""The second factor (django-otp): an authenticator app (TOTP) with one-time recovery codes.

Who must have one is `must_enrol`; whether a signed-in session has passed it is django-otp's
`user.is_verified()`; `SecondFactorMiddleware` (accounts/middleware.py) keeps a session that has
not out of every page but enrolment, verification and signing out. docs/security.md says why.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kapcare.accounts.models import User
from kapcare.accounts.roles import STAFF
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.errors import FieldInvalid

APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
RECOVERY_CODES = 10
# Set at sign-in, so a page need not ask the database whether the user has a factor.
HAS_FACTOR_SESSION_KEY = "kapcare_has_second_factor"


def mfa_required() -> bool:
    """KAPCARE_REQUIRE_MFA: on by default outside demo mode (settings.py)."""
    return bool(getattr(settings, "KAPCARE_REQUIRE_MFA", True))


def must_enrol(user: Any) -> bool:
    """Staff must have a second factor when the clinic requires one; patients may enrol."""
    return mfa_required() and getattr(user, "role", None) in STAFF


def session_has_factor(request: HttpRequest) -> bool:
    """Whether the signed-in user has a confirmed factor, as noted at sign-in."""
    known = request.session.get(HAS_FACTOR_SESSION_KEY)
    if known is None:  # a session from before the note existed
        known = user_has_device(request.user, confirmed=True)
        request.session[HAS_FACTOR_SESSION_KEY] = known
    return bool(known)


@receiver(user_logged_in)
def note_factor_at_sign_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[HAS_FACTOR_SESSION_KEY] = user_has_device(user, confirmed=True)


def app_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if any."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def start_enrolment(user: User) -> TOTPDevice:
    """The unconfirmed authenticator app whose secret the enrolment page shows: the same one
    until it is confirmed, so reloading the page keeps the secret already scanned. Nothing is
    audited: an unconfirmed device is no factor."""
    with transaction.atomic():
        pending = (
            TOTPDevice.objects.devices_for_user(user, confirmed=False).select_for_update().first()
        )
        return pending or TOTPDevice.objects.create(
            user=user, name=APP_DEVICE_NAME, confirmed=False
        )


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones (inside the caller's transaction)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _code_refused(message: str) -> FieldInvalid:
    return FieldInvalid("code", "mismatch", message)


def confirm_enrolment(actor: Actor, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator app with a code it shows, and issue recovery codes
    (returned once, never shown again). FieldInvalid (``code``: ``mismatch``) for a wrong code,
    ``no_pending`` when there is nothing to confirm."""
    codes: list[str] = []
    with transaction.atomic():
        device = (
            TOTPDevice.objects.devices_for_user(user, confirmed=False).select_for_update().first()
        )
        if device is None:
            raise FieldInvalid("code", "no_pending", "start the set-up again: open this page anew")
        if device.verify_token(_digits(code)):
            TOTPDevice.objects.devices_for_user(user, confirmed=True).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _new_recovery_codes(user)
            record_event(actor, Action.MFA, f"second factor enrolled for {user.email}")
    if not codes:
        # Refused after the transaction, so the failed try stays counted (django-otp
        # throttles the device).
        raise _code_refused(
            "this is not the code the app shows now; check that the phone's clock is right"
        )
    return device, codes


def _digits(code: str) -> str:
    return "".join(code.split())


def verify_second_factor(actor: Actor, user: User, code: str) -> Device:
    """The device that accepts ``code``: the authenticator app for six digits, else a recovery
    code (used up). A failure is audited and counted by django-otp's throttle, then refused:
    FieldInvalid (``code``: ``mismatch``)."""
    code = _digits(code).lower()
    kind = TOTPDevice if code.isdigit() else StaticDevice
    accepted: Device | None = None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if isinstance(device, kind) and device.verify_token(code):
                accepted = device
                break
        if accepted is not None:
            how = "authenticator app" if kind is TOTPDevice else "recovery code"
            record_event(actor, Action.MFA, f"second factor verified ({how})")
    if accepted is None:
        record_event(actor, Action.MFA, "second factor refused")
        raise _code_refused(
            "this code is not right: enter the six digits the app shows now, or an unused "
            "recovery code (a few tries in a row make you wait longer)"
        )
    return accepted


def regenerate_recovery_codes(actor: Actor, user: User) -> list[str]:
    """New recovery codes for a user with an authenticator app; the old ones stop working."""
    with transaction.atomic():
        if app_device(user) is None:
            raise FieldInvalid("code", "not_enrolled", "set up an authenticator app first")
        codes = _new_recovery_codes(user)
        record_event(actor, Action.MFA, f"recovery codes replaced for {user.email}")
    return codes


def reset_second_factor(actor: Actor, user: User) -> int:
    """The clinic admin's reset for a lost phone: every factor of ``user`` is removed, so the
    next sign-in enrols anew. Returns how many devices went; audited even when none did."""
    with transaction.atomic():
        removed = sum(
            model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
            for model in (TOTPDevice, StaticDevice)
        )
        record_event(
            actor, Action.MFA, f"second factor reset for {user.email} ({removed} device(s))"
        )
    return removed


def enrolment_qr_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an SVG QR code in a data: URI, drawn here (no
    Pillow, no outside service: the secret never leaves the server)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def base32_secret(device: TOTPDevice) -> str:
    """The secret as the apps ask for it when typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
