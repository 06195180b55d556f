"""Rating scales for measurement-based care: definitions, scoring and change.

Scales (codes): ``"pcl5"`` (PCL-5), ``"phq9"`` (PHQ-9), ``"gad7"`` (GAD-7) and
``"cssrs_screen"`` (C-SSRS screener). Each definition in ``INSTRUMENTS`` holds the items with
their wording, the response options, LOINC codes, licence note and source.

    >>> score("phq9", [1, 1, 1, 1, 1, 0, 0, 0, 0]).band
    'mild'
    >>> change("pcl5", 50, 38).response
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import cast

from kapcare.errors import FieldInvalid

from ._validate import check_total, item_field
from .cssrs import CSSRS_SCREEN, score_cssrs_screen
from .gad7 import GAD7, score_gad7
from .model import (
    DEFAULT_SCALE_SETTINGS,
    Band,
    Change,
    Instrument,
    Item,
    ResponseOption,
    ScaleSettings,
    Score,
)
from .pcl5 import PCL5, score_pcl5
from .phq9 import PHQ9, score_phq9

__all__ = [
    "CSSRS_SCREEN",
    "DEFAULT_SCALE_SETTINGS",
    "GAD7",
    "INSTRUMENTS",
    "PCL5",
    "PHQ9",
    "Band",
    "Change",
    "Instrument",
    "Item",
    "ResponseOption",
    "ScaleSettings",
    "Score",
    "change",
    "get_instrument",
    "item_field",
    "score",
]

INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType(
    {i.code: i for i in (PCL5, PHQ9, GAD7, CSSRS_SCREEN)}
)
"""Every scale definition by code."""

# Only the C-SSRS screener has questions that may be not asked (None); the other scales refuse
# a None with their type check, so the cast only narrows what they are given to check.
_SCORERS: Mapping[str, Callable[[Sequence[int | None], ScaleSettings], Score]] = MappingProxyType(
    {
        "pcl5": lambda values, settings: score_pcl5(cast(Sequence[int], values), settings),
        "phq9": lambda values, _settings: score_phq9(cast(Sequence[int], values)),
        "gad7": lambda values, _settings: score_gad7(cast(Sequence[int], values)),
        "cssrs_screen": lambda values, _settings: score_cssrs_screen(values),
    }
)


def get_instrument(code: str) -> Instrument:
    """Return the definition of scale ``code``; ``FieldInvalid`` (``code``, ``one_of``; a
    ``ValueError``) for an unknown code.

    Source: the published forms cited in each definition's ``source``.
    """
    try:
        return INSTRUMENTS[code]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(INSTRUMENTS))
        raise FieldInvalid(
            "code", "one_of", f"unknown instrument {code!r}; allowed: {allowed}"
        ) from None


def score(
    code: str,
    responses: Sequence[int | None],
    settings: ScaleSettings = DEFAULT_SCALE_SETTINGS,
) -> Score:
    """Score one completed scale.

    ``responses`` are the item scores in form order (1-based item n is ``responses[n-1]``):
    pcl5 20 x 0-4, phq9 9 x 0-3, gad7 7 x 0-3, cssrs_screen 7 x 0/1 (Q1-Q6, then "Q6 within the
    past 3 months") with ``None`` for each question its skip logic did not ask (Q3-Q5 when Q2 is
    0, the last when Q6 is 0). Raises ``FieldInvalid`` (a ``ValueError``) naming the field
    (``responses`` or the item's ``responses[n-1]``) and the allowed values for a wrong count, an
    out-of-range or non-integer value (bool included), an answer to a question not asked
    (``not_asked``, even a 0), a question asked but unanswered (``required``), or (``code``) an
    unknown code.

    Sources: PCL-5 NCPTSD/Weathers 2013 and Bovin 2016; PHQ-9 Kroenke 2001; GAD-7 Spitzer 2006;
    C-SSRS screener Posner 2008 and the Columbia triage.
    """
    get_instrument(code)
    return _SCORERS[code](responses, settings)


_CHANGE_SOURCES = MappingProxyType(
    {
        "pcl5": "NCPTSD PCL-5 guidance (10-20 points clinically meaningful); "
        + ScaleSettings.sources["pcl5_response_drop"],
        "phq9": "PHQ-9 conventions: response >= 50% drop, remission < 5 (Kroenke 2001 bands)",
        "gad7": "GAD-7 by analogy with PHQ-9 conventions: response >= 50% drop, remission < 5",
    }
)


def _percent(delta: int, baseline: int) -> float | None:
    if baseline == 0:
        return None
    exact = Decimal(delta * 100) / Decimal(baseline)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def change(
    code: str,
    baseline_total: int,
    current_total: int,
    settings: ScaleSettings = DEFAULT_SCALE_SETTINGS,
) -> Change:
    """Compare a current total with a baseline total of the same scale.

    Rules (defaults in ``ScaleSettings``, clinic policy):
    - pcl5: response when the total drops by 10 or more; remission when the baseline is 33 or
      more and the current total is below 33.
    - phq9, gad7: response when the total drops by 50% or more; remission when the baseline is
      10 or more and the current total is below 5.
    ``cssrs_screen`` has no change rule (it is a triage, not a severity score): ``FieldInvalid``.

    Sources: NCPTSD PCL-5 guidance and Marx et al. 2022; PHQ-9/GAD-7 response and remission
    conventions (docs/clinical-reference.md §1.5).
    """
    instrument = get_instrument(code)
    if code not in _CHANGE_SOURCES:
        raise FieldInvalid(
            "code",
            "no_change_rule",
            f"change is not defined for {code!r}; allowed: gad7, pcl5, phq9",
        )
    baseline = check_total(instrument, "baseline_total", baseline_total)
    current = check_total(instrument, "current_total", current_total)
    delta = current - baseline
    if code == "pcl5":
        response = -delta >= settings.pcl5_response_drop
        remission = baseline >= settings.pcl5_cutoff and current < settings.pcl5_cutoff
    else:
        if code == "phq9":
            percent, below, base_min = (
                settings.phq9_response_percent,
                settings.phq9_remission_below,
                settings.phq9_remission_baseline_min,
            )
        else:
            percent, below, base_min = (
                settings.gad7_response_percent,
                settings.gad7_remission_below,
                settings.gad7_remission_baseline_min,
            )
        # drop >= percent% of baseline, in integers: -delta * 100 >= percent * baseline
        response = baseline > 0 and -delta * 100 >= percent * baseline
        remission = baseline >= base_min and current < below
    return Change(
        code=code,
        delta=delta,
        percent_change=_percent(delta, baseline),
        response=response,
        remission=remission,
        source=_CHANGE_SOURCES[code],
    )
