from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Unknown"


class CareStatus(models.TextChoices):
    """Where the patient is in the journey (DESIGN.md, "The journey")."""

    INQUIRY = "inquiry", "Inquiry"
    INTAKE = "intake", "Intake"
    ELIGIBLE = "eligible", "Eligible"
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    IN_COURSE = "in_course", "In course"
    MAINTENANCE = "maintenance", "Maintenance"
    DISCHARGED = "discharged", "Discharged"


class ContactMethod(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone call"
    SMS = "sms", "Text message"


class Patient(models.Model):
    """A person in the clinic's care: demographics, contacts and where they are in care."""

    mrn = models.CharField("MRN", max_length=20, unique=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    preferred_contact = models.CharField(
        max_length=10, choices=ContactMethod.choices, default=ContactMethod.EMAIL
    )
    address = models.TextField(blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_relation = models.CharField(max_length=100, blank=True)
    emergency_contact_phone = models.CharField(max_length=40, blank=True)
    primary_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="primary_patients",
        help_text="Receives this patient's alerts.",
    )
    care_status = models.CharField(
        max_length=20, choices=CareStatus.choices, default=CareStatus.INTAKE
    )
    # The patient's own sign-in for the portal, when they have one.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patient",
    )
    is_synthetic = models.BooleanField(
        default=False, help_text="Demo or benchmark data, never a real person."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        indexes = [
            models.Index(Lower("family_name"), Lower("given_name"), name="patient_name_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_years(self, on: date) -> int:
        had_birthday = (on.month, on.day) >= (self.birth_date.month, self.birth_date.day)
        return on.year - self.birth_date.year - (0 if had_birthday else 1)
