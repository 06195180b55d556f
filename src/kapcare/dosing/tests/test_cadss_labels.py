"""Issue 14: the CADSS-6 fields show each item's text, not "item 1/2/6/7/15/22"."""

from __future__ import annotations

from kapcare.dosing.forms import CADSS6_ITEMS, ScoreForm


def test_the_cadss_form_labels_each_item_with_its_text() -> None:
    form = ScoreForm()
    labels = [str(field.label) for field in form.item_fields()]
    assert [number for number, _text in CADSS6_ITEMS] == [1, 2, 6, 7, 15, 22]
    assert labels[0] == "CADSS 1. Things seem to be moving in slow motion (0-4)"
    assert labels[4] == "CADSS 15. Spaces out or otherwise loses track of what is going on (0-4)"
    for label, (number, text) in zip(labels, CADSS6_ITEMS, strict=True):
        assert label == f"CADSS {number}. {text} (0-4)"
        assert "item" not in label.lower()
    html = form.as_div()
    assert "Sense of own body changed (e.g. feels unusually large or small)" in html
