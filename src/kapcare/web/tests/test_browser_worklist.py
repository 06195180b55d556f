"""In Chromium: what waits for a clinician on "today" (issue 14). A prescriber follows a dose
order waiting on today to the session, confirms who they are with their password (the last
sign-in is older than the clinic's limit) and signs; the item leaves today. On a phone, a
nurse's today shows the session in progress with its overdue vitals, and the day's schedule
shows each session's state and its link without scrolling sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kapcare.accounts.roles import Role
from kapcare.conftest import TEST_PASSWORD, sign_in
from kapcare.courses.models import Appointment
from kapcare.dosing.models import DoseOrder, State
from kapcare.dosing.tests.conftest import run_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_prescriber_signs_the_order_waiting_on_today_after_confirming_their_password(
    page, users, cleared_patient, plan_course_for, settings
) -> None:
    # Every signature asks again: the limit is 0 minutes.
    settings.KAPCARE_REAUTH_SIGN_MINUTES = 0
    course = plan_course_for(cleared_patient, "iv-ptsd")
    session = course.dosing_sessions.order_by("appointment__starts_at").first()
    session = run_to(session, users, State.CHECKLIST_PASSED, minutes_ago=20)

    sign_in(page, users[Role.PRESCRIBER].email)
    page.wait_for_url("**/today/")
    item = page.locator(f"#order-to-sign-{session.pk}")
    expect(item).to_contain_text(cleared_patient.family_name)
    item.get_by_role("link").click()
    page.wait_for_url(f"**/sessions/{session.pk}/#order")
    page.locator("form.order-form input[name=mg_per_kg]").fill("0.5")
    page.get_by_role("button", name="Sign dose order").click()

    expect(page.get_by_role("heading", name="Confirm it is you to sign")).to_be_visible()
    assert not DoseOrder.objects.filter(session=session).exists()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Confirm and sign").click()
    page.wait_for_url(f"**/sessions/{session.pk}/**")
    [order] = DoseOrder.objects.filter(session=session)
    assert order.mg_per_kg == 0.5 and order.signed_by == users[Role.PRESCRIBER]

    page.goto("/today/")
    expect(page.locator(f"#order-to-sign-{session.pk}")).to_have_count(0)


def test_nurse_today_on_a_phone_shows_sessions_in_progress_and_stacked_rows(
    browser, live_server, users, cleared_patient, plan_course_for
) -> None:
    course = plan_course_for(cleared_patient, "iv-ptsd")
    session = course.dosing_sessions.order_by("appointment__starts_at").first()
    session.appointment.staff.set([users[Role.NURSE]])
    session = run_to(session, users, State.DOSING, minutes_ago=180)
    # Today's schedule lists the session: its appointment is now.
    now = timezone.now()
    Appointment.objects.filter(pk=session.appointment_id).update(
        starts_at=now - timedelta(hours=3), ends_at=now + timedelta(hours=1)
    )
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    try:
        sign_in(page, users[Role.NURSE].email)
        page.wait_for_url("**/today/")
        item = page.locator(f"#in-progress-{session.pk}")
        expect(item).to_contain_text("Vitals overdue by")
        expect(item).to_contain_text(cleared_patient.family_name)
        box = item.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        link = item.get_by_role("link")
        link_box = link.bounding_box()
        # A tap target a gloved finger hits.
        assert link_box is not None and link_box["height"] >= 44
        # The site's header leaves the phone's screen to the work (two short rows).
        header = page.locator(".site-header").bounding_box()
        assert header is not None and header["height"] <= 120, header
        # The page itself never scrolls sideways.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        row = page.locator("#day-sessions tr", has_text=cleared_patient.family_name)
        for part in (row.locator(".status"), row.get_by_role("link", name="Open session")):
            expect(part).to_be_visible()
            part_box = part.bounding_box()
            assert part_box is not None and part_box["x"] + part_box["width"] <= PHONE["width"]
    finally:
        context.close()
