"""Measurement-based care: completed rating scales, schedules, home links and suicide-risk
alerts. Scores come from the clinical core (`kapcare.clinical.instruments`); nothing here
re-computes them."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from kapcare.clinical.instruments import INSTRUMENTS

INSTRUMENT_CHOICES = [(code, instrument.name) for code, instrument in INSTRUMENTS.items()]


class Source(models.TextChoices):
    STAFF = "staff", "Entered by staff"
    HOME_LINK = "home_link", "Home link"
    API = "api", "API"


class Assessment(models.Model):
    """One completed scale. Never edited: a correction is a new record."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="assessments"
    )
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    # Every item response, in form order (item n is responses[n-1]).
    responses = models.JSONField()
    total = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=40)
    flags = models.JSONField(default=list, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    provisional_diagnosis = models.BooleanField(null=True, blank=True)
    administered_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=Source.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    link = models.OneToOneField(
        "assessments.HomeLink",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assessment",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["administered_at", "id"]
        indexes = [
            models.Index(
                fields=["patient", "instrument", "administered_at"], name="assessment_trajectory"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.total} ({self.administered_at:%Y-%m-%d})"

    @property
    def instrument_name(self) -> str:
        return INSTRUMENTS[self.instrument].name

    @property
    def has_suicide_risk(self) -> bool:
        return "suicide_risk" in (self.flags or [])


class Delivery(models.TextChoices):
    IN_CLINIC = "in_clinic", "In clinic"
    HOME_LINK = "home_link", "Home link (email)"


EVERY_DAYS_RANGE = (1, 366)
"""How often a schedule may repeat, in days: daily to once a year."""
ACTION_TAKEN_MAX_LENGTH = 4000
"""The longest action taken an alert's acknowledgement records."""


class AssessmentSchedule(models.Model):
    """A scale repeated every `every_days` days from `starts_on` (until `ends_on`, if set)."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="assessment_schedules"
    )
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    every_days = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    delivery = models.CharField(max_length=20, choices=Delivery.choices)
    # The due date for which an invitation was last queued (so each due date gets one).
    invited_for = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["patient_id", "instrument", "id"]
        indexes = [models.Index(fields=["patient", "instrument"], name="schedule_patient")]

    def __str__(self) -> str:
        return f"{self.instrument} every {self.every_days} days ({self.get_delivery_display()})"


class HomeLink(models.Model):
    """A single-use link for a patient to answer one scale from home, without signing in.
    Only a hash of the token is stored."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="home_links"
    )
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    token_hash = models.CharField(max_length=64, unique=True)
    schedule = models.ForeignKey(
        AssessmentSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"home link {self.instrument} for patient {self.patient_id}"

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.expires_at


class AlertLevel(models.TextChoices):
    URGENT = "urgent", "Urgent: review now"
    SAME_DAY = "same_day", "Same-day review"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class Alert(models.Model):
    """A suicide-risk answer waiting for a clinician. Open until acknowledged with the action
    taken."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="alerts")
    assessment = models.OneToOneField(Assessment, on_delete=models.PROTECT, related_name="alert")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_alerts",
        help_text="The patient's primary clinician; empty means every prescriber.",
    )
    level = models.CharField(max_length=20, choices=AlertLevel.choices)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "patient"], name="alert_status_patient")]

    def __str__(self) -> str:
        return f"{self.get_level_display()} alert for patient {self.patient_id}"


class TrajectoryChart(models.Model):
    """The drawn trajectory chart (SVG) of one patient's scale, kept so that pages never draw
    with matplotlib. `digest` is `charts.points_digest` of the points it was drawn from: the
    chart is up to date while the patient's scores of that scale still give the same digest.

    A derived cache, not a clinical record: it can be dropped and redrawn from the assessments
    at any time, so it has no history (no simple_history) and its writes make no audit entries
    (reading it is logged like any chart read, by the views that show it)."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="trajectory_charts"
    )
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    digest = models.CharField(max_length=64)
    svg = models.TextField()
    drawn_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "instrument"], name="trajectory_chart_patient_instrument"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument} trajectory chart for patient {self.patient_id}"
