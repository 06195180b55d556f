"""The dosing-session API: the fixed contract's shapes, a whole IV session driven through the
API, every illegal transition and every override path through the API, the vitals batch
(atomic, 422 naming the reading), roles, and a signed note that no route can change."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kapcare.assessments.services import record_assessment
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.dosing import scenario, services
from kapcare.dosing.models import SessionNote, State, Transition, VitalAlert, VitalReading
from kapcare.dosing.tests.conftest import (
    ALLOWED,
    CHECKLIST,
    DISCHARGE,
    api_post,
    bring_to,
    discharge,
    reading,
    run_to,
    short_fast,
)
from kapcare.errors import Conflict


def _rules(response) -> list[str]:
    return [error["rule"] for error in response.json()["errors"]]


# --- a whole session through the API ---------------------------------------------------------


def test_a_whole_iv_session_through_the_api(session, users, api_as):
    nurse, prescriber = api_as("nurse"), api_as("prescriber")
    n, p = Actor.for_user(users["nurse"]), Actor.for_user(users["prescriber"])
    start = timezone.now() - timedelta(hours=3)
    path = f"/sessions/{session.pk}"

    def at(minutes: int):
        return time_machine.travel(start + timedelta(minutes=minutes), tick=False)

    with at(0):
        response = api_post(nurse, f"{path}/transitions", {"to": "checked_in"})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["state"] == "checked_in" and body["transition"]["by"] == users["nurse"].email
        assert body["allowed_next"] == ["checklist_passed", "cancelled"]
        assert body["next_step"] == "checklist_passed"
        assert {r["code"] for r in body["unmet"]} >= {"checklist", "cssrs", "baseline_vitals"}
    with at(10):
        record_assessment(
            n,
            session.patient,
            "cssrs_screen",
            [0] * 7,
            source="staff",
            administered_at=start + timedelta(minutes=5),
        )
        services.save_checklist(n, session, **CHECKLIST)
        response = api_post(
            nurse, f"{path}/vitals", {"readings": [reading(start + timedelta(minutes=8))]}
        )
        assert response.status_code == 201 and response.json()["stored"] == 1
        response = api_post(nurse, f"{path}/transitions", {"to": "checklist_passed"})
        assert response.status_code == 200, response.content
        assert response.json()["unmet"][0]["code"] == "dose_order"
    with at(15):
        services.sign_order(p, session, mg_per_kg=Decimal("0.5"))  # moves it to "dose ordered"
        detail = nurse.get(f"/api/v1{path}").json()
        assert detail["state"] == "dose_ordered"
        assert detail["order"]["dose_mg"] == 35.0 and detail["order"]["rate_ml_per_h"] == 150.0
        assert all(item["ok"] for item in detail["checklist"]["items"])
    with at(25):
        services.record_administration(
            n, session, draw=scenario.draw(session, start, users["prescriber"]),
            started_at=start + timedelta(minutes=25),
        )  # fmt: skip
        assert api_post(nurse, f"{path}/transitions", {"to": "dosing"}).status_code == 200
    with at(65):
        batch = [reading(start + timedelta(minutes=m), 138, 86) for m in (25, 35, 45, 55)]
        batch[2].update(systolic=184, diastolic=112)
        response = api_post(nurse, f"{path}/vitals", {"readings": batch})
        assert response.status_code == 201
        assert response.json()["stored"] == 4
        [alert] = response.json()["alerts"]
        assert (alert["reading_index"], alert["code"], alert["level"]) == (
            2,
            "bp_critical",
            "critical",
        )
        services.record_administration(
            n,
            session,
            started_at=start + timedelta(minutes=25),
            stopped_at=start + timedelta(minutes=65),
        )
        # An open critical alert blocks every step, even a prescriber's override.
        response = api_post(prescriber, f"{path}/transitions", {"to": "recovery", "reason": "fine"})
        assert response.status_code == 409 and _rules(response) == ["critical_alert"]
        assert response.json()["errors"][0]["overridable"] is False
        detail = nurse.get(f"/api/v1{path}").json()
        assert [a["code"] for a in detail["open_critical_alerts"]] == ["bp_critical"]
        services.acknowledge_vital_alert(
            n, VitalAlert.objects.get(pk=alert["id"]), action_taken="Paused the infusion 5 min"
        )
        assert api_post(nurse, f"{path}/transitions", {"to": "recovery"}).status_code == 200
    with at(100):
        recovery = [reading(start + timedelta(minutes=m), 124, 78) for m in (80, 95, 99)]
        assert api_post(nurse, f"{path}/vitals", {"readings": recovery}).status_code == 201
        services.assess_discharge(n, session, **DISCHARGE)
        response = api_post(nurse, f"{path}/transitions", {"to": "discharged"})
        assert response.status_code == 200, response.content
    with at(110):
        response = api_post(prescriber, f"{path}/note", {"text": "Tolerated well (synthetic)."})
        assert response.status_code == 200 and response.json()["signed_at"] is None
        response = api_post(prescriber, f"{path}/note/sign")
        assert response.status_code == 200, response.content
        assert response.json()["signed_by"] == users["prescriber"].email
    detail = nurse.get(f"/api/v1{path}").json()
    assert detail["state"] == "note_signed" and detail["allowed_next"] == []
    assert [t["to_state"] for t in detail["transitions"]] == scenario.ORDER
    assert [v["taken_at"] for v in detail["vitals"]] == sorted(
        v["taken_at"] for v in detail["vitals"]
    )
    assert len(detail["vitals"]) == 8 and detail["open_critical_alerts"] == []
    critical = detail["vitals"][3]["alerts"][0]
    assert critical["acknowledged_by"] == users["nurse"].email
    assert critical["action_taken"].startswith("Paused")
    assert detail["discharge"]["inputs"]["escort_name"] == "Kim Example"
    assert detail["note"]["text"] == "Tolerated well (synthetic)."


def test_get_session_shape_is_logged_and_needs_a_clinical_role(session, users, api_as):
    session = run_to(session, users, State.NOTE_SIGNED, critical_bp_at_min=20)
    services.amend_note(
        Actor.for_user(users["prescriber"]), session, text_added="Addendum.", reason="Late entry"
    )
    response = api_as("therapist").get(f"/api/v1/sessions/{session.pk}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {
        "state",
        "allowed_next",
        "unmet",
        "checklist",
        "order",
        "superseded_orders",
        "administration",
        "vitals",
        "open_critical_alerts",
        "side_effects",
        "interventions",
        "scores",
        "discharge",
        "note",
        "transitions",
    }
    assert set(body["checklist"]) == {"fields", "items"}
    assert {i["code"] for i in body["checklist"]["items"]} >= {"fasting", "driver", "cssrs"}
    # Items as they stood when the checklist passed (the session was hours ago).
    assert all(i["ok"] for i in body["checklist"]["items"])
    assert body["order"]["signed_by"] == users["prescriber"].email
    assert [s["scale"] for s in body["scores"]] == ["moaas", "moaas"]
    assert body["note"]["signed_at"] and body["note"]["amendments"][0]["reason"] == "Late entry"
    assert any(a["level"] == "critical" for v in body["vitals"] for a in v["alerts"])
    assert AuditEntry.objects.filter(
        action=Action.READ,
        patient_id=session.patient_id,
        what="API dosing session",
        user_id=users["therapist"].pk,
    ).exists()
    for role in ("front_desk", "patient", "clinic_admin"):
        assert api_as(role).get(f"/api/v1/sessions/{session.pk}").status_code == 403
    assert api_as("nurse").get("/api/v1/sessions/999999").status_code == 404


def test_get_session_query_count_does_not_grow_with_readings(session, users, api_as):
    session = run_to(session, users, State.DOSING, minutes_ago=40)

    client = api_as("nurse")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/sessions/{session.pk}").status_code == 200
        return len(queries)

    count()  # the first use of a token records it
    before = count()
    now = timezone.now()
    batch = [reading(now - timedelta(seconds=s), 150 + s % 40, 90, spo2=90) for s in range(40)]
    assert (
        api_post(client, f"/sessions/{session.pk}/vitals", {"readings": batch}).status_code == 201
    )
    assert VitalAlert.objects.filter(session=session).count() >= 40
    assert count() == before


def test_superseded_orders_are_listed(session, users, api_as):
    session = run_to(session, users, State.DOSE_ORDERED)
    services.sign_order(Actor.for_user(users["prescriber"]), session, mg_per_kg=Decimal("0.6"))
    body = api_as("nurse").get(f"/api/v1/sessions/{session.pk}").json()
    assert body["order"]["mg_per_kg"] == 0.6
    [old] = body["superseded_orders"]
    assert old["mg_per_kg"] == 0.5 and old["superseded_by_id"] == body["order"]["id"]


# --- vitals ----------------------------------------------------------------------------------


def test_vitals_batch_returns_alerts_with_their_reading_index(session, users, api_as):
    session = run_to(session, users, State.DOSING, minutes_ago=40)
    now = timezone.now()
    readings = [
        reading(now - timedelta(minutes=3)),
        reading(now - timedelta(minutes=2), 186, 100, spo2=90),
        {"taken_at": (now - timedelta(minutes=1)).isoformat(), "heart_rate": 130},
    ]
    response = api_post(api_as("nurse"), f"/sessions/{session.pk}/vitals", {"readings": readings})
    assert response.status_code == 201
    body = response.json()
    assert body["stored"] == 3 and len(body["reading_ids"]) == 3
    found = {(a["reading_index"], a["code"], a["level"]) for a in body["alerts"]}
    assert found == {
        (1, "bp_critical", "critical"),
        (1, "hypoxemia", "critical"),
        (2, "tachycardia", "warning"),
    }


def test_a_large_batch_keeps_its_order_and_alert_indexes(session, users, api_as):
    session = run_to(session, users, State.DOSING)
    now = timezone.now()
    readings = [
        reading(now - timedelta(seconds=5 * (1000 - i)), 182 if i % 97 == 0 else 130, 90)
        for i in range(1000)
    ]
    path = f"/sessions/{session.pk}/vitals"
    response = api_post(api_as("nurse"), path, {"readings": readings})
    assert response.status_code == 201
    body = response.json()
    assert body["stored"] == 1000 and len(set(body["reading_ids"])) == 1000
    stored = {r.pk: r for r in VitalReading.objects.filter(pk__in=body["reading_ids"])}
    for index in (0, 499, 500, 999):  # both sides of the 500-row chunk
        row = stored[body["reading_ids"][index]]
        assert row.taken_at == datetime.fromisoformat(readings[index]["taken_at"])
    critical = [a for a in body["alerts"] if a["code"] == "bp_critical"]
    assert [a["reading_index"] for a in critical] == list(range(0, 1000, 97))
    for alert in critical:
        reading_id = VitalAlert.objects.get(pk=alert["id"]).reading_id
        assert reading_id == body["reading_ids"][alert["reading_index"]]
        assert stored[reading_id].systolic == 182
    too_many = {"readings": [*readings, readings[0]]}
    response = api_post(api_as("nurse"), path, too_many)
    assert response.status_code == 422 and "readings" in response.json()["errors"][0]["field"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"spo2": 150}, "readings[3].spo2"),
        ({"spo2": "98"}, "readings[3].spo2"),
        ({"heart_rate": 72.5}, "readings[3].heart_rate"),
        ({"heart_rate": True}, "readings[3].heart_rate"),
        ({"systolic": 120, "diastolic": None}, "readings[3].diastolic"),
        ({"systolic": 80, "diastolic": 90}, "readings[3].diastolic"),
        ({"taken_at": "yesterday"}, "readings[3].taken_at"),
        ({"taken_at": "2026-13-01T10:00:00"}, "readings[3].taken_at"),
        ({"taken_at": None}, "readings[3].taken_at"),
        ({"taken_at": "2999-01-01T10:00:00+00:00"}, "readings[3].taken_at"),
        ({"spO2": 97}, "readings[3].spO2"),
    ],
)
def test_one_invalid_reading_rejects_the_whole_batch(session, users, api_as, bad, field):
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    client = api_as("nurse")
    before = (VitalReading.objects.count(), AuditEntry.objects.count())
    now = timezone.now()
    readings = [reading(now - timedelta(minutes=m)) for m in range(5)]
    readings[3].update(bad)
    response = api_post(client, f"/sessions/{session.pk}/vitals", {"readings": readings})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["errors"][0]["field"] == field and body["errors"][0]["rule"]
    assert field in body["detail"]
    assert (VitalReading.objects.count(), AuditEntry.objects.count()) == before


def test_an_empty_or_malformed_batch_is_422(session, users, api_as):
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    path = f"/sessions/{session.pk}/vitals"
    response = api_post(api_as("nurse"), path, {"readings": []})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "readings"
    response = api_post(api_as("nurse"), path, {"readings": "lots"})
    assert response.status_code == 422 and "readings" in response.json()["errors"][0]["field"]
    assert api_post(api_as("nurse"), path, {}).status_code == 422
    assert not VitalReading.objects.exists()


@pytest.mark.parametrize("state", ["scheduled", "discharged", "note_signed", "cancelled"])
def test_vitals_on_a_session_not_monitored_is_409(session, users, api_as, state):
    session = bring_to(session, users, state)
    before = VitalReading.objects.count()
    response = api_post(
        api_as("nurse"), f"/sessions/{session.pk}/vitals", {"readings": [reading(timezone.now())]}
    )
    assert response.status_code == 409
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [("state", "not_open")]
    assert VitalReading.objects.count() == before


def test_vitals_roles(session, users, api_as):
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    body = {"readings": [reading(timezone.now())]}
    for role in ("front_desk", "patient", "clinic_admin"):
        assert api_post(api_as(role), f"/sessions/{session.pk}/vitals", body).status_code == 403
    assert not VitalReading.objects.exists()
    assert api_post(api_as("therapist"), f"/sessions/{session.pk}/vitals", body).status_code == 201


# --- transitions -----------------------------------------------------------------------------


@pytest.mark.parametrize("state", State.values)
def test_every_illegal_transition_through_the_api_is_409(session, users, api_as, state):
    session = bring_to(session, users, state)
    before = Transition.objects.count()
    for target in State.values:
        if target in ALLOWED[state]:
            continue
        for role in ("nurse", "prescriber"):
            response = api_post(
                api_as(role), f"/sessions/{session.pk}/transitions", {"to": target, "reason": "try"}
            )
            assert response.status_code == 409, (state, target, response.content)
            body = response.json()
            assert "not possible while the session is" in body["detail"]
            assert [(e["field"], e["rule"]) for e in body["errors"]] == [
                ("to", "illegal_transition")
            ]
    assert Transition.objects.count() == before
    session.refresh_from_db()
    assert session.state == state


def test_an_unknown_state_is_422(session, api_as):
    response = api_post(api_as("nurse"), f"/sessions/{session.pk}/transitions", {"to": "flying"})
    assert response.status_code == 422
    assert "to" in response.json()["errors"][0]["field"]
    assert api_post(api_as("nurse"), f"/sessions/{session.pk}/transitions", {}).status_code == 422


def test_unmet_requirements_are_named_in_the_409(session, users, api_as):
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    response = api_post(
        api_as("prescriber"),
        f"/sessions/{session.pk}/transitions",
        {"to": "checklist_passed", "reason": "override all"},
    )
    assert response.status_code == 409
    errors = response.json()["errors"]
    assert all(e["field"] == "to" for e in errors)
    by_code = {e["rule"]: e for e in errors}
    assert by_code["checklist"]["overridable"] is False  # no checklist at all: no override
    assert {"fasting", "driver", "cssrs", "baseline_vitals", "weight"} <= set(by_code)
    assert "Complete the pre-session checklist" in response.json()["detail"]


def test_checklist_override_needs_a_prescriber_with_a_reason(session, users, api_as):
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    short_fast(session, users)
    path = f"/sessions/{session.pk}/transitions"
    for role, body in [
        ("nurse", {"to": "checklist_passed"}),
        ("nurse", {"to": "checklist_passed", "reason": "ate a biscuit"}),  # nurses never override
        ("therapist", {"to": "checklist_passed", "reason": "ate a biscuit"}),
        ("prescriber", {"to": "checklist_passed"}),  # a prescriber must give a reason
        ("prescriber", {"to": "checklist_passed", "reason": "   "}),
    ]:
        response = api_post(api_as(role), path, body)
        assert response.status_code == 409, (role, body)
        assert response.json()["errors"] == [
            {
                "field": "to",
                "rule": "fasting",
                "overridable": True,
                "message": "Fasting: 2.0 h (at least 4 h, clinic policy)",
            }
        ]
        assert "prescriber's override" in response.json()["detail"]
    assert not session.transitions.filter(to_state="checklist_passed").exists()
    response = api_post(
        api_as("prescriber"), path, {"to": "checklist_passed", "reason": "Clear fluids only"}
    )
    assert response.status_code == 200
    transition = response.json()["transition"]
    assert transition["overridden"] == ["fasting"] and transition["reason"] == "Clear fluids only"
    assert transition["by"] == users["prescriber"].email
    recorded = session.transitions.get(to_state="checklist_passed")
    assert recorded.overridden == ["fasting"] and recorded.by_id == users["prescriber"].pk
    assert AuditEntry.objects.filter(what__contains="(override: fasting)").exists()
    shown = api_as("nurse").get(f"/api/v1/sessions/{session.pk}").json()["transitions"][-1]
    assert shown["overridden"] == ["fasting"]


def test_critical_baseline_override_to_dose(session, users, api_as):
    nurse = Actor.for_user(users["nurse"])
    session = run_to(session, users, State.DOSE_ORDERED, minutes_ago=30)
    response = api_post(
        api_as("nurse"),
        f"/sessions/{session.pk}/vitals",
        {"readings": [reading(timezone.now(), 186, 112)]},
    )
    [alert] = [a for a in response.json()["alerts"] if a["level"] == "critical"]
    services.record_administration(
        nurse, session, draw=scenario.draw(session, timezone.now(), users["prescriber"]),
        started_at=timezone.now(),
    )  # fmt: skip
    path = f"/sessions/{session.pk}/transitions"
    response = api_post(api_as("prescriber"), path, {"to": "dosing", "reason": "reviewed"})
    assert response.status_code == 409 and "critical_alert" in _rules(response)
    services.acknowledge_vital_alert(
        nurse, VitalAlert.objects.get(pk=alert["id"]), action_taken="Rested, informed prescriber"
    )
    response = api_post(api_as("nurse"), path, {"to": "dosing", "reason": "it came down"})
    assert response.status_code == 409 and _rules(response) == ["baseline_vitals"]
    response = api_post(
        api_as("prescriber"), path, {"to": "dosing", "reason": "White-coat hypertension"}
    )
    assert response.status_code == 200
    assert response.json()["transition"]["overridden"] == ["baseline_vitals"]


def test_discharge_override_path(session, users, api_as):
    nurse = Actor.for_user(users["nurse"])
    session = run_to(session, users, State.RECOVERY)
    services.record_vitals(
        nurse, session, [reading(timezone.now() - timedelta(minutes=1), 122, 78)]
    )
    unmet = services.assess_discharge(nurse, session, **{**DISCHARGE, "sedation_moaas": 4})
    assert [r.code for r in unmet] == ["sedation"]
    path = f"/sessions/{session.pk}/transitions"
    for role, body in [
        ("nurse", {"to": "discharged", "reason": "Looks fine"}),
        ("prescriber", {"to": "discharged"}),
    ]:
        response = api_post(api_as(role), path, body)
        assert response.status_code == 409 and _rules(response) == ["sedation"]
    response = api_post(
        api_as("prescriber"), path, {"to": "discharged", "reason": "Baseline MOAA/S is 4"}
    )
    assert response.status_code == 200 and response.json()["state"] == "discharged"
    assert response.json()["transition"]["overridden"] == ["sedation"]
    session.refresh_from_db()
    assert session.discharge_unmet == ["sedation"]


def test_cancelling_needs_a_reason(session, api_as):
    path = f"/sessions/{session.pk}/transitions"
    response = api_post(api_as("nurse"), path, {"to": "cancelled"})
    assert response.status_code == 422 and "reason" in response.json()["errors"][0]["field"]
    response = api_post(api_as("nurse"), path, {"to": "cancelled", "reason": "Patient unwell"})
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert response.json()["allowed_next"] == []
    session.appointment.refresh_from_db()
    assert session.appointment.status == "cancelled"


def test_transition_roles(session, api_as):
    for role in ("front_desk", "patient", "clinic_admin"):
        response = api_post(
            api_as(role), f"/sessions/{session.pk}/transitions", {"to": "checked_in"}
        )
        assert response.status_code == 403
    assert not Transition.objects.exists()
    assert (
        api_post(api_as("nurse"), "/sessions/999999/transitions", {"to": "checked_in"}).status_code
        == 404
    )


# --- the note --------------------------------------------------------------------------------


def test_note_draft_sign_and_amend(session, users, api_as):
    session = run_to(session, users, State.RECOVERY)
    path = f"/sessions/{session.pk}/note"
    assert api_post(api_as("nurse"), path, {"text": "  "}).status_code == 422
    response = api_post(api_as("nurse"), path, {"text": "Draft one."})
    assert response.status_code == 200 and response.json()["author"] == users["nurse"].email
    assert api_post(api_as("nurse"), path, {"text": "Draft two."}).json()["text"] == "Draft two."
    # Signing waits for discharge; amending waits for signing.
    response = api_post(api_as("prescriber"), f"{path}/sign")
    assert response.status_code == 409 and _rules(response) == ["not_open"]
    response = api_post(api_as("prescriber"), f"{path}/amendments", {"text": "x", "reason": "y"})
    assert response.status_code == 409 and _rules(response) == ["not_signed"]
    # Moving to note_signed through /transitions signs the note as the caller.
    session = discharge(session, users)
    response = api_post(
        api_as("prescriber"), f"/sessions/{session.pk}/transitions", {"to": "note_signed"}
    )
    assert response.status_code == 200 and response.json()["state"] == "note_signed"
    note = SessionNote.objects.get(session=session)
    assert note.signed_by_id == users["prescriber"].pk and note.signed_at is not None
    assert (
        api_post(api_as("therapist"), f"{path}/amendments", {"text": "x", "reason": ""}).status_code
        == 422
    )
    response = api_post(
        api_as("therapist"),
        f"{path}/amendments",
        {"text": "Added: slept well.", "reason": "Patient called"},
    )
    assert response.status_code == 201
    assert response.json()["author"] == users["therapist"].email


def test_the_state_never_reaches_note_signed_with_an_unsigned_note(session, users):
    session = run_to(session, users, State.DISCHARGED)
    services.save_note(Actor.for_user(users["nurse"]), session, "Draft.")
    with pytest.raises(Conflict) as refused:
        services.transition(Actor.for_user(users["prescriber"]), session, State.NOTE_SIGNED)
    assert [r.code for r in refused.value.unmet] == ["note_unsigned"]


def test_a_signed_note_cannot_change_through_any_api_route(session, users, api_as):
    session = run_to(session, users, State.NOTE_SIGNED)
    note = SessionNote.objects.get(session=session)
    original = (note.text, note.signed_by_id, note.signed_at)
    base = f"/sessions/{session.pk}"
    for role in ("nurse", "prescriber"):
        client = api_as(role)
        response = api_post(client, f"{base}/note", {"text": "Rewritten."})
        assert response.status_code == 409 and _rules(response) == ["note_signed"]
        assert "amendment" in response.json()["detail"]
        response = api_post(client, f"{base}/note/sign")
        assert response.status_code == 409
        for target in State.values:
            response = api_post(client, f"{base}/transitions", {"to": target, "reason": "redo"})
            assert response.status_code == 409, target
        for method in ("put", "patch", "delete"):
            response = getattr(client, method)(
                f"/api/v1{base}/note", {"text": "Rewritten."}, content_type="application/json"
            )
            assert response.status_code == 405, method
        response = api_post(client, f"{base}/vitals", {"readings": [reading(timezone.now())]})
        assert response.status_code == 409
    # An amendment is added beside the note; the signed text stays as it was.
    response = api_post(
        api_as("prescriber"),
        f"{base}/note/amendments",
        {"text": "Correction: 2 devices.", "reason": "Typo"},
    )
    assert response.status_code == 201
    note.refresh_from_db()
    assert (note.text, note.signed_by_id, note.signed_at) == original
    shown = api_as("nurse").get(f"/api/v1{base}").json()["note"]
    assert shown["text"] == original[0]
    assert [a["text"] for a in shown["amendments"]] == ["Correction: 2 devices."]
    assert note.history.count() == 2  # the draft and its signing; nothing after


def test_note_routes_need_a_clinical_role(session, users, api_as):
    session = run_to(session, users, State.DISCHARGED)
    base = f"/sessions/{session.pk}/note"
    for role in ("front_desk", "patient", "clinic_admin"):
        assert api_post(api_as(role), base, {"text": "x"}).status_code == 403
        assert api_post(api_as(role), f"{base}/sign").status_code == 403
        assert (
            api_post(api_as(role), f"{base}/amendments", {"text": "x", "reason": "y"}).status_code
            == 403
        )
    assert not SessionNote.objects.filter(session=session, text="x").exists()
