"""The demo clinic and scale data are synthetic, complete and loaded once."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.selectors import verify_chain
from kapcare.cli import main as kapcare
from kapcare.demodata.clinic import DEMO_PASSWORD, DEMO_PATIENTS, load_demo_clinic
from kapcare.demodata.seed import seed_patients
from kapcare.errors import FieldInvalid
from kapcare.patients.models import Patient

pytestmark = pytest.mark.django_db


def test_demo_clinic_has_every_role_and_synthetic_patients():
    assert load_demo_clinic() is True
    for email in ("admin", "prescriber", "nurse", "therapist", "frontdesk"):
        # django-axes checks every sign-in against its request.
        request = RequestFactory().post("/login/")
        user = authenticate(request, username=f"{email}@example.org", password=DEMO_PASSWORD)
        assert user is not None and user.is_synthetic, email
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert Patient.objects.count() == DEMO_PATIENTS >= 30
    assert not Patient.objects.filter(is_synthetic=False).exists()
    assert not User.objects.filter(is_synthetic=False).exists()
    assert Patient.objects.filter(user__email="patient@example.org").exists()
    assert verify_chain().intact


def test_loading_twice_changes_nothing():
    load_demo_clinic()
    patients, users = Patient.objects.count(), User.objects.count()
    assert load_demo_clinic() is False
    assert (Patient.objects.count(), User.objects.count()) == (patients, users)


def test_seed_inserts_in_bulk_with_history(capsys):
    from kapcare.assessments.models import Assessment

    argv = ["seed", "--patients", "2500", "--assessments-per-patient", "2", "--quiet"]
    assert kapcare(argv) == 0
    assert "Seeded 2500 synthetic patients and 5000 assessments" in capsys.readouterr().out
    assert Assessment.objects.count() == 5000
    assert Patient.objects.filter(is_synthetic=True).count() == 2500
    assert Patient.history.count() == 2500
    assert len(set(Patient.objects.values_list("mrn", flat=True))) == 2500


def test_seed_refuses_a_negative_count():
    with pytest.raises(FieldInvalid) as refused:
        seed_patients(-1)
    assert (refused.value.field, refused.value.rule) == ("patients", "out_of_range")


def test_demo_screenings_cover_every_state():
    from kapcare.intake.models import Screening

    load_demo_clinic()
    pending = Screening.objects.filter(review_status="pending", verdict="needs_review")
    assert pending.count() >= 2
    assert Screening.objects.filter(verdict="ineligible", review_status="accepted").count() == 1
    assert Screening.objects.filter(review_status="overridden").count() == 1
    assert Screening.objects.filter(verdict="eligible", review_status="accepted").count() >= 20
    assert not Patient.objects.filter(is_synthetic=True, primary_clinician=None).exists()


def test_demo_courses_have_documented_past_sessions_and_sessions_today():
    from django.utils import timezone

    from kapcare.dosing.models import DosingSession, State, VitalAlert
    from kapcare.integration.models import IntegrationNote

    load_demo_clinic()
    signed = DosingSession.objects.filter(state=State.NOTE_SIGNED)
    assert signed.count() >= 5
    assert all(s.note.signed_at and s.orders.exists() and s.vitals.count() >= 4 for s in signed)
    critical = VitalAlert.objects.get(level="critical")
    assert critical.code == "bp_critical" and critical.action_taken and critical.acknowledged_at
    today = timezone.localdate()
    todays = DosingSession.objects.filter(appointment__starts_at__date=today, state=State.SCHEDULED)
    assert todays.count() >= 2
    assert IntegrationNote.objects.filter(dosing_session__state=State.NOTE_SIGNED).exists()
    assert {s.course.route for s in signed} >= {"iv", "esketamine"}
