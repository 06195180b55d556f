"""Tests for kapcare.clinical.eligibility: every rule, level, verdict and error path, and the
rule that an item not recorded is never read as "no"."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapcare.clinical.eligibility import (
    CONDITION_RULES,
    CSSRS_RISKS,
    DEFAULT_SETTINGS,
    ITEM_LABELS,
    RULESET_VERSION,
    SEXES_AT_BIRTH,
    EligibilitySettings,
    Intake,
    Reason,
    Screening,
    screen,
)
from kapcare.clinical.instruments import cssrs
from kapcare.errors import FieldInvalid

# Spelled out, not read from the module, so an item dropped from the screening fails here.
ITEMS = (
    "age_years",
    "systolic_bp",
    "diastolic_bp",
    "pregnant",
    "ketamine_hypersensitivity",
    "aneurysmal_vascular_disease",
    "arteriovenous_malformation",
    "intracerebral_hemorrhage_history",
    "history_of_psychosis",
    "current_mania",
    "active_substance_use_disorder",
    "unstable_cardiovascular_disease",
    "breastfeeding",
    "severe_hepatic_impairment",
    "elevated_intracranial_or_intraocular_pressure",
    "medications",
    "cssrs_risk",
)
PREGNANCY_ITEMS = ("pregnant", "breastfeeding")

CLEAN = Intake(
    age_years=40,
    sex_at_birth="female",
    systolic_bp=120,
    diastolic_bp=80,
    pregnant=False,
    breastfeeding=False,
    history_of_psychosis=False,
    current_mania=False,
    aneurysmal_vascular_disease=False,
    arteriovenous_malformation=False,
    intracerebral_hemorrhage_history=False,
    unstable_cardiovascular_disease=False,
    active_substance_use_disorder=False,
    ketamine_hypersensitivity=False,
    severe_hepatic_impairment=False,
    elevated_intracranial_or_intraocular_pressure=False,
    medications=(),
    cssrs_risk="none",
)
"""A complete intake with no finding."""


def codes(s: Screening) -> dict[str, str]:
    return {r.code: r.level for r in s.reasons}


def not_recorded(s: Screening) -> list[str]:
    return [r.field for r in s.reasons if r.code == "not_recorded"]


def expected_missing(intake: Intake) -> list[str]:
    """The items left as None that the screening needs (pregnancy only when not male)."""
    return [
        field
        for field in ITEMS
        if getattr(intake, field) is None
        and not (field in PREGNANCY_ITEMS and intake.sex_at_birth == "male")
    ]


# --- not recorded is not "no" -----------------------------------------------------------------


def test_an_empty_intake_needs_review_with_one_reason_per_item() -> None:
    s = screen(Intake())
    assert s.verdict == "needs_review"
    assert sorted(not_recorded(s)) == sorted(ITEMS)
    assert len(s.reasons) == len(ITEMS)
    for reason in s.reasons:
        assert (reason.code, reason.level) == ("not_recorded", "needs_review")
        assert reason.message == f"{ITEM_LABELS[reason.field]}: not recorded"
        assert reason.source


def test_the_message_names_the_item() -> None:
    (reason,) = screen(dataclasses.replace(CLEAN, history_of_psychosis=None)).reasons
    assert reason == Reason(
        "not_recorded", "needs_review", "Psychosis history: not recorded", reason.source,
        "history_of_psychosis",
    )  # fmt: skip


def test_a_complete_clean_intake_is_eligible() -> None:
    assert screen(CLEAN) == Screening(verdict="eligible", reasons=[], ruleset_version="2026.1")
    assert RULESET_VERSION == "2026.1"


@pytest.mark.parametrize("field", ITEMS)
def test_each_item_not_recorded_alone_needs_review(field: str) -> None:
    s = screen(dataclasses.replace(CLEAN, **{field: None}))
    assert s.verdict == "needs_review"
    assert [(r.code, r.field) for r in s.reasons] == [("not_recorded", field)]


def test_an_explicit_empty_medication_list_is_recorded() -> None:
    assert screen(dataclasses.replace(CLEAN, medications=())).verdict == "eligible"
    assert not_recorded(screen(dataclasses.replace(CLEAN, medications=None))) == ["medications"]


@pytest.mark.parametrize(
    ("sex", "needed"),
    [("female", True), ("intersex", True), ("unknown", True), (None, True), ("male", False)],
)
def test_pregnancy_status_is_needed_unless_male_at_birth(sex: str | None, needed: bool) -> None:
    intake = dataclasses.replace(CLEAN, sex_at_birth=sex, pregnant=None, breastfeeding=None)  # type: ignore[arg-type]  # sex from a parametrize list
    s = screen(intake)
    assert not_recorded(s) == (["pregnant", "breastfeeding"] if needed else [])
    assert s.verdict == ("needs_review" if needed else "eligible")


def test_a_pregnancy_recorded_for_a_male_patient_still_counts() -> None:
    s = screen(dataclasses.replace(CLEAN, sex_at_birth="male", pregnant=True))
    assert s.verdict == "ineligible"


def test_an_ineligible_finding_stays_ineligible_with_items_missing() -> None:
    s = screen(Intake(ketamine_hypersensitivity=True))
    assert s.verdict == "ineligible"
    assert s.reasons[0].code == "ketamine_hypersensitivity"
    assert sorted(not_recorded(s)) == sorted(set(ITEMS) - {"ketamine_hypersensitivity"})


# --- the rules ------------------------------------------------------------------------------


def test_ruleset_version_is_stored_on_each_screening() -> None:
    assert screen(Intake(age_years=40)).ruleset_version == RULESET_VERSION


@pytest.mark.parametrize(
    ("age", "verdict"), [(0, "ineligible"), (17, "ineligible"), (18, "eligible"), (90, "eligible")]
)
def test_age_edge(age: int, verdict: str) -> None:
    s = screen(dataclasses.replace(CLEAN, age_years=age))
    assert s.verdict == verdict
    assert ("age_under_18" in codes(s)) is (verdict == "ineligible")


def test_min_age_is_a_setting() -> None:
    assert DEFAULT_SETTINGS.min_age_years == 18
    custom = EligibilitySettings(min_age_years=21)
    (reason,) = screen(dataclasses.replace(CLEAN, age_years=20), custom).reasons
    assert (reason.code, reason.level, reason.field) == ("age_under_18", "ineligible", "age_years")


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
    s = screen(dataclasses.replace(CLEAN, **{field: True}))  # type: ignore[arg-type]  # field names from a parametrize list
    assert s.verdict == level
    (reason,) = s.reasons
    assert (reason.code, reason.level, reason.field) == (code, level, field)
    assert reason.message and reason.source


def test_condition_rules_cover_every_yes_no_field() -> None:
    yes_no_fields = {f.name for f in dataclasses.fields(Intake) if f.type == "bool | None"}
    assert {r.field for r in CONDITION_RULES} == yes_no_fields


def test_every_item_has_a_label_and_every_intake_field_is_an_item_or_from_the_record() -> None:
    assert tuple(ITEM_LABELS) == ITEMS
    assert all(ITEM_LABELS.values())
    intake_fields = {f.name for f in dataclasses.fields(Intake)}
    assert intake_fields == set(ITEMS) | {"sex_at_birth"}


def test_cssrs_risks_are_the_screeners_triage_levels() -> None:
    assert CSSRS_RISKS == cssrs.LEVELS


@pytest.mark.parametrize(
    ("sys_bp", "dia_bp", "code", "field", "verdict"),
    [
        (140, 90, None, None, "eligible"),
        (141, 80, "bp_elevated", "systolic_bp", "needs_review"),
        (130, 91, "bp_elevated", "diastolic_bp", "needs_review"),
        (179, 109, "bp_elevated", "systolic_bp", "needs_review"),
        (180, 80, "bp_too_high", "systolic_bp", "ineligible"),
        (150, 110, "bp_too_high", "diastolic_bp", "ineligible"),
        (200, 120, "bp_too_high", "systolic_bp", "ineligible"),
        (None, None, None, None, "needs_review"),
        (185, None, "bp_too_high", "systolic_bp", "ineligible"),
        (None, 95, "bp_elevated", "diastolic_bp", "needs_review"),
    ],
)
def test_bp_rules(
    sys_bp: int | None, dia_bp: int | None, code: str | None, field: str | None, verdict: str
) -> None:
    s = screen(dataclasses.replace(CLEAN, systolic_bp=sys_bp, diastolic_bp=dia_bp))
    assert s.verdict == verdict
    bp = [(r.code, r.field) for r in s.reasons if r.code.startswith("bp_")]
    assert bp == ([(code, field)] if code else [])
    readings = (("systolic_bp", sys_bp), ("diastolic_bp", dia_bp))
    assert not_recorded(s) == [name for name, value in readings if value is None]


def test_bp_lines_are_settings() -> None:
    custom = EligibilitySettings(bp_ineligible_systolic=170, bp_review_systolic_above=150)
    assert screen(dataclasses.replace(CLEAN, systolic_bp=145), custom).verdict == "eligible"
    assert screen(dataclasses.replace(CLEAN, systolic_bp=170), custom).verdict == "ineligible"
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
    s = screen(dataclasses.replace(CLEAN, medications=(med,)))
    assert s.verdict == verdict
    assert [(r.code, r.level, r.field) for r in s.reasons] == [(code, level, "medications")]
    assert med in s.reasons[0].message


def test_unknown_medication_asks_for_review_without_error() -> None:
    s = screen(dataclasses.replace(CLEAN, medications=("zzz-not-a-drug",)))
    assert "review" in s.reasons[0].message


def test_one_reason_per_medication() -> None:
    s = screen(dataclasses.replace(CLEAN, medications=("lorazepam", "clonazepam", "sertraline")))
    assert [r.code for r in s.reasons] == [
        "medication_benzodiazepine",
        "medication_benzodiazepine",
        "medication_unknown",
    ]


@pytest.mark.parametrize(
    ("risk", "code", "verdict"),
    [
        (None, "not_recorded", "needs_review"),
        ("none", None, "eligible"),
        ("low", None, "eligible"),
        ("moderate", "suicide_risk_moderate", "eligible"),
        ("high", "suicide_risk_high", "needs_review"),
    ],
)
def test_cssrs_rules(risk: str | None, code: str | None, verdict: str) -> None:
    s = screen(dataclasses.replace(CLEAN, cssrs_risk=risk))  # type: ignore[arg-type]  # risk from a parametrize list
    assert s.verdict == verdict
    assert [(r.code, r.field) for r in s.reasons] == ([(code, "cssrs_risk")] if code else [])


def test_suicide_risk_high_is_urgent() -> None:
    (reason,) = screen(dataclasses.replace(CLEAN, cssrs_risk="high")).reasons
    assert reason.level == "needs_review"
    assert "URGENT" in reason.message


def test_verdict_is_worst_level_and_reasons_sorted() -> None:
    s = screen(
        dataclasses.replace(
            CLEAN, pregnant=True, history_of_psychosis=True, medications=("lorazepam",)
        )
    )
    assert s.verdict == "ineligible"
    assert [r.level for r in s.reasons] == ["ineligible", "needs_review", "note"]


def test_notes_alone_stay_eligible() -> None:
    s = screen(dataclasses.replace(CLEAN, medications=("lorazepam",), cssrs_risk="moderate"))
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
    ("kwargs", "field", "rule", "message"),
    [
        ({"age_years": -1}, "age_years", "out_of_range", "must be an integer 0-130"),
        ({"age_years": True}, "age_years", "out_of_range", "must be an integer 0-130"),
        ({"age_years": 40.5}, "age_years", "out_of_range", "must be an integer 0-130"),
        ({"systolic_bp": 30}, "systolic_bp", "out_of_range", "must be an integer 40-300"),
        ({"diastolic_bp": 250}, "diastolic_bp", "out_of_range", "must be an integer 20-200"),
        ({"pregnant": 1}, "pregnant", "not_yes_no", "must be True, False or None"),
        ({"pregnant": "no"}, "pregnant", "not_yes_no", "must be True, False or None"),
        ({"medications": "lorazepam"}, "medications", "not_a_list", "must be a tuple"),
        ({"medications": ("lorazepam", "")}, "medications", "blank_name", "item 2 must be"),
        ({"medications": (None,)}, "medications", "blank_name", "item 1 must be"),
        ({"cssrs_risk": "severe"}, "cssrs_risk", "not_a_choice", "none, low, moderate, high"),
        ({"sex_at_birth": "f"}, "sex_at_birth", "not_a_choice", "female, male, intersex"),
    ],
)
def test_intake_validation(kwargs: dict[str, object], field: str, rule: str, message: str) -> None:
    with pytest.raises(FieldInvalid) as raised:
        Intake(**kwargs)  # type: ignore[arg-type]  # wrong input on purpose
    assert (raised.value.field, raised.value.rule) == (field, rule)
    assert message in raised.value.problems[0].message


def test_screen_rejects_non_intake() -> None:
    with pytest.raises(FieldInvalid, match="intake: must be an Intake") as refused:
        screen({"age_years": 40})  # type: ignore[arg-type]  # wrong input on purpose
    assert refused.value.rule == "type"


def test_every_reason_has_a_source_and_a_field() -> None:
    everything = dataclasses.replace(
        CLEAN,
        age_years=16,
        systolic_bp=190,
        diastolic_bp=100,
        **dict.fromkeys((r.field for r in CONDITION_RULES), True),  # type: ignore[arg-type]  # all bool | None
        medications=("phenelzine", "lorazepam", "lamotrigine", "modafinil", "zolpidem", "x"),
        cssrs_risk="high",
    )
    s = screen(everything)
    assert len(s.reasons) == 1 + len(CONDITION_RULES) + 1 + 6 + 1
    assert all(r.source for r in s.reasons)
    assert {r.field for r in s.reasons} <= set(ITEMS)


def test_a_combination_product_gets_every_class_it_contains() -> None:
    s = screen(dataclasses.replace(CLEAN, medications=("alprazolam/oxycodone",)))
    found = {r.code for r in s.reasons}
    assert {"medication_benzodiazepine", "medication_cns_depressant"} <= found


# --- properties -----------------------------------------------------------------------------

NOTE_ONLY_MEDICATIONS = ("lorazepam", "lamotrigine", "modafinil", "zolpidem", "sertraline", "x")


def _intakes(
    *, age: st.SearchStrategy[int], systolic: st.SearchStrategy[int],
    diastolic: st.SearchStrategy[int], condition: st.SearchStrategy[bool],
    medication: st.SearchStrategy[str], risk: st.SearchStrategy[str],
) -> st.SearchStrategy[Intake]:  # fmt: skip
    """Complete intakes whose items come from the strategies given."""
    return st.builds(
        Intake,
        age_years=age,
        sex_at_birth=st.sampled_from(SEXES_AT_BIRTH),
        systolic_bp=systolic,
        diastolic_bp=diastolic,
        medications=st.lists(medication, max_size=3).map(tuple),
        cssrs_risk=risk,
        **{rule.field: condition for rule in CONDITION_RULES},
    )


complete_intakes = _intakes(
    age=st.integers(0, 130), systolic=st.integers(40, 300), diastolic=st.integers(20, 200),
    condition=st.booleans(), medication=st.sampled_from(("phenelzine", *NOTE_ONLY_MEDICATIONS)),
    risk=st.sampled_from(CSSRS_RISKS),
)  # fmt: skip
clean_intakes = _intakes(
    age=st.integers(18, 130), systolic=st.integers(40, 140), diastolic=st.integers(20, 90),
    condition=st.just(False), medication=st.sampled_from(NOTE_ONLY_MEDICATIONS),
    risk=st.sampled_from(("none", "low", "moderate")),
)  # fmt: skip
"""Complete intakes with no finding above a note."""


@st.composite
def incomplete_intakes(draw: st.DrawFn) -> Intake:
    """A complete intake with at least one item the screening needs set to None."""
    intake = draw(complete_intakes)
    needed = [f for f in ITEMS if not (f in PREGNANCY_ITEMS and intake.sex_at_birth == "male")]
    missing = draw(st.sets(st.sampled_from(needed), min_size=1))
    return dataclasses.replace(intake, **dict.fromkeys(missing))


@given(incomplete_intakes())
def test_an_intake_with_an_item_not_recorded_is_never_eligible(intake: Intake) -> None:
    s = screen(intake)
    assert s.verdict in ("needs_review", "ineligible")
    assert not_recorded(s) == expected_missing(intake)


@given(clean_intakes)
def test_every_complete_intake_without_a_finding_is_eligible(intake: Intake) -> None:
    s = screen(intake)
    assert s.verdict == "eligible"
    assert {r.level for r in s.reasons} <= {"note"}


@given(
    st.one_of(complete_intakes, incomplete_intakes()),
    st.sampled_from([r.field for r in CONDITION_RULES if r.level == "ineligible"]),
)
def test_an_ineligible_finding_wins_whatever_is_missing(intake: Intake, field: str) -> None:
    s = screen(dataclasses.replace(intake, **{field: True}))  # type: ignore[arg-type]  # field drawn from the rules
    assert s.verdict == "ineligible"


@given(st.one_of(complete_intakes, incomplete_intakes()))
def test_the_verdict_is_the_worst_reason_level(intake: Intake) -> None:
    s = screen(intake)
    levels = {r.level for r in s.reasons} - {"note"}
    expected = "ineligible" if "ineligible" in levels else levels.pop() if levels else "eligible"
    assert s.verdict == expected
