"""Fixtures and helpers shared by the dosing tests: a session of a chosen protocol brought to the
state a test needs, token clients per role and the JSON calls made with them, vitals readings,
the clinical entries that meet (or miss) a step's requirements, the legal steps of the state
machine, and a snapshot of every row a dosing step may write."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from kapcare.accounts.models import User
from kapcare.assessments.services import record_assessment
from kapcare.audit.services import Actor
from kapcare.dosing import scenario, services
from kapcare.dosing.models import DosingSession, State

# --- sessions ---------------------------------------------------------------------------------


@pytest.fixture
def dosing_session_for(cleared_patient, plan_course_for) -> Callable[..., DosingSession]:
    """The first dosing session of a course of ``protocol`` for the cleared (male) patient."""

    def make(protocol: str = "iv-ptsd", start: Any = None) -> DosingSession:
        course = plan_course_for(cleared_patient, protocol, start)
        return course.dosing_sessions.order_by("appointment__starts_at").first()

    return make


@pytest.fixture
def session(dosing_session_for) -> DosingSession:
    """The first (scheduled) session of an IV course for the cleared patient."""
    return dosing_session_for()


def run_to(
    session: DosingSession,
    users: dict[str, User],
    target: str,
    *,
    minutes_ago: float = 180,
    start: datetime | None = None,
    **kwargs: Any,
) -> DosingSession:
    """``scenario.run_to`` by the test nurse and prescriber, the session begun ``minutes_ago``
    (or at ``start``)."""
    nurse, prescriber = users["nurse"], users["prescriber"]
    at = start or timezone.now() - timedelta(minutes=minutes_ago)
    return scenario.run_to(session, target, nurse=nurse, prescriber=prescriber, start=at, **kwargs)


def bring_to(session: DosingSession, users: dict[str, User], state: str) -> DosingSession:
    """A scheduled session brought to any state: cancelled by the nurse, or run to it."""
    if state == State.CANCELLED:
        nurse = Actor.for_user(users["nurse"])
        return services.transition(nurse, session, state, reason="Patient unwell")
    return session if state == State.SCHEDULED else run_to(session, users, state)


ALLOWED: dict[str, set[str]] = {
    State.SCHEDULED: {State.CHECKED_IN, State.CANCELLED},
    State.CHECKED_IN: {State.CHECKLIST_PASSED, State.CANCELLED},
    State.CHECKLIST_PASSED: {State.DOSE_ORDERED, State.CANCELLED},
    State.DOSE_ORDERED: {State.DOSING, State.CANCELLED},
    State.DOSING: {State.RECOVERY},
    State.RECOVERY: {State.DISCHARGED},
    State.DISCHARGED: {State.NOTE_SIGNED},
    State.NOTE_SIGNED: set(),
    State.CANCELLED: set(),
}
"""The legal next states from each state, written out here as the tests' own oracle."""


# --- clinical entries -------------------------------------------------------------------------

NORMAL_SIGNS = {"heart_rate": 76, "spo2": 98, "resp_rate": 14}


def reading(at: datetime | str, systolic: int = 128, diastolic: int = 80, **values: Any) -> dict:
    """One vitals reading taken ``at`` (a moment, or the text a form or a marker holds): the
    blood pressure given, a normal pulse, SpO2 and breathing unless ``values`` say otherwise."""
    taken_at = at if isinstance(at, str) else at.isoformat()
    blood_pressure = {"systolic": systolic, "diastolic": diastolic}
    return {"taken_at": taken_at, **blood_pressure, **NORMAL_SIGNS, **values}


CHECKLIST: dict[str, Any] = {
    "fasting_hours": 6,
    "driver_name": "Kim Example",
    "driver_phone": "555-0101",
    "medication_holds_confirmed": True,
    "weight_kg": 70,
    "intention": "Rest",
    "pregnancy_test": "not_applicable",
}
"""A complete pre-session checklist (an API body, or a service's keyword arguments)."""

DISCHARGE: dict[str, Any] = {
    "escort_name": "Kim Example",
    "sedation_moaas": 5,
    "dissociation_resolved": True,
    "nausea_controlled": True,
    "ambulating_steadily": True,
}
"""A discharge assessment that meets every criterion."""


