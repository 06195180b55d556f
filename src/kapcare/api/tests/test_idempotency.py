"""Idempotency-Key on POSTs: a retry with the same key and body gets the first response and
stores nothing more; another body is refused; a request still in flight is a 409; the keys are
the caller's; only responses below 500 are kept; the worker purges keys after their hours."""

from __future__ import annotations

import json
from datetime import timedelta
from hashlib import sha256

import pytest
from django.test import Client
from django.utils import timezone

from kapcare.accounts.models import ApiToken, hash_token
from kapcare.api.idempotency import HEADER, IN_FLIGHT_LEASE, REPLAYED_HEADER
from kapcare.api.models import IdempotencyKey
from kapcare.audit.models import AuditEntry
from kapcare.dosing import scenario
from kapcare.dosing.models import DosingSession, State, VitalReading
from kapcare.jobs.services import periodic_tasks, run_periodic
from kapcare.patients.models import Patient


@pytest.fixture
def monitored_session(cleared_patient, plan_course_for, users) -> DosingSession:
    """A session being dosed: vitals may be added."""
    session = plan_course_for(cleared_patient).dosing_sessions.order_by("id").first()
    return scenario.run_to(
        session,
        State.DOSING,
        nurse=users["nurse"],
        prescriber=users["prescriber"],
        start=timezone.now() - timedelta(minutes=40),
    )


@pytest.fixture
def nurse_token(users, token_for) -> str:
    return token_for(users["nurse"])


def _client(raw_token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw_token}"}, raise_request_exception=False)


def _readings(*minutes_ago: int) -> dict:
    now = timezone.now()
    return {
        "readings": [
            {
                "taken_at": (now - timedelta(minutes=m)).isoformat(),
                "systolic": 128,
                "diastolic": 80,
                "heart_rate": 76,
                "spo2": 98,
                "resp_rate": 14,
            }
            for m in minutes_ago
        ]
    }


def _post_vitals(client: Client, session: DosingSession, body: dict, key: str | None):
    headers = {HEADER: key} if key is not None else {}
    return client.post(
        f"/api/v1/sessions/{session.pk}/vitals", body, "application/json", headers=headers
    )


def _stored(session: DosingSession) -> int:
    return VitalReading.objects.filter(session=session).count()


def test_the_same_key_and_body_stores_the_readings_once(monitored_session, nurse_token):
    nurse, body = _client(nurse_token), _readings(3, 2)
    before = _stored(monitored_session)
    first = _post_vitals(nurse, monitored_session, body, "vitals-2026-12-01-0001")
    assert first.status_code == 201 and first.json()["stored"] == 2
    audit_entries = AuditEntry.objects.count()
    again = _post_vitals(nurse, monitored_session, body, "vitals-2026-12-01-0001")
    assert (again.status_code, again.content) == (201, first.content)
    assert again[REPLAYED_HEADER] == "true" and REPLAYED_HEADER not in first
    assert _stored(monitored_session) == before + 2
    assert AuditEntry.objects.count() == audit_entries
    assert IdempotencyKey.objects.count() == 1
    # Without a key the same POST is new work: the key is what made the retry safe.
    assert _post_vitals(nurse, monitored_session, body, None).status_code == 201
    assert _stored(monitored_session) == before + 4


def test_the_same_key_with_another_body_is_refused(monitored_session, nurse_token):
    nurse = _client(nurse_token)
    _post_vitals(nurse, monitored_session, _readings(3), "k-1")
    stored, audit_entries = _stored(monitored_session), AuditEntry.objects.count()
    response = _post_vitals(nurse, monitored_session, _readings(2), "k-1")
    assert response.status_code == 422
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
        (HEADER, "reused_with_other_body")
    ]
    assert _stored(monitored_session) == stored
    assert AuditEntry.objects.count() == audit_entries


def _claim_in_flight(raw_token: str, session: DosingSession, body: dict, key: str, age):
    return IdempotencyKey.objects.create(
        token=ApiToken.objects.get(token_hash=hash_token(raw_token)),
        key=key,
        scope_sha256=sha256(f"POST /api/v1/sessions/{session.pk}/vitals".encode()).hexdigest(),
        body_sha256=sha256(json.dumps(body).encode()).hexdigest(),
        created_at=timezone.now() - age,
    )


def test_a_duplicate_of_a_request_still_in_flight_is_409(monitored_session, nurse_token):
    body = _readings(3)
    _claim_in_flight(nurse_token, monitored_session, body, "k-2", timedelta(seconds=5))
    stored = _stored(monitored_session)
    response = _post_vitals(_client(nurse_token), monitored_session, body, "k-2")
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": HEADER, "rule": "in_flight"}]
    assert _stored(monitored_session) == stored


