"""Reads for intake and eligibility."""

from __future__ import annotations

from dataclasses import dataclass

from kapcare.intake.models import ReviewStatus, Screening, Verdict
from kapcare.patients.models import Patient


def latest_screening(patient: Patient) -> Screening | None:
    """The newest screening as the chart shows it: verdict, reasons, review and reviewer (not
    the input snapshot, which the screening's own page shows)."""
    return (
        patient.screenings.select_related("reviewed_by")
        .only(
            "id",
            "patient_id",
            "ruleset_version",
            "verdict",
            "reasons",
            "created_at",
            "review_status",
            "reviewed_at",
            "review_reason",
            "reviewed_by__full_name",
        )
        .first()
    )


def pending_reviews() -> list[Screening]:
    """Screenings awaiting a prescriber, oldest first."""
    return list(
        Screening.objects.filter(review_status=ReviewStatus.PENDING)
        .select_related("patient")
        .order_by("created_at")
    )


@dataclass(frozen=True)
class PlanningClearance:
    allowed: bool
    reason: str


def course_planning_clearance(patient: Patient) -> PlanningClearance:
    """Only an accepted "eligible" screening, or an override, lets a course be planned."""
    screening = latest_screening(patient)
    if screening is None:
        return PlanningClearance(False, "the patient has not been screened")
    if screening.planning_verdict is None:
        return PlanningClearance(False, f"screening #{screening.pk} awaits prescriber review")
    if screening.planning_verdict != Verdict.ELIGIBLE:
        return PlanningClearance(
            False, f"screening #{screening.pk} was accepted as {screening.verdict}"
        )
    return PlanningClearance(True, f"screening #{screening.pk} {screening.review_status}")
