"""Synthetic intake for the demo clinic: record details, screenings in every state, and a
prescriber's reviews. Deterministic, so every demo clinic looks the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.clinical.eligibility import CONDITION_RULES
from kapcare.clinical.medications import classify
from kapcare.intake.services import review_screening, screen_patient
from kapcare.patients.models import (
    Allergy,
    BodyMeasurement,
    ConsentTemplate,
    MedicationEntry,
    Patient,
)
from kapcare.patients.services import sign_consent, update_histories


def complete_intake_fields(**changes: Any) -> dict[str, Any]:
    """Intake fields with every item recorded and no finding (BP 122/78, no condition, no
    medications, C-SSRS none), with ``changes`` on top: an item left out would need review."""
    clean: dict[str, Any] = {
        **{rule.field: False for rule in CONDITION_RULES},
        "systolic_bp": 122,
        "diastolic_bp": 78,
        "medications": (),
        "cssrs_risk": "none",
    }
    return clean | changes


_PENDING_NEEDS_REVIEW: list[dict[str, Any]] = [
    complete_intake_fields(systolic_bp=152, diastolic_bp=94),
    complete_intake_fields(history_of_psychosis=True, systolic_bp=124, diastolic_bp=80),
    complete_intake_fields(medications=("phenelzine",), systolic_bp=130, diastolic_bp=84),
]
_INELIGIBLE = complete_intake_fields(
    aneurysmal_vascular_disease=True, systolic_bp=138, diastolic_bp=86
)
_OVERRIDDEN = complete_intake_fields(
    active_substance_use_disorder=True, systolic_bp=126, diastolic_bp=78
)
_MEDICATIONS = ("sertraline", "bupropion", "lamotrigine", "clonazepam", "escitalopram")


def load_demo() -> None:
    prescriber = User.objects.get(role=Role.PRESCRIBER, is_synthetic=True)
    nurse = User.objects.get(role=Role.NURSE, is_synthetic=True)
    nurse_actor = Actor(nurse.pk, nurse.email, nurse.role)
    prescriber_actor = Actor(prescriber.pk, prescriber.email, prescriber.role)
    patients = list(Patient.objects.filter(is_synthetic=True).order_by("id"))
    consent = ConsentTemplate.objects.create(
        code="ketamine-treatment", version=1, title="Consent to ketamine treatment (demo)",
        body=(
            "SYNTHETIC DEMO TEXT. Ketamine can cause dissociation, raised blood pressure, "
            "nausea and drowsiness. I will not drive until the next day, and I will leave with "
            "an escort. I may stop treatment at any time."
        ),
    )  # fmt: skip
    Patient.objects.filter(pk__in=[p.pk for p in patients]).update(primary_clinician=prescriber)
    now = timezone.now()
    for index, patient in enumerate(patients):
        BodyMeasurement.objects.create(
            patient=patient, measured_at=now, weight_kg=Decimal(58 + (index * 7) % 45),
            height_cm=Decimal(158 + (index * 5) % 30), recorded_by=nurse,
        )  # fmt: skip
        medication = _MEDICATIONS[index % len(_MEDICATIONS)]
        MedicationEntry.objects.create(
            patient=patient, generic_name=medication, dose="as prescribed (synthetic)",
            drug_class=classify(medication) or "",
        )  # fmt: skip
        if index % 6 == 0:
            Allergy.objects.create(patient=patient, substance="penicillin", reaction="rash")
        update_histories(
            nurse_actor, patient, psychiatric="Treatment-resistant depression (synthetic).",
            trauma="PTSD after a road traffic collision (synthetic)." if index % 2 else "",
        )  # fmt: skip
        if index % 3 == 1:
            sign_consent(nurse_actor, patient, consent, typed_name=patient.full_name)
        if index < len(_PENDING_NEEDS_REVIEW):
            screen_patient(nurse_actor, patient, _PENDING_NEEDS_REVIEW[index])
            continue
        if index == 3:
            screening = screen_patient(nurse_actor, patient, _INELIGIBLE)
            review_screening(prescriber_actor, screening.pk, "accept", "")
            continue
        if index == 4:
            screening = screen_patient(nurse_actor, patient, _OVERRIDDEN)
            review_screening(
                prescriber_actor, screening.pk, "override",
                "In sustained remission 3 years, confirmed with addiction medicine.",
            )  # fmt: skip
            continue
        fields = complete_intake_fields(
            systolic_bp=118 + index % 20, diastolic_bp=74 + index % 12, medications=(medication,)
        )
        screening = screen_patient(nurse_actor, patient, fields)
        if screening.verdict == "eligible":
            review_screening(prescriber_actor, screening.pk, "accept", "")
