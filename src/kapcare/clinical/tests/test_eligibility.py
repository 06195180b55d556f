"""Tests for kapcare.clinical.eligibility: every rule, level, verdict and error path."""

from __future__ import annotations

import dataclasses

import pytest

from kapcare.clinical.eligibility import (
    CONDITION_RULES,
    DEFAULT_SETTINGS,
    RULESET_VERSION,
    EligibilitySettings,
    Intake,
    Reason,
    Screening,
    screen,
)


def codes(s: Screening) -> dict[str, str]:
    return {r.code: r.level for r in s.reasons}


def test_clean_adult_is_eligible() -> None:
    s = screen(Intake(age_years=40, systolic_bp=120, diastolic_bp=80))
    assert s == Screening(verdict="eligible", reasons=[], ruleset_version=RULESET_VERSION)


def test_ruleset_version_is_a_string() -> None:
    assert isinstance(RULESET_VERSION, str) and RULESET_VERSION
    assert screen(Intake(age_years=40)).ruleset_version == RULESET_VERSION


@pytest.mark.parametrize(
    ("age", "verdict"), [(0, "ineligible"), (17, "ineligible"), (18, "eligible"), (90, "eligible")]
)
def test_age_edge(age: int, verdict: str) -> None:
    s = screen(Intake(age_years=age))
    assert s.verdict == verdict
    assert ("age_under_18" in codes(s)) is (verdict == "ineligible")


def test_missing_age_is_a_note_for_review() -> None:
    s = screen(Intake())
    assert s.verdict == "eligible"
    assert codes(s) == {"age_unknown": "note"}


def test_min_age_is_a_setting() -> None:
    assert DEFAULT_SETTINGS.min_age_years == 18
    assert screen(Intake(age_years=20), EligibilitySettings(min_age_years=21)).verdict == (
        "ineligible"
    )


@pytest.mark.parametrize(
    ("field", "code", "level"),
    [
        ("pregnant", "pregnant", "ineligible"),
        ("ketamine_hypersensitivity", "ketamine_hypersensitivity", "ineligible"),
        ("aneurysmal_vascular_disease", "aneurysmal_vascular_disease", "ineligible"),
        ("arteriovenous_malformation", "arteriovenous_malformation", "ineligible"),
        ("intracerebral_hemorrhage_history", "intracerebral_hemorrhage_history", "ineligible"),
        ("history_of_psychosis", "history_of_psychosis", "needs_review"),
        ("current_mania", "current_mania", "needs_review"),
        ("active_substance_use_disorder", "active_substance_use_disorder", "needs_review"),
        ("unstable_cardiovascular_disease", "unstable_cardiovascular_disease", "needs_review"),
        ("breastfeeding", "breastfeeding", "needs_review"),
        ("severe_hepatic_impairment", "severe_hepatic_impairment", "needs_review"),
        (
            "elevated_intracranial_or_intraocular_pressure",
            "elevated_intracranial_or_intraocular_pressure",
            "needs_review",
        ),
    ],
)
def test_each_condition_rule(field: str, code: str, level: str) -> None:
    # The field name is a test parameter, which mypy cannot match to a keyword.
    s = screen(Intake(age_years=40, **{field: True}))  # type: ignore[arg-type]  # field names come from a parametrize list
    assert s.verdict == level
    assert len(s.reasons) == 1
    reason = s.reasons[0]
    assert (reason.code, reason.level) == (code, level)
    assert reason.message and reason.source


def test_condition_rules_cover_every_bool_field() -> None:
    bool_fields = {f.name for f in dataclasses.fields(Intake) if f.type == "bool"}
    assert {r.field for r in CONDITION_RULES} == bool_fields


@pytest.mark.parametrize(
    ("sys_bp", "dia_bp", "code", "verdict"),
    [
        (140, 90, None, "eligible"),
        (141, 80, "bp_elevated", "needs_review"),
        (130, 91, "bp_elevated", "needs_review"),
        (179, 109, "bp_elevated", "needs_review"),
        (180, 80, "bp_too_high", "ineligible"),
        (150, 110, "bp_too_high", "ineligible"),
        (200, 120, "bp_too_high", "ineligible"),
        (None, None, None, "eligible"),
        (185, None, "bp_too_high", "ineligible"),
        (None, 95, "bp_elevated", "needs_review"),
    ],
)
def test_bp_rules(sys_bp: int | None, dia_bp: int | None, code: str | None, verdict: str) -> None:
    s = screen(Intake(age_years=40, systolic_bp=sys_bp, diastolic_bp=dia_bp))
    assert s.verdict == verdict
    bp_codes = [r.code for r in s.reasons if r.code.startswith("bp_")]
    assert bp_codes == ([code] if code else [])


def test_bp_lines_are_settings() -> None:
    custom = EligibilitySettings(bp_ineligible_systolic=170, bp_review_systolic_above=150)
    assert screen(Intake(age_years=40, systolic_bp=145), custom).verdict == "eligible"
    assert screen(Intake(age_years=40, systolic_bp=170), custom).verdict == "ineligible"
    assert "clinic policy default" in EligibilitySettings.sources["bp_ineligible_systolic"]


