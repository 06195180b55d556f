"""More than KAPCARE_API_AUTH_FAILURES_PER_MINUTE failed API authentications from one address
in a minute: 429 with Retry-After until the minute ends, even for a good token (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from kapcare.api.models import AuthFailureWindow
from kapcare.api.security import DEFAULT_AUTH_FAILURES_PER_MINUTE
from kapcare.audit.models import Action, AuditEntry

LIMIT = DEFAULT_AUTH_FAILURES_PER_MINUTE
HERE, ELSEWHERE = "10.2.0.1", "10.2.0.2"
# 20 seconds into a minute: Retry-After is the 40 seconds left of it.
START = datetime(2026, 12, 1, 15, 30, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def production_limit(settings):
    settings.KAPCARE_API_AUTH_FAILURES_PER_MINUTE = LIMIT


def _me(token: str | None, address: str = HERE):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return Client(headers=headers).get("/api/v1/me", REMOTE_ADDR=address)


def _fail(times: int, address: str = HERE) -> None:
    for attempt in range(times):
        guessed = f"kc_guess{attempt}" if attempt % 2 else None  # no token counts as well
        assert _me(guessed, address).status_code == 401, "throttled before the limit"


@time_machine.travel(START, tick=False)
def test_guessing_past_the_limit_gets_429_with_retry_after(users, token_for):
    good = token_for(users["nurse"])
    _fail(LIMIT)
    assert _me(good).status_code == 200, "the limit itself is not yet over it"
    response = _me("kc_one-more")
    assert response.status_code == 429
    assert response["Retry-After"] == "40"
    assert [e["rule"] for e in response.json()["errors"]] == ["throttled"]
    # Over the limit, even a good token waits: a guesser cannot tell a hit from a miss.
    assert _me(good).status_code == 429
    # Another address is not held up.
    assert _me(good, ELSEWHERE).status_code == 200


def test_the_throttle_ends_with_the_minute(users, token_for):
    good = token_for(users["nurse"])
    with time_machine.travel(START, tick=False):
        _fail(LIMIT)
        assert _me("kc_one-more").status_code == 429
        assert _me(good).status_code == 429
    with time_machine.travel(START + timedelta(seconds=40), tick=False):
        assert _me(good).status_code == 200
        _fail(1)
    # Only the current minute's count is kept.
    assert AuthFailureWindow.objects.get().failures == 1


@time_machine.travel(START, tick=False)
def test_each_401_is_logged_and_crossing_the_limit_once(db):
    _fail(LIMIT)
    for _ in range(5):
        assert _me("kc_more").status_code == 429
    refused = AuditEntry.objects.filter(action=Action.REFUSED)
    assert refused.filter(what__startswith="401 ").count() == LIMIT
    throttled = refused.filter(what__contains="throttled")
    assert throttled.count() == 1
    assert throttled.get().client_address == HERE


def test_the_counter_is_in_the_database_shared_by_every_process(db):
    # Counted in a table, not in a per-process cache: another worker process sees it.
    with time_machine.travel(START, tick=False):
        _fail(3)
    window = AuthFailureWindow.objects.get()
    assert (window.client_address, window.failures) == (HERE, 3)
