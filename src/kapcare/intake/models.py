"""Eligibility screenings: the clinical core's verdict on an intake, and its review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from kapcare.patients.models import Patient


class Verdict(models.TextChoices):
    ELIGIBLE = "eligible", "Eligible"
    NEEDS_REVIEW = "needs_review", "Needs review"
    INELIGIBLE = "ineligible", "Ineligible"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Awaiting prescriber review"
    ACCEPTED = "accepted", "Accepted"
    OVERRIDDEN = "overridden", "Overridden"


class Screening(models.Model):
    """One run of kapcare.clinical.eligibility.screen, with a snapshot of its inputs and the
    rule set's version, so the result can always be explained as it was given."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    inputs = models.JSONField(help_text="The Intake fields as screened.")
    ruleset_version = models.CharField(max_length=20)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    reasons = models.JSONField(
        help_text="[{code, level, message, source, field}]; field since rule set 2026.1"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    review_status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"screening #{self.pk}: {self.verdict} ({self.review_status})"

    @property
    def planning_verdict(self) -> str | None:
        """The verdict treatment planning uses: an override counts as eligible; the original
        verdict is kept as it was. None until a prescriber has reviewed it."""
        if self.review_status == ReviewStatus.OVERRIDDEN:
            return Verdict.ELIGIBLE
        if self.review_status == ReviewStatus.ACCEPTED:
            return self.verdict
        return None
