"""`kapcare token create EMAIL` prints a working token once; only its hash is kept."""

from __future__ import annotations

from django.test import Client

from kapcare.accounts.models import ApiToken
from kapcare.cli import main as kapcare


def test_token_create_prints_a_token_that_works(users, capsys):
    assert kapcare(["token", "create", users["nurse"].email.upper(), "--name", "ehr bridge"]) == 0
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("kc_") and len(raw) > 40
    stored = ApiToken.objects.get(user=users["nurse"])
    assert stored.name == "ehr bridge" and raw not in (stored.token_hash, stored.hint)
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/me")
    assert response.status_code == 200 and response.json()["role"] == "nurse"


def test_token_create_for_unknown_email_fails_clearly(db, capsys):
    assert kapcare(["token", "create", "nobody@example.org"]) == 2
    assert "email: no active user" in capsys.readouterr().err
    assert not ApiToken.objects.exists()


def test_token_create_with_a_blank_name_names_the_field(users, capsys):
    assert kapcare(["token", "create", users["nurse"].email, "--name", "  "]) == 2
    assert "name: give the token a name" in capsys.readouterr().err
    assert not ApiToken.objects.exists()
