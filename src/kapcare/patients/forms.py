"""Forms for the record entries on the patient chart."""

from __future__ import annotations

from typing import Any

from django import forms

from kapcare.clinical.dosing import WEIGHT_RANGE_KG
from kapcare.patients.models import MEASURED_HEIGHT_RANGE_CM, Patient, validate_person_name


class MeasurementForm(forms.Form):
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        min_value=WEIGHT_RANGE_KG[0],
        max_value=WEIGHT_RANGE_KG[1],
        decimal_places=1,
    )
    height_cm = forms.DecimalField(
        label="Height (cm)",
        min_value=MEASURED_HEIGHT_RANGE_CM[0],
        max_value=MEASURED_HEIGHT_RANGE_CM[1],
        decimal_places=1,
    )


class AllergyForm(forms.Form):
    substance = forms.CharField(max_length=200)
    reaction = forms.CharField(max_length=200, required=False)


class MedicationForm(forms.Form):
    generic_name = forms.CharField(label="Generic name", max_length=200)
    dose = forms.CharField(max_length=100, required=False, help_text="e.g. 50 mg daily")


class ConsentSignForm(forms.Form):
    typed_name = forms.CharField(label="Patient's full name, typed by the patient", max_length=200)
    agreed = forms.BooleanField(label="The patient has read this document and agrees to it")


class ContactsForm(forms.ModelForm):
    """Contacts and the primary clinician: what the front desk keeps up to date."""

    class Meta:
        model = Patient
        fields = [
            "email",
            "phone",
            "preferred_contact",
            "address",
            "emergency_contact_name",
            "emergency_contact_relation",
            "emergency_contact_phone",
            "primary_clinician",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Unstripped, so a name of whitespace alone is refused rather than saved as no contact.
        contact_name = self.fields["emergency_contact_name"]
        assert isinstance(contact_name, forms.CharField)
        contact_name.strip = False

    def clean_emergency_contact_name(self) -> str:
        name: str = self.cleaned_data["emergency_contact_name"]
        validate_person_name(name)
        return name.strip()
