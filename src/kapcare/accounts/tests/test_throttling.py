"""Sign-in throttling (django-axes), through the real login page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.test import Client
from django.urls import reverse

from kapcare.audit.models import Action, AuditEntry
from kapcare.conftest import TEST_PASSWORD

HERE = "10.0.0.1"
ELSEWHERE = "10.0.0.2"


def _sign_in(client: Client, email: str, password: str, address: str = HERE):
    return client.post(
        reverse("web:login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def _fail(client: Client, email: str, times: int, address: str = HERE) -> None:
    for _ in range(times):
        response = _sign_in(client, email, "wrong-password", address)
        assert response.status_code == 200, "locked out before the limit"


def _is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _cool_off() -> timedelta:
    cool_off = settings.AXES_COOLOFF_TIME
    assert isinstance(cool_off, timedelta), "these tests expect a cool-off in minutes"
    return cool_off


def _age_failures(by: timedelta) -> None:
    """Move the recorded failures back in time, as if `by` had passed since them."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - by)


@pytest.fixture
def nurse(make_user):
    return make_user("nurse")


def test_the_limit_locks_out_even_the_right_password(nurse):
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    _fail(client, nurse.email, limit - 1)

    reaching_the_limit = _sign_in(client, nurse.email, "wrong-password")
    assert reaching_the_limit.status_code == 429

    response = _sign_in(client, nurse.email, TEST_PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Sign-in paused" in html
    minutes = int(_cool_off().total_seconds() // 60)
    assert f"Wait {minutes} minutes" in html and "clinic admin" in html
    assert "<title>" in html and "kapcare" in html  # the site's own page, not a bare message
    assert not _is_signed_in(client)
    assert not AuditEntry.objects.filter(action=Action.SIGN_IN).exists()
    assert client.get(reverse("web:today"))["Location"].startswith(reverse("web:login"))


def test_without_a_cool_off_the_page_sends_the_user_to_the_clinic_admin(nurse, settings):
    settings.AXES_COOLOFF_TIME = None  # KAPCARE_LOGIN_COOLOFF_MINUTES=0
    _fail(Client(), nurse.email, settings.AXES_FAILURE_LIMIT - 1)
    response = _sign_in(Client(), nurse.email, "wrong-password")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Ask the clinic admin to unlock" in html and "Wait " not in html


def test_a_success_before_the_limit_resets_the_count(nurse):
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    _fail(client, nurse.email, limit - 1)
    assert _sign_in(client, nurse.email, TEST_PASSWORD).status_code == 302
    client.post(reverse("web:logout"))

    _fail(client, nurse.email, limit - 1)  # counted from zero again: still not locked out
    assert _sign_in(client, nurse.email, TEST_PASSWORD).status_code == 302
    assert _is_signed_in(client)


def test_another_address_is_not_locked_out(nurse):
    _fail(Client(), nurse.email, settings.AXES_FAILURE_LIMIT - 1)
    assert _sign_in(Client(), nurse.email, "wrong-password").status_code == 429

    client = Client()
    assert _sign_in(client, nurse.email, TEST_PASSWORD, ELSEWHERE).status_code == 302
    assert _is_signed_in(client)


def test_another_account_from_the_same_address_is_not_locked_out(nurse, make_user):
    colleague = make_user("prescriber")
    _fail(Client(), nurse.email, settings.AXES_FAILURE_LIMIT - 1)
    assert _sign_in(Client(), nurse.email, "wrong-password").status_code == 429

    assert _sign_in(Client(), colleague.email, TEST_PASSWORD).status_code == 302


def test_the_right_password_works_again_after_the_cool_off(nurse):
    cool_off = _cool_off()
    client = Client()
    _fail(client, nurse.email, settings.AXES_FAILURE_LIMIT - 1)
    assert _sign_in(client, nurse.email, "wrong-password").status_code == 429

    _age_failures(cool_off - timedelta(minutes=1))
    assert _sign_in(client, nurse.email, TEST_PASSWORD).status_code == 429  # not yet
    assert not _is_signed_in(client)

    # That refused attempt started the cool-off again; wait all of it out this time.
    _age_failures(cool_off + timedelta(seconds=1))
    assert _sign_in(client, nurse.email, TEST_PASSWORD).status_code == 302
    assert _is_signed_in(client)


def test_the_lockout_is_in_the_audit_log(nurse):
    _fail(Client(), nurse.email, settings.AXES_FAILURE_LIMIT - 1)
    assert not AuditEntry.objects.filter(what="account locked out").exists()

    _sign_in(Client(), nurse.email, "wrong-password")

    locked = AuditEntry.objects.get(what="account locked out")
    assert locked.action == Action.SIGN_IN_FAILED
    assert locked.user_email == nurse.email
    assert locked.client_address == HERE
    assert locked.request_id  # ties the entry to the request, like the other sign-in entries
    failed = AuditEntry.objects.filter(action=Action.SIGN_IN_FAILED, what="sign-in failed")
    assert failed.count() == settings.AXES_FAILURE_LIMIT


def test_limit_and_cool_off_come_from_the_environment(tmp_path):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds()]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAPCARE_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="kapcare.config.settings",
        KAPCARE_VAR_DIR=str(tmp_path),
        KAPCARE_LOGIN_FAILURE_LIMIT="8",
        KAPCARE_LOGIN_COOLOFF_MINUTES="30",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [8, 1800.0]
