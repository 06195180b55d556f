"""Benchmark of the ketamine PK simulator (kapcare.clinical.pk).

Measures, in one process on this machine:

1. Wall time of ``simulate_population`` for 10,000 subjects over 6 hours at 1-minute steps
   (361 time points), for each model and several regimens.
2. A per-subject ``scipy.integrate.solve_ivp`` loop on a sample of the same subjects (same
   individual parameters), giving a per-subject speed ratio and the largest difference from the
   exact solution.
3. opentiva (MIT-licensed TCI simulator) on the same model, regimen and subjects, if it is
   importable: per-subject speed ratio and the largest concentration difference. opentiva is
   not a kapcare dependency and this script installs nothing; if it is missing, the result
   says so. To try it: ``pip install cython setuptools`` then
   ``pip install --no-build-isolation opentiva``.

Writes bench/results/pk.json and prints a summary. Timings are wall-clock (perf_counter);
each is the median of several repeats after a warm-up, and the first (cold) run is recorded
too.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kapcare.clinical import pk  # noqa: E402  (after the sys.path line above)

N_SUBJECTS = 10_000
T_END_MIN = 360.0
STEP_MIN = 1.0
SAMPLE = 50  # subjects for the solve_ivp and opentiva loops
REPEATS = 5
CV = 0.3
SEED = 2024
RESULTS = Path(__file__).resolve().parent / "results" / "pk.json"

# opentiva's time resolution is 1 s, and it has no instantaneous bolus: a bolus is a 1-s
# infusion there, so we give kapcare the same 1-s infusion when comparing the two.
ONE_SECOND = 1.0 / 60.0

REGIMENS: dict[str, list[pk.Dose]] = {
    "iv_0.5mgkg70_40min": [pk.Dose("iv", 35.0, duration_min=40.0)],
    "iv_bolus_1s": [pk.Dose("iv", 35.0, duration_min=ONE_SECOND)],
    "iv_multi_overlapping": [
        pk.Dose("iv", 35.0, duration_min=40.0),
        pk.Dose("iv", 10.0, start_min=20.0, duration_min=ONE_SECOND),
        pk.Dose("iv", 20.0, start_min=30.0, duration_min=60.0),
    ],
    "intranasal_2x50mg": [
        pk.Dose("intranasal", 50.0),
        pk.Dose("intranasal", 50.0, start_min=10.0),
    ],
    "esketamine_84mg": [pk.Dose("esketamine", 28.0, start_min=5.0 * i) for i in range(3)],
}
OPENTIVA_REGIMENS = ("iv_0.5mgkg70_40min", "iv_bolus_1s", "iv_multi_overlapping")
OPENTIVA_CLASSES = {"clements": "Clements250", "domino": "Domino"}


def _timed(fn: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, float, Any]:
    """(cold seconds, median warm seconds, last result)."""
    start = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm), result


def _weights() -> np.ndarray:
    rng = np.random.default_rng(SEED + 1)
    return np.clip(rng.normal(80.0, 15.0, N_SUBJECTS), 40.0, 160.0)


# ---------------------------------------------------------------------------------------------
# scipy reference: one ODE solve per subject
# ---------------------------------------------------------------------------------------------


def _ode_subject(
    doses: list[pk.Dose], v1: float, r: dict[str, float], times: np.ndarray
) -> np.ndarray:
    from scipy.integrate import solve_ivp

    depots = [d for d in doses if pk.ROUTES[d.route].ka_per_min is not None]
    kas = np.array([pk.ROUTES[d.route].ka_per_min or 0.0 for d in depots])

    def rhs(t: float, x: np.ndarray, rate: float) -> np.ndarray:
        dx = np.empty_like(x)
        absorbed = kas * x[3:]
        dx[3:] = -absorbed
        dx[0] = (
            rate
            + absorbed.sum()
            - (r["k10"] + r["k12"] + r["k13"]) * x[0]
            + r["k21"] * x[1]
            + r["k31"] * x[2]
        )
        dx[1] = r["k12"] * x[0] - r["k21"] * x[1]
        dx[2] = r["k13"] * x[0] - r["k31"] * x[2]
        return dx

    edges = sorted(
        {0.0, times[-1]}
        | {d.start_min for d in doses}
        | {d.start_min + d.duration_min for d in doses if d.duration_min > 0}
    )
    state = np.zeros(3 + len(depots))
    out = np.zeros_like(times)
    for k in range(len(edges) - 1):
        t0, t1 = edges[k], edges[k + 1]
        for j, d in enumerate(depots):
            if d.start_min == t0:
                state[3 + j] += pk.ROUTES[d.route].bioavailability * d.dose_mg
        rate = sum(
            d.dose_mg / d.duration_min
            for d in doses
            if d.duration_min > 0 and d.start_min <= t0 < d.start_min + d.duration_min
        )
        mask = (times >= t0) & (times < t1) if k < len(edges) - 2 else (times >= t0)
        sol = solve_ivp(
            rhs,
            (t0, t1),
            state,
            method="LSODA",
            t_eval=times[mask],
            args=(rate,),
            rtol=1e-10,
            atol=1e-14,
            dense_output=True,
        )
        out[mask] = sol.y[0]
        state = sol.sol(t1).copy()
    return out / v1 * 1000.0


def _subject_rates(pop: pk.Population, s: int) -> tuple[float, dict[str, float]]:
    keys = ("k10", "k12", "k21", "k13", "k31")
    return float(pop.parameters["v1"][s]), {k: float(pop.parameters[k][s]) for k in keys}


def _max_rel(got: np.ndarray, ref: np.ndarray) -> float:
    significant = ref > 1e-3 * ref.max()
    return float(np.max(np.abs(got[significant] - ref[significant]) / ref[significant]))


# ---------------------------------------------------------------------------------------------
# opentiva
# ---------------------------------------------------------------------------------------------


def _opentiva_status() -> dict[str, Any]:
    try:
        import opentiva
        import opentiva.ketamine
        import opentiva.pkpd
        import opentiva.pump
    except Exception as exc:  # ImportError, or a build that fails at import
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    version = getattr(opentiva, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("opentiva")
        except Exception:
            version = "unknown"
    return {"available": True, "version": version}


def _opentiva_model(model: str, weight: float, v1: float, rates: dict[str, float]) -> Any:
    import opentiva.ketamine as ketamine

    obj = getattr(ketamine, OPENTIVA_CLASSES[model])(sex=0, age=40, weight=weight, height=175)
    # Give opentiva the same individual parameters as the kapcare subject.
    obj.v1 = v1
    for key, value in rates.items():
        if model == "clements" and key in ("k13", "k31"):
            continue
        setattr(obj, key, value)
    return obj


def _opentiva_infusions(doses: list[pk.Dose]) -> list[tuple[int, float, int]]:
    """(start s, mg per s, duration s): opentiva's user-infusion units."""
    rows = []
    for d in doses:
        start = round(d.start_min * 60)
        duration = max(round(d.duration_min * 60), 1)
        rows.append((start, d.dose_mg / duration, duration))
    return rows


