from collections.abc import Sequence

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from kapcare.accounts.mfa import reset_second_factor
from kapcare.accounts.models import ApiToken, User
from kapcare.audit.reads import PatientReadsAdmin
from kapcare.audit.services import Actor
from kapcare.patients.models import Patient

# django-otp's own admin pages would show and edit secrets, and delete factors unaudited: the
# reset action below is the clinic admin's one tool.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.register(User)
class UserAdmin(PatientReadsAdmin, DjangoUserAdmin):
    """A patient's sign-in names the patient: its pages log the patients whose users they show."""

    ordering = ["full_name"]
    list_display = ["full_name", "email", "role", "is_active", "is_synthetic"]
    list_filter = ["role", "is_active", "is_synthetic"]
    search_fields = ["full_name", "email"]
    actions = ["reset_second_factor"]
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

    @admin.action(description="Reset second factor (lost phone): they set it up again")
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = Actor.from_request(request)
        for user in queryset:
            reset_second_factor(actor, user)
        messages.success(request, f"Second factor reset for {queryset.count()} user(s).")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "hint", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "hint", "token_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):  # tokens are created by their owner only
        return False
