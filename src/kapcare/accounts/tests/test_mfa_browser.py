"""End to end in Chromium: a nurse sets up the authenticator app at first sign-in, keeps the
recovery codes, and signs in later with a code from the app and with a recovery code."""

from __future__ import annotations

import base64
import time

import pytest
from django_otp.oath import TOTP

from kapcare.accounts.roles import Role
from kapcare.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def app_code(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed in from the page."""
    totp = TOTP(base64.b32decode(secret.replace(" ", "")))
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").first.click()
    page.wait_for_url("**/login/")


def test_enrolment_and_sign_in_with_the_app_and_a_recovery_code(page, make_user, settings):
    settings.KAPCARE_REQUIRE_MFA = True
    nurse = make_user(Role.NURSE, email="nurse.mfa@test.example")

    sign_in(page, nurse.email)
    page.wait_for_url("**/account/second-factor/**")
    assert page.get_by_text("The clinic requires a second factor for staff").is_visible()
    assert page.get_by_role(
        "img", name="QR code to add kapcare to an authenticator app"
    ).is_visible()
    # The nurse goes nowhere else first.
    page.goto("/patients/")
    page.wait_for_url("**/account/second-factor/**")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_role("textbox", name="Code").fill(app_code(secret))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url("**/patients/")

    # Later: the password, then a code from the app.
    sign_out(page)
    sign_in(page, nurse.email)
    page.wait_for_url("**/account/verify/**")
    page.get_by_role("textbox", name="Code").fill(app_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/today/")

    # Without the phone: a recovery code, once.
    sign_out(page)
    sign_in(page, nurse.email)
    page.wait_for_url("**/account/verify/**")
    page.get_by_role("textbox", name="Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/today/")
