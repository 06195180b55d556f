"""End to end in Chromium: a patient completes a PCL-5 on a phone, and the suicide-risk
safety net from the nurse's tablet to the prescriber's acknowledgement."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from kapcare.accounts.roles import Role
from kapcare.assessments import services
from kapcare.assessments.models import Alert, AlertStatus, Assessment, Source
from kapcare.audit.services import Actor
from kapcare.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _answer(page: Any, values: list[int]) -> None:
    for number, value in enumerate(values, start=1):
        page.locator(f"#q{number} label.option").nth(value).click()


def test_pcl5_through_the_home_link_on_a_phone(browser, live_server, patient) -> None:
    _link, raw = services.create_home_link(Actor.system("test"), patient, "pcl5")
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=live_server.url,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(reverse("assessments:home_link", kwargs={"token": raw}))
        assert page.get_by_role("heading", name="Hello Robin").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        values = [3, 2, 2, 1, 3, 2, 2, 1, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2]
        _answer(page, values)
        page.get_by_role("button", name="Send my answers").click()
        page.get_by_role("heading", name="Thank you, Robin").wait_for()
        assert page.locator(".crisis").count() == 0
        assessment = Assessment.objects.get()
        assert assessment.responses == values and assessment.source == Source.HOME_LINK
        # The link is spent: opening it again says so and stores nothing.
        page.goto(reverse("assessments:home_link", kwargs={"token": raw}))
        assert page.get_by_role("heading", name="already been completed").is_visible()
        assert Assessment.objects.count() == 1
    finally:
        context.close()


def test_nurse_records_phq9_item9_and_prescriber_acknowledges(page, users, patient) -> None:
    nurse, prescriber = users[Role.NURSE], users[Role.PRESCRIBER]
    sign_in(page, nurse.email)
    page.goto(
        reverse("assessments:record", kwargs={"patient_id": patient.pk, "instrument": "phq9"})
    )
    _answer(page, [1, 2, 1, 1, 0, 1, 1, 0, 2])
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Suicide-risk alert — Open").wait_for()
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.OPEN and alert.assessment.responses[8] == 2

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, prescriber.email)
    page.get_by_role("link", name="Alerts").click()
    page.get_by_role("link", name="Review and acknowledge").click()
    page.get_by_role("button", name="Acknowledge alert").click()  # empty: refused
    assert page.get_by_text("Action taken").first.is_visible()
    page.get_by_label("Action taken").fill("Called the patient; safety plan reviewed; seen today.")
    page.get_by_role("button", name="Acknowledge alert").click()
    page.get_by_text("Alert acknowledged").wait_for()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == prescriber
    assert alert.action_taken.startswith("Called the patient")


def test_chart_placeholder_loads_the_trajectory_chart(page, users, patient) -> None:
    for total in (3, 2, 1):
        services.record_assessment(
            Actor.system("test"), patient, "pcl5", [total] * 20, source=Source.STAFF
        )
    sign_in(page, users[Role.NURSE].email)
    page.goto(reverse("patients:chart", kwargs={"patient_id": patient.pk}))
    # No stored chart: the placeholder's text first, then HTMX swaps in the drawn chart.
    chart = page.get_by_role("img", name="PTSD Checklist for DSM-5: trajectory")
    chart.wait_for()
    assert page.locator(".mbc-chart-pending").count() == 0
    assert "latest 20" in chart.get_attribute("aria-label")
    assert patient.trajectory_charts.get().instrument == "pcl5"
