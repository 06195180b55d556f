from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from kapcare.consultations.models import ConsultationRequest


@admin.register(ConsultationRequest)
class ConsultationRequestAdmin(SimpleHistoryAdmin):
    """Read-only: requests are converted or closed from the front desk's queue, audited."""

    list_display = ["id", "status", "submitted_at", "handled_at", "is_synthetic"]
    list_filter = ["status", "is_synthetic"]
    exclude = ["client_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
