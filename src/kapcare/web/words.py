"""The words a person reads for what the code calls by a code: a field's label and unit, a
refusal of bad input as a sentence, and the codes of alerts, requirements and discharge
criteria. The API keeps its ``field`` and ``rule`` codes; the pages say these words.

One table per kind of code, so a page never shows ``systolic`` or ``bp_critical``; a code
missing from the tables is turned into words from the code itself (``heart_rate`` → "Heart
rate"), which a test keeps from happening for the codes the clinical core produces."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from kapcare.clinical.session import DISCHARGE_MESSAGES
from kapcare.errors import FieldProblem

FIELD_WORDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        # field: (label, unit)
        "systolic": ("Systolic blood pressure", "mmHg"),
        "diastolic": ("Diastolic blood pressure", "mmHg"),
        "heart_rate": ("Heart rate", "beats per minute"),
        "spo2": ("Oxygen saturation (SpO₂)", "%"),
        "resp_rate": ("Respiratory rate", "breaths per minute"),
        "taken_at": ("Time taken", ""),
        "phase": ("Phase", ""),
        "weight_kg": ("Weight", "kg"),
        "height_cm": ("Height", "cm"),
        "mg_per_kg": ("Dose per kilogram", "mg/kg"),
        "dose_mg": ("Dose", "mg"),
        "max_dose_mg": ("Maximum dose", "mg"),
        "duration_min": ("Infusion length", "minutes"),
        "volume_ml": ("Bag volume", "mL"),
        "devices": ("Nasal devices", ""),
        "fasting_hours": ("Fasting", "hours"),
        "minutes_observed": ("Minutes observed", "minutes"),
        "centering_minutes": ("Centering", "minutes"),
        "centering_kind": ("Centering practice", ""),
        "sedation_moaas": ("Sedation (MOAA/S)", ""),
        "action_taken": ("Action taken", ""),
        "deviation_reason": ("Reason for the deviation", ""),
        "reason": ("Reason", ""),
        "note": ("Note", ""),
        "name": ("Name", ""),
        "typed_name": ("Typed name", ""),
        "lot_number": ("Lot number", ""),
        "container_id": ("Vial or device", ""),
        "drawn_ml": ("Drawn", "mL"),
        "given_ml": ("Given", "mL"),
        "wasted_ml": ("Wasted", "mL"),
        "waste_manner": ("Manner of waste", ""),
        "witness": ("Witness", ""),
        "witness_email": ("Witness's email", ""),
        "witness_code": ("Witness's code", ""),
        "started_at": ("Start time", ""),
        "stopped_at": ("Stop time", ""),
        "used_at": ("Time the device was used", ""),
        "escort_name": ("Escort's name", ""),
        "driver_name": ("Driver's name", ""),
        "driver_phone": ("Driver's phone", ""),
        "pregnancy_test": ("Pregnancy test", ""),
        "medication_holds_confirmed": ("Medication holds confirmed", ""),
        "text": ("Note", ""),
        "insights": ("Insights", ""),
        "held_on": ("Date held", ""),
        "birth_date": ("Date of birth", ""),
        "given_name": ("Given name", ""),
        "family_name": ("Family name", ""),
        "email": ("Email", ""),
        "phone": ("Phone", ""),
        "starts_at": ("Start", ""),
        "resource": ("Room or chair", ""),
        "staff": ("Staff", ""),
        "day": ("Day", ""),
        # A score's value: its scale names it when the refusal carries a label (a score).
        "value": ("Score", ""),
        "items": ("CADSS-6 items", ""),
        "every_days": ("Repeat interval", "days"),
        "minutes": ("Length", "minutes"),
        "capacity": ("Capacity", ""),
        "default_mg_per_kg": ("Default dose per kilogram", "mg/kg"),
        "default_dose_mg": ("Default dose", "mg"),
        "total_volume_ml": ("Bag volume", "mL"),
        "sex": ("Sex at birth", ""),
        "height_cm and sex": ("Height and sex at birth", ""),
        # The ledger's set-up (``kapcare.ledger.services``).
        "dea_number": ("DEA number", ""),
        "expires_on": ("Expiry date", ""),
        "taken_on": ("Date of the inventory", ""),
        "address": ("Address", ""),
        "kind": ("Kind", ""),
        "serves": ("Rooms and chairs", ""),
        "ndc": ("NDC", ""),
        "form": ("Form", ""),
        "route": ("Used for", ""),
        "schedule": ("Schedule", ""),
        "mg_per_ml": ("Strength", "mg/mL"),
        "ml_per_container": ("Volume of a vial", "mL"),
        "mg_per_device": ("Dose of a device", "mg"),
        # The intake screening's items (``kapcare.clinical.eligibility``).
        "age_years": ("Age", "years"),
        "systolic_bp": ("Systolic blood pressure", "mmHg"),
        "diastolic_bp": ("Diastolic blood pressure", "mmHg"),
    }
)

# Alert codes (``kapcare.clinical.vitals.assess``) as a nurse would name them.
ALERT_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "bp_critical": "critical blood pressure",
        "bp_elevated": "blood pressure raised from baseline",
        "bp_high": "high blood pressure",
        "tachycardia": "fast heart rate",
        "bradycardia": "slow heart rate",
        "hypoxemia": "critically low oxygen",
        "low_spo2": "low oxygen",
        "bradypnea": "slow breathing",
        "tachypnea": "fast breathing",
    }
)

# Requirements of a session's steps (``kapcare.clinical.session``), short, for lists of what a
# prescriber overrides; discharge criteria use the clinical core's own sentences.
REQUIREMENT_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "baseline_vitals": "baseline vitals",
        "consent": "treatment consent",
        "fasting": "fasting time",
        "driver": "a driver home",
        "medication_holds": "medication holds",
        "pregnancy_test": "pregnancy test",
        "cssrs": "today's suicide-risk screen",
        "weight": "today's weight",
        "administration": "the administration record",
        "administration_stop": "the stop time",
        "devices": "each device's time",
        "bp_before_dosing": "blood pressure before dosing",
        "bp_40_min": "blood pressure at about 40 minutes",
        "bp_before_discharge": "blood pressure before discharge",
        **{code: sentence.split(":")[0].lower() for code, sentence in DISCHARGE_MESSAGES.items()},
    }
)


def _from_code(code: str) -> str:
    """``heart_rate`` → "Heart rate": the last resort for a code no table names."""
    last = code.rsplit(".", 1)[-1]
    return last.replace("_", " ").strip().capitalize() or code


def _label_and_unit(problem: FieldProblem) -> tuple[str, str]:
    """A field as the API names it (``readings[3].spo2``) by its label and unit. A problem
    may carry its own ``label``, for a field whose meaning
    depends on another input: a score's ``value`` is named by its scale."""
    field = problem.field
    label, unit = FIELD_WORDS.get(field.rsplit(".", 1)[-1], (_from_code(field), ""))
    return (problem.label or label, unit)


