"""PCL-5: PTSD Checklist for DSM-5 (US National Center for PTSD).

Wording from the NCPTSD form (Weathers, Litz, Keane, Palmieri, Marx & Schnurr, 2013), a work of
the US government and in the public domain. Scoring rules: NCPTSD "Using the PCL-5" and
Bovin et al. 2016 (cut-point), DSM-5 symptom-cluster rule for the provisional diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from ._validate import check_responses
from .model import Instrument, Item, ResponseOption, ScaleSettings, Score

SOURCE = (
    "Weathers FW, Litz BT, Keane TM, Palmieri PA, Marx BP, Schnurr PP. The PTSD Checklist for "
    "DSM-5 (PCL-5). National Center for PTSD, 2013 (www.ptsd.va.gov); Bovin MJ et al. 2016, "
    "Psychol Assess 28:1379-1391"
)

ENDORSED_AT = 2
"""An item counts as an endorsed symptom when rated 2 ("Moderately") or higher (NCPTSD)."""

CLUSTERS: MappingProxyType[str, tuple[int, ...]] = MappingProxyType(
    {
        "B": (1, 2, 3, 4, 5),  # intrusion
        "C": (6, 7),  # avoidance
        "D": (8, 9, 10, 11, 12, 13, 14),  # negative alterations in cognitions and mood
        "E": (15, 16, 17, 18, 19, 20),  # alterations in arousal and reactivity
    }
)
"""DSM-5 symptom clusters by 1-based item number (NCPTSD PCL-5 scoring)."""

CLUSTER_MINIMUM: MappingProxyType[str, int] = MappingProxyType({"B": 1, "C": 1, "D": 2, "E": 2})
"""Endorsed items needed per cluster for a provisional PTSD diagnosis (DSM-5 rule, NCPTSD)."""


def _cluster_of(number: int) -> str:
    return next(name for name, items in CLUSTERS.items() if number in items)


_TEXTS = (
    "Repeated, disturbing, and unwanted memories of the stressful experience?",
    "Repeated, disturbing dreams of the stressful experience?",
    "Suddenly feeling or acting as if the stressful experience were actually happening again "
    "(as if you were actually back there reliving it)?",
    "Feeling very upset when something reminded you of the stressful experience?",
    "Having strong physical reactions when something reminded you of the stressful experience "
    "(for example, heart pounding, trouble breathing, sweating)?",
    "Avoiding memories, thoughts, or feelings related to the stressful experience?",
    "Avoiding external reminders of the stressful experience (for example, people, places, "
    "conversations, activities, objects, or situations)?",
    "Trouble remembering important parts of the stressful experience?",
    "Having strong negative beliefs about yourself, other people, or the world (for example, "
    "having thoughts such as: I am bad, there is something seriously wrong with me, no one can "
    "be trusted, the world is completely dangerous)?",
    "Blaming yourself or someone else for the stressful experience or what happened after it?",
    "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
    "Loss of interest in activities that you used to enjoy?",
    "Feeling distant or cut off from other people?",
    "Trouble experiencing positive feelings (for example, being unable to feel happiness or "
    "have loving feelings for people close to you)?",
    "Irritable behavior, angry outbursts, or acting aggressively?",
    "Taking too many risks or doing things that could cause you harm?",
    'Being "superalert" or watchful or on guard?',
    "Feeling jumpy or easily startled?",
    "Having difficulty concentrating?",
    "Trouble falling or staying asleep?",
)

PCL5 = Instrument(
    code="pcl5",
    name="PTSD Checklist for DSM-5 (PCL-5)",
    instructions=(
        "Below is a list of problems that people sometimes have in response to a very stressful "
        "experience. Please read each problem carefully and then circle one of the numbers to "
        "the right to indicate how much you have been bothered by that problem in the past "
        "month. In the past month, how much were you bothered by:"
    ),
    recall_period=(
        "past month (standard form); NCPTSD also issues a past-week version for weekly "
        "tracking, with the same items and scoring"
    ),
    items=tuple(
        Item(number=n, text=text, cluster=_cluster_of(n)) for n, text in enumerate(_TEXTS, 1)
    ),
    options=(
        ResponseOption(0, "Not at all"),
        ResponseOption(1, "A little bit"),
        ResponseOption(2, "Moderately"),
        ResponseOption(3, "Quite a bit"),
        ResponseOption(4, "Extremely"),
    ),
    loinc_panel="101697-1",
    loinc_total="101698-9",
    licence=(
        "Public domain: the PCL-5 is a work of the US Department of Veterans Affairs National "
        "Center for PTSD (a US government work); no permission is needed to use it."
    ),
    source=SOURCE,
    notes=(
        "Total 0-80. Probable PTSD at or above the cut-point (31-33 per NCPTSD; kapcare default "
        "33, a setting). Provisional diagnosis: items rated 2+ count as endorsed; needs 1 B "
        "(items 1-5), 1 C (6-7), 2 D (8-14) and 2 E (15-20). LOINC codes checked in a code "
        "listing; confirm on loinc.org."
    ),
)


def score_pcl5(responses: Sequence[int], settings: ScaleSettings) -> Score:
    """Score a PCL-5: total, cluster subscales, cut-point band and DSM-5 provisional diagnosis.

    Source: NCPTSD PCL-5 scoring guidance; cut-point Bovin et al. 2016 (setting
    ``pcl5_cutoff``, clinic policy default 33).
    """
    values = check_responses(PCL5, responses)
    total = sum(values)
    subscales = {name: sum(values[n - 1] for n in items) for name, items in CLUSTERS.items()}
    endorsed = {
        name: sum(1 for n in items if values[n - 1] >= ENDORSED_AT)
        for name, items in CLUSTERS.items()
    }
    provisional = all(endorsed[name] >= need for name, need in CLUSTER_MINIMUM.items())
    band = "probable_ptsd" if total >= settings.pcl5_cutoff else "below_cutoff"
    return Score(
        code="pcl5",
        total=total,
        band=band,
        flags=(),
        subscales=subscales,
        provisional_diagnosis=provisional,
        source=SOURCE,
    )
