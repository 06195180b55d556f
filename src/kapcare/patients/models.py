from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

from kapcare.accounts.roles import CLINICAL
from kapcare.errors import FieldInvalid

# --- the rule for names and birth dates: one place, used by the services, the forms (through
# the model fields' validators) and so the API --------------------------------------------------

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
MEASURED_HEIGHT_RANGE_CM = (Decimal(100), Decimal(250))
"""A height the record accepts (a plausibility check against typing errors; the weight's is the
dosing range, ``kapcare.clinical.dosing.WEIGHT_RANGE_KG``). Not the Devine formula's range
(``HEIGHT_RANGE_CM``, 120-250): the record keeps a shorter patient's height too."""
# Control (Cc) and format (Cf) characters: NUL, tabs and line breaks, zero-width spaces and
# joiners, bidirectional overrides (U+202A-U+202E, U+2066-U+2069). They hide or reorder what
# a reader sees, so two records could look the same. Surrogates (Cs) cannot be stored. Joiners
# are refused too, although some scripts write names with them: a clinic rule.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def check_person_name(value: str, field: str, *, required: bool = True) -> str:
    """The name without surrounding whitespace. FieldInvalid naming ``field``: nothing but
    whitespace (rule ``blank``), or a control or format character (``control_characters``).
    Not ``required``: an empty value is no name and passes."""
    if not value and not required:
        return ""
    name = value.strip()
    if not name:
        raise FieldInvalid(field, "blank", "must not be blank")
    hidden = next((c for c in name if unicodedata.category(c) in _HIDDEN_CATEGORIES), None)
    if hidden is not None:
        raise FieldInvalid(
            field,
            "control_characters",
            f"must not contain control or invisible characters (U+{ord(hidden):04X})",
        )
    return name


def check_birth_date(value: date, field: str = "birth_date") -> date:
    """FieldInvalid naming ``field`` before 1900-01-01 (``too_early``) or after today in the
    clinic's time zone (``in_future``)."""
    if value < EARLIEST_BIRTH_DATE:
        raise FieldInvalid(field, "too_early", f"must be on or after {EARLIEST_BIRTH_DATE}")
    if value > timezone.localdate():
        raise FieldInvalid(field, "in_future", "must not be in the future")
    return value


def _as_validation_error(refused: FieldInvalid) -> ValidationError:
    return ValidationError(refused.problems[0].message, code=refused.rule)


def validate_person_name(value: str) -> None:
    """`check_person_name` as a model field validator (forms run it on non-empty values)."""
    try:
        check_person_name(value, "name", required=False)
    except FieldInvalid as refused:
        raise _as_validation_error(refused) from None


def validate_birth_date(value: date) -> None:
    """`check_birth_date` as a model field validator."""
    try:
        check_birth_date(value)
    except FieldInvalid as refused:
        raise _as_validation_error(refused) from None


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Unknown"


class CareStatus(models.TextChoices):
    """Where the patient is in the journey (docs/architecture.md §2)."""

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


class PatientQuerySet(models.QuerySet["Patient"]):
    def for_header(self) -> PatientQuerySet:
        """What the chart's header shows (``patients/_header.html``), and no more: the chart
        pages read one patient each, many times a day."""
        return self.select_related("primary_clinician").only(
            "id",
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex_at_birth",
            "care_status",
            "is_synthetic",
            "primary_clinician__full_name",
        )


class Patient(models.Model):
    """A person in the clinic's care: demographics, contacts and where they are in care."""

    mrn = models.CharField("MRN", max_length=20, unique=True)
    given_name = models.CharField(max_length=100, validators=[validate_person_name])
    family_name = models.CharField(max_length=100, validators=[validate_person_name])
    birth_date = models.DateField(validators=[validate_birth_date])
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    preferred_contact = models.CharField(
        max_length=10, choices=ContactMethod.choices, default=ContactMethod.EMAIL
    )
    address = models.TextField(blank=True)
    emergency_contact_name = models.CharField(
        max_length=200, blank=True, validators=[validate_person_name]
    )
    emergency_contact_relation = models.CharField(max_length=100, blank=True)
    emergency_contact_phone = models.CharField(max_length=40, blank=True)
    primary_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="primary_patients",
        # Every form (the contacts page, the admin) offers active clinicians only.
        limit_choices_to={"role__in": sorted(CLINICAL), "is_active": True},
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

    objects = PatientQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        indexes = [
            models.Index(Lower("family_name"), Lower("given_name"), name="patient_name_ci"),
            # The list's order: a page reads the index instead of sorting every patient.
            models.Index(fields=["family_name", "given_name", "id"], name="patient_list_order"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_years(self, on: date) -> int:
        had_birthday = (on.month, on.day) >= (self.birth_date.month, self.birth_date.day)
        return on.year - self.birth_date.year - (0 if had_birthday else 1)


class PatientHistory(models.Model):
    """Medical, psychiatric, trauma and substance-use history, as the clinician wrote it."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="histories")
    medical = models.TextField(blank=True)
    psychiatric = models.TextField(blank=True)
    trauma = models.TextField(blank=True)
    substance_use = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"histories of {self.patient}"


class BodyMeasurement(models.Model):
    """Weight and height at one time; kept over time, never overwritten."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="measurements")
    measured_at = models.DateTimeField()
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    height_cm = models.DecimalField(max_digits=4, decimal_places=1)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-measured_at", "-id"]

    def __str__(self) -> str:
        return f"{self.weight_kg} kg, {self.height_cm} cm"

    @property
    def bmi(self) -> float:
        """Body-mass index, kg/m² (WHO)."""
        height_m = float(self.height_cm) / 100
        return round(float(self.weight_kg) / (height_m * height_m), 1)


class Allergy(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="allergies")
    substance = models.CharField(max_length=200)
    reaction = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["substance"]
        verbose_name_plural = "allergies"

    def __str__(self) -> str:
        return self.substance


class MedicationEntry(models.Model):
    """A current (or stopped) medication. `drug_class` comes from the clinical core's
    medication matcher (kapcare.clinical.medications.classify), never typed by hand."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="medications")
    generic_name = models.CharField(max_length=200)
    dose = models.CharField(max_length=100, blank=True, help_text="e.g. 10 mg twice daily")
    drug_class = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-active", "generic_name"]

    def __str__(self) -> str:
        return f"{self.generic_name} {self.dose}".strip()


class ConsentTemplate(models.Model):
    """A versioned consent document. A new wording is a new version; signed copies keep the
    text they were signed with."""

    code = models.SlugField(max_length=50)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="consent_code_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class ConsentSignature(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="+")
    typed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    # The exact text the patient agreed to, kept even if the template is later edited.
    signed_text = models.TextField()
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"{self.template} signed by {self.typed_name}"