@pytest.mark.parametrize(
    ("med", "code", "level", "verdict"),
    [
        ("phenelzine", "medication_maoi", "needs_review", "needs_review"),
        ("lorazepam", "medication_benzodiazepine", "note", "eligible"),
        ("lamotrigine", "medication_lamotrigine", "note", "eligible"),
        ("methylphenidate", "medication_psychostimulant", "note", "eligible"),
        ("zolpidem", "medication_cns_depressant", "note", "eligible"),
        ("sertraline", "medication_unknown", "note", "eligible"),
    ],
)
def test_medication_rules(med: str, code: str, level: str, verdict: str) -> None:
    s = screen(Intake(age_years=40, medications=(med,)))
    assert s.verdict == verdict
    assert [(r.code, r.level) for r in s.reasons] == [(code, level)]
    assert med in s.reasons[0].message


def test_unknown_medication_asks_for_review_without_error() -> None:
    s = screen(Intake(age_years=40, medications=("zzz-not-a-drug",)))
    assert "review" in s.reasons[0].message


def test_one_reason_per_medication() -> None:
    s = screen(Intake(age_years=40, medications=("lorazepam", "clonazepam", "sertraline")))
    assert [r.code for r in s.reasons] == [
        "medication_benzodiazepine",
        "medication_benzodiazepine",
        "medication_unknown",
    ]


@pytest.mark.parametrize(
    ("risk", "code", "verdict"),
    [
        (None, None, "eligible"),
        ("none", None, "eligible"),
        ("low", None, "eligible"),
        ("moderate", "suicide_risk_moderate", "eligible"),
        ("high", "suicide_risk_high", "needs_review"),
    ],
)
def test_cssrs_rules(risk: str | None, code: str | None, verdict: str) -> None:
    s = screen(Intake(age_years=40, cssrs_risk=risk))
    assert s.verdict == verdict
    assert [r.code for r in s.reasons] == ([code] if code else [])


def test_suicide_risk_high_is_urgent() -> None:
    (reason,) = screen(Intake(age_years=40, cssrs_risk="high")).reasons
    assert reason.level == "needs_review"
    assert "URGENT" in reason.message


def test_verdict_is_worst_level_and_reasons_sorted() -> None:
    s = screen(
        Intake(
            age_years=40,
            pregnant=True,
            history_of_psychosis=True,
            medications=("lorazepam",),
        )
    )
    assert s.verdict == "ineligible"
    assert [r.level for r in s.reasons] == ["ineligible", "needs_review", "note"]
    assert all(isinstance(r, Reason) for r in s.reasons)


def test_notes_alone_stay_eligible() -> None:
    s = screen(Intake(age_years=40, medications=("lorazepam",), cssrs_risk="moderate"))
    assert s.verdict == "eligible"
    assert {r.level for r in s.reasons} == {"note"}


def test_intake_is_frozen_and_keyword_only() -> None:
    intake = Intake(age_years=30)
    with pytest.raises(dataclasses.FrozenInstanceError):
        intake.pregnant = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        Intake(30)  # type: ignore[call-arg]  # wrong input on purpose


def test_medications_list_is_frozen_to_tuple() -> None:
    intake = Intake(age_years=30, medications=["lorazepam"])  # type: ignore[arg-type]  # a list, on purpose
    assert intake.medications == ("lorazepam",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"age_years": -1}, "age_years: must be an integer 0-130"),
        ({"age_years": True}, "age_years: must be an integer 0-130"),
        ({"age_years": 40.5}, "age_years: must be an integer 0-130"),
        ({"systolic_bp": 30}, "systolic_bp: must be an integer 40-300"),
        ({"diastolic_bp": 250}, "diastolic_bp: must be an integer 20-200"),
        ({"pregnant": 1}, "pregnant: must be True or False"),
        ({"medications": "lorazepam"}, "medications: must be a tuple"),
        ({"medications": ("lorazepam", "")}, "medications item 2: must be a non-empty"),
        ({"medications": (None,)}, "medications item 1: must be a non-empty"),
        ({"cssrs_risk": "severe"}, "cssrs_risk: must be one of none, low, moderate, high"),
    ],
)
def test_intake_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Intake(**kwargs)  # type: ignore[arg-type]  # wrong input on purpose


def test_screen_rejects_non_intake() -> None:
    with pytest.raises(ValueError, match="intake: must be an Intake"):
        screen({"age_years": 40})  # type: ignore[arg-type]  # wrong input on purpose


def test_every_reason_has_a_source() -> None:
    everything = Intake(
        age_years=16,
        systolic_bp=190,
        diastolic_bp=100,
        **{r.field: True for r in CONDITION_RULES},
        medications=("phenelzine", "lorazepam", "lamotrigine", "modafinil", "zolpidem", "x"),
        cssrs_risk="high",
    )
    s = screen(everything)
    assert len(s.reasons) == 1 + len(CONDITION_RULES) + 1 + 6 + 1
    assert all(r.source for r in s.reasons)


def test_a_combination_product_gets_every_class_it_contains() -> None:
    s = screen(Intake(age_years=40, medications=("alprazolam/oxycodone",)))
    found = {r.code for r in s.reasons}
    assert {"medication_benzodiazepine", "medication_cns_depressant"} <= found
