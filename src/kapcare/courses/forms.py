"""Forms for protocols, course planning, boosters, resources and rescheduling. They only
collect and type the input: the rules (a protocol that holds together, capacity, clearance)
are the services' and the clinical core's, and their refusals are shown next to the field they
name (``kapcare.web.errors.add_form_errors``)."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import STAFF, Role
from kapcare.clinical.vitals import DEFAULT as DEFAULT_THRESHOLDS
from kapcare.clinical.vitals import VitalsThresholds
from kapcare.courses.models import AppointmentKind, Protocol, Resource, schedule_choices
from kapcare.courses.services import BOOKING_MINUTES

# The prefix of the number inputs that stand for VitalsThresholds fields.
THRESHOLD_PREFIX = "vt_"

THRESHOLD_UNITS = {
    "systolic": "mmHg",
    "diastolic": "mmHg",
    "tachycardia": "beats/min",
    "bradycardia": "beats/min",
    "hypoxemia": "% SpO₂",
    "low_spo2": "% SpO₂",
    "bradypnea": "breaths/min",
    "tachypnea": "breaths/min",
}


def threshold_names() -> list[str]:
    return [f.name for f in dataclass_fields(VitalsThresholds)]


def _threshold_unit(name: str) -> str:
    return next((unit for key, unit in THRESHOLD_UNITS.items() if key in name), "")


def _threshold_label(name: str) -> str:
    unit = _threshold_unit(name)
    words = name.replace("spo2", "SpO₂").replace("_", " ")
    return f"{words[:1].upper()}{words[1:]}" + (f" ({unit})" if unit else "")


class ProtocolForm(forms.ModelForm):
    """Every protocol setting, and one number input per vitals threshold: blank means the
    labelled clinic default; a value is stored as an override in ``vitals_thresholds``."""

    schedule_code = forms.ChoiceField(
        label="Schedule", choices=schedule_choices, help_text="From kapcare.clinical.schedule."
    )

    class Meta:
        model = Protocol
        fields = [
            "code",
            "name",
            "route",
            "dose_mode",
            "default_mg_per_kg",
            "min_mg_per_kg",
            "max_mg_per_kg",
            "default_dose_mg",
            "min_dose_mg",
            "max_dose_mg",
            "weight_basis",
            "infusion_duration_min",
            "infusion_volume_ml",
            "schedule_code",
            "vitals_interval_dosing_min",
            "vitals_interval_recovery_min",
            "min_observation_min",
            "rems_required",
            "integration_after_each_dose",
            "preparation_meeting",
            "source",
            "active",
        ]
        labels = {
            "default_mg_per_kg": "Default dose (mg/kg)",
            "min_mg_per_kg": "Minimum dose (mg/kg)",
            "max_mg_per_kg": "Maximum dose (mg/kg)",
            "default_dose_mg": "Default dose (mg)",
            "min_dose_mg": "Minimum dose (mg)",
            "max_dose_mg": "Maximum dose (mg)",
            "infusion_duration_min": "Infusion duration (min)",
            "infusion_volume_ml": "Infusion bag volume (mL)",
            "vitals_interval_dosing_min": "Vitals interval while dosing (min)",
            "vitals_interval_recovery_min": "Vitals interval in recovery (min)",
            "min_observation_min": "Minimum observation (min)",
            "rems_required": "Esketamine REMS record required",
            "integration_after_each_dose": "Book an integration session after each dose",
            "preparation_meeting": "Book a preparation meeting before the first dose",
            "active": "Active (untick to retire: no new courses)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        overrides = (self.instance.vitals_thresholds or {}) if self.instance else {}
        for name in threshold_names():
            default = getattr(DEFAULT_THRESHOLDS, name)
            source = VitalsThresholds.sources.get(name, "")
            self.fields[THRESHOLD_PREFIX + name] = forms.FloatField(
                label=_threshold_label(name),
                required=False,
                min_value=0,
                initial=overrides.get(name),
                help_text=f"Default {default:g}" + (f" ({source})" if source else ""),
                widget=forms.NumberInput(attrs={"step": "any", "placeholder": f"{default:g}"}),
            )
        if self.instance.pk:
            # The code names the protocol in audit entries and course snapshots: keep it.
            self.fields["code"].disabled = True

    def threshold_fields(self) -> list[forms.BoundField]:
        return [self[THRESHOLD_PREFIX + name] for name in threshold_names()]

    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.Meta.fields]

    def thresholds(self) -> dict[str, float]:
        """The overrides entered (blank inputs are left to the default)."""
        out = {}
        for name in threshold_names():
            value = self.cleaned_data.get(THRESHOLD_PREFIX + name)
            if value is not None:
                out[name] = value
        return out

    def add_error(self, field: str | None, error: Any) -> None:
        # save_protocol names "vitals_thresholds" for a bad override: show it on the group.
        if field == "vitals_thresholds":
            field = None
        super().add_error(field, error)

    def instance_for_save(self) -> Protocol:
        protocol: Protocol = self.save(commit=False)
        protocol.vitals_thresholds = self.thresholds()
        return protocol


def describe_protocol(protocol: Protocol) -> dict[str, list[Any]]:
    """The protocol's settings as (label, shown value) and its thresholds as (label, override
    or None, the default with its source), for read-only pages."""
    form = ProtocolForm(instance=protocol)
    settings = []
    for name in ProtocolForm.Meta.fields:
        value = getattr(protocol, name)
        display = getattr(protocol, f"get_{name}_display", None)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif display is not None:
            value = display()
        settings.append((str(form.fields[name].label), "—" if value in (None, "") else value))
    overrides = protocol.vitals_thresholds or {}
    thresholds = [
        (
            str(form[THRESHOLD_PREFIX + n].label),
            overrides.get(n),
            form[THRESHOLD_PREFIX + n].help_text,
        )
        for n in threshold_names()
    ]
    return {"settings": settings, "thresholds": thresholds}


class PlanCourseForm(forms.Form):
    protocol = forms.ModelChoiceField(
        queryset=Protocol.objects.filter(active=True), empty_label=None
    )
    start_date = forms.DateField(
        label="First dose on or after",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_start_date(self) -> Any:
        value = self.cleaned_data["start_date"]
        if value < timezone.localdate():
            raise forms.ValidationError("must be today or later")
        return value


class BoosterForm(forms.Form):
    day = forms.DateField(label="Booster day", widget=forms.DateInput(attrs={"type": "date"}))

    def clean_day(self) -> Any:
        value = self.cleaned_data["day"]
        if value < timezone.localdate():
            raise forms.ValidationError("must be today or later")
        return value


class ResourceForm(forms.ModelForm):
    class Meta:
        model = Resource
        fields = ["name", "kind", "capacity", "active"]
        labels = {"capacity": "Capacity (appointments at once)"}

    def clean_capacity(self) -> Any:
        value = self.cleaned_data["capacity"]
        if value is None or value < 1:
            raise forms.ValidationError("must be at least 1")
        return value


def active_staff() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=STAFF).order_by("role", "full_name")


class StaffChoiceField(forms.ModelMultipleChoiceField):
    """The staff of an appointment as a list of checkboxes: each a big touch target on a
    tablet, no ctrl-click multi-select (``.staff-picker`` in kapcare.css)."""

    widget = forms.CheckboxSelectMultiple(attrs={"class": "staff-picker"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", active_staff())
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.full_name} ({Role(obj.role).label})"


def _starts_at_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


def _resource_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Room or chair",
        queryset=Resource.objects.filter(active=True),
        required=False,
        empty_label="None",
    )


class RescheduleForm(forms.Form):
    starts_at = _starts_at_field("New start (clinic time)")
    resource = _resource_field()
    staff = StaffChoiceField()
    reason = forms.CharField(max_length=200, help_text="Kept in the appointment's history.")


# What the front desk books; dosing sessions come from the prescriber's plan.
BOOKABLE_KINDS = [
    (kind.value, kind.label) for kind in AppointmentKind if kind != AppointmentKind.DOSING
]


class BookForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of appointment", choices=BOOKABLE_KINDS)
    starts_at = _starts_at_field("Start (clinic time)")
    minutes = forms.IntegerField(
        label="Length (minutes)",
        initial=60,
        min_value=BOOKING_MINUTES[0],
        max_value=BOOKING_MINUTES[1],
    )
    resource = _resource_field()
    staff = StaffChoiceField()


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason for cancelling", max_length=200, help_text="Kept in the history."
    )


class NoShowForm(forms.Form):
    reason = forms.CharField(label="Note (optional)", max_length=200, required=False)
