from django.contrib import admin

from kapcare.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit trail offers no change or delete, here or anywhere."""

    list_display = ["id", "occurred_at", "action", "user_email", "role", "patient_id", "what"]
    list_filter = ["action", "role"]
    search_fields = ["user_email", "what", "request_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
