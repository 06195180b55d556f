"""The dosing session page's small forms. They check types only (a number is a number); the
clinical rules and ranges live in ``kapcare.dosing.services`` and the clinical core, which name
the field they refuse. Field names match the services' keyword names, so one message format
("field: rule") serves both."""

from __future__ import annotations

from typing import Any

from django import forms

from kapcare.dosing.models import PregnancyTest, Severity, SideEffectKind
from kapcare.dosing.services import CENTERING_KINDS

# datetime-local: the tablet's native date-time picker; the value is read in the clinic's time
# zone (Django's current time zone), which is how it is shown.
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _when(label: str) -> forms.DateTimeField:
    # Left blank on the page, and blank means the moment of saving: a time filled in when the
    # page was opened would go stale on a tablet left open at the chair side, and a reading
    # would silently be charted at the wrong time. A past time is typed when charting late.
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
        help_text="Blank means now.",
    )


def _whole(label: str) -> forms.IntegerField:
    # inputmode brings up the numeric keypad on a tablet; no min/max, so the server's message
    # (naming the field and its range) is the one the nurse sees.
    return forms.IntegerField(
        label=label, required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )


def errors_of(form: forms.Form) -> list[str]:
    """Every error as "field: message" (non-field errors as they are)."""
    found = []
    for name, errors in form.errors.items():
        for error in errors:
            found.append(str(error) if name == "__all__" else f"{name}: {error}")
    return found


