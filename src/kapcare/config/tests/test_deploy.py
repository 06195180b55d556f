"""Production settings: DEBUG off, `check --deploy` clean, Argon2, secret key kept out of git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]


def _run_with_settings(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("KAPCARE_", "DJANGO_"))}
    if "KAPCARE_DATABASE_URL" in os.environ:
        clean_env["KAPCARE_DATABASE_URL"] = os.environ["KAPCARE_DATABASE_URL"]
    clean_env.update(
        DJANGO_SETTINGS_MODULE="kapcare.config.settings", KAPCARE_VAR_DIR=str(tmp_path)
    )
    clean_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=clean_env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = _run_with_settings(
        "import django, sys; django.setup();"
        "from django.core.management import call_command;"
        "call_command('check', deploy=True, fail_level='WARNING')",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_defaults(tmp_path):
    result = _run_with_settings(
        "import django, json; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.DEBUG, s.PASSWORD_HASHERS[0], s.SESSION_COOKIE_SECURE,"
        " s.SECURE_SSL_REDIRECT, len(s.SECRET_KEY)]))",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    debug, hasher, secure_cookie, ssl_redirect, key_length = json.loads(result.stdout)
    assert debug is False
    assert hasher == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert secure_cookie is True and ssl_redirect is True
    assert key_length >= 50
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_demo_is_the_only_place_debug_is_on(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    assert _run_with_settings(code, tmp_path, KAPCARE_DEMO="1").stdout.strip() == "True"
    assert _run_with_settings(code, tmp_path, KAPCARE_DEBUG="1").stdout.strip() == "False"


def test_secret_key_from_the_environment_wins(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SECRET_KEY)"
    )
    result = _run_with_settings(code, tmp_path, KAPCARE_SECRET_KEY="k" * 60)
    assert result.stdout.strip() == "k" * 60
    assert not (tmp_path / "secret_key").exists()


def test_var_is_ignored_by_git():
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "var/" in ignored


@pytest.mark.django_db
def test_argon2_hashes_passwords_in_production(settings):
    from django.contrib.auth.hashers import check_password, make_password

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    encoded = make_password("a long demo password")
    assert encoded.startswith("argon2$") and check_password("a long demo password", encoded)
