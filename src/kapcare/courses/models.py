"""Protocols, treatment courses, and the appointments that carry them (docs/architecture.md §2,
steps 3-4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from kapcare.clinical import schedule
from kapcare.clinical.protocol import ProtocolSnapshot


class Route(models.TextChoices):
    IV = "iv", "IV infusion (racemic ketamine)"
    IM = "im", "IM injection (racemic ketamine)"
    INTRANASAL = "intranasal", "Intranasal (compounded racemic ketamine)"
    ESKETAMINE = "esketamine", "Esketamine nasal spray (SPRAVATO)"


class DoseMode(models.TextChoices):
    MG_PER_KG = "mg_per_kg", "Weight-based (mg/kg)"
    FIXED_MG = "fixed_mg", "Fixed dose (mg)"


class WeightBasis(models.TextChoices):
    ACTUAL = "actual", "Actual body weight"
    IDEAL = "ideal", "Ideal body weight (Devine)"
    ADJUSTED = "adjusted", "Adjusted body weight"


def schedule_choices() -> list[tuple[str, str]]:
    return [(code, p.name) for code, p in sorted(schedule.PROTOCOLS.items())]


class Protocol(models.Model):
    """A treatment protocol template, edited by the clinic admin. A course copies it when it
    is planned (``snapshot``), so a later edit never changes a course already planned."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    route = models.CharField(max_length=20, choices=Route.choices)
    dose_mode = models.CharField(max_length=12, choices=DoseMode.choices)
    # Weight-based protocols: default and allowed range in mg/kg.
    default_mg_per_kg = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    min_mg_per_kg = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    max_mg_per_kg = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    # Fixed-dose protocols (esketamine 56/84 mg): default and allowed range in mg.
    default_dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    min_dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    max_dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    weight_basis = models.CharField(
        max_length=10, choices=WeightBasis.choices, default=WeightBasis.ACTUAL
    )
    # IV only: the infusion's duration and the bag's total volume give the pump rate.
    infusion_duration_min = models.PositiveIntegerField(null=True, blank=True)
    infusion_volume_ml = models.PositiveIntegerField(null=True, blank=True)
    schedule_code = models.CharField(max_length=40, choices=schedule_choices)
    # Overrides of kapcare.clinical.vitals.VitalsThresholds fields (clinic policy); empty means
    # the labelled defaults.
    vitals_thresholds = models.JSONField(default=dict, blank=True)
    # Emory (Dunlop) practice: every 10 minutes during dosing and every 15 after
    # (docs/clinical-reference.md §5.3); a clinic may change both.
    vitals_interval_dosing_min = models.PositiveIntegerField(default=10)
    vitals_interval_recovery_min = models.PositiveIntegerField(default=15)
    min_observation_min = models.PositiveIntegerField()
    rems_required = models.BooleanField(default=False)
    integration_after_each_dose = models.BooleanField(default=True)
    preparation_meeting = models.BooleanField(default=True)
    source = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def snapshot(self) -> ProtocolSnapshot:
        """Every setting a course runs on, as the typed snapshot the course keeps."""
        values = {
            f.name: getattr(self, f.attname)
            for f in self._meta.concrete_fields
            if f.name not in ("id", "active")
        }
        return ProtocolSnapshot.from_json(values)


class CourseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class TreatmentCourse(models.Model):
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="courses"
    )
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="courses")
    # The protocol as it was when the course was planned: the course runs on this.
    protocol_snapshot = models.JSONField()
    start_date = models.DateField()
    status = models.CharField(
        max_length=12, choices=CourseStatus.choices, default=CourseStatus.ACTIVE
    )
    clearance = models.CharField(max_length=200, help_text="Why planning was allowed.")
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    planned_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"{self.protocol_record.name} from {self.start_date}"

    @property
    def protocol_record(self) -> ProtocolSnapshot:
        """The protocol as planned, typed (the JSON column keeps it)."""
        return ProtocolSnapshot.from_json(self.protocol_snapshot)

    @property
    def route(self) -> str:
        return self.protocol_record.route


class ResourceKind(models.TextChoices):
    ROOM = "room", "Room"
    CHAIR = "chair", "Treatment chair"


class Resource(models.Model):
    """A room or treatment chair. ``capacity`` is how many appointments it holds at once."""

    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=10, choices=ResourceKind.choices)
    capacity = models.PositiveSmallIntegerField(default=1)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class AppointmentKind(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    INTAKE = "intake", "Intake appointment"
    PREPARATION = "preparation", "Preparation meeting"
    DOSING = "dosing", "Dosing session"
    INTEGRATION = "integration", "Integration session"


class AppointmentStatus(models.TextChoices):
    """Booked, then arrived (the front desk's mark) and done; or cancelled or did not attend
    (the moves: ``courses.services.STATUS_MOVES``)."""

    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "Did not attend"


class Appointment(models.Model):
    """A booked time with a patient, in a room or chair, with staff. Every change (a
    reschedule, a new chair) is kept as a version with its reason."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    course = models.ForeignKey(
        TreatmentCourse,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    kind = models.CharField(max_length=12, choices=AppointmentKind.choices)
    # Dosing sessions: the course phase (induction, maintenance) and number within the course.
    phase = models.CharField(max_length=12, blank=True)
    number = models.PositiveSmallIntegerField(null=True, blank=True)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(db_index=True)
    resource = models.ForeignKey(
        Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="appointments"
    )
    status = models.CharField(
        max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    change_reason = models.CharField(max_length=200, blank=True)
    # The dosing session this integration session follows.
    follows = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="followed_by"
    )
    history = HistoricalRecords(m2m_fields=[staff])

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["patient", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """A secret iCalendar URL for one staff member's or one patient's appointments. Only the
    token's SHA-256 is kept; revoking it ends the feed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_feeds",
    )
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_feeds",
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, patient__isnull=True)
                    | models.Q(user__isnull=True, patient__isnull=False)
                ),
                name="calendar_feed_has_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"Calendar feed #{self.pk}"
