"""Dose and infusion-pump arithmetic for ketamine and esketamine.

- ``weight_based_dose``: mg/kg dose on actual, ideal (Devine) or adjusted body weight.
- ``infusion_rate``: pump rate for a dose given over a set time in a set volume.
- ``esketamine_devices``: number of 28 mg SPRAVATO nasal devices for a dose.

All rounding is decimal half-up (35.05 mg -> 35.1 mg), never binary-float rounding.
The calculator checks arithmetic and plausible ranges; the prescriber decides the dose.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kapcare.errors import FieldInvalid

DEVINE_SOURCE = (
    "Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-655 (ideal body weight: "
    "men 50 kg, women 45.5 kg, + 2.3 kg per inch over 5 ft)"
)
ADJUSTED_SOURCE = (
    "Adjusted body weight = IBW + 0.4 x (actual - IBW) (standard dosing-weight formula)"
)
IV_SOURCE = (
    "0.5 mg/kg IV over 40 min: Zarate 2006; Feder 2014, 2021; APA consensus, Sanacora et al. "
    "2017. Clinics titrate about 0.5-1.0 mg/kg (ASKP guidance)"
)
ESKETAMINE_SOURCE = (
    "SPRAVATO prescribing information, sections 2 and 16: 28 mg per nasal spray device; 56 mg "
    "= 2 devices, 84 mg = 3 devices, 5 minutes between devices"
)

WEIGHT_RANGE_KG = (Decimal(30), Decimal(300))
"""Accepted actual body weight (plausibility check against typing errors)."""
MAX_MG_PER_KG = Decimal("2.0")
"""Upper limit for mg/kg: above any published antidepressant dose (typing-error check)."""
HEIGHT_RANGE_CM = (Decimal(120), Decimal(250))
"""Accepted height for the Devine formula (plausibility check)."""

DEVINE_BASE_KG = {"male": Decimal(50), "female": Decimal("45.5")}
DEVINE_KG_PER_INCH = Decimal("2.3")
CM_PER_INCH = Decimal("2.54")
INCHES_AT_BASE = Decimal(60)
ADJUSTMENT_FACTOR = Decimal("0.4")

ESKETAMINE_MG_PER_DEVICE = 28
ESKETAMINE_DOSES_MG = (28, 56, 84)
ESKETAMINE_DEVICE_SPACING_MIN = 5
"""SPRAVATO prescribing information: wait 5 minutes between devices."""

BASES = ("actual", "ideal", "adjusted")
SEXES = ("female", "male")


@dataclass(frozen=True)
class Dose:
    """A computed dose. ``dose_mg`` is rounded to 0.1 mg; ``dosing_weight_kg`` is unrounded."""

    dose_mg: float
    dosing_weight_kg: float
    mg_per_kg: float
    basis: str
    source: str


@dataclass(frozen=True)
class Infusion:
    """Pump settings: rates rounded to 0.1, concentration to 0.001."""

    rate_ml_per_h: float
    rate_mg_per_min: float
    concentration_mg_per_ml: float


def _number(name: str, value: object) -> Decimal:
    """Return ``value`` as an exact Decimal of its shortest repr; reject bool, non-numbers, nan."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise FieldInvalid(name, "type", f"must be a number, got {value!r}")
    result = Decimal(str(value))
    if not result.is_finite():
        raise FieldInvalid(name, "type", f"must be a finite number, got {value!r}")
    return result


