"""The audit key is kept outside the database: created once into a file only its owner reads,
or given in the environment, with retired keys kept to verify older entries."""

from __future__ import annotations

import json
from pathlib import Path

from kapcare.config.tests.test_deploy import _run_with_settings

KEYS = (
    "import django, json; django.setup(); from django.conf import settings as s;"
    "print(json.dumps([s.KAPCARE_AUDIT_KEYS, str(s.KAPCARE_AUDIT_KEY_FILE)]))"
)


def test_the_key_file_is_created_once_beside_the_secret_key(tmp_path: Path) -> None:
    first = _run_with_settings(KEYS, tmp_path)
    assert first.returncode == 0, first.stderr
    keys, key_file = json.loads(first.stdout)
    assert Path(key_file) == tmp_path / "audit_keys"
    assert (tmp_path / "secret_key").exists()
    assert oct(Path(key_file).stat().st_mode & 0o777) == "0o600"
    assert len(keys) == 1 and len(keys[0]) >= 40
    again = _run_with_settings(KEYS, tmp_path)
    assert json.loads(again.stdout)[0] == keys
    backup_key = tmp_path / "backup_key"
    assert oct(backup_key.stat().st_mode & 0o777) == "0o600"
    assert backup_key.read_text().strip() != keys[0]


def test_keys_from_the_environment_win_and_keep_the_retired_ones(tmp_path: Path) -> None:
    result = _run_with_settings(
        KEYS, tmp_path, KAPCARE_AUDIT_KEY="current", KAPCARE_AUDIT_RETIRED_KEYS="oldest,older"
    )
    assert json.loads(result.stdout) == [["oldest", "older", "current"], "None"]
    assert not (tmp_path / "audit_keys").exists()
