"""Forms of the public consultation page and the front desk's queue. Spam checks (honeypot,
signed render time, rate limits) live in services: they are not fields a person fills in."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from kapcare.consultations.models import REASON_MAX_LENGTH
from kapcare.patients.models import (
    ContactMethod,
    SexAtBirth,
    validate_birth_date,
    validate_person_name,
)

# Names of the two spam-check inputs the template renders by hand.
HONEYPOT_FIELD = "website"
TOKEN_FIELD = "rendered"

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


class ConsultationRequestForm(forms.Form):
    given_name = forms.CharField(
        label="First name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    family_name = forms.CharField(
        label="Last name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label="Email address",
        required=False,
        max_length=254,
        help_text="Needed if you would like us to email you.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Phone number",
        required=False,
        help_text="Needed if you would like a call or a text.",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    preferred_contact = forms.ChoiceField(
        label="How should we contact you?",
        choices=ContactMethod.choices,
        initial=ContactMethod.EMAIL,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="What would you like to talk about?",
        max_length=REASON_MAX_LENGTH,
        help_text=(
            f"A sentence or two is enough (at most {REASON_MAX_LENGTH} characters). "
            "Please do not include diagnoses, medications or other medical details."
        ),
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": REASON_MAX_LENGTH}),
    )

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("phone", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        method = cleaned.get("preferred_contact")
        if (
            method == ContactMethod.EMAIL
            and not cleaned.get("email")
            and "email" not in (self.errors)
        ):
            self.add_error("email", "Enter your email address so we can write to you.")
        if (
            method in (ContactMethod.PHONE, ContactMethod.SMS)
            and not cleaned.get("phone")
            and ("phone" not in self.errors)
        ):
            self.add_error("phone", "Enter your phone number so we can call or text you.")
        return cleaned


class ConvertForm(forms.Form):
    """The patient to create from a request: Patient needs a birth date and sex at birth."""

    # The patient record's rules: no hidden characters in a name, a birth date from 1900 to
    # today (kapcare.patients.models), so the form names the field rather than the service.
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


class CloseForm(forms.Form):
    reason = forms.CharField(
        label="Reason for closing",
        max_length=500,
        help_text="For example: duplicate, could not reach them after three tries, not a fit.",
        widget=forms.TextInput(),
    )
