"""The PK explorer page: default regimens, validation naming the field, the population band."""

from __future__ import annotations

import re

import pytest

from kapcare.clinical import pk
from kapcare.clinical.dosing import WEIGHT_RANGE_KG
from kapcare.conftest import sign_in
from kapcare.web.pk_explorer import ExplorerForm, explore


def test_defaults_compare_three_routes_with_the_band_and_observation_marker(users, client_for):
    response = client_for(users["nurse"]).get("/pk/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "not a dosing calculator" in html
    assert "IV infusion 0.5 mg/kg = 35.0 mg over 40 min" in html
    assert "Intranasal (racemic) 50.0 mg" in html and "Esketamine nasal spray 56.0 mg" in html
    # 0.5 mg/kg over 40 min at 70 kg peaks near the measured ~185 ng/mL (Zarate 2006).
    peak = re.search(r"over 40 min</th><td>(\d+)</td>", html)
    assert peak is not None and 155 <= int(peak.group(1)) <= 215


def test_patients_may_use_it_for_education(users, client_for):
    assert client_for(users["patient"]).get("/pk/").status_code == 200


def test_an_infusion_on_another_route_is_refused_naming_the_field(users, client_for):
    query = {"weight_kg": "70", "model": "clements", "hours": "4", "r0-route": "im",
             "r0-mg_per_kg": "0.5", "r0-duration_min": "10"}  # fmt: skip
    response = client_for(users["nurse"]).get("/pk/", query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Infusion time (min, IV only): Only an IV dose can be infused over time." in html
    assert "<svg" not in html


def test_the_weight_range_is_the_dosing_calculators():
    form = ExplorerForm({"weight_kg": str(WEIGHT_RANGE_KG[1] + 1), "model": "clements", "hours": 4})
    assert not form.is_valid() and list(form.errors) == ["weight_kg"]
    assert tuple(float(w) for w in WEIGHT_RANGE_KG) == (pk.WEIGHT_MIN_KG, pk.WEIGHT_MAX_KG)


def test_weight_out_of_range_is_refused(users, client_for):
    response = client_for(users["nurse"]).get("/pk/", {"weight_kg": "20", "r0-route": "iv",
                                                      "r0-mg_per_kg": "0.5", "hours": "4",
                                                      "model": "clements"})  # fmt: skip
    assert response.status_code == 400
    assert "Weight (kg): Ensure this value is greater than or equal to 30." in (
        response.content.decode()
    )


def test_population_band_and_model_choice():
    base = {"weight_kg": "80", "hours": "6", "r0-route": "iv", "r0-mg_per_kg": "0.5",
            "r0-duration_min": "40"}  # fmt: skip
    clements = explore({**base, "model": "clements"})
    domino = explore({**base, "model": "domino", "population": "on"})
    assert clements.valid and domino.valid
    assert clements.rows[0].curve.cmax_ng_per_ml != domino.rows[0].curve.cmax_ng_per_ml
    assert clements.rows[0].curve.times_min[-1] == 360
    assert clements.chart_svg is not None and domino.chart_svg is not None
    assert domino.chart_svg.count("<path") > clements.chart_svg.count("<path")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_nurse_compares_routes_in_the_browser(page, make_user):
    nurse = make_user("nurse", email="nurse.pk@test.example")
    sign_in(page, nurse.email)
    page.wait_for_url("**/today/")
    page.get_by_role("link", name="PK explorer").click()
    chart = page.locator("figure.chart svg")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300
    page.locator("#id_r1-dose_mg").fill("100")
    page.get_by_role("button", name="Show curves").click()
    page.wait_for_url("**r1-dose_mg=100**")
    assert page.get_by_role("rowheader", name="Intranasal (racemic) 100.0 mg").is_visible()
