"""PHQ-9: Patient Health Questionnaire, depression module.

Wording from the standard published form (Drs Robert L. Spitzer, Janet B.W. Williams, Kurt
Kroenke and colleagues, with an educational grant from Pfizer Inc.; no permission required to
reproduce). Bands: Kroenke, Spitzer & Williams 2001.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._validate import check_responses
from .model import Band, Instrument, Item, ResponseOption, Score

SOURCE = (
    "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity "
    "measure. J Gen Intern Med 2001;16:606-613"
)

SUICIDE_ITEM = 9
"""Item 9 (thoughts of being better off dead or of self-harm). Any score of 1 or more is a
suicide-risk flag that needs same-day clinician review, whatever the total."""

BANDS = (
    Band("minimal", 0, 4, SOURCE),
    Band("mild", 5, 9, SOURCE),
    Band("moderate", 10, 14, SOURCE),
    Band("moderately_severe", 15, 19, SOURCE),
    Band("severe", 20, 27, SOURCE),
)

RESPONSE_OPTIONS = (
    ResponseOption(0, "Not at all", "LA6568-5"),
    ResponseOption(1, "Several days", "LA6569-3"),
    ResponseOption(2, "More than half the days", "LA6570-1"),
    ResponseOption(3, "Nearly every day", "LA6571-9"),
)

PHQ9 = Instrument(
    code="phq9",
    name="Patient Health Questionnaire-9 (PHQ-9)",
    instructions=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    recall_period="last 2 weeks",
    items=(
        Item(1, "Little interest or pleasure in doing things", "44250-9"),
        Item(2, "Feeling down, depressed, or hopeless", "44255-8"),
        Item(3, "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
        Item(4, "Feeling tired or having little energy", "44254-1"),
        Item(5, "Poor appetite or overeating", "44251-7"),
        Item(
            6,
            "Feeling bad about yourself \N{EM DASH} or that you are a failure or have let "
            "yourself or your family down",
            "44258-2",
        ),
        Item(
            7,
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            "44252-5",
        ),
        Item(
            8,
            "Moving or speaking so slowly that other people could have noticed? Or the opposite "
            "\N{EM DASH} being so fidgety or restless that you have been moving around a lot more "
            "than usual",
            "44253-3",
        ),
        Item(
            9,
            "Thoughts that you would be better off dead or of hurting yourself in some way",
            "44260-8",
            note="Any answer above 0 needs same-day clinician review, whatever the total.",
        ),
    ),
    options=RESPONSE_OPTIONS,
    loinc_panel="44249-1",
    loinc_total="44261-6",
    licence=(
        "Free to use. Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
        "colleagues, with an educational grant from Pfizer Inc. No permission required to "
        "reproduce, translate, display or distribute."
    ),
    source=SOURCE,
    bands=BANDS,
    notes=(
        "Total 0-27. The optional 10th (functional difficulty) question of the printed form is "
        "not scored and is not part of this definition."
    ),
)


def band_for(total: int, bands: tuple[Band, ...]) -> str:
    """Return the name of the band containing ``total`` (bands are inclusive ranges)."""
    return next(band.name for band in bands if band.low <= total <= band.high)


def score_phq9(responses: Sequence[int]) -> Score:
    """Score a PHQ-9: total, severity band and the item-9 suicide-risk flag.

    Source: Kroenke, Spitzer & Williams 2001 (bands); item-9 flag per the PHQ-9 instructions
    (any positive answer needs further clinician assessment).
    """
    values = check_responses(PHQ9, responses)
    total = sum(values)
    flags = ("suicide_risk",) if values[SUICIDE_ITEM - 1] >= 1 else ()
    return Score(
        code="phq9",
        total=total,
        band=band_for(total, BANDS),
        flags=flags,
        subscales={},
        provisional_diagnosis=None,
        source=SOURCE,
    )
