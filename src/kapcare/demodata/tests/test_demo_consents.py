"""The demo clinic's dosed patients signed the current version of the treatment consent their
course's route needs (issue 14: they were dosed with the chart showing "None signed")."""

from __future__ import annotations

import pytest

from kapcare.demodata.clinic import load_demo_clinic
from kapcare.dosing import rules
from kapcare.dosing.models import DosingSession, State

pytestmark = pytest.mark.django_db


def test_every_dosed_demo_patient_signed_the_current_consent_of_the_route():
    load_demo_clinic()
    dosed = DosingSession.objects.exclude(state__in=[State.SCHEDULED, State.CANCELLED])
    assert dosed.exists()
    pairs = {(s.patient_id, s.course.route) for s in dosed.select_related("course")}
    assert {route for _, route in pairs} >= {"iv", "esketamine"}
    for patient_id, route in pairs:
        consent = rules.consent_facts(patient_id, route)
        assert consent.signed_current_version, (patient_id, route, consent)


def test_the_demo_clinic_staff_are_assigned():
    """Issue 14: planning booked appointments with nobody on them. In the demo every
    preparation and integration session has the therapist and every dosed session its nurse
    (a future dose may wait unassigned when the nurse already has the most patients at once
    that the clinic allows; the course page says "Unassigned")."""
    from kapcare.accounts.roles import Role
    from kapcare.courses.models import Appointment, AppointmentKind

    load_demo_clinic()
    talks = Appointment.objects.filter(
        course__isnull=False,
        kind__in=[AppointmentKind.PREPARATION, AppointmentKind.INTEGRATION],
    ).prefetch_related("staff")
    assert talks.count() > 10
    for appointment in talks:
        assert Role.THERAPIST in {m.role for m in appointment.staff.all()}, appointment
    dosed = DosingSession.objects.exclude(state__in=[State.SCHEDULED, State.CANCELLED])
    for session in dosed.select_related("appointment").prefetch_related("appointment__staff"):
        assert Role.NURSE in {m.role for m in session.appointment.staff.all()}, session
