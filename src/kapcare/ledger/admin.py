"""The ledger's set-up and records in Django's admin, read-only: nothing is added, changed or
deleted here (the services write, a mistake is reversed by a new entry). The entries, which
name patients, are read on the ledger's reports and API, which record each read."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from kapcare.ledger.models import (
    Container,
    Count,
    Inventory,
    LossReport,
    Product,
    Receipt,
    Registration,
    StorageLocation,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Registration)
class RegistrationAdmin(ReadOnly):
    list_display = ["name", "dea_number", "expires_on"]


@admin.register(StorageLocation)
class StorageLocationAdmin(ReadOnly):
    list_display = ["name", "kind", "registration"]


@admin.register(Product)
class ProductAdmin(ReadOnly):
    list_display = ["name", "ndc", "ndc_is_placeholder", "form", "schedule"]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnly):
    list_display = ["id", "received_at", "product", "lot", "containers", "supplier_name"]
    list_select_related = ["product"]


@admin.register(Container)
class ContainerAdmin(ReadOnly):
    list_display = ["label", "product", "lot", "expires_on", "location", "balance_ml"]
    list_select_related = ["product", "location"]
    search_fields = ["label", "lot"]


@admin.register(Count)
class CountAdmin(ReadOnly):
    list_display = ["id", "location", "counted_at"]


@admin.register(LossReport)
class LossReportAdmin(ReadOnly):
    list_display = ["entry", "loss_type", "discovered_at", "filed_at"]


@admin.register(Inventory)
class InventoryAdmin(ReadOnly):
    list_display = ["kind", "taken_on", "timing", "signed_at"]
