"""Tests for kapcare.pk_report: the SVG/PNG chart and the ``kapcare pk`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kapcare import pk_report
from kapcare.clinical import pk

ZARATE_ARGS = ["--route", "iv", "--mg-per-kg", "0.5", "--weight-kg", "70", "--duration-min", "40"]


def _curves() -> list[tuple[str, pk.Curve]]:
    iv = pk.simulate([pk.Dose("iv", 35.0, duration_min=40.0)], 70.0)
    nasal = pk.simulate([pk.Dose("intranasal", 100.0)], 70.0)
    return [("IV 0.5 mg/kg over 40 min", iv), ("Intranasal 100 mg", nasal)]


def test_svg_contains_curves_band_label_and_disclaimer() -> None:
    svg = pk_report.curve_svg(_curves())
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg  # embeddable inline in HTML
    assert pk.DISCLAIMER in svg
    assert "For education and planning — not a dosing calculator" in svg
    assert "Dissociative range 100-250 ng/mL (Krystal 1994)" in svg
    assert "IV 0.5 mg/kg over 40 min" in svg
    assert "Intranasal 100 mg" in svg
    assert "Plasma concentration (ng/mL)" in svg and "Time (min)" in svg
    assert 'role="img"' in svg and "<title>" in svg
    assert "End of minimum observation" not in svg
    assert "Population 5-95%" not in svg


def test_svg_observation_marker_and_population_band() -> None:
    pop = pk.simulate_population(
        [pk.Dose("iv", 35.0, duration_min=40.0)], np.full(200, 70.0), seed=1
    )
    svg = pk_report.curve_svg(
        _curves(), observation_end_min=120.0, population=pop, title="Dose order"
    )
    assert "End of minimum observation (120 min)" in svg
    assert "Population 5-95%" in svg
    assert "<title>Dose order</title>" in svg


def test_svg_accepts_mapping_single_curve_and_no_band() -> None:
    iv = _curves()[0][1]
    assert "Predicted" in pk_report.curve_svg(iv)
    assert "Mine" in pk_report.curve_svg({"Mine": iv})
    assert "Mine" in pk_report.curve_svg([(iv, "Mine")])
    assert "Dissociative range" not in pk_report.curve_svg(iv, band=None)
    with pytest.raises(ValueError, match="curves_with_labels"):
        pk_report.curve_svg([("a", "b")])  # type: ignore[list-item]  # wrong input on purpose


def test_svg_is_deterministic() -> None:
    assert pk_report.curve_svg(_curves()) == pk_report.curve_svg(_curves())


def test_cli_json_matches_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert pk_report.main([*ZARATE_ARGS, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    curve = pk.simulate([pk.Dose("iv", 35.0, duration_min=40.0)], 70.0)
    assert payload["times_min"] == [float(t) for t in curve.times_min]
    np.testing.assert_allclose(payload["conc_ng_per_ml"], curve.conc_ng_per_ml, atol=1e-6)
    assert payload["cmax_ng_per_ml"] == pytest.approx(curve.cmax_ng_per_ml)
    assert payload["tmax_min"] == 40.0
    assert payload["auc_ng_h_per_ml"] == pytest.approx(curve.auc_ng_h_per_ml)
    assert payload["model"] == "clements"
    assert payload["dose_mg"] == pytest.approx(35.0)
    assert payload["disclaimer"] == pk.DISCLAIMER


def test_cli_json_domino_and_pk_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    assert pk_report.main(["pk", *ZARATE_ARGS, "--model", "domino", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["model"] == "domino"
    assert payload["model_pmid"] == "7198883"


def test_cli_default_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert pk_report.main(ZARATE_ARGS) == 0
    out = capsys.readouterr().out
    assert pk.DISCLAIMER in out
    assert "Cmax 177" in out and "at 40 min" in out
    assert "AUC" in out and "Krystal 1994" in out


def test_cli_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "curve.png"
    assert pk_report.main([*ZARATE_ARGS, "--png", str(target), "--observation-min", "120"]) == 0
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert str(target) in capsys.readouterr().out


def test_cli_png_unwritable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-dir" / "curve.png"
    assert pk_report.main([*ZARATE_ARGS, "--png", str(target)]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_cli_dose_mg_alternative(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--route", "intranasal", "--dose-mg", "50", "--weight-kg", "80", "--json"]
    assert pk_report.main(args) == 0
    assert json.loads(capsys.readouterr().out)["dose_mg"] == 50.0


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--route", "iv", "--mg-per-kg", "0.5", "--weight-kg", "10"], "weight_kg"),
        (
            ["--route", "oral", "--mg-per-kg", "1", "--weight-kg", "70", "--duration-min", "5"],
            "duration_min",
        ),
        (["--route", "iv", "--mg-per-kg", "-1", "--weight-kg", "70"], "mg_per_kg"),
        (["--route", "iv", "--dose-mg", "-1", "--weight-kg", "70"], "dose_mg"),
        (["--route", "iv", "--dose-mg", "1", "--weight-kg", "70", "--step-min", "0"], "step_min"),
    ],
)
def test_cli_errors_name_the_field(
    argv: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pk_report.main(argv) == 2
    err = capsys.readouterr().err
    assert field in err and "kapcare pk: error" in err


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        pk_report.main(["--route", "rectal", "--mg-per-kg", "1", "--weight-kg", "70"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        pk_report.main([*ZARATE_ARGS, "--json", "--png", "x.png"])
    capsys.readouterr()


def test_kapcare_pk_command_passes_options_through(capsys):
    import json

    from kapcare.cli import main as kapcare

    argv = ["pk", "--route", "iv", "--mg-per-kg", "0.5", "--weight-kg", "70",
            "--duration-min", "40", "--json"]  # fmt: skip
    assert kapcare(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dose_mg"] == 35.0 and summary["tmax_min"] == 40.0
    assert 150 < summary["cmax_ng_per_ml"] < 215  # Zarate 2006 measured ~185 ng/mL
