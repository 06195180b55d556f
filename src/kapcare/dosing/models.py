"""The dosing session and everything recorded in it (docs/architecture.md §2, step 5, and §10).

Records here are clinical: a signed dose order and a signed note never change (their ``save``
refuses); corrections are new rows (a superseding order, an amendment) and every row keeps its
author and time.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from kapcare.records import AppendOnly, ImmutableError, LockedOnceSigned


class State(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CHECKED_IN = "checked_in", "Checked in"
    CHECKLIST_PASSED = "checklist_passed", "Checklist passed"
    DOSE_ORDERED = "dose_ordered", "Dose ordered"
    DOSING = "dosing", "Dosing"
    RECOVERY = "recovery", "Recovery"
    DISCHARGED = "discharged", "Discharged"
    NOTE_SIGNED = "note_signed", "Note signed"
    CANCELLED = "cancelled", "Cancelled"


class PregnancyTest(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"
    NOT_DONE = "not_done", "Not done"


class VitalPhase(models.TextChoices):
    PRE_DOSE = "pre_dose", "Before dosing"
    DOSING = "dosing", "Dosing"
    RECOVERY = "recovery", "Recovery"


class SideEffectKind(models.TextChoices):
    NAUSEA = "nausea", "Nausea"
    VOMITING = "vomiting", "Vomiting"
    HEADACHE = "headache", "Headache"
    DIZZINESS = "dizziness", "Dizziness"
    ANXIETY = "anxiety", "Anxiety"
    HYPERTENSION = "hypertension", "Hypertension"
    DISSOCIATION_DISTRESS = "dissociation_distress", "Distressing dissociation"
    SEDATION = "sedation", "Excess sedation"
    RESPIRATORY_DEPRESSION = "respiratory_depression", "Respiratory depression"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class ScoreScale(models.TextChoices):
    CADSS6 = "cadss6", "CADSS-6 (clinician-rated dissociation, 0-24)"
    DISSOCIATION_0_10 = "dissociation_0_10", "Patient-rated dissociation (0-10)"
    MOAAS = "moaas", "MOAA/S sedation (0-5)"


def _staff_member() -> Any:
    """Who recorded a row (never deleted while their rows exist)."""
    return models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")


def _part_of_session(related_name: str) -> Any:
    """A row recorded in a session; a session with rows is never deleted."""
    return models.ForeignKey("DosingSession", on_delete=models.PROTECT, related_name=related_name)


class DosingSession(models.Model):
    appointment = models.OneToOneField(
        "courses.Appointment", on_delete=models.PROTECT, related_name="dosing_session"
    )
    course = models.ForeignKey(
        "courses.TreatmentCourse", on_delete=models.PROTECT, related_name="dosing_sessions"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="dosing_sessions"
    )
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.SCHEDULED, db_index=True
    )
    checked_in_at = models.DateTimeField(null=True, blank=True)
    centering_kind = models.CharField(max_length=12, blank=True)
    centering_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    reflection = models.TextField(blank=True)
    # Discharge: the inputs to vitals.discharge_check, its result, and any override.
    discharged_at = models.DateTimeField(null=True, blank=True)
    escort_name = models.CharField(max_length=120, blank=True)
    discharge_inputs = models.JSONField(default=dict, blank=True)
    discharge_unmet = models.JSONField(default=list, blank=True)
    # Esketamine REMS: when the patient would have been ready without the 2-hour rule.
    ready_without_minimum_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Dosing session #{self.pk}"

    @property
    def route(self) -> str:
        return self.course.route


class Transition(models.Model):
    """Every state change, who made it and why; an override names its reason and what it
    overrode."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="transitions")
    from_state = models.CharField(max_length=20, choices=State.choices)
    to_state = models.CharField(max_length=20, choices=State.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    overridden = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state}"


