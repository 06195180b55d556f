"""Writes to patients: each in a transaction, with its audit entry."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Protocol

from django.db import IntegrityError, transaction
from django.utils import timezone

from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.clinical import medications
from kapcare.clinical.dosing import WEIGHT_RANGE_KG
from kapcare.errors import Conflict, FieldInvalid, NotFound
from kapcare.patients.models import (
    MEASURED_HEIGHT_RANGE_CM,
    Allergy,
    BodyMeasurement,
    CareStatus,
    ConsentSignature,
    ConsentTemplate,
    ContactMethod,
    MedicationEntry,
    Patient,
    PatientHistory,
    SexAtBirth,
    check_birth_date,
    check_person_name,
)


class ContactsFormLike(Protocol):
    def save(self) -> Patient: ...


_MRN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_mrn() -> str:
    """A random medical record number, e.g. KC-7Q4M2X9P. Random rather than sequential so an
    MRN reveals nothing about how many patients the clinic has."""
    return "KC-" + "".join(secrets.choice(_MRN_ALPHABET) for _ in range(8))


def create_patient(
    actor: Actor,
    *,
    given_name: str,
    family_name: str,
    birth_date: date,
    sex_at_birth: str,
    email: str = "",
    phone: str = "",
    preferred_contact: str = ContactMethod.EMAIL,
    address: str = "",
    emergency_contact_name: str = "",
    emergency_contact_relation: str = "",
    emergency_contact_phone: str = "",
    care_status: str = CareStatus.INTAKE,
    is_synthetic: bool = False,
) -> Patient:
    """Register a patient (the front desk's page, the API, a converted consultation request):
    one transaction with its audit entry. FieldInvalid, before anything is written, for a
    blank name or one with control characters (the emergency contact's too, when given), a
    birth date before 1900 or in the future, and an unknown sex at birth or contact method."""
    given_name = check_person_name(given_name, "given_name")
    family_name = check_person_name(family_name, "family_name")
    emergency_contact_name = check_person_name(
        emergency_contact_name, "emergency_contact_name", required=False
    )
    check_birth_date(birth_date)
    for field, value, choices in (
        ("sex_at_birth", sex_at_birth, SexAtBirth),
        ("preferred_contact", preferred_contact, ContactMethod),
    ):
        if value not in choices.values:
            raise FieldInvalid(field, "one_of", f"must be one of {', '.join(choices.values)}")
    for _attempt in range(5):
        try:
            with transaction.atomic():
                patient = Patient.objects.create(
                    mrn=new_mrn(),
                    given_name=given_name,
                    family_name=family_name,
                    birth_date=birth_date,
                    sex_at_birth=sex_at_birth,
                    email=email.strip().lower(),
                    phone=phone.strip(),
                    preferred_contact=preferred_contact,
                    address=address.strip(),
                    emergency_contact_name=emergency_contact_name,
                    emergency_contact_relation=emergency_contact_relation.strip(),
                    emergency_contact_phone=emergency_contact_phone.strip(),
                    care_status=care_status,
                    is_synthetic=is_synthetic,
                )
                record_event(actor, Action.CREATE, "patient record", patient_id=patient.pk)
                return patient
        except IntegrityError:
            continue  # an MRN collision (1 in 10^12): draw another
    raise RuntimeError("could not allocate a unique MRN")


def update_histories(actor: Actor, patient: Patient, **texts: str) -> PatientHistory:
    """Replace the patient's histories (medical, psychiatric, trauma, substance use). Each
    change is kept as a version by django-simple-history."""
    unknown = set(texts) - {"medical", "psychiatric", "trauma", "substance_use"}
    if unknown:
        raise FieldInvalid(sorted(unknown)[0], "unknown_field", "not a history field")
    with transaction.atomic():
        histories, _ = PatientHistory.objects.select_for_update().get_or_create(patient=patient)
        for name, text in texts.items():
            setattr(histories, name, text.strip())
        histories.updated_by_id = actor.user_id
        histories.save()
        record_event(actor, Action.UPDATE, "histories", patient_id=patient.pk)
    return histories


def add_measurement(
    actor: Actor, patient: Patient, *, weight_kg: Decimal, height_cm: Decimal
) -> BodyMeasurement:
    """Record today's weight and height; earlier measurements stay as they were. FieldInvalid
    (``out_of_range``) for a weight outside the dosing range or an implausible height."""
    for field, value, (low, high), unit in (
        ("weight_kg", weight_kg, WEIGHT_RANGE_KG, "kg"),
        ("height_cm", height_cm, MEASURED_HEIGHT_RANGE_CM, "cm"),
    ):
        if not low <= value <= high:
            raise FieldInvalid(
                field,
                "out_of_range",
                f"must be {low}-{high} {unit}",
                low=float(low),
                high=float(high),
                entered=value,
            )
    with transaction.atomic():
        measurement = BodyMeasurement.objects.create(
            patient=patient, measured_at=timezone.now(), weight_kg=weight_kg,
            height_cm=height_cm, recorded_by_id=actor.user_id,
        )  # fmt: skip
        record_event(actor, Action.CREATE, "weight and height", patient_id=patient.pk)
    return measurement


def add_allergy(actor: Actor, patient: Patient, *, substance: str, reaction: str = "") -> Allergy:
    substance = substance.strip()
    if not substance:
        raise FieldInvalid("substance", "required", "required")
    with transaction.atomic():
        allergy = Allergy.objects.create(
            patient=patient, substance=substance[:200], reaction=reaction.strip()[:200]
        )
        record_event(actor, Action.CREATE, f"allergy {substance[:80]}", patient_id=patient.pk)
    return allergy


def add_medication(
    actor: Actor, patient: Patient, *, generic_name: str, dose: str = ""
) -> MedicationEntry:
    """Add a current medication; its class comes from the clinical core's matcher."""
    generic_name = generic_name.strip()
    if not generic_name:
        raise FieldInvalid("generic_name", "required", "required")
    with transaction.atomic():
        entry = MedicationEntry.objects.create(
            patient=patient, generic_name=generic_name[:200], dose=dose.strip()[:100],
            drug_class=medications.classify(generic_name) or "",
        )  # fmt: skip
        record_event(actor, Action.CREATE, f"medication {generic_name[:80]}", patient_id=patient.pk)
    return entry


def _medication_key(name: str) -> str:
    """Two entries name the same medication when their generic names agree, case and spacing
    aside ("Phenelzine " and "phenelzine")."""
    return " ".join(name.split()).casefold()


def add_missing_medications(
    actor: Actor, patient: Patient, generic_names: Iterable[str], *, source: str
) -> list[MedicationEntry]:
    """Add each of ``generic_names`` that is not already active on the patient's medication
    list (the same generic name, case-insensitive; blanks and repeats are skipped) and return
    the entries added, each audited with its ``source`` (e.g. "intake screening #12"). The
    one list per patient that the chart, the dosing checklist and the REMS record read. Runs
    in the caller's transaction when there is one; the patient row is locked so two writers
    cannot both add the same name."""
    wanted: dict[str, str] = {}
    for name in generic_names:
        name = " ".join(name.split())[:200]
        if name and _medication_key(name) not in wanted:
            wanted[_medication_key(name)] = name
    added: list[MedicationEntry] = []
    with transaction.atomic():
        Patient.objects.select_for_update().only("id").get(pk=patient.pk)
        active = {
            _medication_key(name)
            for name in MedicationEntry.objects.filter(patient=patient, active=True).values_list(
                "generic_name", flat=True
            )
        }
        for key, name in wanted.items():
            if key in active:
                continue
            entry = MedicationEntry.objects.create(
                patient=patient, generic_name=name, drug_class=medications.classify(name) or ""
            )
            record_event(
                actor, Action.CREATE, f"medication {name[:80]} (from {source[:80]})",
                patient_id=patient.pk,
            )  # fmt: skip
            added.append(entry)
    return added


def stop_medication(actor: Actor, patient: Patient, entry_id: int) -> MedicationEntry:
    """NotFound (``entry_id``) when the patient has no such medication."""
    with transaction.atomic():
        entry = (
            MedicationEntry.objects.select_for_update().filter(pk=entry_id, patient=patient).first()
        )
        if entry is None:
            raise NotFound("entry_id", "No such medication for this patient.")
        entry.active = False
        entry.save(update_fields=["active"])
        record_event(actor, Action.UPDATE, f"medication {entry.generic_name} stopped",
                     patient_id=patient.pk)  # fmt: skip
    return entry


def sign_consent(
    actor: Actor, patient: Patient, template: ConsentTemplate, *, typed_name: str
) -> ConsentSignature:
    """The patient types their name to sign; the signed text is kept as it was shown.
    Conflict (``withdrawn``) for a withdrawn version; FieldInvalid (``typed_name``,
    ``not_the_patient``) for another name than the patient's."""
    typed_name = " ".join(typed_name.split())
    if not template.active:
        raise Conflict(
            "This consent version is withdrawn; use the current one.",
            field="template",
            rule="withdrawn",
        )
    if typed_name.casefold() != patient.full_name.casefold():
        raise FieldInvalid(
            "typed_name", "not_the_patient", f"must be the patient's full name, {patient.full_name}"
        )
    with transaction.atomic():
        signature = ConsentSignature.objects.create(
            patient=patient, template=template, typed_name=typed_name,
            signed_at=timezone.now(), signed_text=template.body, witnessed_by_id=actor.user_id,
        )  # fmt: skip
        record_event(actor, Action.CREATE, f"consent signed: {template}", patient_id=patient.pk)
    return signature


def update_contacts(actor: Actor, patient: Patient, form: ContactsFormLike) -> Patient:
    """Save the validated contacts form; the previous values stay in the record history."""
    with transaction.atomic():
        patient = form.save()
        record_event(actor, Action.UPDATE, "contacts", patient_id=patient.pk)
    return patient
