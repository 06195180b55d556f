"""Issue 14: a C-SSRS question the screener's skip logic did not ask is None ("not asked"),
never 0 ("no"), and the triage of every valid answer pattern is what it was when such a
question was scored as 0."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapcare.clinical.instruments import score
from kapcare.clinical.instruments.cssrs import FOLLOW_UPS, from_zero_skips, not_asked
from kapcare.errors import FieldInvalid


def old_band(zeros: list[int]) -> str:
    """The triage before issue 14 (git f2b83b1, cssrs.triage), questions not asked given as 0."""
    q1, q2, q3, q4, q5, q6, q6_recent = zeros
    if q4 or q5 or (q6 and q6_recent):
        return "high"
    if q3 or q6:
        return "moderate"
    if q1 or q2:
        return "low"
    return "none"


@st.composite
def valid_patterns(draw: st.DrawFn) -> list[int | None]:
    """Every answer sequence the skip logic allows: Q3-Q5 only after a yes to Q2, the
    past-3-months follow-up only after a yes to Q6; None where a question was not asked."""
    yes_no = st.integers(0, 1)
    q1, q2, q6 = draw(yes_no), draw(yes_no), draw(yes_no)
    q3_to_q5: list[int | None] = [draw(yes_no) for _ in range(3)] if q2 else [None] * 3
    recent = draw(yes_no) if q6 else None
    return [q1, q2, *q3_to_q5, q6, recent]


@given(valid_patterns())
def test_the_band_is_the_old_band_for_every_valid_pattern(answers: list[int | None]) -> None:
    zeros = [v or 0 for v in answers]
    result = score("cssrs_screen", answers)
    assert result.band == old_band(zeros)
    assert result.total == sum(zeros[:6])
    assert ("suicide_risk" in result.flags) is (result.band in ("moderate", "high"))
    # The old encoding (zeros where a question was not asked) converts to the same answers.
    assert from_zero_skips(zeros) == answers


def test_not_asked_follows_the_answers_to_q2_and_q6() -> None:
    assert not_asked([0, 0, None, None, None, 0, None]) == (3, 4, 5, 7)
    assert not_asked([0, 1, 0, 0, 0, 0, None]) == (7,)
    assert not_asked([0, 0, None, None, None, 1, 0]) == (3, 4, 5)
    assert not_asked([0, 1, 0, 0, 0, 1, 0]) == ()
    assert FOLLOW_UPS == {3: 2, 4: 2, 5: 2, 7: 6}


@given(valid_patterns(), st.sampled_from(sorted(FOLLOW_UPS)), st.integers(0, 1))
def test_any_answer_to_a_question_not_asked_is_refused_naming_it(
    answers: list[int | None], item: int, value: int
) -> None:
    if answers[item - 1] is not None:
        return  # asked in this pattern
    answers[item - 1] = value
    with pytest.raises(FieldInvalid) as refused:
        score("cssrs_screen", answers)
    assert (refused.value.field, refused.value.rule) == (f"responses[{item - 1}]", "not_asked")
    assert f"item {item} is not asked" in refused.value.message


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([0, 1, None, 0, 0, 0, None], "responses[2]"),
        ([0, 0, None, None, None, 1, None], "responses[6]"),
        ([None, 0, None, None, None, 0, None], "responses[0]"),
    ],
)
def test_a_question_asked_but_unanswered_is_refused(answers: list[int | None], field: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        score("cssrs_screen", answers)
    assert (refused.value.field, refused.value.rule) == (field, "required")


@pytest.mark.parametrize("code", ["pcl5", "phq9", "gad7"])
def test_other_scales_still_refuse_a_missing_answer(code: str) -> None:
    n = {"pcl5": 20, "phq9": 9, "gad7": 7}[code]
    with pytest.raises(FieldInvalid) as refused:
        score(code, [None] + [0] * (n - 1))
    assert (refused.value.field, refused.value.rule) == ("responses[0]", "type")


def test_a_yes_where_the_old_encoding_had_zeros_is_not_converted() -> None:
    assert from_zero_skips([0, 0, 1, 0, 0, 0, 0]) == [0, 0, 1, None, None, 0, None]
    assert from_zero_skips([0, 0, False, 0, 0, 0, 0])[2] is False
    with pytest.raises(FieldInvalid, match=r"^responses\[2\]"):
        score("cssrs_screen", from_zero_skips([0, 0, 1, 0, 0, 0, 0]))
