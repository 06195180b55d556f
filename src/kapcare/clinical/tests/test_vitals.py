"""Tests for kapcare.clinical.vitals: Reading validation, alerts per phase, discharge."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapcare.clinical.vitals import (
    DEFAULT,
    DEFAULT_OBSERVATION,
    Alert,
    Discharge,
    ObservationSettings,
    Reading,
    VitalsThresholds,
    assess,
    discharge_check,
)


def alert_codes(reading: Reading, phase: str) -> dict[str, str]:
    return {a.code: a.level for a in assess(reading, phase)}


# --- Reading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "lo", "hi"),
    [
        ("systolic", 40, 300),
        ("diastolic", 20, 200),
        ("heart_rate", 20, 250),
        ("spo2", 50, 100),
        ("resp_rate", 4, 60),
    ],
)
def test_reading_range_edges(field: str, lo: int, hi: int) -> None:
    Reading(**{field: lo})
    Reading(**{field: hi})
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ValueError, match=rf"^{field}: must be a number {lo}-{hi}"):
            Reading(**{field: bad})


@pytest.mark.parametrize("bad", [True, "120", float("nan")])
def test_reading_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^heart_rate"):
        Reading(heart_rate=bad)  # type: ignore[arg-type]  # wrong input on purpose


def test_reading_diastolic_must_be_below_systolic() -> None:
    Reading(systolic=120, diastolic=119)
    for dia in (120, 130):
        with pytest.raises(ValueError, match=r"^diastolic: must be below systolic"):
            Reading(systolic=120, diastolic=dia)
    Reading(systolic=None, diastolic=150)  # only checked when both are given
    Reading(systolic=60, diastolic=None)


def test_empty_reading_has_no_alerts() -> None:
    for phase in ("pre_dose", "dosing", "recovery"):
        assert assess(Reading(), phase) == []


# --- BP alerts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sys_bp", "dia_bp", "expected"),
    [
        (140, 90, None),
        (141, 80, ("bp_elevated", "warning")),
        (120, 91, ("bp_elevated", "warning")),
        (179, 109, ("bp_elevated", "warning")),
        (180, 80, ("bp_critical", "critical")),
        (150, 110, ("bp_critical", "critical")),
        (None, 95, ("bp_elevated", "warning")),
    ],
)
def test_pre_dose_bp(
    sys_bp: int | None, dia_bp: int | None, expected: tuple[str, str] | None
) -> None:
    alerts = assess(Reading(systolic=sys_bp, diastolic=dia_bp), "pre_dose")
    assert [(a.code, a.level) for a in alerts] == ([expected] if expected else [])


@pytest.mark.parametrize("phase", ["dosing", "recovery"])
@pytest.mark.parametrize(
    ("sys_bp", "dia_bp", "expected"),
    [
        (150, 95, None),
        (160, 100, None),
        (161, 80, ("bp_high", "warning")),
        (140, 101, ("bp_high", "warning")),
        (179, 109, ("bp_high", "warning")),
        (180, 90, ("bp_critical", "critical")),
        (170, 110, ("bp_critical", "critical")),
        (220, 130, ("bp_critical", "critical")),
    ],
)
def test_session_bp(phase: str, sys_bp: int, dia_bp: int, expected: tuple[str, str] | None) -> None:
    alerts = assess(Reading(systolic=sys_bp, diastolic=dia_bp), phase)
    assert [(a.code, a.level) for a in alerts] == ([expected] if expected else [])


def test_only_worst_bp_alert() -> None:
    alerts = assess(Reading(systolic=200, diastolic=95), "pre_dose")
    assert [a.code for a in alerts] == ["bp_critical"]


def test_pre_dose_label_source() -> None:
    (alert,) = assess(Reading(systolic=150, diastolic=80), "pre_dose")
    assert "SPRAVATO" in alert.source
    (alert,) = assess(Reading(systolic=190, diastolic=80), "pre_dose")
    assert "clinic policy default" in alert.source


# --- other vital signs --------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["pre_dose", "dosing", "recovery"])
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"heart_rate": 120}, {}),
        ({"heart_rate": 121}, {"tachycardia": "warning"}),
        ({"heart_rate": 50}, {}),
        ({"heart_rate": 49}, {"bradycardia": "warning"}),
        ({"spo2": 95}, {}),
        ({"spo2": 94}, {"low_spo2": "warning"}),
        ({"spo2": 92}, {"low_spo2": "warning"}),
        ({"spo2": 91}, {"hypoxemia": "critical"}),
        ({"spo2": 91.9}, {"hypoxemia": "critical"}),
        ({"resp_rate": 10}, {}),
        ({"resp_rate": 9}, {"bradypnea": "critical"}),
        ({"resp_rate": 24}, {}),
        ({"resp_rate": 25}, {"tachypnea": "warning"}),
    ],
)
def test_other_vitals(phase: str, kwargs: dict[str, float], expected: dict[str, str]) -> None:
    assert alert_codes(Reading(**kwargs), phase) == expected


def test_one_alert_per_code_all_together() -> None:
    reading = Reading(systolic=185, diastolic=100, heart_rate=130, spo2=90, resp_rate=8)
    alerts = assess(reading, "dosing")
    assert [a.code for a in alerts] == ["bp_critical", "tachycardia", "hypoxemia", "bradypnea"]
    assert all(isinstance(a, Alert) and a.message and a.source for a in alerts)


def test_thresholds_replaceable() -> None:
    strict = VitalsThresholds(critical_systolic_at_or_above=170, tachycardia_above=100)
    assert alert_codes(Reading(systolic=172, diastolic=80), "dosing") == {"bp_high": "warning"}
    assert {a.code for a in assess(Reading(systolic=172, diastolic=80), "dosing", strict)} == {
        "bp_critical"
    }
    assert {a.code for a in assess(Reading(heart_rate=110), "dosing", strict)} == {"tachycardia"}
    assert DEFAULT.critical_systolic_at_or_above == 180
    assert "clinic policy default" in VitalsThresholds.sources["critical_systolic_at_or_above"]


def test_assess_errors() -> None:
    with pytest.raises(ValueError, match="phase: must be 'pre_dose', 'dosing' or 'recovery'"):
        assess(Reading(), "post")
    with pytest.raises(ValueError, match="reading: must be a Reading"):
        assess({"systolic": 120}, "dosing")  # type: ignore[arg-type]  # wrong input on purpose


LEVEL_RANK = {None: 0, "warning": 1, "critical": 2}


def bp_level(reading: Reading, phase: str) -> str | None:
    levels = [a.level for a in assess(reading, phase) if a.code.startswith("bp_")]
    return levels[0] if levels else None


@settings(max_examples=300)
@given(
    st.sampled_from(["pre_dose", "dosing", "recovery"]),
    st.integers(40, 300),
    st.integers(40, 300),
    st.data(),
)
def test_bp_alert_level_never_falls_as_systolic_rises(
    phase: str, s1: int, s2: int, data: st.DataObject
) -> None:
    lo, hi = sorted((s1, s2))
    dia = data.draw(st.none() | st.integers(20, min(lo - 1, 200)))
    a = bp_level(Reading(systolic=lo, diastolic=dia), phase)
    b = bp_level(Reading(systolic=hi, diastolic=dia), phase)
    assert LEVEL_RANK[b] >= LEVEL_RANK[a]


@settings(max_examples=300)
@given(
    st.sampled_from(["pre_dose", "dosing", "recovery"]),
    st.integers(20, 200),
    st.integers(20, 200),
    st.integers(201, 300),
)
def test_bp_alert_level_never_falls_as_diastolic_rises(
    phase: str, d1: int, d2: int, sys_bp: int
) -> None:
    lo, hi = sorted((d1, d2))
    a = bp_level(Reading(systolic=sys_bp, diastolic=lo), phase)
    b = bp_level(Reading(systolic=sys_bp, diastolic=hi), phase)
    assert LEVEL_RANK[b] >= LEVEL_RANK[a]


@settings(max_examples=300)
@given(st.sampled_from(["pre_dose", "dosing", "recovery"]), st.integers(20, 200), st.data())
def test_bp_alert_level_never_falls_diastolic_with_systolic_given(
    phase: str, d1: int, data: st.DataObject
) -> None:
    d2 = data.draw(st.integers(d1, 200))
    sys_bp = data.draw(st.integers(max(d2 + 1, 40), 300))
    a = bp_level(Reading(systolic=sys_bp, diastolic=d1), phase)
    b = bp_level(Reading(systolic=sys_bp, diastolic=d2), phase)
    assert LEVEL_RANK[b] >= LEVEL_RANK[a]


# --- discharge ----------------------------------------------------------------------------

GOOD: dict[str, Any] = {
    "route": "iv",
    "minutes_observed": 30,
    "latest": Reading(systolic=130, diastolic=80, heart_rate=80, spo2=98, resp_rate=14),
    "sedation_moaas": 5,
    "dissociation_resolved": True,
    "nausea_controlled": True,
    "ambulating_steadily": True,
    "escort_present": True,
}


def test_discharge_ready() -> None:
    result = discharge_check(**GOOD)
    assert result == Discharge(ready=True, unmet=[], minimum_minutes=30)


@pytest.mark.parametrize(
    ("route", "minimum"), [("iv", 30), ("im", 60), ("intranasal", 60), ("esketamine", 120)]
)
def test_observation_minimum_by_route(route: str, minimum: int) -> None:
    at = discharge_check(**{**GOOD, "route": route, "minutes_observed": minimum})
    assert at.ready and at.minimum_minutes == minimum
    short = discharge_check(**{**GOOD, "route": route, "minutes_observed": minimum - 1})
    assert (short.ready, short.unmet) == (False, ["observation_time"])


def test_observation_minutes_are_settings() -> None:
    custom = ObservationSettings(minutes_by_route={"iv": 45, "sublingual": 90})
    assert discharge_check(**GOOD, observation=custom).unmet == ["observation_time"]
    assert discharge_check(
        **{**GOOD, "route": "sublingual", "minutes_observed": 90}, observation=custom
    ).ready
    assert DEFAULT_OBSERVATION.minutes_by_route["esketamine"] == 120
    assert "SPRAVATO" in ObservationSettings.sources["esketamine"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"latest": Reading(systolic=165, diastolic=80)}, "vitals"),
        ({"latest": Reading(spo2=93)}, "vitals"),
        ({"sedation_moaas": 4}, "sedation"),
        ({"sedation_moaas": 0}, "sedation"),
        ({"dissociation_resolved": False}, "dissociation"),
        ({"nausea_controlled": False}, "nausea"),
        ({"ambulating_steadily": False}, "ambulation"),
        ({"escort_present": False}, "escort"),
    ],
)
def test_each_unmet_criterion(change: dict[str, Any], code: str) -> None:
    result = discharge_check(**{**GOOD, **change})
    assert (result.ready, result.unmet) == (False, [code])


def test_recovery_bp_of_150_does_not_block_discharge() -> None:
    # the 140/90 line applies before dosing only; recovery warns above 160/100
    assert discharge_check(**{**GOOD, "latest": Reading(systolic=150, diastolic=95)}).ready


def test_all_unmet_in_order() -> None:
    result = discharge_check(
        route="esketamine",
        minutes_observed=0,
        latest=Reading(systolic=190, diastolic=100),
        sedation_moaas=2,
        dissociation_resolved=False,
        nausea_controlled=False,
        ambulating_steadily=False,
        escort_present=False,
    )
    assert result.unmet == [
        "observation_time",
        "vitals",
        "sedation",
        "dissociation",
        "nausea",
        "ambulation",
        "escort",
    ]
    assert not result.ready


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"route": "oral"}, "route"),
        ({"route": "IV"}, "route"),
        ({"minutes_observed": -1}, "minutes_observed"),
        ({"minutes_observed": True}, "minutes_observed"),
        ({"minutes_observed": "30"}, "minutes_observed"),
        ({"latest": None}, "latest"),
        ({"sedation_moaas": 6}, "sedation_moaas"),
        ({"sedation_moaas": -1}, "sedation_moaas"),
        ({"sedation_moaas": True}, "sedation_moaas"),
        ({"sedation_moaas": 5.0}, "sedation_moaas"),
        ({"dissociation_resolved": "yes"}, "dissociation_resolved"),
        ({"nausea_controlled": 1}, "nausea_controlled"),
        ({"ambulating_steadily": None}, "ambulating_steadily"),
        ({"escort_present": 0}, "escort_present"),
    ],
)
def test_discharge_errors(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}"):
        discharge_check(**{**GOOD, **change})


def test_discharge_requires_keywords() -> None:
    with pytest.raises(TypeError):
        discharge_check("iv", 30)  # type: ignore[call-arg]  # wrong input on purpose
