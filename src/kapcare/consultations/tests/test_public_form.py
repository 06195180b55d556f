"""The public consultation form: validation, spam protection and rate limits, and nothing
stored when a submission is refused."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kapcare.audit.models import Action, AuditEntry
from kapcare.consultations.conf import (
    DEFAULT_GLOBAL_PER_HOUR,
    DEFAULT_MAX_AGE_SECONDS,
    DEFAULT_MIN_SECONDS,
    DEFAULT_PER_ADDRESS_PER_HOUR,
    consultation_settings,
)
from kapcare.consultations.forms import TOKEN_FIELD
from kapcare.consultations.models import ConsultationRequest
from kapcare.consultations.services import hash_client_address
from kapcare.consultations.tests.helpers import FORM_URL, form_data, submit

pytestmark = pytest.mark.django_db


def test_the_form_is_public_and_warns_against_medical_details():
    response = Client().get(FORM_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1" in html and "Request a consultation" in html
    assert "Please do not send medical details" in html
    assert 'name="website"' in html and 'aria-hidden="true"' in html  # the honeypot
    assert f'name="{TOKEN_FIELD}"' in html
    assert "consultations/consultations.css" in html
    assert "<script>" not in html  # the CSP forbids inline scripts
    for label in ("First name", "Last name", "Email address", "Phone number", "contact you?"):
        assert label in html


def test_a_valid_request_is_stored_and_thanked():
    response = submit(address="203.0.113.9")
    assert response.status_code == 302 and response["Location"] == "/consultation/thanks/"
    stored = ConsultationRequest.objects.get()
    assert (stored.given_name, stored.family_name, stored.email) == (
        "Robin",
        "Example",
        "robin@example.org",
    )
    assert stored.status == "open" and stored.patient is None
    # Only a keyed hash of the address is kept, never the address.
    assert stored.client_hash == hash_client_address("203.0.113.9")
    assert "203.0.113.9" not in stored.client_hash and len(stored.client_hash) == 64
    entry = AuditEntry.objects.get(what=f"consultation request #{stored.pk} submitted")
    assert entry.action == Action.CREATE and entry.client_address == ""
    thanks = Client().get("/consultation/thanks/")
    assert thanks.status_code == 200 and "we received your request" in thanks.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"given_name": ""}, "given_name", "This field is required"),
        ({"family_name": "x" * 101}, "family_name", "at most 100 characters"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"email": "", "preferred_contact": "email"}, "email", "so we can write to you"),
        ({"phone": "", "preferred_contact": "sms"}, "phone", "so we can call or text you"),
        ({"phone": "call me maybe"}, "phone", "7 to 15 digits"),
        ({"phone": "12"}, "phone", "7 to 15 digits"),
        ({"preferred_contact": "pigeon"}, "preferred_contact", "valid choice"),
        ({"reason": ""}, "reason", "This field is required"),
        ({"reason": "x" * 1001}, "reason", "at most 1000 characters"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(overrides, field, message):
    response = submit(**overrides)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors and message in " ".join(form.errors[field])
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html and 'aria-invalid="true"' in html
    assert not ConsultationRequest.objects.exists()
    # The person's other answers are kept, with a fresh token to send again.
    assert response.context["form_token"]


def test_phone_only_is_enough_when_phone_is_preferred():
    assert submit(email="", preferred_contact="phone").status_code == 302
    assert ConsultationRequest.objects.get().email == ""


def test_a_filled_honeypot_is_refused_and_nothing_is_stored():
    response = submit(website="http://spam.example")
    assert response.status_code == 400
    assert "could not be accepted" in response.context["refusal"]
    assert 'role="alert"' in response.content.decode()
    assert not ConsultationRequest.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_form_sent_too_fast_is_refused():
    response = submit(seconds_ago=0.5)
    assert response.status_code == 400
    assert "faster than a person" in response.context["refusal"]
    assert not ConsultationRequest.objects.exists()


def test_a_form_shown_too_long_ago_is_refused():
    response = submit(seconds_ago=DEFAULT_MAX_AGE_SECONDS + 60)
    assert response.status_code == 400
    assert "too long ago" in response.context["refusal"]
    assert not ConsultationRequest.objects.exists()


@pytest.mark.parametrize("token", ["", "garbage", "1700000000.0:forged:signature"])
def test_a_missing_or_forged_token_is_refused(token):
    response = submit(**{TOKEN_FIELD: token})
    assert response.status_code == 400
    assert "could not be checked" in response.context["refusal"]
    assert not ConsultationRequest.objects.exists()


def test_the_timing_limits_are_settings(settings):
    settings.KAPCARE_CONSULTATION_MIN_SECONDS = 0
    assert submit(seconds_ago=0).status_code == 302
    settings.KAPCARE_CONSULTATION_MIN_SECONDS = 60
    assert submit(seconds_ago=30, address="192.0.2.1").status_code == 400


def test_the_defaults_are_labelled():
    config = consultation_settings()
    assert config.min_seconds == DEFAULT_MIN_SECONDS == 3
    assert config.max_age_seconds == DEFAULT_MAX_AGE_SECONDS == 86400
    assert config.per_address_per_hour == DEFAULT_PER_ADDRESS_PER_HOUR == 5
    assert config.global_per_hour == DEFAULT_GLOBAL_PER_HOUR == 100


def test_rate_limit_per_address(settings):
    settings.KAPCARE_CONSULTATION_PER_ADDRESS_HOUR = 2
    for _ in range(2):
        assert submit(address="198.51.100.20").status_code == 302
    refused = submit(address="198.51.100.20")
    assert refused.status_code == 429
    assert "Too many requests" in refused.context["refusal"]
    assert ConsultationRequest.objects.count() == 2
    # Another address is still welcome.
    assert submit(address="198.51.100.21").status_code == 302
    # An hour later the address may send again.
    ConsultationRequest.objects.update(submitted_at=timezone.now() - timedelta(minutes=61))
    assert submit(address="198.51.100.20").status_code == 302


def test_global_rate_limit(settings):
    settings.KAPCARE_CONSULTATION_GLOBAL_HOUR = 3
    for index in range(3):
        assert submit(address=f"198.51.100.{index}").status_code == 302
    refused = submit(address="198.51.100.99")
    assert refused.status_code == 429
    assert "unusually large number" in refused.context["refusal"]
    assert ConsultationRequest.objects.count() == 3
    assert AuditEntry.objects.filter(action=Action.CREATE).count() == 3


def test_address_hashes_are_forgotten_after_an_hour():
    submit(address="198.51.100.30")
    ConsultationRequest.objects.update(submitted_at=timezone.now() - timedelta(hours=2))
    submit(address="198.51.100.31")
    old, new = ConsultationRequest.objects.order_by("submitted_at")
    assert old.client_hash == "" and new.client_hash == hash_client_address("198.51.100.31")


def test_the_hash_is_keyed_and_stable():
    assert hash_client_address("192.0.2.5") == hash_client_address("192.0.2.5")
    assert hash_client_address("192.0.2.5") != hash_client_address("192.0.2.6")
    import hashlib

    assert hash_client_address("192.0.2.5") != hashlib.sha256(b"192.0.2.5").hexdigest()


def test_resubmitting_after_a_refusal_works(settings):
    settings.KAPCARE_CONSULTATION_MIN_SECONDS = 1
    client = Client()
    first = client.post(FORM_URL, form_data(seconds_ago=0), REMOTE_ADDR="192.0.2.40")
    assert first.status_code == 400
    # The re-rendered form keeps the answers and carries a fresh token; the person sends it
    # again a moment later.
    assert first.context["form"]["given_name"].value() == "Robin"
    time.sleep(1.1)
    data = form_data()
    data[TOKEN_FIELD] = first.context["form_token"]
    second = client.post(FORM_URL, data, REMOTE_ADDR="192.0.2.40")
    assert second.status_code == 302
