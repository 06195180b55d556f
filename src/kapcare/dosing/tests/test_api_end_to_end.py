"""Whole dosing sessions through the API alone: an IV infusion and an esketamine session from
check-in to the signed note (the C-SSRS through the assessments API; no service calls, no
direct writes), with the clock moved across the session by time_machine. And the vitals read
model with more readings than the session read carries: the latest 200, the real total, and
paging that visits every reading once, in the order stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from kapcare.dosing import scenario
from kapcare.dosing.models import DosingSession, SessionNote, State, VitalReading
from kapcare.dosing.tests.conftest import (
    CHECKLIST,
    DISCHARGE,
    get_json,
    post_json,
    reading,
    run_to,
)
from kapcare.ledger import demo as ledger_demo


class Clock:
    """Minutes from the session's start; ``at(m)`` stops the clock there."""

    def __init__(self, start: datetime) -> None:
        self.start = start

    def __call__(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    @contextmanager
    def at(self, minutes: float) -> Iterator[None]:
        with time_machine.travel(self(minutes), tick=False):
            yield


@pytest.fixture
def tomorrow_session(dosing_session_for):
    """The first session of a course starting tomorrow, so every moment of it is ahead of the
    fixtures' own records (the screening, the weight)."""

    def make(protocol: str) -> DosingSession:
        return dosing_session_for(protocol, timezone.localdate() + timedelta(1))

    return make


def _check_in_and_pass_checklist(nurse: Client, session: DosingSession, t: Clock) -> None:
    path = f"/sessions/{session.pk}"
    with t.at(0):
        body = post_json(nurse, f"{path}/transitions", {"to": "checked_in"})
        assert body["state"] == "checked_in"
        assert {r["code"] for r in body["unmet"]} >= {"checklist", "cssrs", "baseline_vitals"}
    with t.at(5):
        body = post_json(
            nurse,
            f"/patients/{session.patient_id}/assessments",
            {"instrument": "cssrs_screen", "responses": [0] * 7},
            status=201,
        )
        assert body["instrument"] == "cssrs_screen"
    with t.at(8):
        stored = post_json(nurse, f"{path}/vitals", {"readings": [reading(t(7), 126)]}, status=201)
        assert stored["stored"] == 1 and stored["alerts"] == []
    with t.at(10):
        checklist = post_json(
            nurse,
            f"{path}/checklist",
            {**CHECKLIST, "medication_holds_note": "No holds needed"},
        )
        assert all(item["ok"] for item in checklist["items"]), checklist["items"]
        centering = post_json(nurse, f"{path}/centering", {"kind": "breathing", "minutes": 5})
        assert centering == {"kind": "breathing", "minutes": 5}
        body = post_json(nurse, f"{path}/transitions", {"to": "checklist_passed"})
        assert body["state"] == "checklist_passed"
        assert [r["code"] for r in body["unmet"]] == ["dose_order"]


@pytest.fixture
def passed_checklist(tomorrow_session, api_as):
    """A session of ``protocol`` checked in and through its checklist by the API at minutes 0
    to 10; the session, its clock, and the nurse's and prescriber's clients."""

    def make(protocol: str) -> tuple[DosingSession, Clock, Client, Client]:
        session = tomorrow_session(protocol)
        t = Clock(session.appointment.starts_at)
        _check_in_and_pass_checklist(api_as("nurse"), session, t)
        return session, t, api_as("nurse"), api_as("prescriber")

    return make


def _discharge_and_sign(
    nurse: Client, prescriber: Client, session: DosingSession, t: Clock, discharge_at: int
) -> dict[str, Any]:
    path = f"/sessions/{session.pk}"
    with t.at(discharge_at):
        post_json(nurse, f"{path}/scores", {"scale": "moaas", "value": 5}, status=201)
        unmet = post_json(nurse, f"{path}/discharge-assessment", DISCHARGE)
        assert unmet == {"unmet": []}
        reflection = post_json(nurse, f"{path}/reflection", {"reflection": "Felt at a distance"})
        assert reflection == {"reflection": "Felt at a distance"}
        body = post_json(nurse, f"{path}/transitions", {"to": "discharged"})
        assert body["state"] == "discharged", body
    with t.at(discharge_at + 10):
        note = post_json(prescriber, f"{path}/note", {"text": "Tolerated well (synthetic)."})
        assert note["signed_at"] is None
        signed = post_json(prescriber, f"{path}/note/sign")
        assert signed["signed_at"] is not None
    return signed


def _assert_signed_and_readable(
    nurse: Client, session: DosingSession, signer: str, readings: int
) -> dict[str, Any]:
    path = f"/sessions/{session.pk}"
    detail = get_json(nurse, path)
    assert detail["state"] == "note_signed" and detail["allowed_next"] == []
    assert [t["to_state"] for t in detail["transitions"]] == scenario.ORDER
    assert detail["note"]["signed_by"] == signer and detail["note"]["signed_at"]
    assert detail["note"]["text"] == "Tolerated well (synthetic)."
    note = SessionNote.objects.get(session_id=session.pk)
    assert note.signed_at is not None and note.signed_by is not None
    assert note.signed_by.email == signer
    # Locked: a rewrite is refused and the text stays as signed.
    post_json(nurse, f"{path}/note", {"text": "Rewritten."}, status=409)
    note.refresh_from_db()
    assert note.text == "Tolerated well (synthetic)."
    assert len(detail["vitals"]) == readings <= 200
    assert detail["vitals_total"] == readings
    assert detail["vitals_cursor"]
    assert [v["taken_at"] for v in detail["vitals"]] == sorted(
        v["taken_at"] for v in detail["vitals"]
    )
    after = nurse.get(f"/api/v1{path}/vitals", {"after": detail["vitals_cursor"]})
    assert after.status_code == 200 and after.json()["readings"] == []
    assert after.json()["has_more"] is False
    assert detail["open_critical_alerts"] == []
    return detail


def test_a_whole_iv_session_through_the_api_alone(passed_checklist, users, token_for):
    session, t, nurse, prescriber = passed_checklist("iv-ptsd")
    path = f"/sessions/{session.pk}"
    with t.at(15):
        order = post_json(prescriber, f"{path}/orders", {"mg_per_kg": 0.5}, status=201)
        assert (order["mg_per_kg"], order["weight_kg"], order["dose_mg"]) == (0.5, 70.0, 35.0)
        assert (order["volume_ml"], order["duration_min"], order["rate_ml_per_h"]) == (
            100,
            40,
            150.0,
        )
        assert order["devices"] is None and order["signed_by"] == users["prescriber"].email
        assert get_json(nurse, path)["state"] == "dose_ordered"
    with t.at(25):
        # Drawn from a real vial: 0.8 mL drawn, 0.7 mL (35 mg) given, 0.1 mL wasted, the
        # prescriber witnessing with their own token.
        vial = ledger_demo.container_for(session.route, Decimal(40), t(25))
        answer = nurse.post(
            f"/api/v1{path}/administration",
            {
                "container_id": vial.pk, "drawn_ml": "0.8", "given_ml": "0.7",
                "wasted_ml": "0.1", "waste_manner": "Expelled into a disposal container",
                "started_at": t(25).isoformat(),
            },
            content_type="application/json",
            headers={"X-Witness-Authorization": f"Bearer {token_for(users['prescriber'])}"},
        )  # fmt: skip
        assert answer.status_code == 200, answer.content
        administration = answer.json()
        assert administration["order_id"] == order["id"] and administration["stopped_at"] is None
        assert (administration["container_id"], administration["lot_number"]) == (vial.pk, vial.lot)
        vial.refresh_from_db()
        assert (vial.balance_ml, vial.balance_mg) == (Decimal("9.20"), Decimal("460.00"))
        assert post_json(nurse, f"{path}/transitions", {"to": "dosing"})["state"] == "dosing"
    with t.at(45):
        post_json(nurse, f"{path}/side-effects", {"kind": "nausea", "severity": "mild"}, status=201)
        given = post_json(
            nurse,
            f"{path}/interventions",
            {"drug": "Ondansetron", "dose": "4 mg IV", "reason": "nausea"},
            status=201,
        )
        assert given["drug"] == "Ondansetron"
        score = post_json(
            nurse, f"{path}/scores", {"scale": "cadss6", "items": [1, 1, 0, 2, 0, 1]}, status=201
        )
        assert score["value"] == 5
    with t.at(65):
        batch = [reading(t(m), 136, 84) for m in (25, 30, 35, 40, 45, 50, 55, 60, 65)]
        assert post_json(nurse, f"{path}/vitals", {"readings": batch}, status=201)["stored"] == 9
        stopped = post_json(
            nurse,
            f"{path}/administration",
            {"started_at": t(25).isoformat(), "stopped_at": t(65).isoformat()},
        )
        assert stopped["stopped_at"] is not None
        post_json(nurse, f"{path}/scores", {"scale": "moaas", "value": 4}, status=201)
        assert post_json(nurse, f"{path}/transitions", {"to": "recovery"})["state"] == "recovery"
    with t.at(99):
        recovery = [reading(t(m), 124, 78) for m in (80, 95, 98)]
        assert post_json(nurse, f"{path}/vitals", {"readings": recovery}, status=201)["stored"] == 3
        # 34 minutes after the infusion stopped: the 30-minute minimum has passed.
    _discharge_and_sign(nurse, prescriber, session, t, discharge_at=100)
    detail = _assert_signed_and_readable(nurse, session, users["prescriber"].email, readings=13)
    assert detail["order"]["dose_mg"] == 35.0 and detail["order"]["rate_ml_per_h"] == 150.0
    assert detail["administration"]["stopped_at"] is not None
    assert [p["phase"] for p in detail["vitals"]].count("pre_dose") == 1
    assert [s["scale"] for s in detail["scores"]] == ["cadss6", "moaas", "moaas"]


def test_a_whole_esketamine_session_through_the_api_alone(passed_checklist, users):
    session, t, nurse, prescriber = passed_checklist("esketamine")
    path = f"/sessions/{session.pk}"
    with t.at(15):
        order = post_json(prescriber, f"{path}/orders", {"dose_mg": 56}, status=201)
        assert (order["route"], order["dose_mg"], order["devices"]) == ("esketamine", 56.0, 2)
        assert order["rate_ml_per_h"] is None and order["mg_per_kg"] is None
    with t.at(25):
        device = scenario.draw(session, t(25), users["prescriber"]).container_id
        post_json(
            nurse,
            f"{path}/administration",
            {"container_id": device, "started_at": t(25).isoformat()},
        )
        assert post_json(nurse, f"{path}/transitions", {"to": "dosing"})["state"] == "dosing"
        first = post_json(nurse, f"{path}/devices", {}, status=201)
        assert first["number"] == 1
    with t.at(28):  # 3 minutes later: the label spaces devices 5 minutes apart
        response = nurse.post(f"/api/v1{path}/devices", {}, content_type="application/json")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "used_at"
    with t.at(30):
        second = post_json(nurse, f"{path}/devices", {}, status=201)
        assert second["number"] == 2
        batch = [reading(t(m), 134, 84) for m in (25, 30)]
        post_json(nurse, f"{path}/vitals", {"readings": batch}, status=201)
        detail = get_json(nurse, path)
        assert detail["administration"]["stopped_at"] is not None  # the last device ends it
        post_json(nurse, f"{path}/scores", {"scale": "moaas", "value": 4}, status=201)
        assert post_json(nurse, f"{path}/transitions", {"to": "recovery"})["state"] == "recovery"
    with t.at(66):  # the "about 40 minutes" BP (40 min after the first device, ±10)
        post_json(nurse, f"{path}/vitals", {"readings": [reading(t(65), 138, 86)]}, status=201)
    with t.at(130):
        early = nurse.post(
            f"/api/v1{path}/transitions", {"to": "discharged"}, content_type="application/json"
        )
        assert early.status_code == 409  # 105 minutes after the first device: under 2 hours
    with t.at(146):
        recovery = [reading(t(m), 124, 78) for m in (95, 125, 144)]
        post_json(nurse, f"{path}/vitals", {"readings": recovery}, status=201)
    _discharge_and_sign(nurse, prescriber, session, t, discharge_at=147)
    detail = _assert_signed_and_readable(nurse, session, users["prescriber"].email, readings=7)
    devices = detail["administration"]["devices"]
    assert [d["number"] for d in devices] == [1, 2]
    gap = datetime.fromisoformat(devices[1]["used_at"]) - datetime.fromisoformat(
        devices[0]["used_at"]
    )
    assert gap == timedelta(minutes=5)
    assert detail["order"]["dose_mg"] == 56.0 and detail["order"]["devices"] == 2


# --- more readings than the session read carries ---------------------------------------------


def test_the_latest_200_readings_and_paging_through_all(session, users, api_as):
    run_to(session, users, State.DOSING)
    nurse = api_as("nurse")
    path = f"/sessions/{session.pk}"
    base = timezone.now() - timedelta(minutes=100)
    # 260 readings in three batches, not in time order across batches, with some sharing a
    # second (a monitor's backlog): the session shows the latest by time; paging follows the
    # order they were stored, so a polling client never misses a late entry.
    moments = [base + timedelta(seconds=20 * (i // 2)) for i in range(260)]
    batches = [moments[130:], moments[:100], moments[100:130]]
    for batch in batches:
        body = {"readings": [reading(m, 120 + i % 30, 80) for i, m in enumerate(batch)]}
        assert post_json(nurse, f"{path}/vitals", body, status=201)["stored"] == len(batch)
    readings = VitalReading.objects.filter(session=session)
    by_time = list(readings.order_by("taken_at", "id").values_list("id", flat=True))
    stored = list(readings.order_by("id").values_list("id", flat=True))
    assert len(stored) > 260  # the scenario's own readings too
    assert by_time != stored  # the batches were not in time order

    detail = get_json(nurse, path)
    assert detail["vitals_total"] == len(stored)
    assert [v["id"] for v in detail["vitals"]] == by_time[-200:]

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query: dict[str, Any] = {"limit": 100}
        if cursor:
            query["after"] = cursor
        response = nurse.get(f"/api/v1{path}/vitals", query)
        assert response.status_code == 200, response.content
        page = response.json()
        pages += 1
        assert len(page["readings"]) <= 100
        seen += [r["id"] for r in page["readings"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
        assert pages < 10
    assert seen == stored
    assert pages == -(-len(stored) // 100)
    # The last page's cursor and the session's cursor are both after the newest reading.
    for after in (cursor, detail["vitals_cursor"]):
        response = nurse.get(f"/api/v1{path}/vitals", {"after": after})
        assert response.json()["readings"] == []


def test_polling_with_the_session_cursor_returns_a_late_entered_reading(session, users, api_as):
    run_to(session, users, State.DOSING)
    nurse = api_as("nurse")
    path = f"/sessions/{session.pk}"
    now = timezone.now()
    post_json(
        nurse, f"{path}/vitals", {"readings": [reading(now - timedelta(minutes=1))]}, status=201
    )
    cursor = get_json(nurse, path)["vitals_cursor"]
    late = post_json(
        nurse, f"{path}/vitals", {"readings": [reading(now - timedelta(minutes=5))]}, status=201
    )
    response = nurse.get(f"/api/v1{path}/vitals", {"after": cursor})
    assert [r["id"] for r in response.json()["readings"]] == late["reading_ids"]
