from collections.abc import Sequence
from typing import cast

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from kapcare.audit.reads import PatientReadsAdmin
from kapcare.audit.services import Actor
from kapcare.consultations.models import ConsultationRequest
from kapcare.consultations.services import record_reads


@admin.register(ConsultationRequest)
class ConsultationRequestAdmin(PatientReadsAdmin, SimpleHistoryAdmin):
    """Read-only: requests are converted or closed from the front desk's queue, audited. Each
    page logs the requests it shows, as the queue does, and the patients of converted ones."""

    list_display = ["id", "status", "submitted_at", "handled_at", "is_synthetic"]
    list_filter = ["status", "is_synthetic"]
    exclude = ["client_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def log_shown(self, request: HttpRequest, objects: Sequence[Model]) -> None:
        super().log_shown(request, objects)
        requests = cast(Sequence[ConsultationRequest], objects)
        record_reads(Actor.from_request(request), requests, "admin")
