"""Pharmacokinetic simulator for racemic ketamine: for education and planning only.

This is not a dosing calculator. It predicts the plasma concentration of ketamine for a
planned regimen with published linear compartment models, so that staff and patients can see
when concentrations rise and fall. Pure Python with numpy; no Django.

Method
------
The disposition model is a linear mammillary system (central compartment 1, peripheral
compartments 2 and 3) with first-order rate constants per minute. Its matrix is similar to a
symmetric matrix, so it has real, distinct, negative eigenvalues ``-lambda_i`` and the
concentration in the central compartment after 1 mg placed in it is, exactly,

    c(t) = sum_i a_i * exp(-lambda_i * t),    a_i = u_0i**2 / V1,

where ``u_0i`` is the first component of the i-th orthonormal eigenvector of the symmetrised
matrix (so the ``a_i * V1`` sum to one). Every dose is one piecewise-constant input acting on
that impulse response, integrated in closed form:

* IV bolus (``duration_min == 0``): ``D * a_i * exp(-lambda_i * tau)``.
* IV zero-order infusion at rate ``R = D / T`` over ``[0, T]``:
  ``R * a_i * (1 - exp(-lambda_i * min(tau, T))) / lambda_i * exp(-lambda_i * max(tau - T, 0))``.
* First-order absorption (all other routes) from a depot with bioavailability ``F`` and rate
  constant ``ka``: ``F * D * ka * a_i * (exp(-lambda_i tau) - exp(-ka tau)) / (ka - lambda_i)``,
  evaluated in a form that stays exact (no cancellation, no overflow) when ``ka`` is close to a
  ``lambda_i``.

The response is linear, so doses add (superposition): any number of doses, in any order,
overlapping. There is no time stepping; the grid only says where the exact solution is
sampled. The AUC is the exact integral of the same closed form from 0 to ``t_end_min``, not a
trapezoid on the grid. ``cmax_ng_per_ml`` and ``tmax_min`` are the maximum of the sampled grid.

Units: dose in mg, volume in L, time in min, concentration in ng/mL (mg/L x 1000).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from kapcare.clinical.dosing import WEIGHT_RANGE_KG

FloatArray = NDArray[np.float64]

__all__ = [
    "DISCLAIMER",
    "MODELS",
    "ROUTES",
    "CompartmentModel",
    "Curve",
    "Dose",
    "Population",
    "RouteParameters",
    "simulate",
    "simulate_population",
]

DISCLAIMER: Final = "For education and planning — not a dosing calculator"

# The accepted body weight is the dosing calculator's (one range: kapcare.clinical.dosing).
WEIGHT_MIN_KG: Final = float(WEIGHT_RANGE_KG[0])
WEIGHT_MAX_KG: Final = float(WEIGHT_RANGE_KG[1])
MAX_T_END_MIN: Final = 14 * 24 * 60.0  # two weeks; longer horizons are not meaningful here
MAX_GRID_POINTS: Final = 2_000_001
MAX_CV: Final = 2.0
MAX_SUBJECTS: Final = 1_000_000
# Exponents are floored at -600 before exp(): exp(-600) ~ 3e-261, so the floor changes a
# concentration by less than 1e-250 ng/mL, and it keeps every intermediate a normal float
# (subnormal results make exp() and products ~20x slower on x86 without changing anything).
_MIN_EXPONENT: Final = -600.0


# --------------------------------------------------------------------------------------------
# Parameter tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompartmentModel:
    """A published linear compartment model for racemic ketamine (rate constants per min)."""

    name: str
    compartments: int
    v1_l_per_kg: float
    k10: float
    k12: float
    k21: float
    k13: float
    k31: float
    source: str
    pmid: str
    notes: str = ""


# Both parameter sets are as coded in the MIT-licensed opentiva package (see
# docs/clinical-reference.md §9). Plausibility checks done for kapcare (computed
# from the constants below, 70 kg):
# * Clements: clearance V1*k10 = 19.1 mL/kg/min = 80 L/h and Vss = 4.13 L/kg = 289 L, against
#   Kamp 2020 (meta-analysis) ~79 L/h and ~252 L; half-lives 17.6 min and 183 min, against the
#   2.5-3 h elimination half-life commonly reported. 0.5 mg/kg over 40 min gives 177 ng/mL at
#   the end of the infusion, against 185 ng/mL measured (Zarate 2006, in Zanos 2018 Table 1).
#   V1 (1.75 L/kg) is large because the original sampling could not resolve the fastest
#   distribution phase; the model therefore underestimates very early peaks after a bolus.
# * Domino: clearance 27.6 mL/kg/min = 116 L/h, Vss = 2.76 L/kg = 193 L; half-lives 0.4 min,
#   4.6 min and 115 min (surgical patients). V1 of 0.063 L/kg gives very high, brief peaks
#   after a bolus and ~240 ng/mL at the end of the 0.5 mg/kg / 40 min infusion.
# The primary papers themselves were not available to us; the values agree with the secondary
# figures above but have not been re-derived from the papers' tables.
MODELS: Final[dict[str, CompartmentModel]] = {
    "clements": CompartmentModel(
        name="clements",
        compartments=2,
        v1_l_per_kg=1.7522,
        k10=0.0109,
        k12=0.0186,
        k21=0.0137,
        k13=0.0,
        k31=0.0,
        source=(
            "Clements JA, Nimmo WS. Pharmacokinetics and analgesic effect of ketamine in man. "
            "Br J Anaesth 1981;53:27-30 (250 microgram/kg IV data), as coded in opentiva"
        ),
        pmid="7459184",
        notes="2-compartment; kapcare default",
    ),
    "domino": CompartmentModel(
        name="domino",
        compartments=3,
        v1_l_per_kg=0.063,
        k10=0.4381,
        k12=0.5921,
        k21=0.2470,
        k13=0.5900,
        k31=0.0146,
        source=(
            "Domino EF et al. Plasma levels of ketamine and two of its metabolites in surgical "
            "patients. Anesth Analg 1982;61:87-92, as coded in opentiva"
        ),
        pmid="7198883",
        notes="3-compartment; surgical patients",
    ),
}


@dataclass(frozen=True)
class RouteParameters:
    """Bioavailability and absorption of one route, with sources.

    ``ka_per_min`` is ``None`` for IV. For the other routes it is an estimate: the absorption
    rate constant for which the default (Clements) model reproduces the reported Tmax
    (``tmax_reported_min``); few papers report ka itself for these routes.
    """

    route: str
    bioavailability: float
    ka_per_min: float | None
    tmax_reported_min: float | None
    f_source: str
    ka_source: str


ROUTES: Final[dict[str, RouteParameters]] = {
    "iv": RouteParameters(
        route="iv",
        bioavailability=1.0,
        ka_per_min=None,
        tmax_reported_min=None,
        f_source="by definition",
        ka_source="no absorption phase",
    ),
    # Clements JA, Nimmo WS, Grant IS. Bioavailability, pharmacokinetics and analgesic activity
    # of ketamine in humans. J Pharm Sci 1982;71:539-42: IM F 93%.
    "im": RouteParameters(
        route="im",
        bioavailability=0.93,
        ka_per_min=0.075,
        tmax_reported_min=22.0,
        f_source="Clements 1982 J Pharm Sci 71:539 (IM F 93%)",
        ka_source=(
            "ESTIMATE from Tmax ~22 min after 0.5 mg/kg IM (Grant, Nimmo, Clements, Br J "
            "Anaesth 1981;53:805; Tmax not re-checked in the primary text: to verify)"
        ),
    ),
    # Intranasal racemic ketamine. Secondary sources quote 25-50%, from small or older studies.
    # The 2022 crossover study with an IV reference (Pharmacotherapy 2022;42:298-310,
    # PMC9118341, Table 6) measured F of 17% (10 mg, n=7), 13% (30 mg, n=10) and 11% (50 mg,
    # n=10), falling with dose. We use 13%: the n-weighted mean of the three arms (13.3%) and
    # the middle arm; it is measured, not quoted. Real compounded sprays vary widely, and at
    # 50 mg and above the measured F was lower (11%).
    "intranasal": RouteParameters(
        route="intranasal",
        bioavailability=0.13,
        ka_per_min=0.11,
        tmax_reported_min=17.0,
        f_source="PMC9118341 (Pharmacotherapy 2022;42:298) Table 6: 17/13/11% at 10/30/50 mg",
        ka_source=(
            "ESTIMATE from Tmax: n-weighted mean of the geometric-mean Tmax 23/14/16 min "
            "(PMC9118341 Table 6) = 17 min"
        ),
    ),
    # Rolan 2014 (Br J Clin Pharmacol 77:1011, PMC4093926): median F 29% (90% CI 27-31%),
    # n=8 healthy volunteers, median Tmax 0.75 h; Chong 2006 (Pain Med 7:469): 32 +/- 17%,
    # Tmax 0.76 h. We use Rolan's 29%, the more precise estimate; Chong agrees.
    "sublingual": RouteParameters(
        route="sublingual",
        bioavailability=0.29,
        ka_per_min=0.024,
        tmax_reported_min=45.0,
        f_source="Rolan 2014 Br J Clin Pharmacol 77:1011 (29%); Chong 2006 Pain Med 7:469 (32%)",
        ka_source="ESTIMATE from Tmax 0.75 h (Rolan 2014 median; Chong 2006 0.76 h)",
    ),
    # Oral: Chong 2006 measured 23 +/- 9% (n=6, Tmax 0.96 h); Clements 1982 measured 17%.
    # We use 20%, the mean of the two measured values.
    "oral": RouteParameters(
        route="oral",
        bioavailability=0.20,
        ka_per_min=0.016,
        tmax_reported_min=58.0,
        f_source="Chong 2006 Pain Med 7:469 (23%); Clements 1982 J Pharm Sci 71:539 (17%)",
        ka_source="ESTIMATE from Tmax 0.96 h (Chong 2006)",
    ),
    # Esketamine nasal spray (SPRAVATO US label): mean absolute bioavailability ~48%, Tmax
    # 20-40 min after the last spray of a session. SIMPLIFICATION: the curve is the predicted
    # plasma concentration of esketamine, computed with the racemic-ketamine disposition model
    # (esketamine clearance is somewhat higher than racemate's, so this likely overestimates
    # slightly). Enter each 28 mg device as its own dose, 5 min apart, to model a session.
    "esketamine": RouteParameters(
        route="esketamine",
        bioavailability=0.48,
        ka_per_min=0.046,
        tmax_reported_min=30.0,
        f_source="SPRAVATO (esketamine) nasal spray US prescribing information: F ~48%",
        ka_source="ESTIMATE from Tmax 20-40 min (label), midpoint 30 min",
    ),
}


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


def _finite_number(value: object, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{field_name} must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{field_name} must be finite, got {value!r}")
    return result


def _check_dose(route: object, dose_mg: object, start_min: object, duration_min: object) -> None:
    if not isinstance(route, str) or route not in ROUTES:
        raise ValueError(f"route must be one of {sorted(ROUTES)}, got {route!r}")
    if _finite_number(dose_mg, "dose_mg") < 0:
        raise ValueError(f"dose_mg must not be negative, got {dose_mg!r}")
    if _finite_number(start_min, "start_min") < 0:
        raise ValueError(f"start_min must not be negative, got {start_min!r}")
    duration = _finite_number(duration_min, "duration_min")
    if duration < 0:
        raise ValueError(f"duration_min must not be negative, got {duration_min!r}")
    if duration > 0 and route != "iv":
        raise ValueError(
            f"duration_min > 0 (an infusion) is only possible for route 'iv', not {route!r}"
        )


@dataclass(frozen=True)
class Dose:
    """One administration.

    ``route`` is one of ``ROUTES``. ``duration_min > 0`` is a zero-order IV infusion; a
    duration of 0 is an IV bolus, or first-order absorption for every other route.
    """

    route: str
    dose_mg: float
    start_min: float = 0.0
    duration_min: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.route, str):
            object.__setattr__(self, "route", self.route.strip().lower())
        _check_dose(self.route, self.dose_mg, self.start_min, self.duration_min)
        for name in ("dose_mg", "start_min", "duration_min"):
            object.__setattr__(self, name, float(getattr(self, name)))


@dataclass(frozen=True, eq=False)
class Curve:
    """A predicted plasma concentration curve (racemic ketamine unless route is esketamine)."""

    times_min: FloatArray
    conc_ng_per_ml: FloatArray
    cmax_ng_per_ml: float
    tmax_min: float
    auc_ng_h_per_ml: float
    model: str = "clements"
    weight_kg: float = 70.0
    disclaimer: str = DISCLAIMER


@dataclass(frozen=True, eq=False)
class Population:
    """Simulated concentrations for a population (subjects x times) and percentile curves."""

    times_min: FloatArray
    conc_ng_per_ml: FloatArray
    p5: FloatArray
    p50: FloatArray
    p95: FloatArray
    weights_kg: FloatArray
    auc_ng_h_per_ml: FloatArray
    model: str = "clements"
    cv: float = 0.3
    seed: int = 0
    disclaimer: str = DISCLAIMER
    parameters: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def concentrations(self) -> FloatArray:
        """Alias of ``conc_ng_per_ml``: the 2-D array, one row per subject."""
        return self.conc_ng_per_ml


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_model(model: object) -> CompartmentModel:
    if not isinstance(model, str) or model.strip().lower() not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    return MODELS[model.strip().lower()]


def _check_weight(weight_kg: object, field_name: str = "weight_kg") -> float:
    weight = _finite_number(weight_kg, field_name)
    if not WEIGHT_MIN_KG <= weight <= WEIGHT_MAX_KG:
        raise ValueError(
            f"{field_name} must be between {WEIGHT_MIN_KG:g} and {WEIGHT_MAX_KG:g} kg, "
            f"got {weight_kg!r}"
        )
    return weight


def _check_doses(doses: object) -> tuple[Dose, ...]:
    if isinstance(doses, Dose):
        doses = [doses]
    if isinstance(doses, (str, bytes)) or not isinstance(doses, Iterable):
        raise ValueError("doses must be a sequence of Dose")
    checked: list[Dose] = []
    for dose in doses:
        if not isinstance(dose, Dose):
            raise ValueError(f"doses must contain Dose objects, got {dose!r}")
        _check_dose(dose.route, dose.dose_mg, dose.start_min, dose.duration_min)
        checked.append(dose)
    return tuple(checked)


def _time_grid(t_end_min: object, step_min: object) -> FloatArray:
    t_end = _finite_number(t_end_min, "t_end_min")
    step = _finite_number(step_min, "step_min")
    if not 0 < t_end <= MAX_T_END_MIN:
        raise ValueError(f"t_end_min must be > 0 and <= {MAX_T_END_MIN:g}, got {t_end_min!r}")
    if step <= 0 or step > t_end:
        raise ValueError(f"step_min must be > 0 and <= t_end_min, got {step_min!r}")
    n_steps = round(t_end / step)
    if abs(n_steps * step - t_end) > 1e-9 * t_end:
        raise ValueError(f"step_min must divide t_end_min evenly, got {step_min!r}")
    if n_steps + 1 > MAX_GRID_POINTS:
        raise ValueError(f"step_min is too small: more than {MAX_GRID_POINTS} grid points")
    return np.linspace(0.0, t_end, n_steps + 1, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Exact solution
# --------------------------------------------------------------------------------------------


def _phi(x: FloatArray) -> FloatArray:
    """(1 - exp(-x)) / x for x >= 0, with phi(0) = 1; exact to rounding for all x."""
    positive = x > 0
    safe = np.where(positive, x, 1.0)
    out: FloatArray = np.where(positive, -np.expm1(-safe) / safe, 1.0)
    return out


def _psi(x: FloatArray) -> FloatArray:
    """(x - 1 + exp(-x)) / x**2 for x >= 0 (-> 1/2 at 0), without cancellation."""
    small = x < 1e-3
    safe = np.where(small, 1.0, x)
    series = 0.5 - x / 6.0 + x * x / 24.0 - x * x * x / 120.0
    out: FloatArray = np.where(small, series, (np.expm1(-safe) + safe) / (safe * safe))
    return out


def _chi(x: FloatArray) -> FloatArray:
    """(1 - exp(-x) - x*exp(-x)) / x**2 for x >= 0 (-> 1/2 at 0), without cancellation."""
    small = x < 1e-3
    safe = np.where(small, 1.0, x)
    series = 0.5 - x / 3.0 + x * x / 8.0 - x * x * x / 30.0
    exact = (-np.expm1(-safe) - safe * np.exp(-safe)) / (safe * safe)
    out: FloatArray = np.where(small, series, exact)
    return out


def _absorption_integral(lam: FloatArray, ka: float, tau_end: float) -> FloatArray:
    """Integral over [0, tau_end] of the absorption kernel, exact also when ka ~ lam."""
    # The integral is minus the divided difference (f(ka) - f(lam)) / (ka - lam) of
    # f(k) = (1 - exp(-k tau_end)) / k. Near ka == lam use -f' at the midpoint instead,
    # where -f'(k) = tau_end**2 * chi(k * tau_end).
    f_ka = tau_end * float(_phi(np.array([ka * tau_end]))[0])
    f_lam = tau_end * _phi(lam * tau_end)
    gap = ka - lam
    close = np.abs(gap) * tau_end < 1e-5
    safe_gap = np.where(close, 1.0, gap)
    mid = 0.5 * (ka + lam)
    derivative = tau_end**2 * _chi(mid * tau_end)
    out: FloatArray = np.where(close, derivative, (f_lam - f_ka) / safe_gap)
    return out


def _disposition(
    v1: FloatArray,
    k10: FloatArray,
    k12: FloatArray,
    k21: FloatArray,
    k13: FloatArray,
    k31: FloatArray,
    compartments: int,
) -> tuple[FloatArray, FloatArray]:
    """Eigenvalues (positive rates, 1/min) and coefficients (1/L) for each subject.

    Inputs have shape (N,); outputs (N, compartments). The unit-impulse central concentration
    of subject s is ``sum_i coef[s, i] * exp(-lam[s, i] * t)``.
    """
    n_subjects = v1.shape[0]
    sym = np.zeros((n_subjects, compartments, compartments), dtype=np.float64)
    # Negated, symmetrised rate matrix (positive definite): off-diagonals sqrt(k1j * kj1).
    sym[:, 0, 0] = k10 + k12 + k13
    sym[:, 1, 1] = k21
    sym[:, 0, 1] = sym[:, 1, 0] = -np.sqrt(k12 * k21)
    if compartments == 3:
        sym[:, 2, 2] = k31
        sym[:, 0, 2] = sym[:, 2, 0] = -np.sqrt(k13 * k31)
    lam, vectors = np.linalg.eigh(sym)
    coef = vectors[:, 0, :] ** 2 / v1[:, None]
    return np.asarray(lam, dtype=np.float64), np.asarray(coef, dtype=np.float64)


def _solve(
    doses: tuple[Dose, ...],
    times: FloatArray,
    lam: FloatArray,
    coef: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Concentration (N, T) in ng/mL and exact AUC(0..t_end) (N,) in ng*h/mL.

    Loops only over doses and over the 2-3 exponential terms; every operation inside is a
    whole-array numpy operation over subjects x times (in place, to avoid temporaries).
    """
    n_subjects, n_exp = lam.shape
    t_end = float(times[-1])
    conc = np.zeros((n_subjects, times.shape[0]), dtype=np.float64)
    buf = np.empty_like(conc)
    auc = np.zeros(n_subjects, dtype=np.float64)  # mg*min/L until the final conversion
    for dose in doses:
        if dose.dose_mg == 0 or dose.start_min > t_end:
            continue
        route = ROUTES[dose.route]
        tau_end = t_end - dose.start_min
        first = int(np.searchsorted(times, dose.start_min, side="left"))
        if route.ka_per_min is None and dose.duration_min > 0:
            # Zero-order infusion of D over T. Rising phase (tau <= T):
            #   D * a * (tau / T) * phi(lam * tau);
            # afterwards D * a * phi(lam * T) * exp(-lam * (tau - T)). Written without the
            # rate D / T so that very short infusions stay finite and tend to the bolus.
            length = dose.duration_min
            split = int(np.searchsorted(times, dose.start_min + length, side="right"))
            rising = (times[first:split] - dose.start_min)[None, :]
            fraction = np.minimum(rising / length, 1.0)
            falling = times[split:] - dose.start_min - length
            for i in range(n_exp):
                lam_i = lam[:, i : i + 1]
                lam_f = lam[:, i]
                scale = dose.dose_mg * coef[:, i : i + 1]
                conc[:, first:split] += scale * fraction * _phi(lam_i * rising)
                out = buf[:, split:]
                np.multiply(lam_i, -falling, out=out)
                np.maximum(out, _MIN_EXPONENT, out=out)
                np.exp(out, out=out)
                out *= scale * _phi(lam_i * length)
                conc[:, split:] += out
                if tau_end >= length:
                    after = tau_end - length
                    integral = after * _phi(lam_f * after) + np.exp(-lam_f * after) * length * _psi(
                        lam_f * length
                    )
                else:
                    integral = (tau_end / length) * tau_end * _psi(lam_f * tau_end)
                auc += dose.dose_mg * coef[:, i] * integral
            continue
        tau = times[first:] - dose.start_min
        out = buf[:, first:]
        part = conc[:, first:]
        if route.ka_per_min is None:
            # IV bolus.
            for i in range(n_exp):
                lam_i = lam[:, i : i + 1]
                np.multiply(lam_i, -tau, out=out)
                np.maximum(out, _MIN_EXPONENT, out=out)
                np.exp(out, out=out)
                out *= dose.dose_mg * coef[:, i : i + 1]
                part += out
                auc += dose.dose_mg * coef[:, i] * tau_end * _phi(lam[:, i] * tau_end)
            continue
        # First-order absorption from a depot.
        ka = route.ka_per_min
        amount = route.bioavailability * dose.dose_mg * ka
        decay_ka = np.exp(np.maximum(-ka * tau, _MIN_EXPONENT))
        for i in range(n_exp):
            lam_f = lam[:, i]
            lam_i = lam[:, i : i + 1]
            gap = ka - lam_f
            near = np.abs(gap) < 1e-3 * ka
            safe_gap = np.where(near, 1.0, gap)[:, None]
            # (exp(-lam tau) - exp(-ka tau)) / (ka - lam), direct where ka and lam differ.
            np.multiply(lam_i, -tau, out=out)
            np.maximum(out, _MIN_EXPONENT, out=out)
            np.exp(out, out=out)
            out -= decay_ka
            out *= (amount * coef[:, i : i + 1]) / safe_gap
            if np.any(near):
                # Rare: rates within 0.1%; use the cancellation-free form on those rows.
                rows = np.flatnonzero(near)
                lam_r = lam_i[rows]
                low = np.minimum(lam_r, ka)
                stable = np.exp(-low * tau) * tau * _phi(np.abs(ka - lam_r) * tau)
                out[rows] = amount * coef[rows, i : i + 1] * stable
            part += out
            auc += amount * coef[:, i] * _absorption_integral(lam_f, ka, tau_end)
    conc *= 1000.0  # mg/L -> ng/mL
    auc *= 1000.0 / 60.0  # mg*min/L -> ng*h/mL
    return conc, auc


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def simulate(
    doses: Sequence[Dose],
    weight_kg: float,
    *,
    model: str = "clements",
    t_end_min: float = 240.0,
    step_min: float = 1.0,
) -> Curve:
    """Predict the plasma concentration curve of a regimen for one typical patient.

    ``doses`` may be given in any order and may overlap. ``weight_kg`` must be 30-300 kg (the
    models scale volumes linearly with body weight). The curve is sampled every ``step_min``
    from 0 to ``t_end_min`` inclusive; ``auc_ng_h_per_ml`` is the exact AUC over that span.
    Raises ``ValueError`` naming the offending field for bad input.
    """
    checked = _check_doses(doses)
    weight = _check_weight(weight_kg)
    params = _check_model(model)
    times = _time_grid(t_end_min, step_min)
    lam, coef = _disposition(
        np.array([params.v1_l_per_kg * weight]),
        np.array([params.k10]),
        np.array([params.k12]),
        np.array([params.k21]),
        np.array([params.k13]),
        np.array([params.k31]),
        params.compartments,
    )
    conc2d, auc = _solve(checked, times, lam, coef)
    conc = conc2d[0]
    peak = int(np.argmax(conc))
    return Curve(
        times_min=times,
        conc_ng_per_ml=conc,
        cmax_ng_per_ml=float(conc[peak]),
        tmax_min=float(times[peak]),
        auc_ng_h_per_ml=float(auc[0]),
        model=params.name,
        weight_kg=weight,
    )


