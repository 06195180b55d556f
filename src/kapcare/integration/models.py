"""Integration: the therapist's notes after dosing sessions, and the patient's journal
(docs/architecture.md §2, step 6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from kapcare.records import AppendOnly, LockedOnceSigned


class Practice(models.TextChoices):
    MEDITATION = "meditation", "Meditation"
    BREATHWORK = "breathwork", "Breathwork"
    CREATIVE = "creative", "Creative work"
    VR = "vr", "VR"
    MOVEMENT = "movement", "Movement"
    JOURNALING = "journaling", "Journaling"


class IntegrationNote(LockedOnceSigned, models.Model):
    """A therapist's note on an integration session, linked to the dosing session it follows."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="integration_notes"
    )
    appointment = models.OneToOneField(
        "courses.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="integration_note",
    )
    dosing_session = models.ForeignKey(
        "dosing.DosingSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="integration_notes",
    )
    held_on = models.DateField()
    insights = models.TextField()
    practices = models.JSONField(default=list, blank=True)
    homework = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"Integration note {self.held_on}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class IntegrationNoteAmendment(AppendOnly, models.Model):
    """What was added to a signed integration note, by whom, when and why. Never changed."""

    note = models.ForeignKey(IntegrationNote, on_delete=models.PROTECT, related_name="amendments")
    text = models.TextField()
    reason = models.CharField(max_length=300)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"Amendment #{self.pk} of integration note #{self.note_id}"


class JournalEntry(models.Model):
    """The patient's own words, entered by staff for now (the portal comes later)."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="journal_entries"
    )
    written_on = models.DateField()
    text = models.TextField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-written_on", "-id"]

    def __str__(self) -> str:
        return f"Journal {self.written_on}"
