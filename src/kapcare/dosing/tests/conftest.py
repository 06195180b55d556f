"""Fixtures for the dosing tests that drive sessions through the API and the page: a session of
a chosen protocol, token clients per role, and a snapshot of every row a dosing step may write."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from kapcare.dosing.models import DosingSession


@pytest.fixture
def dosing_session_for(cleared_patient, plan_course_for) -> Callable[..., DosingSession]:
    """The first dosing session of a course of ``protocol`` for the cleared (male) patient."""

    def make(protocol: str = "iv-ptsd", start: Any = None) -> DosingSession:
        course = plan_course_for(cleared_patient, protocol, start)
        return course.dosing_sessions.order_by("appointment__starts_at").first()

    return make


@pytest.fixture
def api_as(users, token_for) -> Callable[[str], Client]:
    """A token client per role (``api_as("nurse")``), created once per test."""
    clients: dict[str, Client] = {}

    def make(role: str) -> Client:
        if role not in clients:
            clients[role] = Client(headers={"Authorization": f"Bearer {token_for(users[role])}"})
        return clients[role]

    return make


def snapshot_models() -> list[type[models.Model]]:
    """Every model of the dosing app (its simple_history tables included), the audit log, the
    patient's body measurements and the appointments (with their history tables)."""
    from kapcare.audit.models import AuditEntry
    from kapcare.courses.models import Appointment
    from kapcare.patients.models import BodyMeasurement

    found: list[type[models.Model]] = list(apps.get_app_config("dosing").get_models())
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
    """Per model: the row count and a hash of every row's values in primary-key order. With
    ``exclude_reads``, the audit log's read entries (the access log) are left out."""
    from kapcare.audit.models import Action, AuditEntry

    result: dict[str, tuple[int, str]] = {}
    for model in snapshot_models():
        rows = model._default_manager.all()
        if exclude_reads and model is AuditEntry:
            rows = rows.exclude(action=Action.READ)
        values = list(rows.order_by("pk").values_list())
        digest = hashlib.sha256(repr(values).encode()).hexdigest()
        result[model._meta.label] = (len(values), digest)
    return result