def short_fast(session: DosingSession, users: dict[str, User]) -> DosingSession:
    """On a checked-in session, every checklist item met but the fast (2 h): overridable."""
    nurse, now = Actor.for_user(users["nurse"]), timezone.now()
    services.save_checklist(nurse, session, **{**CHECKLIST, "fasting_hours": Decimal(2)})
    record_assessment(nurse, session.patient, "cssrs_screen", [0] * 7, source="staff")
    services.record_vitals(nurse, session, [reading(now - timedelta(minutes=1))], now=now)
    return session


def discharge(session: DosingSession, users: dict[str, User], **changes: Any) -> DosingSession:
    """A reading a minute ago and the discharge assessment (``DISCHARGE`` with ``changes``),
    then the nurse discharges a session in recovery."""
    nurse = Actor.for_user(users["nurse"])
    last = reading(timezone.now() - timedelta(minutes=1), 122, 78)
    services.record_vitals(nurse, session, [last])
    services.assess_discharge(nurse, session, **{**DISCHARGE, **changes})
    return services.transition(nurse, session, State.DISCHARGED)


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api_as(users, token_for) -> Callable[[str], Client]:
    """A token client per role (``api_as("nurse")``), created once per test."""
    clients: dict[str, Client] = {}

    def make(role: str) -> Client:
        if role not in clients:
            clients[role] = Client(headers={"Authorization": f"Bearer {token_for(users[role])}"})
        return clients[role]

    return make


def api_post(client: Client, path: str, body: Any = None) -> Any:
    """POST ``body`` (``{}`` when none) as JSON to ``/api/v1{path}``; the test client's
    response."""
    return client.post(f"/api/v1{path}", body or {}, content_type="application/json")


def post_json(client: Client, path: str, body: Any = None, *, status: int = 200) -> Any:
    """``api_post``, asserting the status; the answer's JSON."""
    response = api_post(client, path, body)
    assert response.status_code == status, (path, response.content)
    return response.json()


def get_json(client: Client, path: str) -> Any:
    """GET ``/api/v1{path}``, asserting a 200; the answer's JSON."""
    response = client.get(f"/api/v1{path}")
    assert response.status_code == 200, (path, response.content)
    return response.json()


# --- what the page and the PDF show -----------------------------------------------------------


def clock_time(moment: datetime) -> str:
    """``moment`` as the clinic's clock shows it (HH:MM)."""
    return timezone.localtime(moment).strftime("%H:%M")


def datetime_local(moment: datetime) -> str:
    """``moment`` as a datetime-local form field holds it, in the clinic's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def pdf_text(pdf: bytes) -> str:
    """The text of a one-page PDF, its white space folded (asserting the one page)."""
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().split())


# --- snapshots --------------------------------------------------------------------------------


def snapshot_models() -> list[type[models.Model]]:
    """Every model of the dosing app (its simple_history tables included), the ledger's (the
    administration's withdrawal is written with it), the audit log, the patient's body
    measurements and the appointments (with their history tables)."""
    from kapcare.audit.models import AuditEntry
    from kapcare.courses.models import Appointment
    from kapcare.patients.models import BodyMeasurement

    found: list[type[models.Model]] = list(apps.get_app_config("dosing").get_models())
    found += apps.get_app_config("ledger").get_models()
    for model in (AuditEntry, BodyMeasurement, Appointment):
        found.append(model)
        history = getattr(model, "history", None)
        if history is not None:
            found.append(history.model)
    found.append(Appointment.staff.through)
    # simple_history's table of the appointment's staff (m2m_fields) when it has one.
    found += [
        m
        for m in apps.get_app_config("courses").get_models()
        if m.__name__.startswith("HistoricalAppointment") and m not in found
    ]
    return list(dict.fromkeys(found))


def snapshot(*, exclude_reads: bool = False) -> dict[str, tuple[int, str]]:
    """Per model: the row count and a hash of every row's values in primary-key order. The audit
    log's refusal entries (a 401 or 403 is logged as an attempt, `kapcare.web.refusals`) and
    failed sign-ins (a witness's wrong password) are left out: they record the attempt, not a
    change. With ``exclude_reads``, so are its read
    entries (the access log)."""
    from kapcare.audit.models import Action, AuditEntry

    result: dict[str, tuple[int, str]] = {}
    for model in snapshot_models():
        rows = model._default_manager.all()
        if model is AuditEntry:
            rows = rows.exclude(action__in=[Action.REFUSED, Action.SIGN_IN_FAILED])
            if exclude_reads:
                rows = rows.exclude(action=Action.READ)
        values = list(rows.order_by("pk").values_list())
        digest = hashlib.sha256(repr(values).encode()).hexdigest()
        result[model._meta.label] = (len(values), digest)
    return result
