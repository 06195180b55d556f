"""Trajectory charts: one server-rendered SVG per scale (matplotlib, Agg, no pyplot so it is
safe in a web server thread).

Each chart draws the baseline as a labelled line (the one baseline of
`kapcare.clinical.instruments.baseline`, named as the latest-scores table names it), the
published bands or cut-point, and each later score that meets response or remission from that
baseline by `kapcare.clinical.instruments.change`.

Drawing takes tens of milliseconds, so pages never draw: the background worker draws a chart
when a score is stored and keeps it (`TrajectoryChart`) with the digest of the points it was
drawn from; the chart page inlines a stored chart whose digest matches the current points.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

import matplotlib

matplotlib.use("Agg")

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from kapcare.clinical import instruments
from kapcare.clinical.instruments.cssrs import LEVELS

# Part of every digest: bump it when the drawing changes, so stored charts are redrawn.
DRAWING_VERSION = 2
_BAND_COLOURS = ("#e8f3ec", "#f3f6e6", "#fbf3df", "#fbe8da", "#f8dcdc")


@dataclass(frozen=True)
class Point:
    on: date
    total: int
    band: str
    # On the baseline score only: how the pages name it ("since the last score before this
    # course started (2025-01-06)"); "" on every other score and on a scale without change.
    baseline: str = ""


def _band_label(name: str) -> str:
    return name.replace("moderately_severe", "mod. severe").replace("_", " ")


def _svg(fig: Figure, title: str, description: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "kapcare-mbc"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    head_end = svg.index(">") + 1
    return (
        f'{svg[: head_end - 1]} role="img" aria-label="{escape(description)}">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>" + svg[head_end:]
    )


def _draw(code: str, points: Sequence[Point]) -> str:
    instrument = instruments.get_instrument(code)
    fig = Figure(figsize=(6.4, 2.8), dpi=100)
    ax = fig.add_subplot()
    xs = [float(date2num(p.on)) for p in points]
    title = f"{instrument.name.split(' (')[0]}: trajectory"
    if code == "cssrs_screen":
        ys = [LEVELS.index(p.band) if p.band in LEVELS else 0 for p in points]
        ax.step(xs, ys, where="post", color="#2f5d8a", lw=1.6)
        ax.plot(xs, ys, "o", color="#2f5d8a", ms=5)
        ax.set_yticks(range(len(LEVELS)), list(LEVELS))
        ax.set_ylim(-0.4, len(LEVELS) - 0.6)
        ax.axhspan(1.5, 3.6, color="#f8dcdc", zorder=0, label="suicide-risk flag (moderate/high)")
        description = f"{title}. Triage level per screen: " + ", ".join(
            f"{p.on:%Y-%m-%d} {p.band}" for p in points
        )
    else:
        top = instrument.max_total
        if instrument.bands:
            for index, band in enumerate(instrument.bands):
                ax.axhspan(
                    band.low - 0.5 if band.low else 0,
                    band.high + 0.5 if band.high < top else top,
                    color=_BAND_COLOURS[min(index, len(_BAND_COLOURS) - 1)],
                    zorder=0,
                )
                ax.text(
                    1.005,
                    (band.low + min(band.high, top)) / 2,
                    _band_label(band.name),
                    transform=ax.get_yaxis_transform(),
                    fontsize=7,
                    va="center",
                    color="#5b6474",
                )
        if code == "pcl5":
            cutoff = instruments.DEFAULT_SCALE_SETTINGS.pcl5_cutoff
            ax.axhspan(cutoff, top, color="#fbe8da", zorder=0)
            ax.axhline(cutoff, color="#9a6200", lw=1, ls=":")
            ax.text(
                0.99,
                top - 3,
                "probable PTSD range",
                transform=ax.get_yaxis_transform(),
                fontsize=7,
                ha="right",
                va="top",
                color="#9a6200",
            )
            ax.text(
                1.005,
                cutoff,
                f"cut-point {cutoff}",
                transform=ax.get_yaxis_transform(),
                fontsize=7,
                va="center",
                color="#9a6200",
            )
        ys = [p.total for p in points]
        at = next((i for i, p in enumerate(points) if p.baseline), 0)
        base = points[at]
        baseline = base.total
        ax.plot(xs, ys, "-o", color="#2f5d8a", lw=1.6, ms=4, label="total", zorder=3)
        ax.axhline(baseline, color="#5b6474", lw=1.2, ls="--", label=f"baseline {baseline}")
        ax.plot([xs[at]], [baseline], "D", ms=7, mfc="white", mec="#1d2430", mew=1.5, zorder=4)
        # The line's own label, so the chart says which score it measures change from.
        ax.text(
            0.01,
            baseline + top * 0.02,
            f"baseline {baseline}, {base.baseline or 'the first score'}",
            transform=ax.get_yaxis_transform(),
            fontsize=7.5,
            va="bottom",
            color="#1d2430",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1},
            zorder=5,
        )
        responded = []
        remitted = []
        for point in points[at + 1 :]:
            result = instruments.change(code, baseline, point.total)
            if result.remission:
                remitted.append(point)
            elif result.response:
                responded.append(point)
        if responded:
            ax.plot(
                [float(date2num(p.on)) for p in responded],
                [p.total for p in responded],
                "o",
                ms=8,
                mfc="none",
                mec="#1f7a4d",
                mew=2,
                label="response",
                zorder=4,
            )
        if remitted:
            ax.plot(
                [float(date2num(p.on)) for p in remitted],
                [p.total for p in remitted],
                "*",
                ms=12,
                color="#1f7a4d",
                label="remission",
                zorder=4,
            )
        ax.set_ylim(0, top)
        ax.set_ylabel("Total")
        latest = points[-1]
        description = (
            f"{title}. Baseline {baseline} on {base.on:%Y-%m-%d}"
            f"{f' ({base.baseline})' if base.baseline else ''}; latest {latest.total} "
            f"({_band_label(latest.band)}) on {latest.on:%Y-%m-%d}; {len(responded)} scores at "
            f"response and {len(remitted)} at remission."
        )
    if len(xs) == 1:
        ax.set_xlim(xs[0] - 3, xs[0] + 3)
    locator = AutoDateLocator(maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.tick_params(labelsize=8)
    ax.xaxis.get_offset_text().set_fontsize(7)
    ax.grid(True, axis="y", color="#e0e0e0", lw=0.5)
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), ncol=4, fontsize=7, frameon=False)
    fig.subplots_adjust(
        left=0.14 if code == "cssrs_screen" else 0.09, right=0.83, top=0.88, bottom=0.3
    )
    return _svg(fig, title, description)


def points_digest(code: str, points: Sequence[Point]) -> str:
    """The SHA-256 of what a chart is drawn from: the scale, its points and the drawing's
    version. A stored chart whose digest differs from this is stale."""
    content = (
        DRAWING_VERSION,
        code,
        [(p.on.isoformat(), p.total, p.band, p.baseline) for p in points],
    )
    return hashlib.sha256(repr(content).encode()).hexdigest()


def trajectory_svg(code: str, points: Sequence[Point]) -> str:
    """Draw the chart of `points` (oldest first) as an inline SVG string; "" when there are
    none. Slow (matplotlib): `services.draw_trajectory_chart` stores what it draws."""
    if not points:
        return ""
    return _draw(code, points)
