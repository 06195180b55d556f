"""Tests for kapcare.clinical.medications: the interaction-class matcher."""

from __future__ import annotations

import pytest

from kapcare.clinical.medications import (
    BRAND_ALIASES,
    CLASSES,
    GENERIC_NAMES,
    classify,
    classify_all,
)
from kapcare.errors import FieldInvalid


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lorazepam", "benzodiazepine"),
        ("Clonazepam", "benzodiazepine"),
        ("  ALPRAZOLAM  ", "benzodiazepine"),
        ("lorazepam 1 mg tablet", "benzodiazepine"),
        ("lamotrigine", "lamotrigine"),
        ("Lamotrigine ER 200 mg", "lamotrigine"),
        ("phenelzine", "maoi"),
        ("tranylcypromine", "maoi"),
        ("selegiline transdermal", "maoi"),
        ("methylene blue", "maoi"),
        ("methylphenidate HCl ER", "psychostimulant"),
        ("lisdexamfetamine", "psychostimulant"),
        ("dextroamphetamine-amphetamine", "psychostimulant"),
        ("modafinil", "psychostimulant"),
        ("zolpidem", "cns_depressant"),
        ("oxycodone", "cns_depressant"),
        ("gabapentin", "cns_depressant"),
        ("butalbital/acetaminophen/caffeine", "cns_depressant"),
        ("Xanax", "benzodiazepine"),
        ("adderall XR", "psychostimulant"),
        ("Lamictal", "lamotrigine"),
        ("Nardil", "maoi"),
    ],
)
def test_classify_known(name: str, expected: str) -> None:
    assert classify(name) == expected


@pytest.mark.parametrize("name", ["sertraline", "bupropion", "lithium", "", "   ", "loraz"])
def test_classify_unknown_is_none(name: str) -> None:
    assert classify(name) is None


def test_whole_word_matching() -> None:
    # "amphetamine" must not match inside an unrelated longer word
    assert classify("amphetaminesque") is None
    assert classify("xamphetamine") is None


def test_combination_product_reports_every_class() -> None:
    assert classify_all("oxycodone and methylphenidate") == ("psychostimulant", "cns_depressant")
    # the more safety-relevant class wins for classify()
    assert classify("oxycodone and methylphenidate") == "psychostimulant"


def test_every_listed_name_classifies_to_its_class() -> None:
    for cls, names in GENERIC_NAMES.items():
        assert cls in CLASSES
        for name in names:
            assert classify(name) == cls, name
            assert classify(name.upper()) == cls, name


def test_every_brand_alias_points_to_a_listed_generic() -> None:
    listed = set().union(*GENERIC_NAMES.values())
    for brand, generic in BRAND_ALIASES.items():
        assert generic in listed, brand
        assert classify(brand) == classify(generic)


def test_non_string_rejected() -> None:
    with pytest.raises(FieldInvalid, match="generic_name: must be a string") as refused:
        classify(42)  # type: ignore[arg-type]  # wrong input on purpose
    assert refused.value.rule == "type"
