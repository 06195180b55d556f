"""Screening API: screen a patient with the Intake fields; a prescriber reviews the result."""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, create_model

from kapcare.api.routing import endpoint
from kapcare.audit.services import Actor
from kapcare.clinical import eligibility
from kapcare.intake.models import Screening
from kapcare.intake.services import review_screening, screen_patient
from kapcare.patients.models import Patient

router = Router(tags=["intake"])


class _ClosedSchema(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt item must not pass as not recorded


def _intake_schema() -> type[Schema]:
    """The body of a screening: every field of ``eligibility.Intake`` with its type and default
    (None: not recorded), except those the patient's record supplies. Made from the dataclass,
    so the two cannot drift."""
    types = typing.get_type_hints(eligibility.Intake)
    fields: dict[str, Any] = {
        field.name: (
            types[field.name],
            Field(
                field.default,
                description=f"{eligibility.ITEM_LABELS[field.name]}; null or left out: "
                "not recorded (the screening then needs review)",
            ),
        )
        for field in dataclasses.fields(eligibility.Intake)
        if field.name not in eligibility.RECORD_FIELDS
    }
    return create_model(
        "IntakeIn",
        __base__=_ClosedSchema,
        __doc__="kapcare.clinical.eligibility.Intake without age_years and sex_at_birth (they "
        "come from the patient's record). medications: [] means takes none.",
        **fields,
    )


if TYPE_CHECKING:
    IntakeIn = Schema  # mypy cannot see a class made at run time
else:
    IntakeIn = _intake_schema()


class ReasonOut(Schema):
    code: str
    level: str
    message: str
    source: str
    field: str | None = Field(
        None, description="The Intake field; null on screenings stored before rule set 2026.1"
    )


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
    """Run the eligibility screening on the Intake fields and store it for review. An item
    left out or null is not recorded: the verdict is then at best "needs_review". A refusal
    (kapcare.errors) is mapped to HTTP by kapcare.api.main."""
    patient = get_object_or_404(Patient, pk=patient_id)
    screening = screen_patient(Actor.from_request(request), patient, payload.model_dump())
    return Status(201, _out(screening))


@endpoint(
    router, "POST", "/screenings/{screening_id}/review", operation_id="review_screening",
    response=ScreeningOut,
)  # fmt: skip
def review(request: HttpRequest, screening_id: int, payload: ReviewIn) -> ScreeningOut:
    """A prescriber accepts the verdict, or overrides it with a reason (required)."""
    get_object_or_404(Screening, pk=screening_id)
    screening = review_screening(
        Actor.from_request(request), screening_id, payload.decision, payload.reason
    )
    return _out(screening)
