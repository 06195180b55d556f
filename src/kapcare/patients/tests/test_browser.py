"""In Chromium: the chart's record and timeline sections load after the summary, and an
allergy added through the loaded record section is on the chart after the save."""

from __future__ import annotations

from datetime import date

import pytest

from kapcare.audit.services import Actor
from kapcare.conftest import sign_in
from kapcare.patients.models import Allergy
from kapcare.patients.services import create_patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_sections_load_into_the_chart_and_take_entries(page, make_user):
    nurse = make_user("nurse", email="nurse.chart@test.example")
    patient = create_patient(
        Actor.system("test"), given_name="Robin", family_name="Lazyload",
        birth_date=date(1988, 8, 8), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip
    sign_in(page, nurse.email)
    page.wait_for_url("**/today/")
    page.goto(f"/patients/{patient.pk}/")
    record = page.locator("section[aria-labelledby=record-heading]")
    record.get_by_text("None recorded").first.wait_for()
    page.get_by_role("heading", name="Treatment timeline").wait_for()
    page.get_by_text("No treatment course yet.").wait_for()
    assert page.locator("[aria-busy=true].lazy-section").count() == 0

    record.get_by_text("Add to the record").click()
    allergy_form = record.get_by_role("form", name="Add allergy")
    allergy_form.get_by_label("Substance").fill("Latex")
    allergy_form.get_by_role("button", name="Add allergy").click()
    page.wait_for_url(f"**/patients/{patient.pk}/")
    page.locator("section[aria-labelledby=record-heading]").get_by_text("Latex").wait_for()
    assert Allergy.objects.get(patient=patient).substance == "Latex"
