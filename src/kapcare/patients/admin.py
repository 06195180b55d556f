from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kapcare.patients.models import Patient


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = ["family_name", "given_name", "mrn", "birth_date", "is_synthetic"]
    search_fields = ["family_name", "given_name", "mrn"]
    readonly_fields = ["mrn"]
