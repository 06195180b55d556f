from collections.abc import Sequence

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model

from kapcare.accounts.models import ApiToken, User
from kapcare.audit.reads import PatientReadsAdmin
from kapcare.patients.models import Patient


@admin.register(User)
class UserAdmin(PatientReadsAdmin, DjangoUserAdmin):
    """A patient's sign-in names the patient: its pages log the patients whose users they show."""

    ordering = ["full_name"]
    list_display = ["full_name", "email", "role", "is_active", "is_synthetic"]
    list_filter = ["role", "is_active", "is_synthetic"]
    search_fields = ["full_name", "email"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "role", "is_synthetic")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "role", "password1", "password2"),
            },
        ),
    )

    def patient_ids(self, objects: Sequence[Model]) -> list[int]:
        users = [user.pk for user in objects]
        return list(Patient.objects.filter(user__in=users).values_list("pk", flat=True))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "hint", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "hint", "token_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):  # tokens are created by their owner only
        return False
