"""Each role signs in and lands on a page it may see; the patient on their own home page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.policy import role_may_view
from kapcare.accounts.roles import Role
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.conftest import TEST_PASSWORD
from kapcare.courses.models import Appointment, AppointmentKind, AppointmentStatus
from kapcare.patients.models import Patient
from kapcare.patients.services import create_patient

pytestmark = pytest.mark.django_db


def _sign_in(user, next_url: str = ""):
    data = {"username": user.email, "password": TEST_PASSWORD, "next": next_url}
    return Client().post(reverse("web:login"), data, follow=True)


def _patient(given_name: str, user=None) -> Patient:
    patient = create_patient(
        Actor.system("test"), given_name=given_name, family_name="Example",
        birth_date=date(1980, 5, 1), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip
    if user is not None:
        patient.user = user
        patient.save(update_fields=["user"])
    return patient


def _book(patient: Patient, starts_in: timedelta, **fields) -> Appointment:
    starts_at = timezone.now() + starts_in
    return Appointment.objects.create(
        patient=patient, kind=fields.pop("kind", AppointmentKind.PREPARATION),
        starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), **fields,
    )  # fmt: skip


@pytest.mark.parametrize("role", Role.values)
def test_every_role_lands_on_a_page_it_may_see(role, users):
    response = _sign_in(users[role])
    landed = response.redirect_chain[-1][0]
    assert response.status_code == 200, f"{role} landed on {landed}: {response.status_code}"
    expected = "web:patient_home" if role == Role.PATIENT else "web:today"
    assert landed == reverse(expected)
    assert role_may_view(expected, role)


@pytest.mark.parametrize(
    ("role", "next_url", "lands_on"),
    [
        (Role.PATIENT, "/today/", "/me/"),
        (Role.NURSE, "/admin/", "/today/"),
        (Role.FRONT_DESK, "/patients/1/", "/today/"),
        (Role.NURSE, "/no/such/page/", "/today/"),
        (Role.NURSE, "/patients/?q=ada", "/patients/?q=ada"),
        (Role.PATIENT, "/pk/", "/pk/"),
    ],
)
def test_next_is_followed_only_to_a_page_the_role_may_see(role, next_url, lands_on, users):
    response = _sign_in(users[role], next_url)
    assert response.redirect_chain[-1][0] == lands_on
    assert response.status_code == 200


def test_the_patient_home_greets_and_lists_only_their_upcoming_appointments(users, client_for):
    mine = _patient("Robin", users[Role.PATIENT])
    soon = _book(mine, timedelta(days=2))
    _book(mine, timedelta(days=-3))  # past
    _book(mine, timedelta(days=4), status=AppointmentStatus.CANCELLED)
    _book(_patient("Other"), timedelta(days=1), kind=AppointmentKind.DOSING)

    response = client_for(users[Role.PATIENT]).get(reverse("web:patient_home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Hello, Robin" in html and "More is coming" in html
    assert html.count("Preparation meeting") == 1 and "Dosing session" not in html
    assert timezone.localtime(soon.starts_at).strftime("%-d %B %Y") in html
    read = AuditEntry.objects.get(action=Action.READ, user=users[Role.PATIENT])
    assert (read.patient_id, read.what) == (mine.pk, "patient home")


def test_a_patient_without_a_linked_record_is_told_so(users, client_for):
    _book(_patient("Unlinked"), timedelta(days=1))
    response = client_for(users[Role.PATIENT]).get(reverse("web:patient_home"))
    html = response.content.decode()
    assert response.status_code == 200 and "not linked to your patient record" in html
    assert "Preparation meeting" not in html
    assert not AuditEntry.objects.filter(action=Action.READ).exists()
