"""Forms for rating scales (staff tablet and patient phone share one), schedules, home links
and alert acknowledgement. Scoring and range checks are the clinical core's: the form only
collects integers and shows the core's refusal next to the item it names."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from kapcare.assessments.models import ACTION_TAKEN_MAX_LENGTH, EVERY_DAYS_RANGE, Delivery
from kapcare.assessments.selectors import STAFF_FORM_INSTRUMENTS
from kapcare.clinical import instruments
from kapcare.clinical.instruments import INSTRUMENTS, Instrument
from kapcare.clinical.instruments.cssrs import FOLLOW_UPS
from kapcare.errors import FieldInvalid, FieldProblem

# C-SSRS follow-up questions, asked only after a "yes": item -> the item that opens it.
CSSRS_FOLLOW_UPS = FOLLOW_UPS


def _optional(instrument: Instrument, number: int) -> bool:
    return instrument.code == "cssrs_screen" and number in CSSRS_FOLLOW_UPS


def _item_message(problem: FieldProblem, numbers: dict[str, int]) -> str:
    """The core's refusal of one item, in the words of the form (a C-SSRS skip-logic refusal
    says what to do with the question on the page)."""
    number = numbers[problem.field]
    opener = CSSRS_FOLLOW_UPS.get(number)
    if problem.rule == "not_asked":
        return (
            f"item {number}: leave this question blank: it is asked only after “Yes” to "
            f"question {opener}"
        )
    if problem.rule == "required" and opener:
        return f"item {number}: answer this question because item {opener} is yes"
    return problem.message


class ScaleForm(forms.Form):
    """One field per item (`item_1` ...), answered with the scale's response options."""

    def __init__(self, instrument: Instrument, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.score: instruments.Score | None = None
        # Item n is responses[n-1]; None for a C-SSRS question its skip logic did not ask.
        self.responses: list[int | None] = []
        for item in instrument.items:
            self.fields[f"item_{item.number}"] = forms.IntegerField(
                label=f"{item.number}. {item.text}",
                required=not _optional(instrument, item.number),
                widget=forms.RadioSelect(choices=[(o.value, o.label) for o in instrument.options]),
                error_messages={"required": f"item {item.number}: choose an answer"},
            )

    def questions(self) -> list[dict[str, Any]]:
        """What the template draws: each item with its options and errors."""
        out = []
        for item in self.instrument.items:
            name = f"item_{item.number}"
            bound = self[name]
            value = bound.value()
            current = "" if value is None else str(value)
            follows = (
                CSSRS_FOLLOW_UPS.get(item.number)
                if _optional(self.instrument, item.number)
                else None
            )
            out.append(
                {
                    "number": item.number,
                    "text": item.text,
                    "note": item.note,
                    "name": name,
                    "id": f"id_{name}",
                    "errors": bound.errors,
                    "follows": follows,
                    "options": [
                        {"value": o.value, "label": o.label, "checked": current == str(o.value)}
                        for o in self.instrument.options
                    ],
                }
            )
        return out

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        # A C-SSRS follow-up left blank is "not asked" (None), never a "no": the core refuses
        # an answer (even "No") to a question its skip logic did not ask, and a blank one that
        # was asked, naming the item either way.
        values: list[int | None] = []
        for item in self.instrument.items:
            value = cleaned.get(f"item_{item.number}")
            values.append(None if value is None else int(value))
        try:
            self.score = instruments.score(self.instrument.code, values)
        except FieldInvalid as error:
            # The core names an item's answer responses[n-1]; the form's input is item_n.
            items = self.instrument.items
            inputs = {instruments.item_field(i.number): f"item_{i.number}" for i in items}
            numbers = {instruments.item_field(i.number): i.number for i in items}
            for problem in error.problems:
                if problem.field in inputs:
                    self.add_error(inputs[problem.field], _item_message(problem, numbers))
                else:
                    self.add_error(None, f"{problem.field}: {problem.message}")
            return cleaned
        self.responses = values
        return cleaned


def scale_choices() -> list[tuple[str, str]]:
    return [(code, INSTRUMENTS[code].name) for code in STAFF_FORM_INSTRUMENTS]


class ScheduleForm(forms.Form):
    instrument = forms.ChoiceField(choices=scale_choices)
    every_days = forms.IntegerField(
        min_value=EVERY_DAYS_RANGE[0],
        max_value=EVERY_DAYS_RANGE[1],
        initial=7,
        label="Every (days)",
    )
    starts_on = forms.DateField(
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Starts on",
    )
    ends_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Ends on (optional)"
    )
    delivery = forms.ChoiceField(choices=Delivery.choices)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "ends_on: must not be before the start date")
        return cleaned


class HomeLinkForm(forms.Form):
    instrument = forms.ChoiceField(choices=scale_choices)
    send = forms.ChoiceField(choices=[("show", "show"), ("email", "email")], initial="show")


class AcknowledgeForm(forms.Form):
    action_taken = forms.CharField(
        label="Action taken",
        max_length=ACTION_TAKEN_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you did: e.g. called the patient, safety plan reviewed, crisis referral.",
        error_messages={"required": "action_taken: describe the action taken before acknowledging"},
    )
