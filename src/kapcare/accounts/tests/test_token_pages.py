"""A user sees their tokens (with expiry) and revokes them on their profile; the clinic admin
sees every user's tokens on one page and revokes any (issue 13)."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.models import ApiToken
from kapcare.accounts.services import create_api_token
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor


def _token(user, name="bridge", **when):
    return create_api_token(Actor.system("test"), user, name, **when)[0]


def test_the_profile_shows_each_token_with_its_expiry_and_status(users, client_for):
    nurse = users["nurse"]
    live = _token(nurse, "live")
    old = _token(nurse, "old", now=timezone.now() - timedelta(days=100))
    page = client_for(nurse).get(reverse("web:profile")).content.decode()
    # The page shows the clinic's calendar date, which differs from UTC's near midnight.
    for token in (live, old):
        assert f"{timezone.localtime(token.expires_at):%Y-%m-%d}" in page
    assert page.count(">Revoke</button>") == 1, "only the live token can be revoked"
    assert "expired" in page


def test_the_admin_sees_every_token_and_revokes_any(
    users, client_for, django_assert_max_num_queries
):
    nurse_token = _token(users["nurse"], "nurse bridge")
    _token(users["prescriber"], "prescriber bridge")
    admin = client_for(users["clinic_admin"])
    with django_assert_max_num_queries(8):
        page = admin.get(reverse("tokens:all"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "nurse bridge" in text and "prescriber bridge" in text
    assert users["nurse"].email in text

    response = admin.post(reverse("tokens:revoke", args=[nurse_token.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("tokens:all")
    nurse_token.refresh_from_db()
    assert nurse_token.revoked_at is not None
    entry = AuditEntry.objects.filter(action=Action.TOKEN).last()
    assert entry is not None and entry.user_id == users["clinic_admin"].pk
    assert "revoked by the clinic admin" in entry.what


def test_the_admin_page_query_count_does_not_grow_with_tokens(
    users, client_for, django_assert_max_num_queries
):
    for role in ("nurse", "prescriber", "therapist", "front_desk"):
        for n in range(3):
            _token(users[role], f"{role} {n}")
    admin = client_for(users["clinic_admin"])
    with django_assert_max_num_queries(8):
        assert admin.get(reverse("tokens:all")).status_code == 200


def test_other_roles_may_not_see_or_revoke_others_tokens(users, client_for):
    token = _token(users["nurse"])
    for role in ("nurse", "prescriber", "front_desk", "therapist", "patient"):
        client = client_for(users[role])
        assert client.get(reverse("tokens:all")).status_code == 403
        assert client.post(reverse("tokens:revoke", args=[token.pk])).status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_revoking_an_unknown_token_is_404(users, client_for):
    response = client_for(users["clinic_admin"]).post(reverse("tokens:revoke", args=[987654]))
    assert response.status_code == 404
