"""Quantities of a controlled-substance withdrawal (docs/clinical-reference.md §12).

Every drawn quantity is accounted for as given or wasted (21 CFR 1304.22(c): the quantity
administered, and other disposal by quantity and manner). Volumes are recorded to 0.01 mL:
drawn = given + wasted exactly at that precision, and a vial's mass follows from its strength.
A nasal device is used whole: its contents are given, none is drawn or wasted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kapcare.errors import FieldInvalid, FieldProblem

ML_STEP = Decimal("0.01")
MG_STEP = Decimal("0.01")


@dataclass(frozen=True)
class ProductStrength:
    """What converts a withdrawal to mg: ``mg_per_ml`` for a solution in a vial, or
    ``mg_per_device`` for a device used whole."""

    mg_per_ml: Decimal | None = None
    mg_per_device: Decimal | None = None

    @property
    def whole_device(self) -> bool:
        return self.mg_per_device is not None


@dataclass(frozen=True)
class Withdrawal:
    drawn_ml: Decimal
    given_ml: Decimal
    wasted_ml: Decimal
    drawn_mg: Decimal
    given_mg: Decimal
    wasted_mg: Decimal


def _volume(field: str, value: Decimal | None, problems: list[FieldProblem]) -> Decimal:
    if value is None:
        problems.append(FieldProblem(field, "required", "the volume in mL"))
        return Decimal(0)
    if not value.is_finite() or value < 0:
        problems.append(FieldProblem(field, "out_of_range", "must be 0 mL or more"))
        return Decimal(0)
    if value != value.quantize(ML_STEP):
        problems.append(FieldProblem(field, "precision", "record the volume to 0.01 mL"))
    return value


def mg_of(ml: Decimal, strength: ProductStrength) -> Decimal:
    if strength.mg_per_ml is None:
        raise FieldInvalid("product", "no_strength", "the product has no mg per mL")
    return (ml * strength.mg_per_ml).quantize(MG_STEP)


def withdrawal(
    strength: ProductStrength,
    *,
    drawn_ml: Decimal | None,
    given_ml: Decimal | None,
    wasted_ml: Decimal | None,
) -> Withdrawal:
    """The withdrawal's volumes and masses, or FieldInvalid naming every bad field."""
    if strength.mg_per_device is not None:
        if any(v not in (None, Decimal(0)) for v in (drawn_ml, given_ml, wasted_ml)):
            raise FieldInvalid(
                "drawn_ml", "whole_device", "a nasal device is used whole: send no volumes"
            )
        zero = Decimal(0)
        mg = strength.mg_per_device
        return Withdrawal(zero, zero, zero, mg, mg, zero)
    problems: list[FieldProblem] = []
    drawn = _volume("drawn_ml", drawn_ml, problems)
    given = _volume("given_ml", given_ml, problems)
    wasted = _volume("wasted_ml", wasted_ml, problems)
    if not problems and drawn <= 0:
        problems.append(FieldProblem("drawn_ml", "out_of_range", "must be more than 0 mL"))
    if not problems and drawn != given + wasted:
        problems.append(
            FieldProblem(
                "drawn_ml",
                "drawn_not_given_plus_wasted",
                f"drawn ({drawn} mL) must equal given ({given} mL) plus wasted ({wasted} mL)",
            )
        )
    if problems:
        raise FieldInvalid.of(problems)
    return Withdrawal(
        drawn,
        given,
        wasted,
        mg_of(drawn, strength),
        mg_of(given, strength),
        mg_of(wasted, strength),
    )


def movement(strength: ProductStrength, quantity_ml: Decimal | None) -> tuple[Decimal, Decimal]:
    """(mg, mL) of a quantity moved out of a container other than by a withdrawal (breakage,
    return, destruction, loss): a volume of more than 0 mL for a vial; a device moves whole."""
    if strength.mg_per_device is not None:
        if quantity_ml not in (None, Decimal(0)):
            raise FieldInvalid(
                "quantity_ml", "whole_device", "a nasal device moves whole: send no volume"
            )
        return strength.mg_per_device, Decimal(0)
    problems: list[FieldProblem] = []
    ml = _volume("quantity_ml", quantity_ml, problems)
    if not problems and ml <= 0:
        problems.append(FieldProblem("quantity_ml", "out_of_range", "must be more than 0 mL"))
    if problems:
        raise FieldInvalid.of(problems)
    return mg_of(ml, strength), ml
