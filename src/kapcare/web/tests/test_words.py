"""Every message a person reads names the field by its label, in plain words, with the unit
(issue 14); codes appear as words. The API keeps its field and rule codes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from kapcare.assessments.services import create_schedule
from kapcare.audit.services import Actor
from kapcare.clinical import vitals
from kapcare.clinical.dosing import esketamine_devices, infusion_rate, weight_based_dose
from kapcare.clinical.session import DISCHARGE_MESSAGES
from kapcare.courses.models import Protocol, Resource
from kapcare.courses.services import book_appointment, save_resource, validate_protocol
from kapcare.dosing.models import DosingSession
from kapcare.dosing.services import add_score
from kapcare.errors import FieldInvalid, FieldProblem
from kapcare.intake.services import screen_patient
from kapcare.patients.models import Patient
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


# --- the services' range refusals, through the real services (no row is needed: each refuses
# before it reads or writes one) ----------------------------------------------------------------

NURSE = Actor(user_id=None, email="nurse@example.org", role="nurse")


def test_a_score_out_of_its_scale_is_named_by_the_scale() -> None:
    moaas = _refusal(lambda: add_score(NURSE, DosingSession(), scale="moaas", value=7))
    assert page_messages(moaas) == [
        "MOAA/S sedation score must be between 0 and 5 (you entered 7)."
    ]
    assert say_beside(moaas.problems[0]) == "must be between 0 and 5 (you entered 7)"
    dissociation = _refusal(
        lambda: add_score(NURSE, DosingSession(), scale="dissociation_0_10", value=11)
    )
    assert say(dissociation.problems[0]) == (
        "Patient-rated dissociation score must be between 0 and 10 (you entered 11)."
    )
    # The API's codes are unchanged, and its message no longer names the scale by code.
    assert (moaas.field, moaas.rule) == ("value", "out_of_range")
    assert moaas.problems[0].message == "MOAA/S sedation score must be between 0 and 5"
    missing = _refusal(lambda: add_score(NURSE, DosingSession(), scale="moaas"))
    assert say(missing.problems[0]) == "MOAA/S sedation score must be between 0 and 5."


def test_cadss6_items_say_how_many_and_their_range() -> None:
    error = _refusal(
        lambda: add_score(NURSE, DosingSession(), scale="cadss6", items=[1, 1, 1, 1, 1])
    )
    assert say(error.problems[0]) == "CADSS-6 items must be 6 scores, each between 0 and 4."
    assert (error.field, error.rule) == ("items", "out_of_range")


def test_a_schedule_interval_reads_in_days() -> None:
    error = _refusal(
        lambda: create_schedule(
            NURSE,
            Patient(),
            instrument="phq9",
            every_days=0,
            starts_on=date(2026, 3, 2),
            delivery="home_link",
        )
    )
    assert say(error.problems[0]) == (
        "Repeat interval must be between 1 and 366 days (you entered 0)."
    )
    assert (error.field, error.rule) == ("every_days", "out_of_range")


def test_an_appointment_length_and_a_capacity_read_with_their_limits() -> None:
    length = _refusal(
        lambda: book_appointment(
            NURSE, Patient(), kind="consultation", starts_at=timezone.now(), minutes=600
        )
    )
    assert say(length.problems[0]) == "Length must be between 5 and 480 minutes (you entered 600)."
    assert (length.field, length.rule) == ("minutes", "out_of_range")
    capacity = _refusal(lambda: save_resource(NURSE, Resource(name="Chair 1", capacity=0)))
    assert say(capacity.problems[0]) == "Capacity must be 1 or more (you entered 0)."
    assert (capacity.field, capacity.rule) == ("capacity", "out_of_range")


def _protocol(**doses: str) -> Protocol:
    return Protocol(
        code="test", name="Test", route="iv", dose_mode="mg_per_kg", schedule_code="iv_ptsd_6x2w",
        infusion_duration_min=40, infusion_volume_ml=100,
        **{name: Decimal(value) for name, value in doses.items()},
    )  # fmt: skip


def test_a_protocols_default_dose_reads_in_words_not_symbols() -> None:
    outside = _refusal(
        lambda: validate_protocol(
            _protocol(min_mg_per_kg="0.8", default_mg_per_kg="0.5", max_mg_per_kg="1.0")
        )
    )
    assert say(outside.problems[0]) == (
        "Default dose per kilogram must be between 0.8 and 1 mg/kg (you entered 0.5)."
    )
    crossed = _refusal(
        lambda: validate_protocol(
            _protocol(min_mg_per_kg="1.2", default_mg_per_kg="1.1", max_mg_per_kg="1.0")
        )
    )
    assert say(crossed.problems[0]) == (
        "Default dose per kilogram: the minimum must be above 0 and no more than the maximum, "
        "and the maximum at most 2.0 mg/kg."
    )
    for error in (outside, crossed):
        assert (error.field, error.rule) == ("default_mg_per_kg", "out_of_range")
        assert "<" not in say(error.problems[0])


def test_the_clinical_cores_other_dose_refusals_say_what_was_entered() -> None:
    devices = _refusal(lambda: esketamine_devices(30))
    assert say(devices.problems[0]) == "Dose must be 28, 56 or 84 (you entered 30)."
    assert (devices.field, devices.rule) == ("dose_mg", "one_of")
    volume = _refusal(lambda: infusion_rate(35, 40, 0))
    assert say(volume.problems[0]) == "Bag volume must be above 0 (you entered 0)."
    assert (volume.field, volume.rule) == ("total_volume_ml", "out_of_range")
    ceiling = _refusal(lambda: weight_based_dose(0.5, 70, max_dose_mg=-5))
    assert say(ceiling.problems[0]) == "Maximum dose must be above 0 (you entered -5)."
    basis = _refusal(lambda: weight_based_dose(0.5, 70, basis="ideal"))
    assert say(basis.problems[0]) == (
        "Height and sex at birth: required for a dose by ideal body weight."
    )
    assert (basis.field, basis.rule) == ("height_cm and sex", "required")


def test_an_intake_reading_names_its_label_and_unit() -> None:
    patient = Patient(
        birth_date=timezone.localdate() - timedelta(days=40 * 366), sex_at_birth="male"
    )
    error = _refusal(lambda: screen_patient(NURSE, patient, {"systolic_bp": 1850}))
    assert page_messages(error) == [
        "Systolic blood pressure must be between 40 and 300 mmHg (you entered 1850)."
    ]
    assert say_beside(error.problems[0]) == "must be between 40 and 300 mmHg (you entered 1850)"
    assert (error.field, error.rule) == ("systolic_bp", "out_of_range")
    age = _refusal(lambda: screen_patient(NURSE, patient, {"age_years": 40}))
    assert say(age.problems[0]) == "Age: comes from the patient's record."
