"""The dosing session page's charts.

- The vitals chart is a small hand-built SVG (systolic, diastolic and heart rate over clock
  time, with the critical BP lines and the dosing period shaded). Drawing it is string
  formatting, so the page can redraw it on every reading without a worker.
- The predicted plasma concentration curve of a dose order comes from the PK simulator
  (``kapcare.pk_report.curve_svg``, matplotlib). Drawing takes tens of milliseconds, and an
  order never changes once signed, so each curve is drawn once per process and kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from html import escape

from django.utils import timezone

from kapcare.clinical import pk
from kapcare.dosing.models import VitalReading
from kapcare.pk_report import curve_svg

SERIES = (
    # (field, label, colour, dash pattern, marker)
    ("systolic", "Systolic BP (mmHg)", "#2f5d8a", "", "circle"),
    ("diastolic", "Diastolic BP (mmHg)", "#6f98c4", "6 4", "circle"),
    ("heart_rate", "Heart rate (beats/min)", "#c2571a", "2 3", "square"),
)


@dataclass(frozen=True)
class _Frame:
    """The drawing's size in SVG units and its text size. The page scales the SVG to its
    width, so a phone gets a narrow frame with larger text: the wide one's 11-unit labels
    would shrink to about 5 px on a 390-px screen."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    text: int  # tick labels; the legend and axis titles one unit larger
    max_ticks: int  # time ticks that fit along the axis

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom


WIDE = _Frame(720, 300, 56, 16, 40, 48, 11, 8)
# The legend takes a line per series in the narrow frame.
NARROW = _Frame(360, 340, 58, 24, 70, 44, 13, 4)


@dataclass(frozen=True)
class _Scale:
    frame: _Frame
    t0: datetime
    span_s: float
    y_min: float
    y_max: float

    def x(self, at: datetime) -> float:
        plot = self.frame.plot_right - self.frame.left
        return self.frame.left + plot * (at - self.t0).total_seconds() / self.span_s

    def y(self, value: float) -> float:
        plot = self.frame.plot_bottom - self.frame.top
        return self.frame.top + plot * (1 - (value - self.y_min) / (self.y_max - self.y_min))


def _tick_step_min(span_min: float, max_ticks: int) -> int:
    for step in (5, 10, 15, 30, 60, 120):
        if span_min / step <= max_ticks:
            return step
    return 240


