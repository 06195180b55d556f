"""Automatic logoff (HIPAA 164.312(a)(2)(iii)): a session ends on the server after
KAPCARE_IDLE_LOGOUT_SECONDS without activity, and KAPCARE_SESSION_SECONDS after sign-in
whatever the activity. `IdleLogoutMiddleware` (accounts/middleware.py) enforces both.

Activity is a request the person made. Requests a page makes by itself (the vitals reminder's
poll, lazy chart sections, the logoff warning's own check) carry `BACKGROUND_HEADER` and keep
nothing alive: kapcare/idle.js adds it to every htmx request triggered by "load" or "every".
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

BACKGROUND_HEADER = "X-Kapcare-Background"
LAST_ACTIVITY_SESSION_KEY = "kapcare_last_activity"
SIGNED_IN_AT_SESSION_KEY = "kapcare_signed_in_at"
DEFAULT_IDLE_LOGOUT_SECONDS = 900
# The warning shows this long before the logoff (or half the idle time, if that is shorter).
WARNING_SECONDS = 60


def idle_logout_seconds() -> int:
    return int(getattr(settings, "KAPCARE_IDLE_LOGOUT_SECONDS", DEFAULT_IDLE_LOGOUT_SECONDS))


def session_seconds() -> int:
    """The absolute limit (KAPCARE_SESSION_SECONDS), counted from sign-in."""
    return int(settings.SESSION_COOKIE_AGE)


def activity_resolution_seconds() -> float:
    """Activity is written to the session at most this often, so that a burst of requests
    costs one session write, not one each; a session may so end up to this much early."""
    return min(30.0, idle_logout_seconds() / 10)


def is_background(request: HttpRequest) -> bool:
    return request.headers.get(BACKGROUND_HEADER) == "1"


@receiver(user_logged_in)
def stamp_sign_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SIGNED_IN_AT_SESSION_KEY] = now
        request.session[LAST_ACTIVITY_SESSION_KEY] = now


def time_left(request: HttpRequest, now: float) -> tuple[float, float]:
    """Seconds until the idle limit and until the absolute limit (negative once passed)."""
    session = request.session
    last = float(session.get(LAST_ACTIVITY_SESSION_KEY, now))
    started = float(session.get(SIGNED_IN_AT_SESSION_KEY, now))
    return idle_logout_seconds() - (now - last), session_seconds() - (now - started)


def seconds_left(request: HttpRequest, now: float | None = None) -> int:
    """Whole seconds until the session ends without further activity (0 when it has)."""
    left = min(time_left(request, time.time() if now is None else now))
    return max(0, math.ceil(left))


def idle_limit_words() -> str:
    """The idle limit as a person says it: "15 minutes" (or seconds, when not whole minutes)."""
    seconds = idle_logout_seconds()
    count, unit = (seconds // 60, "minute") if seconds % 60 == 0 else (seconds, "second")
    return f"{count} {unit}{'' if count == 1 else 's'}"


def warning_seconds() -> int:
    return min(WARNING_SECONDS, idle_logout_seconds() // 2)
