from collections.abc import Sequence

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from kapcare.audit.reads import PatientReadsAdmin
from kapcare.patients.models import ConsentTemplate, Patient


@admin.register(Patient)
class PatientAdmin(PatientReadsAdmin, SimpleHistoryAdmin):
    """Each page (list, record, history, a past version) logs the patients it shows."""

    list_display = ["family_name", "given_name", "mrn", "birth_date", "is_synthetic"]
    search_fields = ["family_name", "given_name", "mrn"]
    readonly_fields = ["mrn"]

    def patient_ids(self, objects: Sequence[Model]) -> list[int]:
        return [patient.pk for patient in objects]


@admin.register(ConsentTemplate)
class ConsentTemplateAdmin(admin.ModelAdmin):
    """The clinic admin publishes consent versions (dosing needs the current one of the
    session's route signed: ``ketamine-treatment``, ``esketamine-treatment``). A published
    version's wording never changes, since signatures refer to it: a new wording is a new
    version, and an old one is withdrawn by unticking "active"."""

    list_display = ["code", "version", "title", "active", "created_at"]
    list_filter = ["code", "active"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ConsentTemplate | None = None
    ) -> tuple[str, ...]:
        return ("code", "version", "title", "body", "created_at") if obj else ("created_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
