"""`kapcare demo` points the demo's email links at the port it serves on."""

from __future__ import annotations

import pytest

from kapcare.cli import set_demo_base_url


def test_the_demo_base_url_follows_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set, then removed, so the test's end restores the variable's absence.
    for name in ("KAPCARE_BASE_URL", "KAPCARE_HOST"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    set_demo_base_url(8765)
    from kapcare.assessments import conf

    assert conf.base_url() == "http://127.0.0.1:8765"


def test_a_clinic_set_base_url_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCARE_BASE_URL", "https://clinic.example.org")
    set_demo_base_url(8765)
    from kapcare.assessments import conf

    assert conf.base_url() == "https://clinic.example.org"
