"""Scheduling settings (clinic policy, each with its labelled default).

Set them in Django settings or the environment:
- ``KAPCARE_CLINIC_DAYS``: weekdays the clinic doses on, 0=Mon..6=Sun. Default "0,1,2,3,4".
- ``KAPCARE_DAY_START``: first appointment time of a planned course, "HH:MM" local. Default 09:00.
- ``KAPCARE_PREPARATION_DAYS_BEFORE``: the preparation meeting is this many days before the
  first dose (moved back to a clinic day). Default 3.
- ``KAPCARE_INTEGRATION_DAYS_AFTER``: an integration session this many days after each dosing
  session (moved on to a clinic day). Default 1 (the next day).
- ``KAPCARE_NURSE_CONCURRENT_PATIENTS``: how many appointments one nurse may hold at once.
  Default 2 (one nurse watching two recovering patients; clinic policy). Every other staff
  member holds one appointment at a time.
- ``KAPCARE_DEFAULT_NURSE_EMAIL``: the email of the nurse a planned course's dosing sessions
  are booked with. Default none: the dosing sessions stay unassigned.
- ``KAPCARE_DEFAULT_THERAPIST_EMAIL``: the email of the therapist a planned course's
  preparation and integration sessions are booked with. Default none: they stay unassigned.
  For both: when the member is not an active user, or is already at capacity at that time,
  planning books that appointment unassigned instead of refusing the plan; the course page
  shows "Unassigned" and the front desk assigns someone by rescheduling.
- Appointment lengths in minutes: ``KAPCARE_PREPARATION_MINUTES`` (60),
  ``KAPCARE_INTEGRATION_MINUTES`` (60), and a dosing session is check-in (30) + the infusion or
  administration + the protocol's minimum observation + 15 for discharge.
"""

from __future__ import annotations

import os
from datetime import time

from django.conf import settings


def _setting(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return str(value)


def clinic_days() -> tuple[int, ...]:
    return tuple(int(d) for d in _setting("KAPCARE_CLINIC_DAYS", "0,1,2,3,4").split(","))


def day_start() -> time:
    hours, minutes = _setting("KAPCARE_DAY_START", "09:00").split(":")
    return time(int(hours), int(minutes))


def preparation_days_before() -> int:
    return int(_setting("KAPCARE_PREPARATION_DAYS_BEFORE", "3"))


def integration_days_after() -> int:
    return int(_setting("KAPCARE_INTEGRATION_DAYS_AFTER", "1"))


def nurse_concurrent_patients() -> int:
    return int(_setting("KAPCARE_NURSE_CONCURRENT_PATIENTS", "2"))


def default_nurse_email() -> str:
    """The default nurse's email, or "" (none: dosing appointments stay unassigned)."""
    return _setting("KAPCARE_DEFAULT_NURSE_EMAIL", "").strip()


def default_therapist_email() -> str:
    """The default therapist's email, or "" (none: preparation and integration appointments
    stay unassigned)."""
    return _setting("KAPCARE_DEFAULT_THERAPIST_EMAIL", "").strip()


def preparation_minutes() -> int:
    return int(_setting("KAPCARE_PREPARATION_MINUTES", "60"))


def integration_minutes() -> int:
    return int(_setting("KAPCARE_INTEGRATION_MINUTES", "60"))


CHECK_IN_MINUTES = 30
DISCHARGE_MINUTES = 15
# Without an infusion duration (IM, intranasal, esketamine devices 5 minutes apart).
ADMINISTRATION_MINUTES = 15
