"""Registering a patient directly (issue 14): the front desk's page, with the one creation
service a converted consultation request uses; bad input names the field in words and stores
nothing; one transaction with its audit entry."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.errors import FieldInvalid
from kapcare.patients.models import CareStatus, Patient
from kapcare.patients.services import create_patient

pytestmark = pytest.mark.django_db

REGISTER = "/patients/new/"
FORM = {
    "given_name": "Avery",
    "family_name": "Walkin",
    "birth_date": "1988-04-12",
    "sex_at_birth": "intersex",
    "email": "",
    "phone": "+1 555 0199",
    "preferred_contact": "phone",
    "address": "1 Clinic Road",
    "emergency_contact_name": "Sam Walkin",
    "emergency_contact_relation": "sibling",
    "emergency_contact_phone": "+1 555 0198",
}


def _stored() -> tuple[int, int, int]:
    return (
        Patient.objects.count(),
        Patient.history.count(),
        AuditEntry.objects.exclude(action=Action.READ).count(),
    )


def test_the_front_desk_registers_a_patient(client_for, users) -> None:
    client = client_for(users[Role.FRONT_DESK])
    response = client.post(REGISTER, FORM)
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert response["Location"] == reverse("patients:details", kwargs={"patient_id": patient.pk})
    assert (patient.full_name, patient.preferred_contact) == ("Avery Walkin", "phone")
    assert patient.emergency_contact_name == "Sam Walkin" and patient.address == "1 Clinic Road"
    assert patient.care_status == CareStatus.INQUIRY and patient.mrn.startswith("KC-")
    assert patient.history.count() == 1
    assert AuditEntry.objects.filter(
        action=Action.CREATE, what="patient record", patient_id=patient.pk,
        user=users[Role.FRONT_DESK],
    ).exists()  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert f"Avery Walkin is registered as patient {patient.mrn}." in page


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"birth_date": "2999-01-01"}, "Date of birth: must not be in the future"),
        ({"given_name": "   "}, "First name: This field is required."),
        ({"phone": ""}, "Phone: Enter a phone number: it is the preferred contact."),
        ({"emergency_contact_phone": "call me"}, "Emergency contact phone: Enter a phone number"),
        ({"sex_at_birth": ""}, "Sex at birth: This field is required."),
    ],
)
def test_bad_input_names_the_field_in_words_and_stores_nothing(
    client_for, users, change, words
) -> None:
    client = client_for(users[Role.FRONT_DESK])
    before = _stored()
    response = client.post(REGISTER, {**FORM, **change})
    assert response.status_code == 400
    assert words in response.content.decode()
    assert _stored() == before


def test_the_service_refuses_before_writing(users) -> None:
    before = _stored()
    desk = Actor.for_user(users[Role.FRONT_DESK])
    for kwargs, field in (
        ({"emergency_contact_name": "Sam\u202eWalkin"}, "emergency_contact_name"),
        ({"preferred_contact": "pigeon"}, "preferred_contact"),
        ({"sex_at_birth": "other"}, "sex_at_birth"),
    ):
        with pytest.raises(FieldInvalid) as refused:
            person: dict[str, Any] = {"sex_at_birth": "female", **kwargs}
            create_patient(
                desk, given_name="Avery", family_name="Walkin", birth_date=date(1988, 4, 12),
                **person,
            )  # fmt: skip
        assert refused.value.field == field
    assert _stored() == before


@pytest.mark.parametrize(("role", "status"), [(Role.CLINIC_ADMIN, 200), (Role.NURSE, 403)])
def test_who_may_register(client_for, users, role, status) -> None:
    assert client_for(users[role]).get(REGISTER).status_code == status


def test_the_navigation_offers_registration_to_the_front_desk(client_for, users) -> None:
    assert (
        f'href="{REGISTER}"'
        in client_for(users[Role.FRONT_DESK]).get("/patients/").content.decode()
    )
