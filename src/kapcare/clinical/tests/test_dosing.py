"""Tests for kapcare.clinical.dosing: weight bases, rounding, pump rates, esketamine devices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapcare.clinical.dosing import (
    Dose,
    Infusion,
    esketamine_devices,
    ideal_body_weight_kg,
    infusion_rate,
    weight_based_dose,
)


def test_actual_basis_standard_dose() -> None:
    d = weight_based_dose(0.5, 70)
    assert d == Dose(
        dose_mg=35.0, dosing_weight_kg=70.0, mg_per_kg=0.5, basis="actual", source=d.source
    )
    assert "Zarate 2006" in d.source


@pytest.mark.parametrize(
    ("mg_per_kg", "weight", "dose"),
    [
        (0.5, 70.1, 35.1),  # 35.05 -> half-up 35.1 (binary float would give 35.0)
        (0.5, 70.3, 35.2),  # 35.15 -> 35.2
        (0.75, 81.0, 60.8),  # 60.75 -> 60.8
        (0.5, 80.02, 40.0),  # 40.01 -> 40.0
        (1.0, 123.45, 123.5),
        (2.0, 300, 600.0),
        (0.01, 30, 0.3),
    ],
)
def test_rounding_half_up_to_0_1(mg_per_kg: float, weight: float, dose: float) -> None:
    assert weight_based_dose(mg_per_kg, weight).dose_mg == dose


@pytest.mark.parametrize(
    ("height_cm", "sex", "ibw", "dose"),
    [
        (152.4, "male", 50.0, 25.0),  # exactly 60 inches
        (152.4, "female", 45.5, 22.8),  # 22.75 half-up
        (177.8, "male", 73.0, 36.5),  # 70 inches: 50 + 23
        (165.1, "female", 57.0, 28.5),  # 65 inches: 45.5 + 11.5
    ],
)
def test_devine_ideal_body_weight(height_cm: float, sex: str, ibw: float, dose: float) -> None:
    assert ideal_body_weight_kg(height_cm, sex) == pytest.approx(ibw)
    d = weight_based_dose(0.5, 120, height_cm=height_cm, sex=sex, basis="ideal")
    assert d.dosing_weight_kg == pytest.approx(ibw)
    assert d.dose_mg == dose
    assert d.basis == "ideal"
    assert "Devine" in d.source


def test_adjusted_body_weight() -> None:
    # IBW 73 kg (70 in, male); actual 123 kg -> 73 + 0.4 * 50 = 93 kg
    d = weight_based_dose(0.5, 123, height_cm=177.8, sex="male", basis="adjusted")
    assert d.dosing_weight_kg == pytest.approx(93.0)
    assert d.dose_mg == 46.5
    assert d.basis == "adjusted"


def test_adjusted_below_ideal_moves_towards_actual() -> None:
    d = weight_based_dose(1.0, 63, height_cm=177.8, sex="male", basis="adjusted")
    assert d.dosing_weight_kg == pytest.approx(73 + 0.4 * (63 - 73))


def test_height_converted_from_cm() -> None:
    # 175 cm = 68.898 in -> 50 + 2.3 * 8.898 = 70.465 kg
    assert ideal_body_weight_kg(175, "male") == pytest.approx(50 + 2.3 * (175 / 2.54 - 60))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mg_per_kg": 0.5, "weight_kg": 29.9}, "weight_kg"),
        ({"mg_per_kg": 0.5, "weight_kg": 300.1}, "weight_kg"),
        ({"mg_per_kg": 0, "weight_kg": 70}, "mg_per_kg"),
        ({"mg_per_kg": -0.5, "weight_kg": 70}, "mg_per_kg"),
        ({"mg_per_kg": 2.01, "weight_kg": 70}, "mg_per_kg"),
        ({"mg_per_kg": True, "weight_kg": 70}, "mg_per_kg"),
        ({"mg_per_kg": "0.5", "weight_kg": 70}, "mg_per_kg"),
        ({"mg_per_kg": float("nan"), "weight_kg": 70}, "mg_per_kg"),
        ({"mg_per_kg": 0.5, "weight_kg": None}, "weight_kg"),
        ({"mg_per_kg": 0.5, "weight_kg": 70, "basis": "lean"}, "basis"),
        ({"mg_per_kg": 0.5, "weight_kg": 70, "basis": "ideal"}, "height_cm and sex"),
        ({"mg_per_kg": 0.5, "weight_kg": 70, "basis": "ideal", "sex": "male"}, "height_cm"),
        ({"mg_per_kg": 0.5, "weight_kg": 70, "basis": "adjusted", "height_cm": 170}, "sex"),
        (
            {"mg_per_kg": 0.5, "weight_kg": 70, "basis": "ideal", "height_cm": 170, "sex": "m"},
            "sex",
        ),
        (
            {"mg_per_kg": 0.5, "weight_kg": 70, "basis": "ideal", "height_cm": 50, "sex": "male"},
            "height_cm",
        ),
        ({"mg_per_kg": 0.5, "weight_kg": 70, "max_dose_mg": 34.9}, "max_dose_mg"),
        ({"mg_per_kg": 0.5, "weight_kg": 70, "max_dose_mg": 0}, "max_dose_mg"),
    ],
)
def test_dose_errors_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}"):
        weight_based_dose(**kwargs)  # type: ignore[arg-type]  # wrong input on purpose


@pytest.mark.parametrize(("mg_per_kg", "weight"), [(2.0, 30), (0.001, 300)])
def test_range_edges_accepted(mg_per_kg: float, weight: float) -> None:
    weight_based_dose(mg_per_kg, weight)


def test_max_dose_at_limit_is_allowed() -> None:
    assert weight_based_dose(0.5, 70, max_dose_mg=35).dose_mg == 35.0


def test_max_dose_message() -> None:
    with pytest.raises(ValueError, match=r"dose 40\.0 mg exceeds the maximum 35 mg"):
        weight_based_dose(0.5, 80, max_dose_mg=35)


@settings(max_examples=200)
@given(
    st.decimals(min_value="0.1", max_value="2.0", places=2),
    st.decimals(min_value="30", max_value="150", places=1),
)
def test_dose_linear_in_weight(mg_per_kg: Decimal, weight: Decimal) -> None:
    single = weight_based_dose(float(mg_per_kg), float(weight)).dose_mg
    double = weight_based_dose(float(mg_per_kg), float(weight * 2)).dose_mg
    exact = mg_per_kg * weight
    assert abs(Decimal(str(single)) - exact) <= Decimal("0.05")
    # doubling the weight doubles the dose, within one rounding step each
    assert abs(double - 2 * single) <= 0.1 + 1e-9


@given(st.floats(min_value=30, max_value=300), st.floats(min_value=30, max_value=300))
def test_dose_monotonic_in_weight(w1: float, w2: float) -> None:
    lo, hi = sorted((w1, w2))
    assert weight_based_dose(0.5, lo).dose_mg <= weight_based_dose(0.5, hi).dose_mg


# --- infusion rate ------------------------------------------------------------------------


def test_infusion_rate_standard() -> None:
    # 35 mg in 100 mL over 40 min
    assert infusion_rate(35, 40, 100) == Infusion(
        rate_ml_per_h=150.0, rate_mg_per_min=0.9, concentration_mg_per_ml=0.35
    )


def test_infusion_rate_rounding() -> None:
    i = infusion_rate(41.1, 45, 250)
    assert i.rate_ml_per_h == 333.3  # 333.33
    assert i.rate_mg_per_min == 0.9  # 0.9133
    assert i.concentration_mg_per_ml == 0.164  # 0.1644
    assert infusion_rate(1, 3, 3).concentration_mg_per_ml == 0.333
    assert infusion_rate(2.5, 1, 2000).concentration_mg_per_ml == 0.001  # 0.00125 half-up


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, 40, 100), "dose_mg"),
        ((35, 0, 100), "duration_min"),
        ((35, 40, 0), "total_volume_ml"),
        ((-1, 40, 100), "dose_mg"),
        ((35, -40, 100), "duration_min"),
        ((35, 40, -5), "total_volume_ml"),
        ((True, 40, 100), "dose_mg"),
        ((35, None, 100), "duration_min"),
    ],
)
def test_infusion_rate_errors(args: tuple[object, object, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}"):
        infusion_rate(*args)  # type: ignore[arg-type]  # wrong input on purpose


# --- esketamine devices -------------------------------------------------------------------


@pytest.mark.parametrize(("dose", "devices"), [(28, 1), (56, 2), (84, 3), (56.0, 2)])
def test_esketamine_devices(dose: int, devices: int) -> None:
    assert esketamine_devices(dose) == devices


@pytest.mark.parametrize("dose", [0, 14, 27, 29, 42, 112, -28, True, "56", None, 56.5])
def test_esketamine_devices_rejects(dose: object) -> None:
    with pytest.raises(ValueError, match="dose_mg: must be 28, 56 or 84"):
        esketamine_devices(dose)  # type: ignore[arg-type]  # wrong input on purpose