def _number(value: float) -> str:
    """40.0 → "40", 2.5 → "2.5"."""
    return format(Decimal(str(value)).normalize(), "f")


def _with_unit(value: float, unit: str) -> str:
    if not unit:
        return _number(value)
    return f"{_number(value)}{unit}" if unit == "%" else f"{_number(value)} {unit}"


def _rule_words(problem: FieldProblem, unit: str) -> str:
    """What is wrong with the field, without its label: "must be between 40 and 300 mmHg (you
    entered 1850)"."""
    entered = "" if problem.entered is None else f" (you entered {problem.entered})"
    if problem.rule == "out_of_range" and problem.low is not None and problem.high is not None:
        # "between 40 and 300 mmHg", but "between 50% and 100%".
        low = _with_unit(problem.low, unit) if unit == "%" else _number(problem.low)
        return f"must be between {low} and {_with_unit(problem.high, unit)}{entered}"
    if problem.rule == "out_of_range" and problem.low is not None:
        return f"must be {_with_unit(problem.low, unit)} or more{entered}"
    if problem.rule == "required" and problem.message in ("", "required"):
        return "is required"
    return _without_got(problem.message).removesuffix(".") + entered


def say(problem: FieldProblem) -> str:
    """The refusal of one field as a sentence: its label in words, the rule with the unit,
    and what was entered ("Systolic blood pressure must be between 40 and 300 mmHg (you
    entered 1850).")."""
    label, unit = _label_and_unit(problem)
    words = _rule_words(problem, unit)
    # "must be …", "is …", "cannot …" read on from the label; anything else follows a colon.
    joiner = " " if words.split(" ", 1)[0] in {"must", "is", "cannot", "can", "has"} else ": "
    return f"{label}{joiner}{words}."


def say_beside(problem: FieldProblem) -> str:
    """The same refusal beside its input, which the form already labels: the rule with the
    unit and what was entered ("must be between 40 and 300 mmHg (you entered 1850)")."""
    return _rule_words(problem, _label_and_unit(problem)[1])


def _without_got(message: str) -> str:
    """Drop a trailing ", got 1850" (the API's echo of the value): the label says the rest."""
    head, sep, _ = message.rpartition(", got ")
    return head if sep else message


def code_words(code: object) -> str:
    """A stored code in words: an alert's or a requirement's from the tables (``bp_critical``
    → "critical blood pressure"), any other with its underscores as spaces ("needs_review" →
    "needs review")."""
    text = str(code)
    return ALERT_WORDS.get(text) or REQUIREMENT_WORDS.get(text) or text.replace("_", " ")
