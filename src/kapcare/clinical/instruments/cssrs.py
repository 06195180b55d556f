"""C-SSRS screener: Columbia-Suicide Severity Rating Scale, Screen Version (recent).

Question wording from the Columbia screen version (The Columbia Lighthouse Project). Free for
clinical use with attribution; see ``CSSRS_SCREEN.licence``. Triage: Columbia screener triage
(high risk checked) and the widely used colour-coded triage for moderate and low.

Input to ``score("cssrs_screen", ...)`` is 7 values: Q1..Q6 and then "Q6 was within the past 3
months", each 0 (no) or 1 (yes), or ``None`` for a question the form's skip logic did not ask.
Q3-Q5 are asked only when Q2 is yes, so they must be ``None`` when Q2 is 0 (and answered when Q2
is 1); the last value must be ``None`` when Q6 is 0 (and answered when Q6 is 1). An answer, even
"no", to a question that was not asked is refused naming it: a skipped question is never a "no".
The triage treats a question not asked as no answer, which gives the same band as the zeros the
pre-issue-14 encoding stored (``from_zero_skips`` converts that encoding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from kapcare.errors import FieldInvalid

from ._validate import check_responses, item_field
from .model import Instrument, Item, ResponseOption, Score

SOURCE = (
    "Posner K, Brent D, Lucas C, et al. Columbia-Suicide Severity Rating Scale (C-SSRS), Screen "
    "Version - Recent. The Research Foundation for Mental Hygiene, Inc., 2008; Columbia "
    "Lighthouse Project screener triage"
)

SKIPPED_WHEN_Q2_NO = (3, 4, 5)
"""Q3-Q5 are asked only when Q2 ("actual thoughts of killing yourself") is yes."""

FOLLOW_UPS: dict[int, int] = {**dict.fromkeys(SKIPPED_WHEN_Q2_NO, 2), 7: 6}
"""Each follow-up question and the question whose "yes" opens it (item 7 is "Q6 within the past
3 months")."""

Answer: TypeAlias = "int | None"
"""One C-SSRS answer: 0 (no), 1 (yes) or ``None`` (not asked)."""

LEVELS = ("none", "low", "moderate", "high")
"""Triage levels from least to most urgent."""

CSSRS_SCREEN = Instrument(
    code="cssrs_screen",
    name="Columbia-Suicide Severity Rating Scale, Screen Version (C-SSRS screener)",
    instructions=(
        "Ask questions that are in bold and underlined. Ask Questions 1 and 2. If YES to 2, ask "
        "questions 3, 4, 5, and 6. If NO to 2, go directly to question 6. Ask question 6 and, if "
        "YES, ask whether it was within the past 3 months."
    ),
    recall_period="past month for questions 1-5; lifetime and past 3 months for question 6",
    items=(
        Item(
            1,
            "Have you wished you were dead or wished you could go to sleep and not wake up?",
            note="Wish to be dead.",
        ),
        Item(
            2,
            "Have you actually had any thoughts of killing yourself?",
            note="Non-specific active suicidal thoughts.",
        ),
        Item(
            3,
            "Have you been thinking about how you might do this?",
            note=(
                "Active suicidal ideation with any methods (not plan) without intent to act. E.g. "
                '"I thought about taking an overdose but I never made a specific plan as to '
                "when, where or how I would actually do it... and I would never go through with "
                'it." Asked only if Q2 is yes.'
            ),
        ),
        Item(
            4,
            "Have you had these thoughts and had some intention of acting on them?",
            note=(
                "Active suicidal ideation with some intent to act, without specific plan; as "
                'opposed to "I have the thoughts but I definitely will not do anything about '
                'them." Asked only if Q2 is yes.'
            ),
        ),
        Item(
            5,
            "Have you started to work out or worked out the details of how to kill yourself? "
            "Do you intend to carry out this plan?",
            note="Active suicidal ideation with specific plan and intent. Asked only if Q2 is yes.",
        ),
        Item(
            6,
            "Have you ever done anything, started to do anything, or prepared to do anything to "
            "end your life?",
            note=(
                "Suicidal behaviour. Examples: collected pills, obtained a gun, gave away "
                "valuables, wrote a will or suicide note, took out pills but didn't swallow any, "
                "held a gun but changed your mind or it was grabbed from your hand, went to the "
                "roof but didn't jump; or actually took pills, tried to shoot yourself, cut "
                "yourself, tried to hang yourself, etc."
            ),
        ),
        Item(
            7,
            "If YES to question 6: Was this within the past 3 months?",
            note="Follow-up to Q6; asked only if Q6 is yes.",
        ),
    ),
    options=(ResponseOption(0, "No"), ResponseOption(1, "Yes")),
    loinc_panel=None,
    loinc_total=None,
    licence=(
        "Free for use in clinical and community settings without permission, provided the "
        "wording is not altered and this attribution is kept: Columbia-Suicide Severity Rating "
        "Scale (C-SSRS), Posner K, Brent D, Lucas C, Gould M, Stanley B, Brown G, Fisher P, "
        "Zelazny J, Burke A, Oquendo M, Mann J. (c) 2008 The Research Foundation for Mental "
        "Hygiene, Inc. Screener provided by The Columbia Lighthouse Project "
        "(cssrs.columbia.edu). Research or commercial use may need permission from Columbia."
    ),
    source=SOURCE,
    notes=(
        "Triage used by kapcare: high = Q4 or Q5 yes, or Q6 yes within the past 3 months; "
        "moderate = Q3 yes, or Q6 yes more than 3 months ago; low = Q1 or Q2 yes only; none = "
        "all no. The total is the number of yes answers to Q1-Q6 and is not a severity score. "
        "No LOINC codes are recorded here (not in the clinical reference; to verify)."
    ),
)


def not_asked(responses: Sequence[object]) -> tuple[int, ...]:
    """The item numbers the skip logic leaves out, given the answers to Q2 and Q6: items 3-5
    when Q2 is not yes, item 7 when Q6 is not yes (a missing or unanswered opener asks nothing
    after it). Source: the screen version's skip instructions (docs/clinical-reference.md §1.4).
    """
    opened = {number: len(responses) >= number and responses[number - 1] == 1 for number in (2, 6)}
    return tuple(item for item, opener in FOLLOW_UPS.items() if not opened[opener])


def from_zero_skips(responses: Sequence[Any]) -> list[Any]:
    """The pre-issue-14 encoding (a question not asked given as 0) in today's: each 0 at a
    question the skip logic did not ask becomes ``None``. Anything else is left as given, for
    ``score`` to check (a 1 there is still refused). Stored assessments were converted by
    migration ``assessments.0003``; the API and older callers still send zeros.
    """
    values = list(responses)
    for number in not_asked(values):
        if len(values) >= number and type(values[number - 1]) is int and values[number - 1] == 0:
            values[number - 1] = None
    return values


def _check_asked(responses: Sequence[Answer]) -> tuple[int, ...]:
    """Check count, type, range and the skip logic; return the answers with each question not
    asked as 0 (for the triage). FieldInvalid naming the item: ``type``/``out_of_range`` as for
    every scale, ``not_asked`` for an answer to a question that was not asked, ``required`` for
    a question asked but left unanswered."""
    if isinstance(responses, str | bytes) or not isinstance(responses, Sequence):
        return check_responses(CSSRS_SCREEN, responses)  # refuses the type
    values = check_responses(CSSRS_SCREEN, [0 if v is None else v for v in responses])
    skipped = not_asked(responses)
    for number, value in enumerate(responses, start=1):
        opener = FOLLOW_UPS.get(number)
        if number in skipped and value is not None:
            raise FieldInvalid(
                item_field(number),
                "not_asked",
                f"cssrs_screen item {number} is not asked unless item {opener} is yes (1): leave "
                f"it unanswered (null), got {value!r}",
            )
        if number not in skipped and value is None:
            why = f" because item {opener} is 1 (yes)" if opener else ""
            raise FieldInvalid(
                item_field(number),
                "required",
                f"cssrs_screen item {number} must be answered 0 or 1{why}, got None",
            )
    return values


def triage(values: Sequence[int]) -> str:
    """Return the triage level ("none", "low", "moderate", "high") of validated answers (a
    question not asked given as 0).

    Source: Columbia Lighthouse Project screener triage (high risk); the colour-coded triage in
    wide use for moderate and low (docs/clinical-reference.md §1.4).
    """
    q1, q2, q3, q4, q5, q6, q6_recent = values
    if q4 or q5 or (q6 and q6_recent):
        return "high"
    if q3 or q6:
        return "moderate"
    if q1 or q2:
        return "low"
    return "none"


def score_cssrs_screen(responses: Sequence[Answer]) -> Score:
    """Score a C-SSRS screener: yes-count total, triage band and the suicide-risk flag.

    ``responses`` holds ``None`` for each question the skip logic did not ask (see the module
    docstring); an answer to one of them is refused (``not_asked``), as is a question asked and
    left unanswered (``required``). The ``"suicide_risk"`` flag is raised at moderate or high.
    Source: Columbia Lighthouse Project screener triage; skip logic from the screen version form.
    """
    values = _check_asked(responses)
    band = triage(values)
    return Score(
        code="cssrs_screen",
        total=sum(values[:6]),
        band=band,
        flags=("suicide_risk",) if band in ("moderate", "high") else (),
        subscales={},
        provisional_diagnosis=None,
        source=SOURCE,
    )