def _opentiva_pump_run(model_obj: Any, doses: list[pk.Dose]) -> np.ndarray:
    """Documented usage: Pump + add_infusion + run(); per-second plasma and effect site."""
    import opentiva.pump as pump

    p = pump.Pump(model=model_obj, drug_concentration=10, end_time=int(T_END_MIN * 60) + 1)
    for start, rate, duration in _opentiva_infusions(doses):
        p.add_infusion(start=start, dose=rate, duration=duration)
    out = p.run()  # columns: time s, plasma, effect site; one row per second
    return np.asarray(out[::60, 1]) * 1000.0  # mg/L (ug/mL) -> ng/mL at each minute


def _opentiva_minute_points(model_obj: Any, doses: list[pk.Dose]) -> np.ndarray:
    """Leanest path: PkPdModel.calculate_cp at only the 361 minute points."""
    import opentiva.pkpd as pkpd

    model = pkpd.PkPdModel(model_obj)
    rows = np.array(
        [[s, rate, dur, s + dur] for s, rate, dur in _opentiva_infusions(doses)], dtype=float
    )
    seconds = range(0, int(T_END_MIN * 60) + 1, 60)
    return np.array([model.calculate_cp(rows, t) for t in seconds]) * 1000.0


# ---------------------------------------------------------------------------------------------


