"""In Chromium: a critical blood pressure charted by the nurse reaches the prescriber's "today",
whose link opens the session at the alert's acknowledgement form (issue 14)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.conftest import sign_in
from kapcare.dosing import services
from kapcare.dosing.models import State
from kapcare.dosing.tests.conftest import reading, run_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_prescriber_today_shows_the_critical_vitals_alert(
    page, users, cleared_patient, plan_course_for
) -> None:
    course = plan_course_for(cleared_patient, "iv-ptsd")
    session = course.dosing_sessions.order_by("appointment__starts_at").first()
    session = run_to(session, users, State.DOSING, minutes_ago=180)
    result = services.record_vitals(
        Actor.for_user(users[Role.NURSE]), session, [reading(timezone.now(), 185, 115)]
    )
    [alert] = [a for _, a in result.alerts if a.level == "critical"]

    sign_in(page, users[Role.PRESCRIBER].email)
    page.wait_for_url("**/today/")
    item = page.locator(f"#open-vital-alert-{alert.pk}")
    expect(item).to_be_visible()
    expect(item).to_contain_text("Critical vitals")
    expect(item).to_contain_text(cleared_patient.mrn)
    expect(item).to_contain_text(alert.message)
    item.get_by_role("link", name="Open the session and acknowledge").click()
    page.wait_for_url(f"**/sessions/{session.pk}/#vital-alert-{alert.pk}")
    expect(page.locator(f"#vital-alert-{alert.pk}")).to_be_visible()
