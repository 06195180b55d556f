"""The intake form: every item of kapcare.clinical.eligibility.Intake plus the histories.

Each yes/no item is answered Yes, No or Not recorded, and Not recorded is what an item nobody
answered shows and stores (None): the screening then asks for review. Nothing defaults to No.
"""

from __future__ import annotations

from typing import Any

from django import forms

from kapcare.clinical.eligibility import (
    CONDITION_RULES,
    ITEM_LABELS,
    PREGNANCY_FIELDS,
    pregnancy_applies,
)

NOT_RECORDED = ("", "Not recorded")
YES_NO_CHOICES = [("yes", "Yes"), ("no", "No"), NOT_RECORDED]
CSSRS_CHOICES = [
    ("none", "None"),
    ("low", "Low"),
    ("moderate", "Moderate"),
    ("high", "High"),
    NOT_RECORDED,
]


def _yes_no(label: str) -> forms.TypedChoiceField:
    """Yes / No / Not recorded as large radio buttons; nothing chosen stores None."""
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO_CHOICES,
        coerce=lambda answer: answer == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class IntakeForm(forms.Form):
    systolic_bp = forms.IntegerField(label=f"{ITEM_LABELS['systolic_bp']} (mmHg)", required=False)
    diastolic_bp = forms.IntegerField(label=f"{ITEM_LABELS['diastolic_bp']} (mmHg)", required=False)
    takes_medications = _yes_no("Takes any current medications?")
    medications = forms.CharField(
        label="Current medications (generic names, one per line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    cssrs_risk = forms.TypedChoiceField(
        label=f"{ITEM_LABELS['cssrs_risk']} today",
        choices=CSSRS_CHOICES,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    medical = forms.CharField(label="Medical history", required=False, widget=forms.Textarea)
    psychiatric = forms.CharField(
        label="Psychiatric history", required=False, widget=forms.Textarea
    )
    trauma = forms.CharField(label="Trauma history", required=False, widget=forms.Textarea)
    substance_use = forms.CharField(
        label="Substance-use history", required=False, widget=forms.Textarea
    )

    def __init__(self, *args: Any, sex_at_birth: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One question per yes/no condition the clinical core screens, in its wording; the
        # pregnancy questions only where the screening needs them.
        self.pregnancy_applies = pregnancy_applies(sex_at_birth)
        for rule in CONDITION_RULES:
            if self.pregnancy_applies or rule.field not in PREGNANCY_FIELDS:
                self.fields[rule.field] = _yes_no(rule.label)

    @property
    def pregnancy_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in PREGNANCY_FIELDS if name in self.fields]

    @property
    def condition_fields(self) -> list[forms.BoundField]:
        return [self[r.field] for r in CONDITION_RULES if r.field not in PREGNANCY_FIELDS]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        names = [line.strip() for line in data.get("medications", "").splitlines()]
        data["medication_names"] = tuple(name for name in names if name)
        takes = data.get("takes_medications")
        if takes is True and not data["medication_names"]:
            self.add_error("medications", "list each one, or answer No")
        elif takes is not True and data["medication_names"]:
            self.add_error("takes_medications", "answer Yes for the medications listed")
        return data

    def intake_fields(self) -> dict[str, Any]:
        """The cleaned data as eligibility.Intake keywords (age and sex come from the record).
        The medication list is () for No and None for Not recorded."""
        data = self.cleaned_data
        fields: dict[str, Any] = {
            rule.field: data[rule.field] for rule in CONDITION_RULES if rule.field in self.fields
        }
        takes = data["takes_medications"]
        fields.update(
            systolic_bp=data["systolic_bp"],
            diastolic_bp=data["diastolic_bp"],
            medications=None if takes is None else data["medication_names"],
            cssrs_risk=data["cssrs_risk"],
        )
        return fields

    def history_fields(self) -> dict[str, str]:
        return {
            k: self.cleaned_data[k] for k in ("medical", "psychiatric", "trauma", "substance_use")
        }


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("override", "Override")])
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
