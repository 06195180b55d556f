"""Forms for the record entries on the patient chart."""

from __future__ import annotations

from django import forms


class MeasurementForm(forms.Form):
    weight_kg = forms.DecimalField(
        label="Weight (kg)", min_value=30, max_value=300, decimal_places=1
    )
    height_cm = forms.DecimalField(
        label="Height (cm)", min_value=100, max_value=250, decimal_places=1
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