def test_a_claim_whose_request_died_is_taken_over(monitored_session, nurse_token):
    body = _readings(3)
    claim = _claim_in_flight(
        nurse_token, monitored_session, body, "k-3", IN_FLIGHT_LEASE + timedelta(seconds=1)
    )
    stored = _stored(monitored_session)
    response = _post_vitals(_client(nurse_token), monitored_session, body, "k-3")
    assert response.status_code == 201 and _stored(monitored_session) == stored + 1
    claim.refresh_from_db()
    assert claim.status == 201 and bytes(claim.response_body) == response.content


def test_keys_are_the_callers_and_the_paths(monitored_session, nurse_token, users, token_for):
    body = _readings(3)
    first = _post_vitals(_client(nurse_token), monitored_session, body, "shared-key")
    other_nurse = token_for(users["nurse"])
    second = _post_vitals(_client(other_nurse), monitored_session, body, "shared-key")
    assert (first.status_code, second.status_code) == (201, 201)
    assert REPLAYED_HEADER not in second
    # The same key on another operation is another key.
    created = _client(nurse_token).post(
        "/api/v1/patients", _patient("Ada"), "application/json", headers={HEADER: "shared-key"}
    )
    assert created.status_code == 201 and IdempotencyKey.objects.count() == 3


def _patient(given_name: str) -> dict:
    return {
        "given_name": given_name,
        "family_name": "Lovelace",
        "birth_date": "1985-12-10",
        "sex_at_birth": "female",
    }


def test_a_refusal_is_kept_and_a_server_error_is_not(users, token_for, monkeypatch):
    front_desk = _client(token_for(users["front_desk"]))

    def post(body: dict):
        headers = {HEADER: "create-1"}
        return front_desk.post("/api/v1/patients", body, "application/json", headers=headers)

    refused = post(_patient("   "))
    assert refused.status_code == 422 and post(_patient("   "))[REPLAYED_HEADER] == "true"

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("kapcare.patients.api.create_patient", broken)
    body = _patient("Grace")
    failed = front_desk.post("/api/v1/patients", body, "application/json", headers={HEADER: "k5"})
    assert failed.status_code == 500 and not IdempotencyKey.objects.filter(key="k5").exists()
    monkeypatch.undo()
    retried = front_desk.post("/api/v1/patients", body, "application/json", headers={HEADER: "k5"})
    assert retried.status_code == 201 and Patient.objects.filter(given_name="Grace").count() == 1


@pytest.mark.parametrize(
    ("key", "rule"),
    [("k" * 256, "too_long"), ("", "not_printable_ascii"), ("tab\tkey", "not_printable_ascii")],
)
def test_a_key_is_at_most_255_printable_ascii_characters(users, token_for, key, rule):
    client = _client(token_for(users["front_desk"]))
    response = client.post(
        "/api/v1/patients", _patient("Ada"), "application/json", headers={HEADER: key}
    )
    assert response.status_code == 422
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(HEADER, rule)]
    assert not Patient.objects.exists() and not IdempotencyKey.objects.exists()
    longest = client.post(
        "/api/v1/patients", _patient("Ada"), "application/json", headers={HEADER: "~" * 255}
    )
    assert longest.status_code == 201


def test_a_caller_refused_by_the_operation_claims_no_key(users, token_for):
    for client, status in [
        (Client(raise_request_exception=False), 401),
        (_client(token_for(users["patient"])), 403),
    ]:
        response = client.post(
            "/api/v1/patients", _patient("Ada"), "application/json", headers={HEADER: "k"}
        )
        assert response.status_code == status
    assert not IdempotencyKey.objects.exists() and not Patient.objects.exists()


def test_the_worker_purges_keys_after_their_hours(users, token_for, settings):
    token = ApiToken.objects.get(token_hash=hash_token(token_for(users["nurse"])))
    now = timezone.now()
    for key, hours in [("old", 25), ("recent", 23)]:
        IdempotencyKey.objects.create(
            token=token, key=key, scope_sha256="s", body_sha256="b", status=201,
            created_at=now - timedelta(hours=hours),
        )  # fmt: skip
    [purge] = [task for task in periodic_tasks() if "idempotency" in task.name]
    settings.KAPCARE_IDEMPOTENCY_HOURS = 48
    run_periodic([purge])
    assert IdempotencyKey.objects.count() == 2
    settings.KAPCARE_IDEMPOTENCY_HOURS = 24
    purge.last_run = -1e18  # due again
    run_periodic([purge])
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
