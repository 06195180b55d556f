"""In Chromium: a nurse completes intake and screening; the prescriber overrides the
needs-review verdict with a reason."""

from __future__ import annotations

from datetime import date

import pytest

from kapcare.audit.services import Actor
from kapcare.conftest import sign_in
from kapcare.intake.models import Screening
from kapcare.patients.services import create_patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_NO_TO = (
    "Pregnancy", "Breastfeeding", "Ketamine or esketamine hypersensitivity",
    "Aneurysmal vascular disease", "Arteriovenous malformation",
    "Intracerebral haemorrhage history", "Current mania or hypomania",
    "Active substance use disorder", "Unstable cardiovascular disease",
    "Severe hepatic impairment", "Raised intracranial or intraocular pressure",
)  # fmt: skip


def test_intake_screening_and_prescriber_override(page, make_user):
    nurse = make_user("nurse", email="nurse.intake@test.example")
    prescriber = make_user("prescriber", email="dr.intake@test.example")
    patient = create_patient(
        Actor.system("test"), given_name="Morgan", family_name="Testcase",
        birth_date=date(1979, 2, 2), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip

    sign_in(page, nurse.email)
    page.wait_for_url("**/today/")
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Intake and screening").click()
    page.get_by_label("Systolic BP (mmHg)").fill("150")
    page.get_by_label("Diastolic BP (mmHg)").fill("88")
    psychosis = page.get_by_role("group", name="Psychosis history")
    # Nothing is pre-answered: every question starts at "Not recorded".
    assert psychosis.get_by_label("Not recorded").is_checked()
    for question in _NO_TO:
        page.get_by_role("group", name=question, exact=True).get_by_label("No", exact=True).check()
    psychosis.get_by_label("Yes").check()
    page.get_by_role("group", name="Takes any current medications?").get_by_label("Yes").check()
    page.get_by_label("Current medications (generic names, one per line)").fill("sertraline")
    page.get_by_role("group", name="C-SSRS screener risk today").get_by_label("None").check()
    page.get_by_label("Psychiatric history").fill("Single brief psychotic episode 2005.")
    page.get_by_role("button", name="Screen eligibility").click()
    page.wait_for_url(f"**/patients/{patient.pk}/")
    assert page.get_by_text("Needs review").first.is_visible()
    assert page.get_by_text("Source:").first.is_visible()
    # Only a prescriber sees the review form.
    assert page.get_by_role("button", name="Record review").count() == 0
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, prescriber.email)
    page.wait_for_url("**/today/")
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_label("Override to eligible").check()
    page.get_by_label("Reason (required to override)").fill(
        "Remote single episode, no recurrence in 20 years; reviewed with the patient."
    )
    page.get_by_role("button", name="Record review").click()
    page.wait_for_url(f"**/patients/{patient.pk}/")
    assert page.get_by_text("Overridden to eligible for planning").is_visible()
    assert page.get_by_text("Eligible", exact=True).first.is_visible()

    screening = Screening.objects.get(patient=patient)
    assert screening.verdict == "needs_review" and screening.review_status == "overridden"
    # Every question answered: no reason says "not recorded".
    assert [r["code"] for r in screening.reasons] == [
        "history_of_psychosis", "bp_elevated", "medication_unknown",
    ]  # fmt: skip
    assert screening.reviewed_by_id == prescriber.pk