def vitals_svg(
    readings: Sequence[VitalReading],
    *,
    dosing_started_at: datetime | None = None,
    dosing_stopped_at: datetime | None = None,
    critical_systolic_mmhg: float = 180,
    critical_diastolic_mmhg: float = 110,
    narrow: bool = False,
) -> str:
    """The session's vitals over time as an accessible inline SVG ("" when there are none);
    ``narrow``: drawn for a phone's width."""
    points = [r for r in readings if any(getattr(r, f) is not None for f, *_ in SERIES)]
    if not points:
        return ""
    frame = NARROW if narrow else WIDE
    times = [r.taken_at for r in points]
    for moment in (dosing_started_at, dosing_stopped_at):
        if moment is not None:
            times.append(moment)
    start, end = min(times), max(times)
    if (end - start) < timedelta(minutes=20):
        end = start + timedelta(minutes=20)
    start -= timedelta(minutes=2)
    end += timedelta(minutes=2)
    values = [float(v) for r in points for f, *_ in SERIES if (v := getattr(r, f)) is not None]
    y_max = max(200.0, max(values) + 10)
    y_min = min(40.0, min(values) - 10)
    scale = _Scale(frame, start, (end - start).total_seconds(), y_min, y_max)
    small, large = frame.text, frame.text + 1
    parts: list[str] = []
    add = parts.append
    title = "Vitals: blood pressure and heart rate over time"
    summary = "; ".join(
        f"{timezone.localtime(r.taken_at):%H:%M} "
        + (f"BP {r.systolic}/{r.diastolic}" if r.systolic is not None else "BP —")
        + (f", HR {r.heart_rate}" if r.heart_rate is not None else "")
        for r in points
    )
    add(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'class="vitals-chart{" narrow" if narrow else " wide"}" role="img" '
        f'aria-label="{escape(title)}. {escape(summary)}">'
        f"<title>{escape(title)}</title><desc>{escape(summary)}</desc>"
    )
    left, top = frame.left, frame.top
    plot_right, plot_bottom = frame.plot_right, frame.plot_bottom
    # The dosing period, shaded so a reading's place relative to the dose is plain.
    if dosing_started_at is not None:
        x1 = scale.x(dosing_started_at)
        x2 = scale.x(dosing_stopped_at) if dosing_stopped_at is not None else plot_right
        add(
            f'<rect x="{x1:.1f}" y="{top}" width="{max(x2 - x1, 1):.1f}" '
            f'height="{plot_bottom - top}" fill="#fff4d6"/>'
            f'<text x="{x1 + 4:.1f}" y="{top + small + 1}" font-size="{small}" '
            f'fill="#7a5a00">dosing</text>'
        )
    # Horizontal grid and y ticks every 20.
    tick = (int(y_min) // 20 + 1) * 20
    while tick < y_max:
        y = scale.y(tick)
        add(
            f'<line x1="{left}" x2="{plot_right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e8ee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="{small}" text-anchor="end" '
            f'fill="#5b6474">{tick}</text>'
        )
        tick += 20
    # Critical BP lines (the protocol's thresholds).
    for value, name in (
        (critical_systolic_mmhg, "systolic"),
        (critical_diastolic_mmhg, "diastolic"),
    ):
        y = scale.y(value)
        add(
            f'<line x1="{left}" x2="{plot_right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b3261e" '
            f'stroke-dasharray="4 3"/>'
            f'<text x="{plot_right - 4}" y="{y - 4:.1f}" font-size="{small - 1}" '
            f'text-anchor="end" fill="#b3261e">critical {name} {value:g}</text>'
        )
    # Time ticks at round clock minutes.
    step = _tick_step_min((end - start).total_seconds() / 60, frame.max_ticks)
    local_start = timezone.localtime(start)
    first = local_start.replace(second=0, microsecond=0)
    first += timedelta(minutes=(-first.minute) % step)
    moment = first
    while moment <= end:
        x = scale.x(moment)
        add(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{plot_bottom}" y2="{plot_bottom + 4}" '
            f'stroke="#5b6474"/>'
            f'<text x="{x:.1f}" y="{plot_bottom + small + 6}" font-size="{small}" '
            f'text-anchor="middle" fill="#5b6474">{moment:%H:%M}</text>'
        )
        moment += timedelta(minutes=step)
    middle_y = (top + plot_bottom) / 2
    add(
        f'<line x1="{left}" x2="{plot_right}" y1="{plot_bottom}" y2="{plot_bottom}" '
        f'stroke="#5b6474"/><line x1="{left}" x2="{left}" y1="{top}" '
        f'y2="{plot_bottom}" stroke="#5b6474"/>'
        f'<text x="{(left + plot_right) / 2:.0f}" y="{frame.height - 8}" font-size="{large}" '
        f'text-anchor="middle" fill="#1d2430">Clock time</text>'
        f'<text x="{large}" y="{middle_y:.0f}" font-size="{large}" text-anchor="middle" '
        f'fill="#1d2430" transform="rotate(-90 {large} {middle_y:.0f})">'
        f"mmHg · beats/min</text>"
    )
    # The series, then the legend along the top.
    for field, label, colour, dash, marker in SERIES:
        coords = [
            (scale.x(r.taken_at), scale.y(float(v)))
            for r in points
            if (v := getattr(r, field)) is not None
        ]
        if not coords:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        add(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
            f"{dash_attr}><title>{escape(label)}</title></polyline>"
        )
        for x, y in coords:
            if marker == "circle":
                add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
            else:
                add(f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>')
    # The legend: in a row when it fits, else a line per series.
    legend_x, legend_y = left, 16
    for _field, label, colour, dash, _marker in SERIES:
        width = 28 + round(0.62 * large * len(label)) + 12
        if legend_x > left and legend_x + width > frame.width:
            legend_x, legend_y = left, legend_y + large + 6
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        add(
            f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="{legend_y}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
            f'<text x="{legend_x + 28}" y="{legend_y + 4}" font-size="{large}" '
            f'fill="#1d2430">{escape(label)}</text>'
        )
        legend_x += width
    add("</svg>")
    return "".join(parts)


@lru_cache(maxsize=64)
def _curve(
    route: str, dose_mg: float, weight_kg: float, duration_min: float, observation_end_min: float
) -> str:
    dose = pk.Dose(route, dose_mg, 0.0, duration_min)
    curve = pk.simulate([dose], weight_kg, t_end_min=max(240.0, observation_end_min + 30))
    return curve_svg(
        [(f"{route} {dose_mg:g} mg", curve)],
        observation_end_min=observation_end_min,
        title=f"Predicted plasma concentration for this order ({weight_kg:g} kg)",
    )


def order_curve_svg(
    *,
    route: str,
    dose_mg: float,
    weight_kg: float | None,
    duration_min: int | None,
    min_observation_min: int,
) -> str:
    """The PK simulator's curve for an order ("" when it cannot be drawn, e.g. no weight).

    The observation marker follows the protocol: from the end of an IV infusion, from the
    (first) dose for the other routes."""
    if weight_kg is None or not pk.WEIGHT_MIN_KG <= weight_kg <= pk.WEIGHT_MAX_KG:
        return ""
    if route not in pk.ROUTES:
        return ""
    duration = float(duration_min or 0) if route == "iv" else 0.0
    return _curve(route, float(dose_mg), float(weight_kg), duration, duration + min_observation_min)
