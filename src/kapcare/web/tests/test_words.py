"""Every message a person reads names the field by its label, in plain words, with the unit
(issue 14); codes appear as words. The API keeps its field and rule codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapcare.clinical import vitals
from kapcare.clinical.dosing import weight_based_dose
from kapcare.clinical.session import DISCHARGE_MESSAGES
from kapcare.errors import FieldInvalid, FieldProblem
from kapcare.web.errors import page_messages
from kapcare.web.words import (
    ALERT_WORDS,
    FIELD_WORDS,
    REQUIREMENT_WORDS,
    code_words,
    say,
    say_beside,
)


def _refusal(call) -> FieldInvalid:
    with pytest.raises(FieldInvalid) as caught:
        call()
    return caught.value


def test_an_out_of_range_systolic_reads_as_a_sentence_with_its_unit() -> None:
    error = _refusal(lambda: vitals.Reading(systolic=1850, diastolic=80))
    assert page_messages(error) == [
        "Systolic blood pressure must be between 40 and 300 mmHg (you entered 1850)."
    ]
    # The API's codes are unchanged.
    assert (error.field, error.rule) == ("systolic", "out_of_range")


def test_weight_and_dose_refusals_name_the_unit() -> None:
    weight = _refusal(lambda: weight_based_dose(0.5, 500))
    assert say(weight.problems[0]) == "Weight must be between 30 and 300 kg (you entered 500)."
    dose = _refusal(lambda: weight_based_dose(5, 70))
    assert say(dose.problems[0]) == (
        "Dose per kilogram must be between 0 and 2 mg/kg (you entered 5)."
    )


def test_spo2_reads_with_a_percent_sign() -> None:
    error = _refusal(lambda: vitals.Reading(spo2=120))
    assert say(error.problems[0]) == (
        "Oxygen saturation (SpO₂) must be between 50% and 100% (you entered 120)."
    )


def test_no_code_is_left_in_a_field_message() -> None:
    message = say(FieldProblem("action_taken", "required", "say what was done"))
    assert message == "Action taken: say what was done."
    assert "action_taken" not in message


def test_an_unlisted_field_still_reads_as_words_and_the_got_echo_is_dropped() -> None:
    assert say(FieldProblem("chair_count", "type", "must be a number, got 'x'")) == (
        "Chair count must be a number."
    )


@given(
    st.integers(min_value=40, max_value=300),
    st.integers(min_value=20, max_value=200),
    st.integers(min_value=20, max_value=250),
    st.integers(min_value=50, max_value=100),
    st.integers(min_value=4, max_value=60),
    st.sampled_from(vitals.PHASES),
)
def test_every_alert_code_the_clinical_core_raises_has_words(
    systolic: int, diastolic: int, heart_rate: int, spo2: int, resp_rate: int, phase: str
) -> None:
    if diastolic >= systolic:
        return
    reading = vitals.Reading(
        systolic=systolic,
        diastolic=diastolic,
        heart_rate=heart_rate,
        spo2=spo2,
        resp_rate=resp_rate,
    )
    for alert in vitals.assess(reading, phase):
        assert alert.code in ALERT_WORDS, alert.code


def test_every_discharge_criterion_and_vitals_field_has_words() -> None:
    assert set(vitals.DISCHARGE_CRITERIA) <= set(DISCHARGE_MESSAGES) <= set(REQUIREMENT_WORDS)
    assert set(vitals.RANGES) <= set(FIELD_WORDS)
    assert code_words("observation_time") == "observation time"
    assert code_words("bp_40_min") == "blood pressure at about 40 minutes"
    assert code_words("bp_critical") == "critical blood pressure"
    # Any other stored code still reads without underscores.
    assert code_words("needs_review") == "needs review"


def test_beside_its_input_the_refusal_leaves_the_label_to_the_form() -> None:
    error = _refusal(lambda: vitals.Reading(systolic=1850, diastolic=80))
    assert say_beside(error.problems[0]) == "must be between 40 and 300 mmHg (you entered 1850)"
