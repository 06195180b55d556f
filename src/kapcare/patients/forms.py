"""Forms for the record entries on the patient chart."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from kapcare.clinical.dosing import WEIGHT_RANGE_KG
from kapcare.patients.models import (
    MEASURED_HEIGHT_RANGE_CM,
    ContactMethod,
    Patient,
    SexAtBirth,
    validate_birth_date,
    validate_person_name,
)

_PHONE_ALLOWED = re.compile(r"^\+?[0-9 ()./-]+$")


def clean_phone(value: str) -> str:
    value = value.strip()
    if not value:
        return value
    digits = re.sub(r"\D", "", value)
    if not _PHONE_ALLOWED.match(value) or not 7 <= len(digits) <= 15:
        raise ValidationError(
            "Enter a phone number of 7 to 15 digits; spaces, dashes, brackets and a leading + "
            "are fine."
        )
    return value


def require_preferred_contact(
    form: forms.Form, cleaned: dict[str, Any], *, email: str, phone: str
) -> None:
    """The preferred contact method needs its address: an email for email, a phone number for
    a call or a text (the message given, on the field, unless it already has an error)."""
    method = cleaned.get("preferred_contact")
    if method == ContactMethod.EMAIL and not cleaned.get("email") and "email" not in form.errors:
        form.add_error("email", email)
    if (
        method in (ContactMethod.PHONE, ContactMethod.SMS)
        and not cleaned.get("phone")
        and "phone" not in form.errors
    ):
        form.add_error("phone", phone)


class PersonForm(forms.Form):
    """Who a new patient is: what ``services.create_patient`` needs, in words a person reads.
    The record's rules run as validators (no hidden characters in a name, a birth date from
    1900 to today: kapcare.patients.models), so the form names the field."""

    given_name = forms.CharField(
        label="First name", max_length=100, validators=[validate_person_name]
    )
    family_name = forms.CharField(
        label="Last name", max_length=100, validators=[validate_person_name]
    )
    birth_date = forms.DateField(
        label="Date of birth",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_birth_date],
    )
    sex_at_birth = forms.ChoiceField(
        label="Sex at birth", choices=[("", "Choose…"), *SexAtBirth.choices]
    )
    email = forms.EmailField(label="Email", required=False, max_length=254)
    phone = forms.CharField(label="Phone", required=False, max_length=40)

    def clean_birth_date(self) -> date:
        born: date = self.cleaned_data["birth_date"]
        if born.year < timezone.localdate().year - 120:
            raise ValidationError("Check the date of birth: that is more than 120 years ago.")
        return born

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("phone", ""))


class RegisterPatientForm(PersonForm):
    """The front desk registers a patient directly: who they are and how to reach them."""

    preferred_contact = forms.ChoiceField(
        label="Preferred contact", choices=ContactMethod.choices, initial=ContactMethod.EMAIL
    )
    address = forms.CharField(
        label="Address", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    emergency_contact_name = forms.CharField(
        label="Emergency contact name",
        required=False,
        max_length=200,
        validators=[validate_person_name],
    )
    emergency_contact_relation = forms.CharField(
        label="Emergency contact relation", required=False, max_length=100
    )
    emergency_contact_phone = forms.CharField(
        label="Emergency contact phone", required=False, max_length=40
    )

    def clean_emergency_contact_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("emergency_contact_phone", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        require_preferred_contact(
            self,
            cleaned,
            email="Enter an email address: it is the preferred contact.",
            phone="Enter a phone number: it is the preferred contact.",
        )
        return cleaned


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
