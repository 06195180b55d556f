"""Tests for kapcare.clinical.instruments: definitions, scoring, bands, flags, change."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapcare.clinical import instruments
from kapcare.clinical.instruments import (
    DEFAULT_SCALE_SETTINGS,
    INSTRUMENTS,
    Change,
    ScaleSettings,
    Score,
    change,
    score,
)
from kapcare.errors import FieldInvalid

ITEM_RANGES = {"pcl5": (20, 4), "phq9": (9, 3), "gad7": (7, 3)}


def with_total(code: str, total: int) -> list[int]:
    """Responses for ``code`` that add up to ``total`` (filled from item 1)."""
    n, top = ITEM_RANGES[code]
    values = []
    for _ in range(n):
        v = min(top, total)
        values.append(v)
        total -= v
    assert total == 0
    return values


# --- definitions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "n_items", "lo", "hi", "panel", "total_code"),
    [
        ("pcl5", 20, 0, 4, "101697-1", "101698-9"),
        ("phq9", 9, 0, 3, "44249-1", "44261-6"),
        ("gad7", 7, 0, 3, "69737-5", "70274-6"),
        ("cssrs_screen", 7, 0, 1, None, None),
    ],
)
def test_definitions(
    code: str, n_items: int, lo: int, hi: int, panel: str | None, total_code: str | None
) -> None:
    inst = INSTRUMENTS[code]
    assert inst.code == code
    assert len(inst.items) == n_items
    assert [i.number for i in inst.items] == list(range(1, n_items + 1))
    assert all(i.text.strip() for i in inst.items)
    assert len({i.text for i in inst.items}) == n_items
    assert (inst.min_value, inst.max_value) == (lo, hi)
    assert inst.loinc_panel == panel
    assert inst.loinc_total == total_code
    assert inst.licence and inst.source


def test_item_wording_spot_checks() -> None:
    assert INSTRUMENTS["pcl5"].items[16].text == 'Being "superalert" or watchful or on guard?'
    assert INSTRUMENTS["pcl5"].items[19].text == "Trouble falling or staying asleep?"
    assert INSTRUMENTS["phq9"].items[8].text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert INSTRUMENTS["phq9"].items[8].loinc == "44260-8"
    assert INSTRUMENTS["gad7"].items[0].text.startswith("Feeling nervous, anxious")
    assert INSTRUMENTS["cssrs_screen"].items[1].text == (
        "Have you actually had any thoughts of killing yourself?"
    )
    assert [o.label for o in INSTRUMENTS["pcl5"].options] == [
        "Not at all",
        "A little bit",
        "Moderately",
        "Quite a bit",
        "Extremely",
    ]
    assert [o.label for o in INSTRUMENTS["phq9"].options] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]


def test_pcl5_item_clusters() -> None:
    clusters = [i.cluster for i in INSTRUMENTS["pcl5"].items]
    assert clusters == ["B"] * 5 + ["C"] * 2 + ["D"] * 7 + ["E"] * 6


def test_cssrs_licence_has_attribution() -> None:
    licence = INSTRUMENTS["cssrs_screen"].licence
    assert "Posner" in licence and "Research Foundation for Mental Hygiene" in licence


def test_get_instrument_unknown() -> None:
    with pytest.raises(FieldInvalid, match=r"^code: unknown instrument 'bdi'") as e:
        instruments.get_instrument("bdi")
    assert e.value.rule == "one_of"


def test_results_are_frozen() -> None:
    s = score("gad7", [0] * 7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.total = 3  # type: ignore[misc]
    c = change("gad7", 10, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.delta = 0  # type: ignore[misc]


# --- PHQ-9 and GAD-7 bands ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_edges(total: int, band: str) -> None:
    result = score("phq9", with_total("phq9", total))
    assert result.total == total
    assert result.band == band
    assert result.subscales == {}
    assert result.provisional_diagnosis is None


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_edges(total: int, band: str) -> None:
    result = score("gad7", with_total("gad7", total))
    assert (result.total, result.band, result.flags) == (total, band, ())
    assert result.subscales == {}
    assert result.provisional_diagnosis is None


@pytest.mark.parametrize(("item9", "flagged"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item9_flag(item9: int, flagged: bool) -> None:
    result = score("phq9", [0] * 8 + [item9])
    assert ("suicide_risk" in result.flags) is flagged
    assert result.band == "minimal"  # flag regardless of total


def test_phq9_high_total_without_item9_has_no_flag() -> None:
    assert score("phq9", [3] * 8 + [0]).flags == ()


# --- PCL-5 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "below_cutoff"), (32, "below_cutoff"), (33, "probable_ptsd"), (80, "probable_ptsd")],
)
def test_pcl5_cutoff_edges(total: int, band: str) -> None:
    assert score("pcl5", with_total("pcl5", total)).band == band


def test_pcl5_cutoff_is_a_setting() -> None:
    responses = with_total("pcl5", 31)
    assert score("pcl5", responses).band == "below_cutoff"
    assert score("pcl5", responses, ScaleSettings(pcl5_cutoff=31)).band == "probable_ptsd"
    assert DEFAULT_SCALE_SETTINGS.pcl5_cutoff == 33
    assert "clinic policy default" in ScaleSettings.sources["pcl5_cutoff"]


def test_pcl5_subscales() -> None:
    responses = [1] * 5 + [2] * 2 + [3] * 7 + [4] * 6
    result = score("pcl5", responses)
    assert result.subscales == {"B": 5, "C": 4, "D": 21, "E": 24}
    assert result.total == 54


def minimal_diagnosis() -> list[int]:
    """Exactly the DSM-5 minimum: 1 B, 1 C, 2 D, 2 E items rated 2; the rest 1."""
    r = [1] * 20
    for item in (1, 6, 8, 9, 15, 16):
        r[item - 1] = 2
    return r


def test_pcl5_provisional_diagnosis_at_minimum() -> None:
    assert score("pcl5", minimal_diagnosis()).provisional_diagnosis is True


@pytest.mark.parametrize("dropped_item", [1, 6, 8, 15])
def test_pcl5_provisional_diagnosis_one_short(dropped_item: int) -> None:
    r = minimal_diagnosis()
    r[dropped_item - 1] = 1  # rated 1: not endorsed
    assert score("pcl5", r).provisional_diagnosis is False


def test_pcl5_high_total_without_pattern_is_not_diagnosis() -> None:
    # all intrusion and arousal items at 4, avoidance none: total 44, no C cluster
    r = [4] * 5 + [0] * 2 + [1] * 7 + [4] * 6
    result = score("pcl5", r)
    assert result.band == "probable_ptsd"
    assert result.provisional_diagnosis is False


# --- C-SSRS screener --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "band", "total"),
    [
        ([0, 0, None, None, None, 0, None], "none", 0),
        ([1, 0, None, None, None, 0, None], "low", 1),
        ([0, 1, 0, 0, 0, 0, None], "low", 1),
        ([1, 1, 0, 0, 0, 0, None], "low", 2),
        ([1, 1, 1, 0, 0, 0, None], "moderate", 3),
        ([0, 0, None, None, None, 1, 0], "moderate", 1),
        ([1, 1, 0, 1, 0, 0, None], "high", 3),
        ([1, 1, 0, 0, 1, 0, None], "high", 3),
        ([0, 0, None, None, None, 1, 1], "high", 1),
        ([1, 1, 1, 1, 1, 1, 1], "high", 6),
    ],
)
def test_cssrs_triage(answers: list[int | None], band: str, total: int) -> None:
    result = score("cssrs_screen", answers)
    assert result.band == band
    assert result.total == total
    assert ("suicide_risk" in result.flags) is (band in ("moderate", "high"))
    assert result.subscales == {}
    assert result.provisional_diagnosis is None


@pytest.mark.parametrize("value", [0, 1])
@pytest.mark.parametrize("item", [3, 4, 5])
def test_cssrs_an_answer_to_a_skipped_item_is_refused(item: int, value: int) -> None:
    answers: list[int | None] = [1, 0, None, None, None, 0, None]
    answers[item - 1] = value
    with pytest.raises(FieldInvalid) as refused:
        score("cssrs_screen", answers)
    assert (refused.value.field, refused.value.rule) == (f"responses[{item - 1}]", "not_asked")
    assert refused.value.problems[0].message.startswith(
        f"cssrs_screen item {item} is not asked unless item 2 is yes (1)"
    )


@pytest.mark.parametrize("value", [0, 1])
def test_cssrs_recent_requires_q6(value: int) -> None:
    with pytest.raises(
        FieldInvalid, match=r"^responses\[6\]: cssrs_screen item 7 is not asked unless item 6"
    ):
        score("cssrs_screen", [0, 0, None, None, None, 0, value])


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "n", "bad_value", "allowed"),
    [
        ("pcl5", 20, 5, "0-4"),
        ("pcl5", 20, -1, "0-4"),
        ("phq9", 9, 4, "0-3"),
        ("gad7", 7, 4, "0-3"),
        ("cssrs_screen", 7, 2, "0 or 1"),
    ],
)
def test_out_of_range_names_item_and_allowed(
    code: str, n: int, bad_value: int, allowed: str
) -> None:
    responses = [0] * n
    responses[2] = bad_value
    with pytest.raises(FieldInvalid) as refused:
        score(code, responses)
    assert (refused.value.field, refused.value.rule) == ("responses[2]", "out_of_range")
    assert refused.value.problems[0].message.startswith(
        f"{code} item 3 must be an integer {allowed}, got "
    )


def test_error_message_exact() -> None:
    with pytest.raises(ValueError) as info:
        score("pcl5", [0, 0, 7] + [0] * 17)
    assert str(info.value) == "responses[2]: pcl5 item 3 must be an integer 0-4, got 7"


@pytest.mark.parametrize("bad", [True, False, 1.0, "1", None])
def test_non_integer_rejected(bad: object) -> None:
    responses: list[object] = [0] * 9
    responses[8] = bad
    with pytest.raises(
        FieldInvalid, match=r"^responses\[8\]: phq9 item 9 must be an integer 0-3"
    ) as e:
        score("phq9", responses)  # type: ignore[arg-type]  # wrong input on purpose
    assert e.value.rule == "type"


@pytest.mark.parametrize(("code", "count"), [("pcl5", 19), ("pcl5", 21), ("phq9", 0),
                                             ("gad7", 9), ("cssrs_screen", 6)])  # fmt: skip
def test_wrong_count(code: str, count: int) -> None:
    with pytest.raises(FieldInvalid, match=rf"^responses: {code} expects \d+ responses") as e:
        score(code, [0] * count)
    assert e.value.rule == "count"


@pytest.mark.parametrize("bad", ["0000000", 7, None, {0, 1}])
def test_responses_not_a_sequence(bad: object) -> None:
    with pytest.raises(FieldInvalid, match=r"^responses: gad7 responses must be a sequence") as e:
        score("gad7", bad)  # type: ignore[arg-type]  # wrong input on purpose
    assert e.value.rule == "type"


def test_unknown_code() -> None:
    with pytest.raises(ValueError, match=r"unknown instrument 'PHQ9'.*gad7, pcl5, phq9"):
        score("PHQ9", [0] * 9)


def test_tuple_responses_accepted() -> None:
    assert score("gad7", (1, 1, 1, 1, 1, 0, 0)).total == 5


# --- change ---------------------------------------------------------------------------------


def test_change_fields() -> None:
    c = change("pcl5", 50, 38)
    assert isinstance(c, Change)
    assert (c.delta, c.percent_change, c.response, c.remission) == (-12, -24.0, True, False)


@pytest.mark.parametrize(
    ("baseline", "current", "response", "remission"),
    [
        (50, 41, False, False),  # drop 9
        (50, 40, True, False),  # drop 10
        (40, 33, False, False),  # drop 7, still at cut-point
        (40, 32, False, True),  # drop 8, below cut-point
        (45, 32, True, True),
        (33, 32, False, True),  # baseline at cut-point
        (32, 10, True, False),  # baseline below cut-point: no remission
        (20, 30, False, False),  # worse
    ],
)
def test_pcl5_change_rules(baseline: int, current: int, response: bool, remission: bool) -> None:
    c = change("pcl5", baseline, current)
    assert (c.response, c.remission) == (response, remission)


@pytest.mark.parametrize("code", ["phq9", "gad7"])
@pytest.mark.parametrize(
    ("baseline", "current", "response", "remission"),
    [
        (20, 10, True, False),  # exactly 50%
        (20, 11, False, False),  # 45%
        (15, 7, True, False),  # 53.3%
        (15, 8, False, False),  # 46.7%
        (10, 4, True, True),  # baseline 10, below 5
        (10, 5, True, False),  # 5 is not below 5
        (9, 0, True, False),  # baseline 9: no remission
        (0, 0, False, False),  # baseline 0
        (4, 8, False, False),
    ],
)
def test_phq9_gad7_change_rules(
    code: str, baseline: int, current: int, response: bool, remission: bool
) -> None:
    c = change(code, baseline, current)
    assert (c.response, c.remission) == (response, remission)


@pytest.mark.parametrize(
    ("baseline", "current", "percent"),
    [(20, 10, -50.0), (15, 7, -53.3), (3, 2, -33.3), (6, 7, 16.7), (8, 9, 12.5), (0, 5, None)],
)
def test_percent_change_rounding(baseline: int, current: int, percent: float | None) -> None:
    assert change("phq9", baseline, current).percent_change == percent


def test_percent_change_half_up() -> None:
    # -1/16 = -6.25% -> -6.3 (half-up away from zero), 1/16 = 6.25 -> 6.3
    assert change("pcl5", 16, 15).percent_change == -6.3
    assert change("pcl5", 16, 17).percent_change == 6.3


def test_change_settings_replaceable() -> None:
    strict = ScaleSettings(pcl5_response_drop=15, phq9_response_percent=60)
    assert change("pcl5", 50, 38, strict).response is False
    assert change("phq9", 20, 10, strict).response is False
    assert change("phq9", 20, 8, strict).response is True


@pytest.mark.parametrize(
    ("code", "baseline", "current", "field", "allowed"),
    [
        ("pcl5", 81, 0, "baseline_total", "0-80"),
        ("phq9", 10, 28, "current_total", "0-27"),
        ("gad7", -1, 0, "baseline_total", "0-21"),
        ("gad7", True, 0, "baseline_total", "0-21"),
        ("gad7", 5, 2.0, "current_total", "0-21"),
    ],
)
def test_change_bad_totals(code: str, baseline: object, current: object, field: str,
                           allowed: str) -> None:  # fmt: skip
    with pytest.raises(FieldInvalid, match=rf"^{field}: {code} total must be an integer {allowed}"):
        change(code, baseline, current)  # type: ignore[arg-type]  # wrong input on purpose


def test_change_unknown_and_undefined_codes() -> None:
    with pytest.raises(ValueError, match="unknown instrument"):
        change("madrs", 30, 10)
    with pytest.raises(FieldInvalid, match="change is not defined for 'cssrs_screen'") as e:
        change("cssrs_screen", 3, 0)
    assert (e.value.field, e.value.rule) == ("code", "no_change_rule")


# --- properties ---------------------------------------------------------------------------

CODES_WITH_ITEMS = st.sampled_from(["pcl5", "phq9", "gad7"])


@st.composite
def code_and_responses(draw: st.DrawFn) -> tuple[str, list[int]]:
    code = draw(CODES_WITH_ITEMS)
    n, top = ITEM_RANGES[code]
    return code, draw(st.lists(st.integers(0, top), min_size=n, max_size=n))


@settings(max_examples=200)
@given(code_and_responses())
def test_total_equals_item_sum(case: tuple[str, list[int]]) -> None:
    code, responses = case
    result = score(code, responses)
    assert isinstance(result, Score)
    assert result.total == sum(responses)
    if code == "pcl5":
        assert sum(result.subscales.values()) == result.total


@settings(max_examples=100)
@given(st.lists(st.integers(0, 1), min_size=7, max_size=7))
def test_cssrs_total_counts_yes_q1_to_q6(answers: list[int | None]) -> None:
    if answers[1] == 0:
        answers[2:5] = [None, None, None]
    if answers[5] == 0:
        answers[6] = None
    assert score("cssrs_screen", answers).total == sum(v or 0 for v in answers[:6])


BAND_ORDER = {
    "pcl5": ["below_cutoff", "probable_ptsd"],
    "phq9": ["minimal", "mild", "moderate", "moderately_severe", "severe"],
    "gad7": ["minimal", "mild", "moderate", "severe"],
}


@settings(max_examples=200)
@given(code_and_responses(), st.data())
def test_band_monotonic_in_total(case: tuple[str, list[int]], data: st.DataObject) -> None:
    code, responses = case
    _, top = ITEM_RANGES[code]
    raisable = [i for i, v in enumerate(responses) if v < top]
    if not raisable:
        return
    i = data.draw(st.sampled_from(raisable))
    higher = list(responses)
    higher[i] += data.draw(st.integers(1, top - responses[i]))
    order = BAND_ORDER[code]
    assert order.index(score(code, higher).band) >= order.index(score(code, responses).band)


@given(st.integers(0, 27), st.integers(0, 27))
def test_change_delta_and_sign(baseline: int, current: int) -> None:
    c = change("phq9", baseline, current)
    assert c.delta == current - baseline
    if c.percent_change is not None and c.delta != 0:
        assert (c.percent_change < 0) == (c.delta < 0)
    assert (c.percent_change is None) == (baseline == 0)
    if current >= baseline:
        assert not c.response
