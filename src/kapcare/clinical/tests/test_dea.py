"""DEA number check digit and the withdrawal arithmetic (kapcare.clinical.dea, .controlled)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapcare.clinical import controlled, dea
from kapcare.errors import FieldInvalid

LETTERS = st.text(alphabet="ABCDEFGHJKLMPRSTUX", min_size=2, max_size=2)
SIX = st.text(alphabet="0123456789", min_size=6, max_size=6)


def test_the_worked_example() -> None:
    # 1+3+5 = 9; 2 x (2+4+6) = 24; 9 + 24 = 33, so the seventh digit is 3.
    assert dea.check_digit("123456") == 3
    assert dea.validate("ab-123 4563") == "AB1234563"


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("AB1234564", "check_digit"),
        ("A11234563", "format"),
        ("AB123456", "format"),
        ("AB12345633", "format"),
        ("", "format"),
    ],
)
def test_bad_numbers_are_refused_naming_the_field(number: str, rule: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        dea.validate(number, "supplier.dea_number")
    assert (refused.value.field, refused.value.rule) == ("supplier.dea_number", rule)


@given(LETTERS, SIX)
def test_the_computed_check_digit_always_validates(letters: str, six: str) -> None:
    assert dea.is_valid(f"{letters}{six}{dea.check_digit(six)}")


@given(LETTERS, SIX, st.integers(1, 9))
def test_every_other_seventh_digit_is_refused(letters: str, six: str, shift: int) -> None:
    wrong = (dea.check_digit(six) + shift) % 10
    assert not dea.is_valid(f"{letters}{six}{wrong}")


@given(LETTERS, SIX, st.integers(0, 5), st.integers(1, 9))
def test_changing_one_digit_is_caught(letters: str, six: str, position: int, shift: int) -> None:
    number = f"{letters}{six}{dea.check_digit(six)}"
    digit = (int(six[position]) + shift) % 10
    changed = number[: 2 + position] + str(digit) + number[3 + position :]
    # A changed odd-position digit changes the sum by 1..9; an even-position one by twice
    # that, which is 0 mod 10 only for a shift of 5.
    if position % 2 == 1 and shift == 5:
        return
    assert not dea.is_valid(changed)


VIAL = controlled.ProductStrength(mg_per_ml=Decimal(50))
VOLUMES = st.decimals(min_value=0, max_value=10, places=2, allow_nan=False, allow_infinity=False)


@given(VOLUMES, VOLUMES)
def test_drawn_equal_to_given_plus_wasted_is_accepted_and_the_mass_adds_up(
    given_ml: Decimal, wasted_ml: Decimal
) -> None:
    drawn = given_ml + wasted_ml
    if drawn == 0:
        return
    result = controlled.withdrawal(VIAL, drawn_ml=drawn, given_ml=given_ml, wasted_ml=wasted_ml)
    assert result.drawn_mg == result.given_mg + result.wasted_mg == drawn * 50


@given(VOLUMES, VOLUMES, st.integers(1, 100))
def test_any_hundredth_of_a_ml_unaccounted_is_refused(
    given_ml: Decimal, wasted_ml: Decimal, off: int
) -> None:
    drawn = given_ml + wasted_ml + Decimal(off) / 100
    with pytest.raises(FieldInvalid) as refused:
        controlled.withdrawal(VIAL, drawn_ml=drawn, given_ml=given_ml, wasted_ml=wasted_ml)
    assert refused.value.rule == "drawn_not_given_plus_wasted"


def test_volumes_finer_than_a_hundredth_missing_or_negative_name_each_field() -> None:
    with pytest.raises(FieldInvalid) as refused:
        controlled.withdrawal(
            VIAL, drawn_ml=Decimal("1.005"), given_ml=None, wasted_ml=Decimal("-1")
        )
    assert {(p.field, p.rule) for p in refused.value.problems} == {
        ("drawn_ml", "precision"),
        ("given_ml", "required"),
        ("wasted_ml", "out_of_range"),
    }


def test_a_device_is_used_whole() -> None:
    device = controlled.ProductStrength(mg_per_device=Decimal(28))
    result = controlled.withdrawal(device, drawn_ml=None, given_ml=None, wasted_ml=None)
    assert (result.given_mg, result.wasted_mg) == (Decimal(28), Decimal(0))
    with pytest.raises(FieldInvalid) as refused:
        controlled.withdrawal(device, drawn_ml=Decimal(1), given_ml=None, wasted_ml=None)
    assert refused.value.rule == "whole_device"
    assert controlled.movement(device, None) == (Decimal(28), Decimal(0))
