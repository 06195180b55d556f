"""The second factor for staff (issue 13): with KAPCARE_REQUIRE_MFA on, a password alone reaches
no page but enrolment, verification and signing out, and no API operation; TOTP and recovery
codes work; an API token needs a verified factor; the clinic admin resets a factor, audited."""

from __future__ import annotations

import base64
import re
import time
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kapcare.accounts import mfa
from kapcare.accounts.middleware import BEFORE_SECOND_FACTOR
from kapcare.accounts.models import ApiToken
from kapcare.accounts.policy import Public, html_rule
from kapcare.accounts.roles import Role
from kapcare.accounts.tests.routes import html_routes
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mfa_required(settings):
    settings.KAPCARE_REQUIRE_MFA = True


def after_the_throttle() -> time_machine.travel:
    """django-otp makes a device wait a second after a wrong code (doubling each time)."""
    return time_machine.travel(time.time() + 2)


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the device's app shows now (or that many 30 s steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def password_sign_in(user) -> Client:
    client = Client()
    response = client.post(
        reverse("web:login"), {"username": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302, response.content[:300]
    return client


def enrolled(user) -> tuple[TOTPDevice, list[str]]:
    device = mfa.start_enrolment(user)
    return mfa.confirm_enrolment(Actor.system("test"), user, totp_code(device))


def mfa_events(user=None) -> list[str]:
    entries = AuditEntry.objects.filter(action=Action.MFA)
    if user is not None:
        entries = entries.filter(user=user)
    return list(entries.values_list("what", flat=True))


def test_a_password_alone_reaches_no_page_but_the_second_factor(make_user, cleared_patient):
    nurse = make_user(Role.NURSE)
    client = password_sign_in(nurse)
    chart = reverse("patients:chart", kwargs={"patient_id": cleared_patient.pk})
    response = client.get(chart)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:second_factor"))
    assert not AuditEntry.objects.filter(action=Action.READ, patient_id=cleared_patient.pk).exists()
    # Every page of the site, walked: each is refused, sent to sign in or to the second
    # factor, unless it is public or the second factor's own.
    for route in html_routes():
        if route.view_name in BEFORE_SECOND_FACTOR or isinstance(
            html_rule(route.view_name), Public
        ):
            continue
        response = client.get(route.url())
        location = response.get("Location", "")
        assert response.status_code in (302, 403, 405), route.view_name
        if response.status_code == 302:
            assert location.startswith(reverse("accounts:second_factor")), route.view_name


def test_a_password_alone_calls_no_api_operation(make_user, token_for):
    nurse = make_user(Role.NURSE)
    client = password_sign_in(nurse)
    # The API takes bearer tokens only: a signed-in session is no credential there.
    assert client.get("/api/v1/patients").status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    # Nor can the session make itself a token.
    response = client.post(reverse("web:token_create"), {"name": "sneaky"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:second_factor"))
    assert not ApiToken.objects.filter(user=nurse).exists()


def test_enrolment_with_the_app_then_recovery_codes(make_user, cleared_patient):
    nurse = make_user(Role.NURSE)
    client = password_sign_in(nurse)
    chart = reverse("patients:chart", kwargs={"patient_id": cleared_patient.pk})
    page = client.get(reverse("accounts:second_factor"), {"next": chart})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in html  # drawn here, no outside service
    shown = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', html)
    assert shown is not None
    secret = shown.group(1)
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    assert base64.b32decode(secret.replace(" ", "")) == device.bin_key
    # Reloading keeps the secret already scanned.
    assert secret in client.get(reverse("accounts:second_factor")).content.decode()

    wrong = client.post(reverse("accounts:second_factor"), {"code": "000000", "next": chart})
    assert wrong.status_code == 400
    assert "Code: this is not the code the app shows now" in wrong.content.decode()
    assert not StaticDevice.objects.filter(user=nurse).exists()
    assert mfa_events(nurse) == []

    with after_the_throttle():
        done = client.post(
            reverse("accounts:second_factor"), {"code": totp_code(device), "next": chart}
        )
    assert done.status_code == 201
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == mfa.RECOVERY_CODES
    assert sorted(codes) == sorted(StaticToken.objects.values_list("token", flat=True))
    assert f'href="{chart}"' in done.content.decode()
    assert mfa_events() == [f"second factor enrolled for {nurse.email}"]
    assert client.get(chart).status_code == 200  # this session is verified now


def test_signing_in_with_the_app_returns_to_the_page_asked_for(make_user, cleared_patient):
    nurse = make_user(Role.NURSE)
    device, _codes = enrolled(nurse)
    chart = reverse("patients:chart", kwargs={"patient_id": cleared_patient.pk})
    client = Client()
    login = client.post(
        f"{reverse('web:login')}?next={chart}",
        {"username": nurse.email, "password": TEST_PASSWORD, "next": chart},
    )
    assert login["Location"] == chart
    asked = client.get(chart)
    assert asked["Location"] == f"{reverse('accounts:verify')}?{urlencode({'next': chart})}"
    form = client.get(asked["Location"])
    assert form.status_code == 200 and "Enter your code" in form.content.decode()

    refused = client.post(reverse("accounts:verify"), {"code": "123456", "next": chart})
    assert refused.status_code == 400
    assert mfa_events(None)[-1] == "second factor refused"
    assert client.get(chart).status_code == 302

    with after_the_throttle():
        code = totp_code(device, steps_ahead=1)
        verified = client.post(reverse("accounts:verify"), {"code": code, "next": chart})
    assert verified["Location"] == chart
    assert mfa_events(nurse)[-1] == "second factor verified (authenticator app)"
    assert client.get(chart).status_code == 200

    # The same code does not work twice (django-otp keeps the last step used).
    again = password_sign_in(nurse)
    assert again.post(reverse("accounts:verify"), {"code": code}).status_code == 400


def test_a_recovery_code_works_once(make_user):
    prescriber = make_user(Role.PRESCRIBER)
    _device, codes = enrolled(prescriber)
    client = password_sign_in(prescriber)
    spaced = f"{codes[0][:4]} {codes[0][4:].upper()}"  # as a person might type it
    response = client.post(reverse("accounts:verify"), {"code": spaced})
    assert response["Location"] == reverse("web:today")
    assert client.get(reverse("web:today")).status_code == 200
    assert mfa.recovery_codes_left(prescriber) == mfa.RECOVERY_CODES - 1
    assert mfa_events(prescriber)[-1] == "second factor verified (recovery code)"

    other = password_sign_in(prescriber)
    assert other.post(reverse("accounts:verify"), {"code": codes[0]}).status_code == 400
    with after_the_throttle():
        assert other.post(reverse("accounts:verify"), {"code": codes[1]}).status_code == 302


def test_new_recovery_codes_replace_the_old(make_user):
    nurse = make_user(Role.NURSE)
    _device, old = enrolled(nurse)
    client = password_sign_in(nurse)
    client.post(reverse("accounts:verify"), {"code": old[0]})
    response = client.post(reverse("accounts:recovery_codes"))
    assert response.status_code == 201
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(new) == mfa.RECOVERY_CODES and not set(new) & set(old)
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(new)
    assert mfa_events(nurse)[-1] == f"recovery codes replaced for {nurse.email}"


def test_patients_may_enrol_but_are_not_forced(make_user):
    patient = make_user(Role.PATIENT)
    client = password_sign_in(patient)
    assert client.get(reverse("web:patient_home")).status_code == 200
    assert client.get(reverse("accounts:second_factor")).status_code == 200
    enrolled(patient)
    # Once enrolled, a patient's sign-in asks for it too.
    again = password_sign_in(patient)
    assert again.get(reverse("web:patient_home"))["Location"].startswith(reverse("accounts:verify"))


def test_an_api_token_needs_a_verified_factor(make_user):
    nurse = make_user(Role.NURSE)
    device, _codes = enrolled(nurse)
    client = password_sign_in(nurse)
    response = client.post(
        reverse("web:token_create"), {"name": "lab"}, HTTP_REFERER="http://testserver/profile/"
    )
    assert response["Location"] == f"{reverse('accounts:verify')}?next=%2Fprofile%2F"
    assert not ApiToken.objects.filter(user=nurse).exists()
    client.post(reverse("accounts:verify"), {"code": totp_code(device, steps_ahead=1)})
    assert client.post(reverse("web:token_create"), {"name": "lab"}).status_code == 201
    assert ApiToken.objects.filter(user=nurse).count() == 1


def test_a_user_with_a_factor_is_asked_for_it_where_none_is_required(settings, make_user):
    settings.KAPCARE_REQUIRE_MFA = False
    nurse, therapist = make_user(Role.NURSE), make_user(Role.THERAPIST)
    enrolled(nurse)
    assert password_sign_in(therapist).get(reverse("web:today")).status_code == 200
    asked = password_sign_in(nurse).get(reverse("web:today"))
    assert asked["Location"].startswith(reverse("accounts:verify"))


def test_the_clinic_admin_resets_a_factor_audited(make_user):
    admin = make_user(Role.CLINIC_ADMIN, is_staff=True, is_superuser=True)
    nurse = make_user(Role.NURSE)
    enrolled(nurse)
    admin_device, _codes = enrolled(admin)
    nurse_session = password_sign_in(nurse)
    admin_client = password_sign_in(admin)
    admin_client.post(reverse("accounts:verify"), {"code": totp_code(admin_device, steps_ahead=1)})
    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [nurse.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert not StaticDevice.objects.filter(user=nurse).exists()
    entry = AuditEntry.objects.filter(action=Action.MFA).last()
    assert entry is not None
    assert entry.what == f"second factor reset for {nurse.email} (2 device(s))"
    assert entry.user == admin and entry.role == Role.CLINIC_ADMIN
    # The nurse's session, waiting for a code, now has nothing to verify: it enrols anew.
    sent = nurse_session.get(reverse("accounts:verify"))
    assert sent.status_code == 302
    assert nurse_session.get(reverse("web:today"))["Location"].startswith(
        reverse("accounts:second_factor")
    )


def test_the_admin_shows_no_device_secrets(make_user, client_for):
    admin = make_user(Role.CLINIC_ADMIN, is_staff=True, is_superuser=True)
    index = client_for(admin).get(reverse("admin:index")).content.decode()
    assert "TOTP" not in index and "otp_totp" not in index


def test_the_demo_account_is_enrolled_with_the_published_secret(make_user):
    from kapcare.demodata.clinic import (
        DEMO_RECOVERY_CODES,
        DEMO_TOTP_SECRET,
        enrol_demo_second_factor,
    )

    prescriber = make_user(Role.PRESCRIBER)
    enrol_demo_second_factor(prescriber)
    device = mfa.app_device(prescriber)
    assert device is not None and device.bin_key == base64.b32decode(DEMO_TOTP_SECRET)
    client = password_sign_in(prescriber)
    assert (
        client.post(reverse("accounts:verify"), {"code": DEMO_RECOVERY_CODES[0]}).status_code == 302
    )
    assert client.get(reverse("web:today")).status_code == 200


def test_required_by_default_outside_demo_mode_only(tmp_path):
    from kapcare.config.tests.test_deploy import _run_with_settings

    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.KAPCARE_REQUIRE_MFA, s.SESSION_EXPIRE_AT_BROWSER_CLOSE,"
        " s.KAPCARE_IDLE_LOGOUT_SECONDS)"
    )
    assert _run_with_settings(code, tmp_path).stdout.split() == ["True", "True", "900"]
    demo = _run_with_settings(code, tmp_path, KAPCARE_DEMO="1").stdout.split()
    assert demo == ["False", "True", "900"]


def test_the_second_factor_pages_read_a_fixed_number_of_queries(
    make_user, django_assert_max_num_queries
):
    nurse = make_user(Role.NURSE)
    device, _codes = enrolled(nurse)
    client = password_sign_in(nurse)
    with django_assert_max_num_queries(3):
        assert client.get(reverse("accounts:verify")).status_code == 200
    with after_the_throttle():
        client.post(reverse("accounts:verify"), {"code": totp_code(device, steps_ahead=1)})
    with django_assert_max_num_queries(5):
        assert client.get(reverse("accounts:second_factor")).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(reverse("accounts:session_status")).status_code == 200
