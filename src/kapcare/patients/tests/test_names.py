"""The one rule for patients' names and birth dates (`patients.models.check_person_name`,
`check_birth_date`): through the API and through the contacts form, a blank name, a name with
control or invisible characters and a birth date before 1900 or in the future are refused
naming the field, and a refused call stores nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.patients.forms import ContactsForm
from kapcare.patients.models import Patient
from kapcare.patients.services import create_patient

# What a name may not hold, each as a client could send it.
HIDDEN = {
    "zero-width space": "Ada\u200bLovelace",
    "zero-width joiner": "Ada\u200d",
    "right-to-left override": "\u202eecalevoL",
    "left-to-right isolate": "Ada\u2066x\u2069",
    "byte order mark": "\ufeffAda",
    "tab": "Ada\tLovelace",
    "escape": "Ada\x1b[31m",
}


@pytest.fixture
def staff_api(users, token_for) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_for(users['front_desk'])}"})


def _create(client: Client, **fields: str):
    body = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "birth_date": "1985-12-10",
        "sex_at_birth": "female",
        **fields,
    }
    return client.post("/api/v1/patients", body, "application/json")


def _refused(response, field: str, rule: str) -> None:
    assert response.status_code == 422, response.content
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(field, rule)]
    assert not Patient.objects.exists()
    assert not AuditEntry.objects.filter(what="patient record").exists()


@pytest.mark.parametrize("field", ["given_name", "family_name"])
@pytest.mark.parametrize("name", [" ", " \u00a0\u3000 ", "\n"])
def test_a_blank_name_is_refused(staff_api, field, name):
    _refused(_create(staff_api, **{field: name}), field, "blank")


@pytest.mark.parametrize("field", ["given_name", "family_name"])
@pytest.mark.parametrize("name", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_name_with_control_or_invisible_characters_is_refused(staff_api, field, name):
    _refused(_create(staff_api, **{field: name}), field, "control_characters")


def test_birth_dates_before_1900_or_in_the_future_are_refused(staff_api):
    _refused(_create(staff_api, birth_date="1899-12-31"), "birth_date", "too_early")
    tomorrow = timezone.localdate() + timedelta(days=1)
    # One rule answers: the shared check_birth_date (the clinic's date), not one of the API's own.
    _refused(_create(staff_api, birth_date=tomorrow.isoformat()), "birth_date", "in_future")


def test_real_names_pass_trimmed(staff_api):
    response = _create(staff_api, given_name="  Zoë-Anne ", family_name="O'Brien Núñez")
    assert response.status_code == 201
    assert (response.json()["given_name"], response.json()["family_name"]) == (
        "Zoë-Anne",
        "O'Brien Núñez",
    )
    assert _create(staff_api, birth_date="1900-01-01").status_code == 201


@pytest.fixture
def ada(db) -> Patient:
    return create_patient(
        Actor.system("test"), given_name="Ada", family_name="Lovelace",
        birth_date=date(1985, 12, 10), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip


def _contacts(name: str) -> dict[str, str]:
    return {"preferred_contact": "email", "emergency_contact_name": name}


@pytest.mark.parametrize(
    ("name", "rule"),
    [("   ", "blank"), (HIDDEN["zero-width space"], "control_characters")],
)
def test_the_contacts_form_refuses_the_emergency_contacts_name(ada, name, rule):
    form = ContactsForm(_contacts(name), instance=ada)
    assert not form.is_valid()
    assert [e.code for e in form.errors.as_data()["emergency_contact_name"]] == [rule]


def test_the_contacts_form_keeps_no_contact_and_trims_a_name(ada):
    assert ContactsForm(_contacts(""), instance=ada).is_valid()
    form = ContactsForm(_contacts("  Charles Babbage "), instance=ada)
    assert form.is_valid() and form.cleaned_data["emergency_contact_name"] == "Charles Babbage"


def test_the_contacts_page_is_400_naming_the_field_and_saves_nothing(ada, users, client_for):
    response = client_for(users["front_desk"]).post(
        f"/patients/{ada.pk}/contacts/", _contacts(HIDDEN["right-to-left override"])
    )
    assert response.status_code == 400
    assert "emergency_contact_name" in response.context["form"].errors
    ada.refresh_from_db()
    assert ada.emergency_contact_name == ""
    assert not AuditEntry.objects.filter(what="contacts").exists()
