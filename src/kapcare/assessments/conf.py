"""Settings of measurement-based care, each with its labelled default.

Set them in Django settings or the environment:
- ``KAPCARE_HOME_LINK_HOURS``: how long a home link stays valid. Default 72 hours (the
  clinic's published promise to patients; clinic policy, not a clinical fact).
- ``KAPCARE_BASE_URL``: the address patients and staff reach kapcare at, used in emails.
  Default ``http://127.0.0.1:8000`` (the local demo).
- ``KAPCARE_INVITATION_INTERVAL_SECONDS``: how often the worker looks for due home-link
  assessments. Default 300 seconds.
"""

from __future__ import annotations

import os

from django.conf import settings

DEFAULT_HOME_LINK_HOURS = 72
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_INVITATION_INTERVAL_SECONDS = 300


def _setting(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return str(value)


def home_link_hours() -> int:
    return int(_setting("KAPCARE_HOME_LINK_HOURS", str(DEFAULT_HOME_LINK_HOURS)))


def base_url() -> str:
    return _setting("KAPCARE_BASE_URL", DEFAULT_BASE_URL).rstrip("/")


def invitation_interval_seconds() -> int:
    return int(
        _setting("KAPCARE_INVITATION_INTERVAL_SECONDS", str(DEFAULT_INVITATION_INTERVAL_SECONDS))
    )
