"""Fixtures the integration tests share: a course begun a week ago and its first session,
documented (signed note state, a signed order)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.dosing.models import DoseOrder, State


@pytest.fixture
def course(cleared_patient, plan_course_for):
    """A course that began a week ago: its first sessions are in the past."""
    today = timezone.localdate()
    return plan_course_for(cleared_patient, start=today - timedelta(days=today.weekday() + 7))


@pytest.fixture
def first_session(course, users):
    session = course.dosing_sessions.order_by("appointment__starts_at").first()
    session.state = State.NOTE_SIGNED
    session.save()
    DoseOrder.objects.create(
        session=session, route="iv", weight_kg=Decimal("70.0"), mg_per_kg=Decimal("0.50"),
        dose_mg=Decimal("35.0"), source="test", signed_by=users[Role.PRESCRIBER],
        signed_at=session.appointment.starts_at,
    )  # fmt: skip
    return session
