"""Screening API: screen a patient with the Intake fields; a prescriber reviews the result."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict

from kapcare.api.routing import endpoint
from kapcare.audit.services import Actor
from kapcare.intake.models import Screening
from kapcare.intake.services import ReviewError, review_screening, screen_patient
from kapcare.patients.models import Patient

router = Router(tags=["intake"])


class IntakeIn(Schema):
    """kapcare.clinical.eligibility.Intake without age_years (it comes from the birth date)."""

    model_config = ConfigDict(extra="forbid")

    systolic_bp: int | None = None
    diastolic_bp: int | None = None
    pregnant: bool = False
    breastfeeding: bool = False
    history_of_psychosis: bool = False
    current_mania: bool = False
    aneurysmal_vascular_disease: bool = False
    arteriovenous_malformation: bool = False
    intracerebral_hemorrhage_history: bool = False
    unstable_cardiovascular_disease: bool = False
    active_substance_use_disorder: bool = False
    ketamine_hypersensitivity: bool = False
    severe_hepatic_impairment: bool = False
    elevated_intracranial_or_intraocular_pressure: bool = False
    medications: list[str] = []
    cssrs_risk: Literal["none", "low", "moderate", "high"] | None = None


class ReasonOut(Schema):
    code: str
    level: str
    message: str
    source: str


class ScreeningOut(Schema):
    id: int
    patient_id: int
    verdict: str
    reasons: list[ReasonOut]
    ruleset_version: str
    review_status: str
    planning_verdict: str | None
    review_reason: str


class ReviewIn(Schema):
    decision: Literal["accept", "override"]
    reason: str = ""


def _out(screening: Screening) -> ScreeningOut:
    return ScreeningOut(
        id=screening.pk,
        patient_id=screening.patient_id,
        verdict=screening.verdict,
        reasons=[ReasonOut(**reason) for reason in screening.reasons],
        ruleset_version=screening.ruleset_version,
        review_status=screening.review_status,
        planning_verdict=screening.planning_verdict,
        review_reason=screening.review_reason,
    )


@endpoint(
    router, "POST", "/patients/{patient_id}/screenings", operation_id="screen_patient",
    response={201: ScreeningOut},
)  # fmt: skip
def create_screening(request: HttpRequest, patient_id: int, payload: IntakeIn):
    """Run the eligibility screening on the Intake fields and store it for review."""
    patient = get_object_or_404(Patient, pk=patient_id)
    fields = payload.model_dump()
    fields["medications"] = tuple(fields["medications"])
    try:
        screening = screen_patient(Actor.from_request(request), patient, fields)
    except ValueError as error:
        raise HttpError(422, str(error)) from error
    return Status(201, _out(screening))


@endpoint(
    router, "POST", "/screenings/{screening_id}/review", operation_id="review_screening",
    response=ScreeningOut,
)  # fmt: skip
def review(request: HttpRequest, screening_id: int, payload: ReviewIn) -> ScreeningOut:
    """A prescriber accepts the verdict, or overrides it with a reason (required)."""
    get_object_or_404(Screening, pk=screening_id)
    try:
        screening = review_screening(
            Actor.from_request(request), screening_id, payload.decision, payload.reason
        )
    except ReviewError as error:
        status = 409 if "already" in str(error) else 422
        raise HttpError(status, str(error)) from error
    return _out(screening)
