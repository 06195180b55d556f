"""API tokens expire, record their last use cheaply, and die with their user's deactivation:
revoked, so reactivating the user does not bring them back (issue 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from kapcare.accounts.models import ApiToken
from kapcare.accounts.services import create_api_token, revoke_api_token
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.errors import Conflict, NotFound


def _me(raw: str, address: str = "10.1.0.1"):
    return Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/me", REMOTE_ADDR=address)


@pytest.fixture
def nurse(make_user):
    return make_user("nurse")


def test_a_new_token_expires_after_the_configured_days(nurse):
    now = timezone.now()
    token, _raw = create_api_token(Actor.system("test"), nurse, "bridge", now=now)
    assert token.expires_at == now + timedelta(days=90)
    with override_settings(KAPCARE_TOKEN_DAYS=7):
        short, _ = create_api_token(Actor.system("test"), nurse, "short", now=now)
    assert short.expires_at == now + timedelta(days=7)
    created = AuditEntry.objects.filter(action=Action.TOKEN).last()
    assert created is not None and "expires" in created.what


def test_a_token_works_until_it_expires_and_not_after(nurse):
    start = timezone.now()
    with override_settings(KAPCARE_TOKEN_DAYS=30):
        _token, raw = create_api_token(Actor.system("test"), nurse, "bridge", now=start)
    with time_machine.travel(start + timedelta(days=30) - timedelta(seconds=1), tick=False):
        assert _me(raw).status_code == 200
    with time_machine.travel(start + timedelta(days=30), tick=False):
        response = _me(raw)
    assert response.status_code == 401
    refusal = AuditEntry.objects.filter(action=Action.REFUSED).get()
    assert "expired token" in refusal.what and raw not in refusal.what


def test_last_use_is_written_at_most_once_a_minute(nurse, django_assert_num_queries):
    start = timezone.now()
    token, raw = create_api_token(Actor.system("test"), nurse, "bridge", now=start)
    with time_machine.travel(start, tick=False):
        assert _me(raw).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == start
    # Within the minute a call reads the token and writes nothing: one query.
    within_the_minute = time_machine.travel(start + timedelta(seconds=59), tick=False)
    with within_the_minute, django_assert_num_queries(1):
        assert _me(raw).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == start
    later = start + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert _me(raw).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == later


def test_deactivating_a_user_revokes_their_tokens_for_good(nurse, token_for):
    raw = token_for(nurse)
    already_revoked, _ = create_api_token(Actor.system("test"), nurse, "old")
    revoke_api_token(Actor.for_user(nurse), nurse, already_revoked.pk)
    revoked_before = ApiToken.objects.get(pk=already_revoked.pk).revoked_at
    assert _me(raw).status_code == 200

    nurse.is_active = False
    nurse.save()  # as the admin's user form does
    live = ApiToken.objects.exclude(pk=already_revoked.pk).get()
    assert live.revoked_at is not None and live.status() == "revoked"
    assert ApiToken.objects.get(pk=already_revoked.pk).revoked_at == revoked_before
    revocations = AuditEntry.objects.filter(action=Action.TOKEN, what__contains="deactivated")
    assert revocations.count() == 1

    nurse.is_active = True
    nurse.save()
    assert _me(raw).status_code == 401, "a reactivated user's old token came back"


def test_a_user_deactivated_without_a_save_has_the_token_revoked_when_presented(nurse, token_for):
    raw = token_for(nurse)
    type(nurse).objects.filter(pk=nurse.pk).update(is_active=False)  # no signal
    assert _me(raw).status_code == 401
    assert ApiToken.objects.get().revoked_at is not None
    type(nurse).objects.filter(pk=nurse.pk).update(is_active=True)
    assert _me(raw).status_code == 401


def test_an_inactive_user_gets_no_new_token(nurse):
    nurse.is_active = False
    nurse.save()
    with pytest.raises(Conflict) as refused:
        create_api_token(Actor.system("test"), nurse, "bridge")
    assert refused.value.rule == "inactive"
    assert not ApiToken.objects.exists()


def test_a_revoked_token_is_refused_and_revoking_another_users_token_is_not_found(
    nurse, make_user, token_for
):
    raw = token_for(nurse)
    token = ApiToken.objects.get()
    other = make_user("therapist")
    with pytest.raises(NotFound):
        revoke_api_token(Actor.for_user(other), other, token.pk)
    assert _me(raw).status_code == 200
    revoke_api_token(Actor.for_user(nurse), nurse, token.pk)
    assert _me(raw).status_code == 401
    refusal = AuditEntry.objects.filter(action=Action.REFUSED).get()
    assert f"revoked token {token.hint}" in refusal.what
