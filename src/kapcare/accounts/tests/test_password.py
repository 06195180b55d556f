"""Passwords (issue 13): change your own, reset by email with Django's flow (the link on
KAPCARE_BASE_URL), at least 12 characters, no common password; each change audited."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action, AuditEntry
from kapcare.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-longer-phrase-for-kapcare"


def has_password(user, password: str) -> bool:
    user.refresh_from_db()
    return user.check_password(password)


def password_events(user) -> list[str]:
    return list(
        AuditEntry.objects.filter(action=Action.PASSWORD, user=user).values_list("what", flat=True)
    )


def change(client: Client, old: str, new: str, again: str | None = None):
    data = {"old_password": old, "new_password1": new, "new_password2": again or new}
    return client.post(reverse("accounts:password_change"), data)


def test_you_change_your_own_password_and_stay_signed_in(make_user, client_for):
    nurse = make_user(Role.NURSE)
    client = client_for(nurse)
    assert client.get(reverse("accounts:password_change")).status_code == 200
    response = change(client, TEST_PASSWORD, NEW_PASSWORD)
    assert response["Location"] == reverse("accounts:password_change_done")
    assert client.get(reverse("web:profile")).status_code == 200  # this session goes on
    assert has_password(nurse, NEW_PASSWORD)
    assert not has_password(nurse, TEST_PASSWORD)
    assert password_events(nurse) == ["password changed"]


@pytest.mark.parametrize(
    ("new", "said"),
    [
        ("short-pass1", "at least 12 characters"),
        ("password1234", "too common"),
        ("918273645091", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused_and_nothing_changes(make_user, client_for, new, said):
    nurse = make_user(Role.NURSE)
    response = change(client_for(nurse), TEST_PASSWORD, new)
    assert response.status_code == 200  # the form again, with the reason
    assert said in response.content.decode()
    assert has_password(nurse, TEST_PASSWORD)
    assert password_events(nurse) == []


def test_the_old_password_must_be_right(make_user, client_for):
    nurse = make_user(Role.NURSE)
    response = change(client_for(nurse), "not-the-password", NEW_PASSWORD)
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert password_events(nurse) == []


def test_a_password_reset_by_email(settings, make_user):
    settings.KAPCARE_BASE_URL = "https://clinic.example.org"
    nurse = make_user(Role.NURSE)
    client = Client()
    assert client.get(reverse("accounts:password_reset")).status_code == 200
    # The Host a request names never goes into the link (host header poisoning).
    sent = client.post(
        reverse("accounts:password_reset"), {"email": nurse.email.upper()}, HTTP_HOST="localhost"
    )
    assert sent["Location"] == reverse("accounts:password_reset_done")
    assert "It works once, for 1 hour" in client.get(sent["Location"]).content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [nurse.email]
    link = re.search(
        r"https://clinic\.example\.org(/account/password/new/\S+)", str(mail.outbox[0].body)
    )
    assert link is not None
    assert password_events(nurse) == ["password reset link sent"]

    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done["Location"] == reverse("accounts:password_reset_complete")
    assert has_password(nurse, NEW_PASSWORD)
    assert password_events(nurse)[-1] == "password reset with an emailed link"
    # The link works once.
    used = client.get(link.group(1), follow=True).content.decode()
    assert "This link does not work" in used


def test_a_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(db):
    response = Client().post(reverse("accounts:password_reset"), {"email": "nobody@example.org"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(action=Action.PASSWORD).exists()


def test_the_reset_pages_need_no_sign_in_and_the_change_page_does(db):
    client = Client()
    for name in ("accounts:password_reset", "accounts:password_reset_done"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("accounts:password_change"))["Location"].startswith(
        reverse("web:login")
    )


def test_the_demo_password_meets_the_rules(make_user):
    from kapcare.demodata.clinic import DEMO_PASSWORD, DEMO_STAFF

    for login in DEMO_STAFF:
        user = make_user(login.role, email=login.email, full_name=login.full_name)
        validate_password(DEMO_PASSWORD, user)  # raises when a rule refuses it
    with pytest.raises(ValidationError):
        validate_password("kapcare-dem", user)  # 11 characters