def _check_weights(weights_kg: object) -> FloatArray:
    try:
        weights = np.asarray(weights_kg, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("weights_kg must be a sequence of numbers") from exc
    weights = np.atleast_1d(weights)
    if weights.ndim != 1 or weights.shape[0] == 0 or weights.shape[0] > MAX_SUBJECTS:
        raise ValueError(f"weights_kg must be a 1-D sequence of 1 to {MAX_SUBJECTS} weights")
    if not np.all(np.isfinite(weights)) or np.any(
        (weights < WEIGHT_MIN_KG) | (weights > WEIGHT_MAX_KG)
    ):
        raise ValueError(
            f"weights_kg must all be between {WEIGHT_MIN_KG:g} and {WEIGHT_MAX_KG:g} kg"
        )
    return weights


def simulate_population(
    doses: Sequence[Dose],
    weights_kg: Sequence[float] | FloatArray,
    *,
    model: str = "clements",
    cv: float = 0.3,
    seed: int = 0,
    t_end_min: float = 240.0,
    step_min: float = 1.0,
) -> Population:
    """Simulate one subject per entry of ``weights_kg`` with inter-individual variability.

    Each subject's volumes (V1, V2, V3) and clearances (CL = V1*k10, Q2 = V1*k12,
    Q3 = V1*k13) are the typical values times independent log-normal factors
    ``exp(eta)``, ``eta ~ N(0, omega**2)``, ``omega**2 = ln(1 + cv**2)`` (so ``cv`` is the
    coefficient of variation of each parameter). Absorption (F, ka) is not varied. The same
    ``seed`` gives the same population. Fully vectorised over subjects and times.
    """
    checked = _check_doses(doses)
    params = _check_model(model)
    weights = _check_weights(weights_kg)
    cv_value = _finite_number(cv, "cv")
    if not 0 <= cv_value <= MAX_CV:
        raise ValueError(f"cv must be between 0 and {MAX_CV:g}, got {cv!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    times = _time_grid(t_end_min, step_min)

    n_subjects = weights.shape[0]
    omega = math.sqrt(math.log1p(cv_value**2))
    rng = np.random.default_rng(int(seed))
    # Always draw six factors (CL, V1, Q2, V2, Q3, V3) so a seed means the same thing for
    # both models.
    factors = np.exp(omega * rng.standard_normal((6, n_subjects)))
    v1 = params.v1_l_per_kg * weights * factors[1]
    cl = params.v1_l_per_kg * params.k10 * weights * factors[0]
    q2 = params.v1_l_per_kg * params.k12 * weights * factors[2]
    v2 = params.v1_l_per_kg * params.k12 / params.k21 * weights * factors[3]
    if params.compartments == 3:
        q3 = params.v1_l_per_kg * params.k13 * weights * factors[4]
        v3 = params.v1_l_per_kg * params.k13 / params.k31 * weights * factors[5]
        k13 = q3 / v1
        k31 = q3 / v3
    else:
        k13 = np.zeros(n_subjects)
        k31 = np.zeros(n_subjects)
    k10 = cl / v1
    k12 = q2 / v1
    k21 = q2 / v2
    lam, coef = _disposition(v1, k10, k12, k21, k13, k31, params.compartments)
    conc, auc = _solve(checked, times, lam, coef)
    p5, p50, p95 = np.percentile(conc, [5.0, 50.0, 95.0], axis=0)
    return Population(
        times_min=times,
        conc_ng_per_ml=conc,
        p5=np.asarray(p5, dtype=np.float64),
        p50=np.asarray(p50, dtype=np.float64),
        p95=np.asarray(p95, dtype=np.float64),
        weights_kg=weights,
        auc_ng_h_per_ml=auc,
        model=params.name,
        cv=cv_value,
        seed=int(seed),
        parameters={"v1": v1, "k10": k10, "k12": k12, "k21": k21, "k13": k13, "k31": k31},
    )
