"""Consultation requests: what a member of the public sends from the public form, until the
front desk converts it into a patient or closes it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from kapcare.patients.models import ContactMethod

REASON_MAX_LENGTH = 1000


class RequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    CONVERTED = "converted", "Converted to a patient"
    CLOSED = "closed", "Closed"


class ConsultationRequest(models.Model):
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    preferred_contact = models.CharField(max_length=10, choices=ContactMethod.choices)
    reason = models.TextField(max_length=REASON_MAX_LENGTH)
    submitted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # A keyed SHA-256 (HMAC with the secret key) of the sender's address, never the address
    # itself: only for the per-address rate limit, and blanked once an hour old (at the next
    # submission).
    client_hash = models.CharField(max_length=64, blank=True, db_index=True)

    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN, db_index=True
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    close_reason = models.CharField(max_length=500, blank=True)
    patient = models.OneToOneField(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consultation_request",
    )
    is_synthetic = models.BooleanField(default=False, help_text="Demo data, never a real person.")

    history = HistoricalRecords(excluded_fields=["client_hash"])

    class Meta:
        ordering = ["submitted_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="converted") | models.Q(patient__isnull=False),
                name="consultation_converted_has_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"Consultation request #{self.pk} ({self.get_status_display()})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.OPEN


class CallbackOutcome(models.TextChoices):
    REACHED = "reached", "Reached"
    NO_ANSWER = "no_answer", "No answer"
    LEFT_MESSAGE = "left_message", "Left a message"
    WRONG_NUMBER = "wrong_number", "Wrong number"


NOTE_MAX_LENGTH = 500


class CallbackAttempt(models.Model):
    """One try by the front desk to reach the person behind a request: when, who, how it went.
    Kept as logged (never edited), so the request page shows every try in order."""

    consultation = models.ForeignKey(
        ConsultationRequest, on_delete=models.PROTECT, related_name="callbacks"
    )
    attempted_at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=20, choices=CallbackOutcome.choices)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"Callback {self.get_outcome_display()} on request #{self.consultation_id}"