def run() -> dict[str, Any]:
    weights = _weights()
    times = np.arange(0.0, T_END_MIN + STEP_MIN / 2, STEP_MIN)
    opentiva = _opentiva_status()
    results: dict[str, Any] = {
        "what": "kapcare.clinical.pk benchmark",
        "disclaimer": pk.DISCLAIMER,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "setup": {
            "subjects": N_SUBJECTS,
            "t_end_min": T_END_MIN,
            "step_min": STEP_MIN,
            "time_points": int(times.shape[0]),
            "cv": CV,
            "seed": SEED,
            "sample_for_loops": SAMPLE,
            "timing": f"median of {REPEATS} warm runs; cold = first run",
            "weights_kg": "normal(80, 15) clipped to 40-160",
        },
        "opentiva": opentiva,
        "runs": [],
    }
    if not opentiva["available"]:
        print("!" * 78)
        print("!! opentiva is NOT importable: the opentiva comparison is SKIPPED.")
        print(f"!! reason: {opentiva['reason']}")
        print("!! to try: pip install cython setuptools && "
              "pip install --no-build-isolation opentiva")  # fmt: skip
        print("!" * 78)

    sample_idx = np.linspace(0, N_SUBJECTS - 1, SAMPLE).astype(int)
    for model in sorted(pk.MODELS):
        for name, doses in REGIMENS.items():

            def population(doses: list[pk.Dose] = doses, model: str = model) -> pk.Population:
                return pk.simulate_population(
                    doses,
                    weights,
                    model=model,
                    cv=CV,
                    seed=SEED,
                    t_end_min=T_END_MIN,
                    step_min=STEP_MIN,
                )

            cold, warm, pop = _timed(population)
            per_subject_kapcare = warm / N_SUBJECTS
            entry: dict[str, Any] = {
                "model": model,
                "regimen": name,
                "doses": [d.__dict__ for d in doses],
                "population_wall_s": warm,
                "population_wall_cold_s": cold,
                "per_subject_s": per_subject_kapcare,
                "under_1s": warm < 1.0,
            }

            # scipy solve_ivp loop, same subjects and parameters.
            start = time.perf_counter()
            worst = 0.0
            for s in sample_idx:
                v1, rates = _subject_rates(pop, int(s))
                ref = _ode_subject(doses, v1, rates, pop.times_min)
                worst = max(worst, _max_rel(pop.conc_ng_per_ml[s], ref))
            ivp_per_subject = (time.perf_counter() - start) / SAMPLE
            entry["solve_ivp"] = {
                "method": "LSODA rtol 1e-10 atol 1e-14, restarted at each input change",
                "per_subject_s": ivp_per_subject,
                "speed_ratio_per_subject": ivp_per_subject / per_subject_kapcare,
                "max_rel_diff": worst,
            }

            if opentiva["available"] and name in OPENTIVA_REGIMENS:
                pump_times, lean_times = [], []
                max_abs = max_rel = 0.0
                for s in sample_idx:
                    v1, rates = _subject_rates(pop, int(s))
                    obj = _opentiva_model(model, float(weights[s]), v1, rates)
                    t0 = time.perf_counter()
                    ot = _opentiva_pump_run(obj, doses)
                    pump_times.append(time.perf_counter() - t0)
                    obj = _opentiva_model(model, float(weights[s]), v1, rates)
                    t0 = time.perf_counter()
                    lean = _opentiva_minute_points(obj, doses)
                    lean_times.append(time.perf_counter() - t0)
                    ours = pop.conc_ng_per_ml[s]
                    for other in (ot, lean):
                        max_abs = max(max_abs, float(np.max(np.abs(ours - other))))
                        max_rel = max(max_rel, _max_rel(ours, other))
                pump_per = statistics.mean(pump_times)
                lean_per = statistics.mean(lean_times)
                entry["opentiva"] = {
                    "pump_run_per_subject_s": pump_per,
                    "speed_ratio_per_subject_pump_run": pump_per / per_subject_kapcare,
                    "minute_points_per_subject_s": lean_per,
                    "speed_ratio_per_subject_minute_points": lean_per / per_subject_kapcare,
                    "max_abs_diff_ng_per_ml": max_abs,
                    "max_rel_diff": max_rel,
                    "within_1pct": max_rel < 0.01,
                    "notes": (
                        "pump_run = Pump.add_infusion + Pump.run() over 6 h (opentiva's "
                        "documented path; 1-s grid, also computes effect site); "
                        "minute_points = PkPdModel.calculate_cp at the 361 minute points "
                        "only. Same individual V1 and rate constants as kapcare's subject. "
                        "Bolus = 1-s infusion in both."
                    ),
                }
            elif name not in OPENTIVA_REGIMENS:
                entry["opentiva"] = "not comparable: opentiva has no first-order absorption"
            results["runs"].append(entry)
    return results


def _summary(results: dict[str, Any]) -> str:
    lines = [
        f"kapcare PK benchmark: {N_SUBJECTS} subjects x {results['setup']['time_points']} "
        f"points (6 h, 1-min steps), {results['machine']['cpus']} CPUs",
    ]
    for r in results["runs"]:
        line = (
            f"  {r['model']:8s} {r['regimen']:22s} population {r['population_wall_s'] * 1e3:7.1f}"
            f" ms (cold {r['population_wall_cold_s'] * 1e3:6.1f})"
            f" | solve_ivp x{r['solve_ivp']['speed_ratio_per_subject']:,.0f}"
            f" (max rel diff {r['solve_ivp']['max_rel_diff']:.1e})"
        )
        ot = r.get("opentiva")
        if isinstance(ot, dict):
            line += (
                f" | opentiva x{ot['speed_ratio_per_subject_pump_run']:,.0f} run()"
                f" / x{ot['speed_ratio_per_subject_minute_points']:,.0f} points,"
                f" max diff {ot['max_abs_diff_ng_per_ml']:.1e} ng/mL"
                f" (rel {ot['max_rel_diff']:.1e})"
            )
        lines.append(line)
    if not results["opentiva"]["available"]:
        lines.append(f"  opentiva NOT AVAILABLE: {results['opentiva']['reason']}")
    return "\n".join(lines)


def main() -> int:
    results = run()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(_summary(results))
    print(f"Wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