def _round(value: Decimal, places: str) -> float:
    return float(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def ideal_body_weight_kg(height_cm: float, sex: str) -> float:
    """Devine ideal body weight: 50 kg (male) or 45.5 kg (female) + 2.3 kg per inch over 60 in.

    Below 60 inches the same line is extended downwards. Source: Devine 1974.
    """
    return float(_ideal(_number("height_cm", height_cm), sex))


def _ideal(height: Decimal, sex: object) -> Decimal:
    if not HEIGHT_RANGE_CM[0] <= height <= HEIGHT_RANGE_CM[1]:
        low, high = HEIGHT_RANGE_CM
        raise FieldInvalid(
            "height_cm",
            "out_of_range",
            f"must be {low}-{high}, got {height}",
            low=float(low),
            high=float(high),
            entered=height,
        )
    if sex not in SEXES:
        raise FieldInvalid("sex", "one_of", f"must be 'female' or 'male', got {sex!r}")
    inches = height / CM_PER_INCH
    return DEVINE_BASE_KG[str(sex)] + DEVINE_KG_PER_INCH * (inches - INCHES_AT_BASE)


def weight_based_dose(
    mg_per_kg: float,
    weight_kg: float,
    *,
    height_cm: float | None = None,
    sex: str | None = None,
    basis: str = "actual",
    max_dose_mg: float | None = None,
    dose_source: str = IV_SOURCE,
) -> Dose:
    """Dose in mg = mg_per_kg x dosing weight, rounded half-up to 0.1 mg.

    ``basis``: "actual" (actual weight; most protocols), "ideal" (Devine IBW from ``height_cm``
    and ``sex``) or "adjusted" (IBW + 0.4 x (actual - IBW)); some clinics use ideal or adjusted
    weight when BMI is 30 or more. Raises ``ValueError`` naming the field for: ``weight_kg``
    outside 30-300; ``mg_per_kg`` not above 0 or above 2.0; "ideal"/"adjusted" without
    ``height_cm`` and ``sex``; a dose above ``max_dose_mg``.
    ``dose_source`` is where the mg/kg comes from (default: the IV evidence; an IM or other
    protocol passes its own), cited with the weight formula's source.
    Sources: IV 0.5 mg/kg (Zarate 2006; Feder 2014, 2021; Sanacora 2017); Devine 1974.
    """
    rate = _number("mg_per_kg", mg_per_kg)
    if not Decimal(0) < rate <= MAX_MG_PER_KG:
        raise FieldInvalid(
            "mg_per_kg",
            "out_of_range",
            f"must be above 0 and at most 2.0, got {mg_per_kg!r}",
            low=0,
            high=float(MAX_MG_PER_KG),
            entered=mg_per_kg,
        )
    weight = _number("weight_kg", weight_kg)
    if not WEIGHT_RANGE_KG[0] <= weight <= WEIGHT_RANGE_KG[1]:
        low, high = WEIGHT_RANGE_KG
        raise FieldInvalid(
            "weight_kg",
            "out_of_range",
            f"must be {low}-{high}, got {weight_kg!r}",
            low=float(low),
            high=float(high),
            entered=weight_kg,
        )
    if basis not in BASES:
        raise FieldInvalid(
            "basis", "one_of", f"must be 'actual', 'ideal' or 'adjusted', got {basis!r}"
        )

    if basis == "actual":
        dosing_weight, source = weight, dose_source
    else:
        if height_cm is None or sex is None:
            missing = " and ".join(
                n for n, v in (("height_cm", height_cm), ("sex", sex)) if v is None
            )
            raise FieldInvalid(missing, "required", f"required for a dose by {basis} body weight")
        ibw = _ideal(_number("height_cm", height_cm), sex)
        if basis == "ideal":
            dosing_weight, source = ibw, f"{dose_source}; {DEVINE_SOURCE}"
        else:
            dosing_weight = ibw + ADJUSTMENT_FACTOR * (weight - ibw)
            source = f"{dose_source}; {DEVINE_SOURCE}; {ADJUSTED_SOURCE}"

    dose = _round(rate * dosing_weight, "0.1")
    if max_dose_mg is not None:
        limit = _number("max_dose_mg", max_dose_mg)
        if limit <= 0:
            raise FieldInvalid(
                "max_dose_mg",
                "out_of_range",
                f"must be above 0, got {max_dose_mg!r}",
                entered=max_dose_mg,
            )
        if Decimal(str(dose)) > limit:
            raise FieldInvalid(
                "max_dose_mg", "invalid", f"dose {dose} mg exceeds the maximum {max_dose_mg} mg"
            )
    return Dose(
        dose_mg=dose,
        dosing_weight_kg=float(dosing_weight),
        mg_per_kg=float(rate),
        basis=basis,
        source=source,
    )


def infusion_rate(dose_mg: float, duration_min: float, total_volume_ml: float) -> Infusion:
    """Pump rate for ``dose_mg`` in ``total_volume_ml`` given evenly over ``duration_min``.

    rate_ml_per_h = volume / duration x 60 (0.1); rate_mg_per_min = dose / duration (0.1);
    concentration = dose / volume (0.001). Any input that is not positive raises ``ValueError``.
    Source: arithmetic; standard 40-minute infusion (Zarate 2006; Sanacora 2017).
    """
    dose = _number("dose_mg", dose_mg)
    duration = _number("duration_min", duration_min)
    volume = _number("total_volume_ml", total_volume_ml)
    for name, value in (("dose_mg", dose), ("duration_min", duration), ("total_volume_ml", volume)):
        if value <= 0:
            raise FieldInvalid(name, "out_of_range", f"must be above 0, got {value}", entered=value)
    return Infusion(
        rate_ml_per_h=_round(volume / duration * 60, "0.1"),
        rate_mg_per_min=_round(dose / duration, "0.1"),
        concentration_mg_per_ml=_round(dose / volume, "0.001"),
    )


def esketamine_devices(dose_mg: int) -> int:
    """Number of 28 mg SPRAVATO devices for a dose of 28, 56 or 84 mg; else ``ValueError``.

    Source: SPRAVATO prescribing information (28 mg per device; 56 mg = 2, 84 mg = 3; 5 minutes
    between devices).
    """
    if isinstance(dose_mg, bool) or not isinstance(dose_mg, int | float):
        raise FieldInvalid(
            "dose_mg", "one_of", f"must be 28, 56 or 84, got {dose_mg!r}", entered=dose_mg
        )
    if dose_mg not in ESKETAMINE_DOSES_MG:
        raise FieldInvalid(
            "dose_mg", "one_of", f"must be 28, 56 or 84, got {dose_mg!r}", entered=dose_mg
        )
    return int(dose_mg) // ESKETAMINE_MG_PER_DEVICE
