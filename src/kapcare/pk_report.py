"""Charts and the ``kapcare pk`` command for the ketamine PK simulator.

Kept outside the pure clinical core: this module uses matplotlib (Agg backend, through
``matplotlib.figure.Figure`` so that it is safe in a web server thread) to render the
predicted curve as an SVG for the dose-order page and the PK explorer, or as a PNG.

Everything it draws is labelled "For education and planning — not a dosing calculator".
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from kapcare.clinical import pk

DISCLAIMER = pk.DISCLAIMER
DEFAULT_TITLE = "Predicted plasma ketamine concentration"
BAND_SOURCE = "Krystal 1994"
_COLOURS = ("#1f5f99", "#c2571a", "#2e7d32", "#7b1fa2", "#ad1457", "#00838f", "#5d4037")

CurveItem = tuple[str, pk.Curve] | tuple[pk.Curve, str] | pk.Curve


def _labelled(curves_with_labels: Any) -> list[tuple[str, pk.Curve]]:
    """Accept a Curve, a mapping label -> Curve, or pairs (label, Curve) / (Curve, label)."""
    if isinstance(curves_with_labels, pk.Curve):
        return [("Predicted", curves_with_labels)]
    items: Iterable[Any]
    if isinstance(curves_with_labels, Mapping):
        items = curves_with_labels.items()
    else:
        items = curves_with_labels
    result: list[tuple[str, pk.Curve]] = []
    for item in items:
        if isinstance(item, pk.Curve):
            result.append((f"Curve {len(result) + 1}", item))
            continue
        first, second = item
        if isinstance(first, pk.Curve):
            result.append((str(second), first))
        elif isinstance(second, pk.Curve):
            result.append((str(first), second))
        else:
            raise ValueError("curves_with_labels must pair each label with a pk.Curve")
    return result


def _figure(
    curves_with_labels: Any,
    *,
    band: tuple[float, float] | None = (100.0, 250.0),
    observation_end_min: float | None = None,
    population: pk.Population | None = None,
    title: str = DEFAULT_TITLE,
) -> Figure:
    curves = _labelled(curves_with_labels)
    fig = Figure(figsize=(8.0, 5.4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    t_max = 0.0
    y_max = 0.0
    if band is not None:
        low, high = band
        ax.axhspan(
            low,
            high,
            color="#f3c969",
            alpha=0.35,
            linewidth=0,
            label=f"Dissociative range {low:g}-{high:g} ng/mL ({BAND_SOURCE})",
        )
        y_max = max(y_max, high)
    if population is not None:
        ax.fill_between(
            population.times_min,
            population.p5,
            population.p95,
            color="#90a4ae",
            alpha=0.35,
            linewidth=0,
            label="Population 5-95%",
        )
        ax.plot(population.times_min, population.p50, color="#546e7a", linestyle=":", lw=1.2)
        t_max = max(t_max, float(population.times_min[-1]))
        y_max = max(y_max, float(population.p95.max()))
    for index, (label, curve) in enumerate(curves):
        ax.plot(
            curve.times_min,
            curve.conc_ng_per_ml,
            color=_COLOURS[index % len(_COLOURS)],
            lw=2.0,
            label=f"{label} (Cmax {curve.cmax_ng_per_ml:.0f} ng/mL at {curve.tmax_min:g} min)",
        )
        t_max = max(t_max, float(curve.times_min[-1]))
        y_max = max(y_max, curve.cmax_ng_per_ml)
    if observation_end_min is not None:
        ax.axvline(observation_end_min, color="#b71c1c", linestyle="--", lw=1.4)
        ax.text(
            observation_end_min,
            0.02,
            f" End of minimum observation ({observation_end_min:g} min)",
            transform=ax.get_xaxis_transform(),
            rotation=90,
            va="bottom",
            ha="right",
            color="#b71c1c",
            fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1.0},
        )
        t_max = max(t_max, observation_end_min)
    ax.set_xlim(0.0, t_max if t_max > 0 else 1.0)
    ax.set_ylim(0.0, y_max * 1.1 if y_max > 0 else 1.0)
    ax.set_xlabel("Time (min)")
    ax.set_ylabel("Plasma concentration (ng/mL)")
    ax.set_title(title, fontsize=11)
    ax.grid(True, color="#e0e0e0", lw=0.6)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(0.0, -0.12),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    fig.text(0.01, 0.015, DISCLAIMER, fontsize=9, color="#b71c1c", weight="bold")
    fig.subplots_adjust(left=0.09, right=0.98, top=0.93, bottom=0.32)
    return fig


def curve_svg(
    curves_with_labels: Sequence[CurveItem] | Mapping[str, pk.Curve] | pk.Curve,
    *,
    band: tuple[float, float] | None = (100.0, 250.0),
    observation_end_min: float | None = None,
    population: pk.Population | None = None,
    title: str = DEFAULT_TITLE,
) -> str:
    """Render predicted concentration vs time as an inline SVG string (no XML prolog).

    ``curves_with_labels`` is a sequence of ``(label, Curve)`` pairs (a mapping or a single
    Curve also work). ``band`` shades the dissociative range (default 100-250 ng/mL, Krystal
    1994; ``None`` for none). ``observation_end_min`` draws a vertical marker at the end of the
    minimum observation time. ``population`` adds its 5-95% band and median. Text stays text
    (searchable, accessible), and the output is deterministic for the same input.
    """
    fig = _figure(
        curves_with_labels,
        band=band,
        observation_end_min=observation_end_min,
        population=population,
        title=title,
    )
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "kapcare-pk"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    head_end = svg.index(">") + 1
    description = f"{title}. {DISCLAIMER}."
    accessible = (
        f'{svg[: head_end - 1]} role="img" aria-label="{escape(description)}">'
        f"<title>{escape(title)}</title><desc>{escape(DISCLAIMER)}</desc>"
    )
    return accessible + svg[head_end:]


def curve_png(
    path: str,
    curves_with_labels: Sequence[CurveItem] | Mapping[str, pk.Curve] | pk.Curve,
    *,
    band: tuple[float, float] | None = (100.0, 250.0),
    observation_end_min: float | None = None,
    population: pk.Population | None = None,
    title: str = DEFAULT_TITLE,
) -> None:
    """Write the same chart as ``curve_svg`` to a PNG file."""
    fig = _figure(
        curves_with_labels,
        band=band,
        observation_end_min=observation_end_min,
        population=population,
        title=title,
    )
    fig.savefig(path, format="png", dpi=120, metadata={"Software": None})


# --------------------------------------------------------------------------------------------
# CLI: kapcare pk
# --------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kapcare pk",
        description=("Predict the plasma ketamine concentration for one dose. " + DISCLAIMER + "."),
    )
    parser.add_argument("--route", required=True, choices=sorted(pk.ROUTES))
    amount = parser.add_mutually_exclusive_group(required=True)
    amount.add_argument("--mg-per-kg", type=float, help="dose in mg per kg of body weight")
    amount.add_argument("--dose-mg", type=float, help="total dose in mg")
    parser.add_argument("--weight-kg", type=float, required=True)
    parser.add_argument(
        "--duration-min", type=float, default=0.0, help="IV infusion time (0 = bolus)"
    )
    parser.add_argument("--start-min", type=float, default=0.0)
    parser.add_argument("--model", default="clements", choices=sorted(pk.MODELS))
    parser.add_argument("--t-end-min", type=float, default=240.0)
    parser.add_argument("--step-min", type=float, default=1.0)
    parser.add_argument(
        "--observation-min", type=float, default=None, help="mark the end of observation"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the curve as JSON")
    output.add_argument("--png", metavar="FILE", help="write a PNG chart to FILE")
    return parser


def _summary(curve: pk.Curve, args: argparse.Namespace, dose_mg: float) -> str:
    if args.route != "iv":
        how = ""
    elif args.duration_min > 0:
        how = f" over {args.duration_min:g} min"
    else:
        how = " (bolus)"
    model = pk.MODELS[curve.model]
    lines = [
        DISCLAIMER,
        f"{args.route} {dose_mg:g} mg{how} at {args.weight_kg:g} kg, "
        f"model {curve.model} (PMID {model.pmid})",
        f"Cmax {curve.cmax_ng_per_ml:.1f} ng/mL at {curve.tmax_min:g} min",
        f"AUC 0-{curve.times_min[-1]:g} min: {curve.auc_ng_h_per_ml:.1f} ng·h/mL",
    ]
    band = (curve.conc_ng_per_ml >= 100.0) & (curve.conc_ng_per_ml <= 250.0)
    if band.any():
        times = curve.times_min[band]
        lines.append(f"Within 100-250 ng/mL ({BAND_SOURCE}): {times[0]:g}-{times[-1]:g} min (grid)")
    else:
        lines.append(f"Never within 100-250 ng/mL ({BAND_SOURCE})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Entry point of ``kapcare pk``; ``argv`` excludes the program name. Returns exit code."""
    if argv and argv[0] == "pk":
        argv = argv[1:]
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.mg_per_kg is not None:
            if args.mg_per_kg < 0:
                raise ValueError(f"mg_per_kg must not be negative, got {args.mg_per_kg!r}")
            dose_mg = args.mg_per_kg * args.weight_kg
        else:
            dose_mg = args.dose_mg
        dose = pk.Dose(args.route, dose_mg, args.start_min, args.duration_min)
        curve = pk.simulate(
            [dose],
            args.weight_kg,
            model=args.model,
            t_end_min=args.t_end_min,
            step_min=args.step_min,
        )
    except ValueError as exc:
        print(f"kapcare pk: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        payload = {
            "disclaimer": DISCLAIMER,
            "model": curve.model,
            "model_pmid": pk.MODELS[curve.model].pmid,
            "route": dose.route,
            "dose_mg": dose.dose_mg,
            "weight_kg": curve.weight_kg,
            "start_min": dose.start_min,
            "duration_min": dose.duration_min,
            "bioavailability": pk.ROUTES[dose.route].bioavailability,
            "times_min": [float(t) for t in curve.times_min],
            "conc_ng_per_ml": [round(float(c), 6) for c in curve.conc_ng_per_ml],
            "cmax_ng_per_ml": curve.cmax_ng_per_ml,
            "tmax_min": curve.tmax_min,
            "auc_ng_h_per_ml": curve.auc_ng_h_per_ml,
            "auc_interval_min": [0.0, float(curve.times_min[-1])],
        }
        print(json.dumps(payload))
        return 0
    if args.png:
        label = f"{dose.route} {dose.dose_mg:g} mg"
        try:
            curve_png(
                args.png,
                [(label, curve)],
                observation_end_min=args.observation_min,
                title=f"{DEFAULT_TITLE} ({curve.model} model, {curve.weight_kg:g} kg)",
            )
        except OSError as exc:
            print(f"kapcare pk: error: cannot write {args.png}: {exc}", file=sys.stderr)
            return 1
        print(f"Wrote {args.png}. {DISCLAIMER}.")
        return 0
    print(_summary(curve, args, dose_mg))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
