"""The intake form: every field of kapcare.clinical.eligibility.Intake plus the histories."""

from __future__ import annotations

from typing import Any

from django import forms

from kapcare.clinical.eligibility import CONDITION_RULES

CSSRS_CHOICES = [
    ("", "Not assessed"),
    ("none", "None"),
    ("low", "Low"),
    ("moderate", "Moderate"),
    ("high", "High"),
]


class IntakeForm(forms.Form):
    systolic_bp = forms.IntegerField(label="Systolic BP (mmHg)", min_value=40, max_value=300)
    diastolic_bp = forms.IntegerField(label="Diastolic BP (mmHg)", min_value=20, max_value=200)
    medications = forms.CharField(
        label="Current medications (generic names, one per line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    cssrs_risk = forms.ChoiceField(
        label="C-SSRS screener risk today", choices=CSSRS_CHOICES, required=False
    )
    medical = forms.CharField(label="Medical history", required=False, widget=forms.Textarea)
    psychiatric = forms.CharField(
        label="Psychiatric history", required=False, widget=forms.Textarea
    )
    trauma = forms.CharField(label="Trauma history", required=False, widget=forms.Textarea)
    substance_use = forms.CharField(
        label="Substance-use history", required=False, widget=forms.Textarea
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One checkbox per yes/no condition the clinical core screens, with its wording.
        for rule in CONDITION_RULES:
            self.fields[rule.field] = forms.BooleanField(
                label=rule.field.replace("_", " ").capitalize(), required=False
            )

    @property
    def condition_fields(self) -> list[forms.BoundField]:
        return [self[rule.field] for rule in CONDITION_RULES]

    def intake_fields(self) -> dict[str, Any]:
        """The cleaned data as eligibility.Intake keywords (age comes from the record)."""
        data = self.cleaned_data
        medications = tuple(
            line.strip() for line in data["medications"].splitlines() if line.strip()
        )
        fields: dict[str, Any] = {rule.field: data[rule.field] for rule in CONDITION_RULES}
        fields.update(
            systolic_bp=data["systolic_bp"],
            diastolic_bp=data["diastolic_bp"],
            medications=medications,
            cssrs_risk=data["cssrs_risk"] or None,
        )
        return fields

    def history_fields(self) -> dict[str, str]:
        return {
            k: self.cleaned_data[k] for k in ("medical", "psychiatric", "trauma", "substance_use")
        }


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("override", "Override")])
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
