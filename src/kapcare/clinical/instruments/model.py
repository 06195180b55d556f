"""Data types shared by every rating-scale definition and by the scoring functions.

A scale's *definition* (wording, response options, LOINC codes, licence) is plain data in its own
module (``pcl5``, ``phq9``, ``gad7``, ``cssrs``). The *results* of scoring are the frozen
dataclasses ``Score`` and ``Change``. Numbers that are clinic policy rather than published fact
live in ``ScaleSettings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar


@dataclass(frozen=True)
class ResponseOption:
    """One answer a respondent can choose, with the integer it scores as."""

    value: int
    label: str
    loinc_answer: str | None = None


@dataclass(frozen=True)
class Item:
    """One numbered question of a scale (``number`` is 1-based, as printed on the form)."""

    number: int
    text: str
    loinc: str | None = None
    cluster: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Band:
    """A published severity band: totals ``low``..``high`` inclusive are called ``name``."""

    name: str
    low: int
    high: int
    source: str


@dataclass(frozen=True)
class Instrument:
    """The full definition of a rating scale, as printed on its published form."""

    code: str
    name: str
    instructions: str
    recall_period: str
    items: tuple[Item, ...]
    options: tuple[ResponseOption, ...]
    loinc_panel: str | None
    loinc_total: str | None
    licence: str
    source: str
    bands: tuple[Band, ...] = ()
    notes: str = ""

    @property
    def min_value(self) -> int:
        """Lowest score a single item can take."""
        return min(option.value for option in self.options)

    @property
    def max_value(self) -> int:
        """Highest score a single item can take."""
        return max(option.value for option in self.options)

    @property
    def max_total(self) -> int:
        """Highest possible total (every item at its maximum)."""
        return self.max_value * len(self.items)


@dataclass(frozen=True)
class Score:
    """The result of scoring one completed scale.

    ``total``: the sum of the item scores (for ``cssrs_screen``: the number of "yes" answers to
    Q1-Q6). ``band``: the severity band. ``flags``: safety flags such as ``"suicide_risk"``.
    ``subscales``: cluster sums (PCL-5 only, else ``{}``). ``provisional_diagnosis``: the DSM-5
    symptom-pattern rule (PCL-5 only, else ``None``).
    """

    code: str
    total: int
    band: str
    flags: tuple[str, ...]
    subscales: dict[str, int]
    provisional_diagnosis: bool | None
    source: str


@dataclass(frozen=True)
class Change:
    """Change between a baseline and a current total of the same scale.

    ``delta`` is current minus baseline (negative = improvement for every scale here).
    ``percent_change`` is ``delta / baseline * 100`` rounded to 1 decimal (half-up), or ``None``
    when the baseline is 0.
    """

    code: str
    delta: int
    percent_change: float | None
    response: bool
    remission: bool
    source: str


@dataclass(frozen=True)
class ScaleSettings:
    """Clinic-policy numbers used when scoring scales. Replace any of them per clinic.

    Every field's origin is in ``ScaleSettings.sources``.
    """

    pcl5_cutoff: int = 33
    pcl5_response_drop: int = 10
    phq9_response_percent: int = 50
    phq9_remission_below: int = 5
    phq9_remission_baseline_min: int = 10
    gad7_response_percent: int = 50
    gad7_remission_below: int = 5
    gad7_remission_baseline_min: int = 10

    sources: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "pcl5_cutoff": (
                "clinic policy default 33: NCPTSD gives a probable-PTSD cut-point of 31-33 "
                "(Bovin et al. 2016, Psychol Assess 28:1379)"
            ),
            "pcl5_response_drop": (
                "clinic policy default 10: NCPTSD gives 5-10 points as reliable and 10-20 as "
                "clinically meaningful change; Marx et al. 2022 found 15-18 for reliable change"
            ),
            "phq9_response_percent": (
                "clinic policy default 50: conventional response definition (>= 50% drop)"
            ),
            "phq9_remission_below": "clinic policy default 5: conventional remission (PHQ-9 < 5)",
            "phq9_remission_baseline_min": (
                "clinic policy default 10: remission counted only from at least moderate baseline"
            ),
            "gad7_response_percent": (
                "clinic policy default 50: conventional response definition (>= 50% drop)"
            ),
            "gad7_remission_below": "clinic policy default 5: conventional remission (GAD-7 < 5)",
            "gad7_remission_baseline_min": (
                "clinic policy default 10: remission counted only from at least moderate baseline"
            ),
        }
    )


DEFAULT_SCALE_SETTINGS = ScaleSettings()
"""The clinic policy defaults for scoring (see ``ScaleSettings.sources``)."""
