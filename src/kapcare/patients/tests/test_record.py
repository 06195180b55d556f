"""Record entries on the chart: weight/height, allergies, medications, consent signing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.clinical.dosing import WEIGHT_RANGE_KG
from kapcare.errors import FieldInvalid, NotFound
from kapcare.patients import services
from kapcare.patients.forms import MeasurementForm
from kapcare.patients.models import (
    MEASURED_HEIGHT_RANGE_CM,
    Allergy,
    BodyMeasurement,
    ConsentSignature,
    ConsentTemplate,
    MedicationEntry,
)
from kapcare.patients.services import create_patient


@pytest.fixture
def patient(db):
    return create_patient(
        Actor.system("test"), given_name="Jules", family_name="Verneuil",
        birth_date=date(1975, 7, 7), sex_at_birth="male", is_synthetic=True,
    )  # fmt: skip


@pytest.fixture
def nurse(users, client_for):
    return client_for(users["nurse"])


def test_measurements_are_kept_over_time_with_bmi(patient, nurse):
    url = f"/patients/{patient.pk}/record/measurement/"
    assert nurse.post(url, {"weight_kg": "80.0", "height_cm": "180"}).status_code == 302
    assert nurse.post(url, {"weight_kg": "78.5", "height_cm": "180"}).status_code == 302
    latest, earlier = BodyMeasurement.objects.filter(patient=patient)
    assert (latest.weight_kg, earlier.weight_kg) == (78.5, 80)
    assert latest.bmi == 24.2
    record = nurse.get(f"/patients/{patient.pk}/chart/record/").content.decode()
    assert "78.5 kg, 180.0 cm (BMI 24.2)" in record


def test_out_of_range_weight_names_the_field_and_stores_nothing(patient, nurse):
    response = nurse.post(
        f"/patients/{patient.pk}/record/measurement/", {"weight_kg": "12", "height_cm": "180"},
        follow=True,
    )  # fmt: skip
    assert "weight_kg: Ensure this value is greater than or equal to 30." in (
        response.content.decode()
    )
    assert not BodyMeasurement.objects.exists()


@pytest.mark.parametrize(
    ("weight", "height", "field"),
    [
        (WEIGHT_RANGE_KG[0] - Decimal("0.1"), Decimal(180), "weight_kg"),
        (WEIGHT_RANGE_KG[1] + Decimal("0.1"), Decimal(180), "weight_kg"),
        (Decimal(80), MEASURED_HEIGHT_RANGE_CM[0] - 1, "height_cm"),
        (Decimal(80), MEASURED_HEIGHT_RANGE_CM[1] + 1, "height_cm"),
    ],
)
def test_the_service_refuses_a_measurement_out_of_range(patient, weight, height, field):
    with pytest.raises(FieldInvalid) as refused:
        services.add_measurement(Actor.system("test"), patient, weight_kg=weight, height_cm=height)
    assert (refused.value.field, refused.value.rule) == (field, "out_of_range")
    assert not BodyMeasurement.objects.exists()


def test_the_range_ends_are_accepted_and_the_form_uses_the_same_range(patient):
    low, high = WEIGHT_RANGE_KG
    for weight in (low, high):
        services.add_measurement(
            Actor.system("test"), patient, weight_kg=weight, height_cm=Decimal(180)
        )
    assert BodyMeasurement.objects.count() == 2
    form = MeasurementForm({"weight_kg": str(high + 1), "height_cm": "180"})
    assert not form.is_valid() and list(form.errors) == ["weight_kg"]


def test_blank_entries_are_refused_by_the_service_naming_the_field(patient):
    actor = Actor.system("test")
    with pytest.raises(FieldInvalid) as refused:
        services.add_allergy(actor, patient, substance="  ")
    assert (refused.value.field, refused.value.rule) == ("substance", "required")
    with pytest.raises(FieldInvalid) as refused:
        services.add_medication(actor, patient, generic_name="")
    assert (refused.value.field, refused.value.rule) == ("generic_name", "required")


def test_stopping_another_patients_medication_is_not_found(patient, nurse):
    other = create_patient(
        Actor.system("test"), given_name="Ines", family_name="Autre",
        birth_date=date(1980, 1, 1), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip
    entry = services.add_medication(Actor.system("test"), other, generic_name="sertraline")
    with pytest.raises(NotFound) as missing:
        services.stop_medication(Actor.system("test"), patient, entry.pk)
    assert missing.value.field == "entry_id"
    assert nurse.post(f"/patients/{patient.pk}/medications/{entry.pk}/stop/").status_code == 404
    entry.refresh_from_db()
    assert entry.active


def test_medication_class_comes_from_the_clinical_core(patient, nurse):
    nurse.post(f"/patients/{patient.pk}/record/medication/",
               {"generic_name": "Clonazepam", "dose": "0.5 mg at night"})  # fmt: skip
    nurse.post(f"/patients/{patient.pk}/record/medication/", {"generic_name": "vitamin d"})
    classes = dict(MedicationEntry.objects.values_list("generic_name", "drug_class"))
    assert classes == {"Clonazepam": "benzodiazepine", "vitamin d": ""}
    entry = MedicationEntry.objects.get(generic_name="Clonazepam")
    assert nurse.post(f"/patients/{patient.pk}/medications/{entry.pk}/stop/").status_code == 302
    entry.refresh_from_db()
    assert entry.active is False
    assert [h.active for h in entry.history.order_by("history_date")] == [True, False]


def test_allergy_and_unknown_kind(patient, nurse):
    nurse.post(
        f"/patients/{patient.pk}/record/allergy/", {"substance": "latex", "reaction": "hives"}
    )
    assert Allergy.objects.get(patient=patient).reaction == "hives"
    assert nurse.post(f"/patients/{patient.pk}/record/surgery/", {}).status_code == 404
    assert AuditEntry.objects.filter(action=Action.CREATE, patient_id=patient.pk,
                                     what="allergy latex").exists()  # fmt: skip


def test_front_desk_cannot_add_to_the_clinical_record(patient, users, client_for):
    response = client_for(users["front_desk"]).post(
        f"/patients/{patient.pk}/record/allergy/", {"substance": "latex"}
    )
    assert response.status_code == 403
    assert not Allergy.objects.exists()


@pytest.fixture
def consent(db):
    return ConsentTemplate.objects.create(
        code="ketamine-treatment", version=2, title="Consent to ketamine treatment",
        body="I understand the benefits and risks of ketamine treatment... (synthetic text)",
    )  # fmt: skip


def test_consent_is_signed_with_the_typed_name_and_keeps_its_text(patient, nurse, consent):
    url = f"/patients/{patient.pk}/consents/{consent.pk}/"
    assert "I understand the benefits" in nurse.get(url).content.decode()
    wrong = nurse.post(url, {"typed_name": "Someone Else", "agreed": "on"})
    # Shown on the typed_name input itself.
    assert wrong.status_code == 400 and "must be the patient&#x27;s full name" in (
        wrong.content.decode()
    )
    assert wrong.context["form"].errors["typed_name"] == [
        "must be the patient's full name, Jules Verneuil"
    ]
    unticked = nurse.post(url, {"typed_name": "Jules Verneuil"})
    assert unticked.status_code == 400
    assert not ConsentSignature.objects.exists()

    assert nurse.post(url, {"typed_name": "jules  verneuil", "agreed": "on"}).status_code == 302
    signature = ConsentSignature.objects.get()
    consent.body = "A later wording."
    consent.save()
    signature.refresh_from_db()
    assert signature.signed_text.startswith("I understand the benefits")
    assert signature.template.version == 2


def test_a_withdrawn_consent_version_cannot_be_signed(patient, nurse, consent):
    consent.active = False
    consent.save()
    response = nurse.post(f"/patients/{patient.pk}/consents/{consent.pk}/",
                          {"typed_name": "Jules Verneuil", "agreed": "on"})  # fmt: skip
    # Not bad input: the version is no longer in force (a conflict, 409).
    assert response.status_code == 409
    assert "This consent version is withdrawn" in response.content.decode()
    assert not ConsentSignature.objects.exists()


def test_front_desk_edits_contacts_and_primary_clinician(patient, users, client_for):
    client = client_for(users["front_desk"])
    url = f"/patients/{patient.pk}/contacts/"
    assert client.get(url).status_code == 200
    prescriber = users["prescriber"]
    response = client.post(url, {
        "email": "jules@example.org", "phone": "+1-555-0199", "preferred_contact": "sms",
        "address": "1 Synthetic Way", "emergency_contact_name": "Ana Verneuil",
        "emergency_contact_relation": "sister", "emergency_contact_phone": "+1-555-0198",
        "primary_clinician": prescriber.pk,
    })  # fmt: skip
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.primary_clinician == prescriber and patient.preferred_contact == "sms"
    assert patient.history.count() == 2  # created, then changed: the old values are kept
    assert AuditEntry.objects.filter(action=Action.UPDATE, patient_id=patient.pk,
                                     what="contacts").exists()  # fmt: skip


def test_contacts_refuse_a_non_clinician_and_bad_email(patient, users, client_for):
    client = client_for(users["front_desk"])
    response = client.post(f"/patients/{patient.pk}/contacts/", {
        "email": "not-an-email", "preferred_contact": "email",
        "primary_clinician": users["front_desk"].pk,
    })  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert "Email: Enter a valid email address." in html
    assert "Primary clinician: Select a valid choice." in html
    patient.refresh_from_db()
    assert patient.email == "" and patient.primary_clinician is None