class TransitionForm(forms.Form):
    to = forms.CharField(max_length=20)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ChecklistForm(forms.Form):
    fasting_hours = forms.DecimalField(
        label="Fasting (hours)", required=False, decimal_places=1, max_digits=4,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.5"}),
    )  # fmt: skip
    driver_name = forms.CharField(label="Designated driver's name", max_length=120, required=False)
    driver_phone = forms.CharField(label="Driver's phone", max_length=40, required=False)
    medication_holds_confirmed = forms.BooleanField(
        label="Medication holds confirmed", required=False
    )
    medication_holds_note = forms.CharField(
        label="Medication holds (note)", max_length=300, required=False
    )
    pregnancy_test = forms.ChoiceField(
        label="Pregnancy test", required=False, choices=[("", "—"), *PregnancyTest.choices]
    )
    weight_kg = forms.DecimalField(
        label="Weight today (kg)", required=False, decimal_places=1, max_digits=5,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )  # fmt: skip
    intention = forms.CharField(
        label="Intention", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CenteringForm(forms.Form):
    centering_kind = forms.ChoiceField(
        label="Centering exercise",
        choices=[(k, {"vr": "VR"}.get(k, k.capitalize())) for k in CENTERING_KINDS],
    )
    centering_minutes = _whole("Minutes")


class OrderForm(forms.Form):
    """A weight-based protocol orders mg/kg; a fixed-dose one orders mg. ``preview_url`` makes
    the amount field ask for a live preview (HTMX) as the prescriber types."""

    mg_per_kg = forms.DecimalField(
        label="Dose (mg/kg)", required=False, decimal_places=2, max_digits=4,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.05"}),
    )  # fmt: skip
    dose_mg = forms.DecimalField(
        label="Dose (mg)", required=False, decimal_places=1, max_digits=6,
        widget=forms.NumberInput(attrs={"inputmode": "decimal"}),
    )  # fmt: skip
    deviation_reason = forms.CharField(
        label="Reason for deviating from the protocol",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the dose is outside the protocol's range.",
    )

    def __init__(self, *args: Any, dose_mode: str, preview_url: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.amount_name = "mg_per_kg" if dose_mode == "mg_per_kg" else "dose_mg"
        del self.fields["dose_mg" if self.amount_name == "mg_per_kg" else "mg_per_kg"]
        if preview_url:
            self.fields[self.amount_name].widget.attrs.update(
                {
                    "hx-get": preview_url,
                    "hx-trigger": "input changed delay:300ms",
                    "hx-target": "#order-preview",
                    "hx-swap": "outerHTML",
                }
            )

    def amount(self) -> dict[str, Any]:
        return {self.amount_name: self.cleaned_data.get(self.amount_name)}


def _ml(label: str) -> forms.DecimalField:
    # decimal keypad on a tablet; to the 0.01 mL (the ledger refuses a finer volume, naming it).
    return forms.DecimalField(
        label=label,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )


class AdministrationForm(forms.Form):
    """A correction of the administration's times (the container and the quantities are the
    ledger's, corrected there by a reversing entry)."""

    started_at = _when("Started at")
    stopped_at = forms.DateTimeField(
        label="Stopped at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
        help_text="Leave blank while the dose is running.",
    )


class StartDosingForm(AdministrationForm):
    """The administration as dosing starts: the container drawn from (its lot is the
    administration's), drawn, given and wasted with the manner of waste and a witness who
    signs in here, and the start; saved, withdrawn from the ledger and the session moved to
    dosing in one post (``services.start_dosing``). Every field of the administration but its
    stop, which comes later ("Stopped now"), and a prescriber's override reason when the move
    needs one. The container's choices are the usable stock (``presenter``); the ledger checks
    the one sent."""

    container_id = forms.IntegerField(label="Vial or device", required=False, widget=forms.Select)
    drawn_ml = _ml("Drawn (mL)")
    given_ml = _ml("Given (mL)")
    wasted_ml = _ml("Wasted (mL)")
    waste_manner = forms.CharField(
        label="Manner of waste", max_length=200, required=False,
        help_text="For example: expelled into a drug-disposal container.",
    )  # fmt: skip
    witness_email = forms.EmailField(label="Witness's email", required=False)
    witness_password = forms.CharField(
        label="Witness's password", required=False, widget=forms.PasswordInput
    )
    witness_code = forms.CharField(
        label="Witness's code", max_length=20, required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        help_text="The six digits of their authenticator app, when they have one.",
    )  # fmt: skip
    reason = forms.CharField(
        label="Override reason (prescriber)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only when a requirement below is overridden; kept with the record.",
    )

    # The container first: it is what the nurse holds.
    field_order = ["container_id", "drawn_ml", "given_ml", "wasted_ml", "waste_manner"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        del self.fields["stopped_at"]


class VitalsForm(forms.Form):
    """One row of readings, in the order a monitor shows them."""

    systolic = _whole("BP systolic (mmHg)")
    diastolic = _whole("BP diastolic (mmHg)")
    heart_rate = _whole("HR (beats/min)")
    spo2 = _whole("SpO₂ (%)")
    resp_rate = _whole("RR (breaths/min)")
    taken_at = _when("Time")

    def reading(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data.get(name)
            for name in ("systolic", "diastolic", "heart_rate", "spo2", "resp_rate")
        }


class AcknowledgeForm(forms.Form):
    action_taken = forms.CharField(
        label="Action taken",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: paused the infusion; BP rechecked in 5 minutes.",
    )


class SideEffectForm(forms.Form):
    kind = forms.ChoiceField(label="Side effect", choices=SideEffectKind.choices)
    severity = forms.ChoiceField(label="Severity", choices=Severity.choices)
    noted_at = _when("Noted at")
    note = forms.CharField(label="Note", max_length=300, required=False)


class InterventionForm(forms.Form):
    drug = forms.CharField(label="Drug", max_length=80, required=False)
    dose = forms.CharField(
        label="Dose", max_length=40, required=False, help_text="With its unit, e.g. '4 mg IV'."
    )
    given_at = _when("Given at")
    reason = forms.CharField(label="Reason", max_length=200, required=False)


CADSS6_ITEMS = (
    (1, "Things seem to be moving in slow motion"),
    (2, "Things seem unreal, as if in a dream"),
    (6, "Feels disconnected from own body"),
    (7, "Sense of own body changed (e.g. feels unusually large or small)"),
    (15, "Spaces out or otherwise loses track of what is going on"),
    (22, "Feels there are different parts of self that do not fit together"),
)
"""The CADSS-6 items in form order: (number in the 23-item CADSS, its question paraphrased for
the clinician). Bremner et al. 1998; Rodrigues et al. 2021 (docs/clinical-reference.md §6.3)."""
CADSS6_LABELS = tuple(f"{number}. {text}" for number, text in CADSS6_ITEMS)
MOAAS_CHOICES = [
    ("", "—"),
    ("5", "5 — responds readily to name in a normal tone"),
    ("4", "4"),
    ("3", "3"),
    ("2", "2"),
    ("1", "1"),
    ("0", "0 — no response to a painful stimulus"),
]


class ScoreForm(forms.Form):
    """CADSS-6 (six items, each 0-4), the patient-rated 0-10 dissociation scale, or MOAA/S."""

    scale = forms.CharField(widget=forms.HiddenInput)
    value = _whole("Score")
    scored_at = _when("Scored at")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for number, label in enumerate(CADSS6_LABELS, start=1):
            self.fields[f"item_{number}"] = forms.IntegerField(
                label=f"CADSS {label} (0-4)",
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def items(self) -> list[int]:
        values = [self.cleaned_data.get(f"item_{n}") for n in range(1, len(CADSS6_LABELS) + 1)]
        return [v for v in values if v is not None]

    def item_fields(self) -> list[forms.BoundField]:
        return [self[f"item_{n}"] for n in range(1, len(CADSS6_LABELS) + 1)]


class DischargeForm(forms.Form):
    escort_name = forms.CharField(label="Escort's name", max_length=120, required=False)
    sedation_moaas = forms.TypedChoiceField(
        label="Sedation (MOAA/S)",
        choices=MOAAS_CHOICES,
        coerce=int,
        required=False,
        empty_value=None,
    )
    dissociation_resolved = forms.BooleanField(label="Dissociation resolved", required=False)
    nausea_controlled = forms.BooleanField(label="Nausea controlled", required=False)
    ambulating_steadily = forms.BooleanField(label="Walks steadily", required=False)


class ReflectionForm(forms.Form):
    reflection = forms.CharField(
        label="Reflection", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Session note", required=False, widget=forms.Textarea(attrs={"rows": 6})
    )


class AmendmentForm(forms.Form):
    text = forms.CharField(
        label="Amendment", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    reason = forms.CharField(label="Reason for the amendment", max_length=300, required=False)
