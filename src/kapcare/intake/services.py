"""Writes for intake and eligibility: screening and its review, each audited."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.clinical import eligibility
from kapcare.errors import Conflict, FieldInvalid, Forbidden
from kapcare.intake.models import ReviewStatus, Screening, Verdict
from kapcare.patients.models import CareStatus, Patient
from kapcare.patients.services import add_missing_medications


def screen_patient(actor: Actor, patient: Patient, fields: dict[str, Any]) -> Screening:
    """Screen `patient` with the Intake `fields` (age and sex at birth come from the record; a
    field left out is not recorded) and store the result with its inputs and the rule set's
    version. Each medication the intake names that is not already active on the patient's
    medication list is added to it (``patients.services.add_missing_medications``), in the
    same transaction. Bad input raises FieldInvalid naming the field, and nothing is stored."""
    for field in eligibility.RECORD_FIELDS:
        if field in fields:
            raise FieldInvalid(field, "from_the_record", "comes from the patient's record")
    intake = eligibility.Intake(
        age_years=patient.age_years(timezone.localdate()),
        # The record's choices are the core's (the core checks the value again).
        sex_at_birth=cast(eligibility.SexAtBirth, patient.sex_at_birth),
        **fields,
    )
    result = eligibility.screen(intake)
    inputs = dataclasses.asdict(intake)
    if intake.medications is not None:
        inputs["medications"] = list(intake.medications)  # as the stored JSON will read
    with transaction.atomic():
        screening = Screening.objects.create(
            patient=patient,
            inputs=inputs,
            ruleset_version=result.ruleset_version,
            verdict=result.verdict,
            reasons=[dataclasses.asdict(reason) for reason in result.reasons],
            created_by_id=actor.user_id,
        )
        if intake.medications:
            # One medication list per patient: what the intake names joins the record's list
            # (which the dosing checklist and the REMS record read), in this transaction.
            add_missing_medications(
                actor, patient, intake.medications, source=f"intake screening #{screening.pk}"
            )
        if patient.care_status == CareStatus.INQUIRY:
            patient.care_status = CareStatus.INTAKE
            patient.save(update_fields=["care_status"])
        record_event(
            actor, Action.CREATE, f"eligibility screening #{screening.pk}: {result.verdict}",
            patient_id=patient.pk,
        )  # fmt: skip
    return screening


def review_screening(actor: Actor, screening_id: int, decision: str, reason: str) -> Screening:
    """A prescriber accepts the verdict or overrides it with a reason. An override makes the
    screening count as eligible for planning and keeps the original verdict. Refusals:
    Forbidden (not a prescriber), FieldInvalid (decision, reason), Conflict (reviewed)."""
    if actor.role != Role.PRESCRIBER:
        raise Forbidden("only a prescriber may review a screening")
    if decision not in ("accept", "override"):
        raise FieldInvalid("decision", "not_a_choice", "must be 'accept' or 'override'")
    reason = reason.strip()
    if decision == "override" and not reason:
        raise FieldInvalid("reason", "required", "required to override a screening verdict")
    with transaction.atomic():
        screening = (
            Screening.objects.select_for_update().select_related("patient").get(pk=screening_id)
        )
        if screening.review_status != ReviewStatus.PENDING:
            raise Conflict(
                f"screening #{screening.pk} was already {screening.review_status}",
                rule="already_reviewed",
            )
        if decision == "override" and screening.verdict == Verdict.ELIGIBLE:
            raise FieldInvalid(
                "decision", "not_needed", "an eligible verdict needs no override; accept it"
            )
        screening.review_status = (
            ReviewStatus.OVERRIDDEN if decision == "override" else ReviewStatus.ACCEPTED
        )
        screening.reviewed_by_id = actor.user_id
        screening.reviewed_at = timezone.now()
        screening.review_reason = reason
        screening.save()
        patient = screening.patient
        planning = screening.planning_verdict
        new_status = None  # an accepted "needs review" leaves the care status as it was
        if planning == Verdict.ELIGIBLE:
            new_status = CareStatus.ELIGIBLE
        elif planning == Verdict.INELIGIBLE:
            new_status = CareStatus.NOT_ELIGIBLE
        if new_status and patient.care_status in (CareStatus.INQUIRY, CareStatus.INTAKE):
            patient.care_status = new_status
            patient.save(update_fields=["care_status"])
        record_event(
            actor,
            Action.UPDATE,
            f"screening #{screening.pk} {screening.review_status}"
            + (f": {reason[:120]}" if reason else ""),
            patient_id=patient.pk,
        )
    return screening
