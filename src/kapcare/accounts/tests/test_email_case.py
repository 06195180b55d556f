"""Emails are case-insensitive: stored lower-cased, unique ignoring case, and any case signs in."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, email: str, password: str = TEST_PASSWORD):
    return client.post(reverse("web:login"), {"username": email, "password": password})


def test_an_upper_case_email_signs_in(make_user):
    make_user(Role.PRESCRIBER, email="prescriber@example.org")
    client = Client()
    response = _sign_in(client, "PRESCRIBER@Example.org")
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_emails_are_stored_lower_cased_however_they_are_saved(make_user):
    created = make_user(Role.NURSE, email="  Nora.Nurse@Example.ORG ")
    assert created.email == "nora.nurse@example.org"
    # As Django's admin saves a user: a model instance, not the manager.
    edited = User(email="Theo@Example.org", full_name="Theo", role=Role.THERAPIST)
    edited.full_clean(exclude=["password"])
    edited.save()
    assert User.objects.get(pk=edited.pk).email == "theo@example.org"


def test_emails_are_unique_ignoring_case(make_user):
    make_user(Role.NURSE, email="nurse@example.org")
    other = User(email="NURSE@example.org", full_name="Other", role=Role.NURSE, password="x")
    with pytest.raises(ValidationError, match="already exists"):
        other.full_clean()
    # Even a write that skips save's normalising cannot make a second one.
    colleague = make_user(Role.NURSE, email="colleague@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=colleague.pk).update(email="Nurse@Example.org")


def test_failures_in_any_case_count_towards_one_lockout(make_user):
    make_user(Role.NURSE, email="nurse@example.org")
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        email = "NURSE@example.org" if attempt % 2 else "Nurse@Example.org"
        assert _sign_in(client, email, "wrong-password").status_code == 200
    assert _sign_in(client, "nurse@EXAMPLE.org", "wrong-password").status_code == 429
    # Locked out in every spelling, the right password too.
    assert _sign_in(client, "nurse@example.org").status_code == 429


def test_the_migration_lower_cases_stored_emails(make_user):
    user = make_user(Role.NURSE, email="nurse@example.org")
    User.objects.filter(pk=user.pk).update(email="Nurse@Example.org")  # as stored before
    migration = importlib.import_module("kapcare.accounts.migrations.0002_email_lower_case")
    migration.lower_case_emails(apps, None)
    assert User.objects.get(pk=user.pk).email == "nurse@example.org"


def test_a_user_without_an_email_is_refused_naming_the_field():
    from kapcare.errors import FieldInvalid

    with pytest.raises(FieldInvalid) as refused:
        User.objects.create_user("", full_name="No One", role=Role.NURSE)
    assert (refused.value.field, refused.value.rule) == ("email", "required")
    assert not User.objects.exists()
