"""Two clients add vitals to the same session at the same time, through the API: nothing is
lost and the audit chain still verifies. Each thread has its own database connection (SQLite
with IMMEDIATE transactions and a busy timeout, or PostgreSQL with the session row lock)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.selectors import verify_chain
from kapcare.dosing.models import State, VitalReading
from kapcare.dosing.tests.conftest import api_post, reading, run_to

CLIENTS = 2
BATCHES = 8
READINGS = 25


@pytest.mark.django_db(transaction=True)
def test_two_clients_adding_vitals_at_once_lose_nothing(
    seeded_protocols, session, users, token_for
):
    session = run_to(session, users, State.DOSING, minutes_ago=40)
    before = VitalReading.objects.filter(session=session).count()
    tokens = [token_for(users["nurse"]), token_for(users["prescriber"])]
    now = timezone.now()
    barrier = threading.Barrier(CLIENTS)
    errors: list[BaseException] = []
    statuses: list[int] = []

    def post_batches(worker: int) -> None:
        try:
            client = Client(headers={"Authorization": f"Bearer {tokens[worker]}"})
            barrier.wait(timeout=30)
            for batch in range(BATCHES):
                first = now - timedelta(seconds=worker * 1000 + batch * READINGS)
                readings = [
                    reading(
                        first - timedelta(seconds=i), 130 + i % 20, heart_rate=70 + worker, spo2=97
                    )
                    for i in range(READINGS)
                ]
                path = f"/sessions/{session.pk}/vitals"
                response = api_post(client, path, {"readings": readings})
                statuses.append(response.status_code)
                if response.status_code != 201 or response.json()["stored"] != READINGS:
                    raise AssertionError(
                        f"worker {worker}: {response.status_code} {response.content!r}"
                    )
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post_batches, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert statuses == [201] * (CLIENTS * BATCHES)
    stored = VitalReading.objects.filter(session=session)
    assert stored.count() == before + CLIENTS * BATCHES * READINGS
    for worker in range(CLIENTS):
        assert stored.filter(heart_rate=70 + worker).count() == BATCHES * READINGS
    assert (
        AuditEntry.objects.filter(
            action=Action.CREATE, what__endswith=f"{READINGS} vitals readings"
        ).count()
        == CLIENTS * BATCHES
    )
    report = verify_chain()
    assert report.intact, report.problem
