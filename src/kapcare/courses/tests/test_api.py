"""The courses API: planning a course (201 shape, 409 not eligible, 422 naming the field,
prescriber only), a patient's courses with progress, and the protocols."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kapcare.assessments.services import record_assessment
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.courses.models import Appointment, TreatmentCourse
from kapcare.dosing.models import DosingSession
from kapcare.patients.services import create_patient


def _api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def _plan(client: Client, patient_id: int, **body):
    payload = {"protocol": "iv-ptsd", "start_date": timezone.localdate().isoformat(), **body}
    return client.post(
        f"/api/v1/patients/{patient_id}/courses", payload, content_type="application/json"
    )


def test_prescriber_plans_a_course_and_gets_its_sessions_in_time_order(
    cleared_patient, users, token_for
):
    response = _plan(_api(token_for(users["prescriber"])), cleared_patient.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    course = TreatmentCourse.objects.get(pk=body["id"])
    assert body["protocol"] == "iv-ptsd" and course.patient_id == cleared_patient.pk
    sessions = body["sessions"]
    assert [s["scheduled_for"] for s in sessions] == sorted(s["scheduled_for"] for s in sessions)
    kinds = [s["kind"] for s in sessions]
    assert kinds[0] == "preparation"
    assert kinds.count("dosing") == 6 and kinds.count("integration") == 6
    assert set(sessions[0]) >= {"id", "kind", "scheduled_for", "phase", "number"}
    dosing = [s for s in sessions if s["kind"] == "dosing"]
    assert [s["number"] for s in dosing] == [1, 2, 3, 4, 5, 6]
    assert {s["phase"] for s in dosing} == {"induction"}
    for entry in dosing:  # a dosing entry's id is the dosing session's (GET /sessions/{id})
        session = DosingSession.objects.get(pk=entry["id"])
        assert entry["session_id"] == session.pk
        assert entry["appointment_id"] == session.appointment_id
        assert entry["state"] == "scheduled"
    for entry in sessions:
        if entry["kind"] != "dosing":
            appointment = Appointment.objects.get(pk=entry["id"])
            assert appointment.kind == entry["kind"] and entry["appointment_id"] == entry["id"]
            assert entry["session_id"] is None
    integration = [s for s in sessions if s["kind"] == "integration"]
    assert [s["follows_session_id"] for s in integration] == [s["id"] for s in dosing]
    # The ids from the list open the sessions.
    nurse = _api(token_for(users["nurse"]))
    for entry in dosing[:2]:
        got = nurse.get(f"/api/v1/sessions/{entry['id']}")
        assert got.status_code == 200 and got.json()["state"] == "scheduled"


def test_a_patient_without_a_screening_is_not_eligible_409(users, token_for):
    patient = create_patient(
        Actor.system("test"),
        given_name="Nora",
        family_name="Unscreened",
        birth_date=date(1990, 1, 1),
        sex_at_birth="female",
        is_synthetic=True,
    )
    response = _plan(_api(token_for(users["prescriber"])), patient.pk)
    assert response.status_code == 409
    body = response.json()
    assert body["detail"].startswith("Not eligible for a treatment course: ")
    assert "not been screened" in body["detail"]
    [error] = body["errors"]
    assert (error["field"], error["rule"]) == ("patient_id", "not_eligible")
    assert "not been screened" in error["message"]
    assert not TreatmentCourse.objects.filter(patient=patient).exists()
    assert not Appointment.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"protocol": "no-such-protocol"}, "protocol"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"start_date": "next tuesday"}, "start_date"),
        ({"start_date": "2001-01-01"}, "start_date"),
        ({"start_date": "2099-01-01"}, "start_date"),
        ({"protocol": None}, "protocol"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_422_naming_the_field(cleared_patient, users, token_for, body, field):
    response = _plan(_api(token_for(users["prescriber"])), cleared_patient.pk, **body)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert any(field in error["field"] for error in errors), errors
    assert not TreatmentCourse.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"protocol": "no-such-protocol"}, "protocol", "not_found"),
        ({"start_date": "2001-01-01"}, "start_date", "in_past"),
        ({"start_date": "2099-01-01"}, "start_date", "too_far_ahead"),
    ],
)
def test_a_refused_plan_names_the_rule(cleared_patient, users, token_for, body, field, rule):
    response = _plan(_api(token_for(users["prescriber"])), cleared_patient.pk, **body)
    assert response.status_code == 422
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(field, rule)]


def test_a_retired_protocol_is_422(cleared_patient, users, token_for):
    from kapcare.courses.models import Protocol

    Protocol.objects.filter(code="im").update(active=False)
    response = _plan(_api(token_for(users["prescriber"])), cleared_patient.pk, protocol="im")
    assert response.status_code == 422
    assert "retired" in response.json()["detail"]
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [("protocol", "retired")]


def test_unknown_patient_is_404(db, users, token_for):
    assert _plan(_api(token_for(users["prescriber"])), 999_999).status_code == 404


@pytest.mark.parametrize("role", ["nurse", "therapist", "front_desk", "clinic_admin", "patient"])
def test_only_a_prescriber_plans(cleared_patient, users, token_for, role):
    response = _plan(_api(token_for(users[role])), cleared_patient.pk)
    assert response.status_code == 403
    assert not TreatmentCourse.objects.exists()


def test_courses_list_shows_progress_and_score_change(
    cleared_patient, users, token_for, plan_course_for
):
    from kapcare.dosing import scenario

    nurse = Actor.for_user(users["nurse"])
    now = timezone.now()
    record_assessment(
        nurse,
        cleared_patient,
        "pcl5",
        [3] * 20,
        source="staff",
        administered_at=now - timedelta(days=1),
    )
    course = plan_course_for(cleared_patient)
    first = course.dosing_sessions.order_by("appointment__starts_at").first()
    scenario.run_to(
        first,
        "note_signed",
        nurse=users["nurse"],
        prescriber=users["prescriber"],
        start=now - timedelta(hours=3),
    )
    record_assessment(nurse, cleared_patient, "pcl5", [1] * 20, source="staff")
    response = _api(token_for(users["therapist"])).get(
        f"/api/v1/patients/{cleared_patient.pk}/courses"
    )
    assert response.status_code == 200
    [summary] = response.json()
    assert summary["id"] == course.pk and summary["protocol"] == "iv-ptsd"
    progress = summary["progress"]
    assert progress["dosing_total"] == 6 and progress["dosing_done"] == 1
    assert progress["integration_total"] == 6
    assert progress["next_session_id"] != first.pk
    [pcl5] = progress["scores"]
    assert pcl5["instrument"] == "pcl5" and pcl5["baseline_total"] == 60
    assert pcl5["current_total"] == 20 and pcl5["delta"] == -40
    assert pcl5["response"] is True and pcl5["remission"] is True
    assert AuditEntry.objects.filter(
        action=Action.READ, patient_id=cleared_patient.pk, what="API treatment courses"
    ).exists()
    front_desk = _api(token_for(users["front_desk"]))
    assert front_desk.get(f"/api/v1/patients/{cleared_patient.pk}/courses").status_code == 403


def test_protocols_are_listed_for_staff(db, users, token_for):
    response = _api(token_for(users["front_desk"])).get("/api/v1/protocols")
    assert response.status_code == 200
    by_code = {p["code"]: p for p in response.json()}
    assert {"iv-ptsd", "iv-trd", "im", "intranasal", "esketamine"} <= set(by_code)
    assert by_code["iv-ptsd"]["default_mg_per_kg"] == 0.5
    assert by_code["esketamine"]["rems_required"] is True
    assert by_code["esketamine"]["min_observation_min"] == 120
    assert _api(token_for(users["patient"])).get("/api/v1/protocols").status_code == 403
