"""End to end in Chromium: the page warns before the automatic logoff, "Stay signed in" keeps
the session, and without it the sign-in page opens and returns to the page afterwards. The
idle limit is a few seconds here; the warning shows half of it before (a minute in a clinic)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from kapcare.accounts.idle import BACKGROUND_HEADER
from kapcare.accounts.roles import Role
from kapcare.conftest import TEST_PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_warning_then_the_logoff_and_back_to_the_page(page, make_user, settings):
    settings.KAPCARE_IDLE_LOGOUT_SECONDS = 6
    nurse = make_user(Role.NURSE, email="nurse.idle@test.example")
    sign_in(page, nurse.email)
    page.wait_for_url("**/today/")
    page.goto("/pk/")

    warning = page.get_by_role("alertdialog", name="Automatic sign-out")
    warning.wait_for()
    assert "you will be signed out in" in warning.inner_text()
    page.get_by_role("button", name="Stay signed in").click()
    warning.wait_for(state="detached")

    # Left alone this time: the session ends and the sign-in page opens.
    page.wait_for_url("**/login/?next=%2Fpk%2F", timeout=20_000)
    assert page.get_by_text("You were signed out after").is_visible()
    page.get_by_label("Email").fill(nurse.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/pk/")


def test_lazy_sections_are_background_requests(page, make_user, settings, cleared_patient):
    """The chart's lazy sections (htmx, "load") are marked as background by kapcare/idle.js."""
    nurse = make_user(Role.NURSE, email="nurse.lazy@test.example")
    sign_in(page, nurse.email)
    page.wait_for_url("**/today/")
    marked: dict[str, str | None] = {}
    page.on(
        "request",
        lambda request: (
            marked.__setitem__(request.url, request.headers.get(BACKGROUND_HEADER.lower()))
            if request.headers.get("hx-request")
            else None
        ),
    )
    page.goto(reverse("patients:chart", kwargs={"patient_id": cleared_patient.pk}))
    page.get_by_role("heading", name="Treatment timeline").wait_for()
    # A locator waits without evaluating a string in the page (the CSP forbids eval).
    expect(page.locator(".lazy-section[aria-busy=true]")).to_have_count(0)
    assert marked and all(value == "1" for value in marked.values()), marked
