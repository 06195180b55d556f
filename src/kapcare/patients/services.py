"""Writes to patients: each in a transaction, with its audit entry."""

from __future__ import annotations

import secrets
from datetime import date

from django.db import IntegrityError, transaction

from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.patients.models import CareStatus, Patient, PatientHistory

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
    care_status: str = CareStatus.INTAKE,
    is_synthetic: bool = False,
) -> Patient:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                patient = Patient.objects.create(
                    mrn=new_mrn(),
                    given_name=given_name.strip(),
                    family_name=family_name.strip(),
                    birth_date=birth_date,
                    sex_at_birth=sex_at_birth,
                    email=email.strip().lower(),
                    phone=phone.strip(),
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
        raise ValueError(f"{sorted(unknown)[0]}: not a history field")
    with transaction.atomic():
        histories, _ = PatientHistory.objects.select_for_update().get_or_create(patient=patient)
        for name, text in texts.items():
            setattr(histories, name, text.strip())
        histories.updated_by_id = actor.user_id
        histories.save()
        record_event(actor, Action.UPDATE, "histories", patient_id=patient.pk)
    return histories
