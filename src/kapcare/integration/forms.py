"""Forms for integration notes and journal entries. The rules (a session of this patient, no
future dates) are the services'; their "field: message" errors land next to the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from kapcare.dosing.models import DosingSession
from kapcare.integration.models import Practice


class SessionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        when = timezone.localtime(obj.appointment.starts_at)
        number = f"session {obj.appointment.number}" if obj.appointment.number else "session"
        return f"{when:%Y-%m-%d} · dosing {number} ({obj.get_state_display().lower()})"


class IntegrationNoteForm(forms.Form):
    dosing_session = SessionChoiceField(
        label="Dosing session it follows",
        queryset=DosingSession.objects.none(),
        empty_label=None,
    )
    held_on = forms.DateField(
        label="Integration session on", widget=forms.DateInput(attrs={"type": "date"})
    )
    insights = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    practices = forms.MultipleChoiceField(
        choices=Practice.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    homework = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, patient_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("held_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        # The patient's dosing sessions that have taken place (or are today), newest first.
        field = self.fields["dosing_session"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            DosingSession.objects.filter(
                patient_id=patient_id,
                appointment__starts_at__date__lte=timezone.localdate(),
            )
            .exclude(state="cancelled")
            .select_related("appointment")
            .order_by("-appointment__starts_at")
        )


class JournalEntryForm(forms.Form):
    written_on = forms.DateField(label="Written on", widget=forms.DateInput(attrs={"type": "date"}))
    text = forms.CharField(label="The patient's words", widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("written_on", timezone.localdate())
        super().__init__(*args, **kwargs)


class AmendmentForm(forms.Form):
    text = forms.CharField(label="Amendment", widget=forms.Textarea(attrs={"rows": 4}))
    reason = forms.CharField(label="Reason for the amendment", max_length=300)
