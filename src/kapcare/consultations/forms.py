"""Forms of the public consultation page and the front desk's queue. Spam checks (honeypot,
signed render time, rate limits) live in services: they are not fields a person fills in."""

from __future__ import annotations

from typing import Any

from django import forms

from kapcare.consultations.models import NOTE_MAX_LENGTH, REASON_MAX_LENGTH, CallbackOutcome
from kapcare.patients.forms import PersonForm, clean_phone, require_preferred_contact
from kapcare.patients.models import ContactMethod

# Names of the two spam-check inputs the template renders by hand.
HONEYPOT_FIELD = "website"
TOKEN_FIELD = "rendered"


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
        require_preferred_contact(
            self,
            cleaned,
            email="Enter your email address so we can write to you.",
            phone="Enter your phone number so we can call or text you.",
        )
        return cleaned


class ConvertForm(PersonForm):
    """The patient to create from a request: Patient needs a birth date and sex at birth
    (the contact method comes from the request)."""


class CloseForm(forms.Form):
    reason = forms.CharField(
        label="Reason for closing",
        max_length=500,
        help_text="For example: duplicate, could not reach them after three tries, not a fit.",
        widget=forms.TextInput(),
    )


class CallbackForm(forms.Form):
    attempted_at = forms.DateTimeField(
        label="When (clinic time)",
        required=False,
        help_text="Leave empty for now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    outcome = forms.ChoiceField(
        label="Outcome", choices=CallbackOutcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"maxlength": NOTE_MAX_LENGTH}),
    )
