from collections.abc import Sequence

from django.contrib import admin
from django.db.models import Model
from simple_history.admin import SimpleHistoryAdmin

from kapcare.audit.reads import PatientReadsAdmin
from kapcare.patients.models import Patient


@admin.register(Patient)
class PatientAdmin(PatientReadsAdmin, SimpleHistoryAdmin):
    """Each page (list, record, history, a past version) logs the patients it shows."""

    list_display = ["family_name", "given_name", "mrn", "birth_date", "is_synthetic"]
    search_fields = ["family_name", "given_name", "mrn"]
    readonly_fields = ["mrn"]

    def patient_ids(self, objects: Sequence[Model]) -> list[int]:
        return [patient.pk for patient in objects]
