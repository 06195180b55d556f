"""The PK explorer: predicted concentration curves for regimens side by side, for staff and
patient education. The simulation is kapcare.clinical.pk; this module only reads the form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django import forms

from kapcare.clinical import pk
from kapcare.clinical.dosing import WEIGHT_RANGE_KG
from kapcare.clinical.vitals import DEFAULT_OBSERVATION
from kapcare.pk_report import curve_svg

ROUTE_CHOICES = [
    ("iv", "IV infusion"),
    ("im", "IM injection"),
    ("intranasal", "Intranasal (racemic)"),
    ("sublingual", "Sublingual"),
    ("oral", "Oral"),
    ("esketamine", "Esketamine nasal spray"),
]
MODEL_CHOICES = [
    ("clements", "Clements 1981 (2-compartment)"),
    ("domino", "Domino 1982 (3-compartment)"),
]
REGIMENS = 3
POPULATION_SUBJECTS = 500


class RegimenForm(forms.Form):
    route = forms.ChoiceField(choices=ROUTE_CHOICES)
    mg_per_kg = forms.DecimalField(
        label="Dose (mg/kg)", min_value=0.01, max_value=5, decimal_places=3, required=False
    )
    dose_mg = forms.DecimalField(
        label="or fixed dose (mg)", min_value=1, max_value=500, decimal_places=1, required=False
    )
    duration_min = forms.DecimalField(
        label="Infusion time (min, IV only)", min_value=0, max_value=240, required=False
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("mg_per_kg") is None and data.get("dose_mg") is None:
            raise forms.ValidationError("Give a dose in mg/kg or a fixed dose in mg.")
        if data.get("duration_min") and data.get("route") != "iv":
            self.add_error("duration_min", "Only an IV dose can be infused over time.")
        return data


class ExplorerForm(forms.Form):
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        min_value=WEIGHT_RANGE_KG[0],
        max_value=WEIGHT_RANGE_KG[1],
        initial=70,
    )
    model = forms.ChoiceField(choices=MODEL_CHOICES, initial="clements")
    hours = forms.IntegerField(label="Hours shown", min_value=1, max_value=24, initial=4)
    population = forms.BooleanField(
        label="Show the population band (5th-95th percentile) for the first regimen",
        required=False,
    )


# What the page shows before anyone changes it: the standard IV dose beside two nasal options.
DEFAULT_QUERY = {
    "weight_kg": "70",
    "model": "clements",
    "hours": "4",
    "r0-route": "iv",
    "r0-mg_per_kg": "0.5",
    "r0-duration_min": "40",
    "r1-route": "intranasal",
    "r1-dose_mg": "50",
    "r2-route": "esketamine",
    "r2-dose_mg": "56",
}


@dataclass(frozen=True)
class Row:
    label: str
    curve: pk.Curve
    dose: pk.Dose
    observation_end_min: float | None


@dataclass(frozen=True)
class Exploration:
    explorer: ExplorerForm
    regimens: list[RegimenForm]
    rows: list[Row]
    chart_svg: str | None

    @property
    def valid(self) -> bool:
        return self.chart_svg is not None


def _filled(form: RegimenForm) -> bool:
    return any(form.data.get(f"{form.prefix}-{name}") for name in ("mg_per_kg", "dose_mg"))


def _row(form: RegimenForm, weight_kg: float, model: str, t_end_min: float) -> Row:
    data = form.cleaned_data
    route = data["route"]
    mg_per_kg = data.get("mg_per_kg")
    # clean() guarantees one of the two.
    dose_mg = (
        float(data["dose_mg"]) if data.get("dose_mg") else float(data["mg_per_kg"]) * weight_kg
    )
    duration_min = float(data.get("duration_min") or 0)
    dose = pk.Dose(route, dose_mg, 0.0, duration_min)
    curve = pk.simulate([dose], weight_kg, model=model, t_end_min=t_end_min)
    dose_text = f"{mg_per_kg} mg/kg = {dose_mg:.1f} mg" if mg_per_kg else f"{dose_mg:.1f} mg"
    over = f" over {duration_min:g} min" if duration_min else ""
    observation = DEFAULT_OBSERVATION.minutes_by_route.get(route)
    return Row(
        f"{dict(ROUTE_CHOICES)[route]} {dose_text}{over}",
        curve,
        dose,
        duration_min + observation if observation is not None else None,
    )


def explore(query: Mapping[str, str]) -> Exploration:
    """Simulate every filled regimen in `query` (the page's GET parameters, or the defaults)."""
    data = query if "weight_kg" in query else DEFAULT_QUERY
    explorer = ExplorerForm(data)
    regimens = [RegimenForm(data, prefix=f"r{i}") for i in range(REGIMENS)]
    filled = [form for form in regimens if _filled(form)]
    if not explorer.is_valid() or not filled or not all(f.is_valid() for f in filled):
        return Exploration(explorer, regimens, [], None)
    weight_kg = float(explorer.cleaned_data["weight_kg"])
    model = explorer.cleaned_data["model"]
    t_end_min = 60.0 * explorer.cleaned_data["hours"]
    rows = [_row(form, weight_kg, model, t_end_min) for form in filled]
    population = None
    if explorer.cleaned_data["population"]:
        population = pk.simulate_population(
            [rows[0].dose], [weight_kg] * POPULATION_SUBJECTS, model=model, t_end_min=t_end_min
        )
    chart_svg = curve_svg(
        [(row.label, row.curve) for row in rows],
        observation_end_min=rows[0].observation_end_min,
        population=population,
    )
    return Exploration(explorer, regimens, rows, chart_svg)
