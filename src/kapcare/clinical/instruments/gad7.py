"""GAD-7: Generalized Anxiety Disorder 7-item scale.

Wording from the standard published form (Drs Robert L. Spitzer, Janet B.W. Williams, Kurt
Kroenke and colleagues, with an educational grant from Pfizer Inc.; no permission required to
reproduce). Bands: Spitzer, Kroenke, Williams & Löwe 2006.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._validate import check_responses
from .model import Band, Instrument, Item, Score
from .phq9 import RESPONSE_OPTIONS, band_for

SOURCE = (
    "Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing generalized "
    "anxiety disorder: the GAD-7. Arch Intern Med 2006;166:1092-1097"
)

BANDS = (
    Band("minimal", 0, 4, SOURCE),
    Band("mild", 5, 9, SOURCE),
    Band("moderate", 10, 14, SOURCE),
    Band("severe", 15, 21, SOURCE),
)

GAD7 = Instrument(
    code="gad7",
    name="Generalized Anxiety Disorder 7-item scale (GAD-7)",
    instructions=(
        "Over the last 2 weeks, how often have you been bothered by the following problems?"
    ),
    recall_period="last 2 weeks",
    items=(
        Item(1, "Feeling nervous, anxious, or on edge", "69725-0"),
        Item(2, "Not being able to stop or control worrying", "68509-9"),
        Item(3, "Worrying too much about different things", "69733-4"),
        Item(4, "Trouble relaxing", "69734-2"),
        Item(5, "Being so restless that it is hard to sit still", "69735-9"),
        Item(6, "Becoming easily annoyed or irritable", "69689-8"),
        Item(7, "Feeling afraid, as if something awful might happen", "69736-7"),
    ),
    options=RESPONSE_OPTIONS,
    loinc_panel="69737-5",
    loinc_total="70274-6",
    licence=(
        "Free to use. Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
        "colleagues, with an educational grant from Pfizer Inc. No permission required to "
        "reproduce, translate, display or distribute."
    ),
    source=SOURCE,
    bands=BANDS,
    notes="Total 0-21. A total of 10 or more warrants further evaluation (Spitzer 2006).",
)


def score_gad7(responses: Sequence[int]) -> Score:
    """Score a GAD-7: total and severity band.

    Source: Spitzer, Kroenke, Williams & Löwe 2006 (bands 0-4, 5-9, 10-14, 15-21).
    """
    values = check_responses(GAD7, responses)
    total = sum(values)
    return Score(
        code="gad7",
        total=total,
        band=band_for(total, BANDS),
        flags=(),
        subscales={},
        provisional_diagnosis=None,
        source=SOURCE,
    )