class Checklist(models.Model):
    """The pre-session checklist. Baseline vitals are the session's pre-dose readings; the
    C-SSRS is an assessment recorded today; today's weight is also kept on the record."""

    session = models.OneToOneField(
        DosingSession, on_delete=models.PROTECT, related_name="checklist"
    )
    fasting_hours = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    driver_name = models.CharField(max_length=120, blank=True)
    driver_phone = models.CharField(max_length=40, blank=True)
    medication_holds_confirmed = models.BooleanField(default=False)
    medication_holds_note = models.CharField(max_length=300, blank=True)
    pregnancy_test = models.CharField(max_length=16, choices=PregnancyTest.choices, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    intention = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Checklist of session #{self.session_id}"


class DoseOrder(models.Model):
    """A dose order, computed by the clinical core and signed by a prescriber. Immutable once
    saved: a new order supersedes it."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="orders")
    route = models.CharField(max_length=20)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    weight_basis = models.CharField(max_length=10, blank=True)
    dosing_weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    mg_per_kg = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    dose_mg = models.DecimalField(max_digits=6, decimal_places=1)
    duration_min = models.PositiveIntegerField(null=True, blank=True)
    volume_ml = models.PositiveIntegerField(null=True, blank=True)
    rate_ml_per_h = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    rate_mg_per_min = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    concentration_mg_per_ml = models.DecimalField(
        max_digits=7, decimal_places=3, null=True, blank=True
    )
    devices = models.PositiveSmallIntegerField(null=True, blank=True)
    deviation = models.CharField(
        max_length=200, blank=True, help_text="How it departs from the protocol range."
    )
    deviation_reason = models.TextField(blank=True)
    source = models.CharField(max_length=400)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()
    superseded_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )

    class Meta:
        ordering = ["signed_at", "id"]

    def __str__(self) -> str:
        return f"Dose order #{self.pk}: {self.dose_mg} mg"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and kwargs.get("update_fields") != ["superseded_by"]:
            raise ImmutableError("A signed dose order cannot change; sign a new order instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableError("A signed dose order cannot be deleted.")


class Administration(models.Model):
    """What was given: the container drawn from (the ledger's vial or first device, whose lot
    this is), and when it started and stopped. For esketamine each device has its own time
    (``DeviceUse``) and its own withdrawal. ``legacy_vial_label`` keeps the free-text vial id
    typed before the ledger (rows since then have ``container`` instead)."""

    session = models.OneToOneField(
        DosingSession, on_delete=models.PROTECT, related_name="administration"
    )
    order = models.ForeignKey(DoseOrder, on_delete=models.PROTECT, related_name="+")
    lot_number = models.CharField(max_length=40)
    container = models.ForeignKey(
        "ledger.Container",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrations",
    )
    legacy_vial_label = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    recorded_by = _staff_member()
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Administration, lot {self.lot_number}"


class DeviceUse(models.Model):
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="devices"
    )
    number = models.PositiveSmallIntegerField()
    used_at = models.DateTimeField()
    # The ledger's device (a whole device is one withdrawal); empty on rows from before it.
    container = models.ForeignKey(
        "ledger.Container", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["administration", "number"], name="device_once")
        ]

    def __str__(self) -> str:
        return f"Device {self.number}"


class VitalReading(models.Model):
    """One row of vital signs (mmHg, beats/min, %, breaths/min). The phase is set from the
    administration times, so readings entered later land in the right phase."""

    # No index of its own: the (session, taken_at) index below serves every lookup by
    # session, and each index is one more write per reading on the ingest path.
    session = models.ForeignKey(
        DosingSession, on_delete=models.PROTECT, related_name="vitals", db_index=False
    )
    taken_at = models.DateTimeField()
    phase = models.CharField(max_length=10, choices=VitalPhase.choices)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField(null=True, blank=True)
    resp_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    recorded_by = _staff_member()
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["taken_at", "id"]
        indexes = [models.Index(fields=["session", "taken_at"])]

    def __str__(self) -> str:
        return f"Vitals at {self.taken_at:%H:%M}"


class VitalAlert(models.Model):
    """An alert from ``vitals.assess`` on one reading. A critical alert stays open until someone
    acknowledges it with the action taken."""

    session = _part_of_session("vital_alerts")
    reading = models.ForeignKey(VitalReading, on_delete=models.PROTECT, related_name="alerts")
    code = models.CharField(max_length=30)
    level = models.CharField(max_length=10)
    message = models.CharField(max_length=300)
    source = models.CharField(max_length=300, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.level} {self.code}"


class SideEffect(models.Model):
    session = _part_of_session("side_effects")
    kind = models.CharField(max_length=30, choices=SideEffectKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    noted_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    recorded_by = _staff_member()

    class Meta:
        ordering = ["noted_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity})"


class Intervention(models.Model):
    session = _part_of_session("interventions")
    recorded_by = _staff_member()
    drug = models.CharField(max_length=80)
    dose = models.CharField(max_length=40, help_text="With its unit, e.g. '4 mg IV'.")
    given_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["given_at", "id"]
        verbose_name = "intervention (a drug given in the session)"

    def __str__(self) -> str:
        return f"{self.drug} {self.dose}"


class SessionScore(models.Model):
    """A dissociation or sedation score during the session; CADSS-6 keeps its six items."""

    session = _part_of_session("scores")
    recorded_by = _staff_member()
    scale = models.CharField(max_length=20, choices=ScoreScale.choices)
    value = models.PositiveSmallIntegerField()
    items = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField()

    class Meta:
        ordering = ["scored_at", "id"]

    def __str__(self) -> str:
        return f"{self.scale} {self.value}"


class SessionNote(LockedOnceSigned, models.Model):
    """The clinician's session note. Signing locks it; later changes are amendments."""

    session = models.OneToOneField(DosingSession, on_delete=models.PROTECT, related_name="note")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Note of session #{self.session_id}"


class NoteAmendment(AppendOnly, models.Model):
    note = models.ForeignKey(SessionNote, on_delete=models.PROTECT, related_name="amendments")
    text = models.TextField()
    reason = models.CharField(max_length=300)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"Amendment #{self.pk}"
