"""End to end in Chromium at tablet width: one full IV session, the nurse and the prescriber
taking it from check-in to a signed, amended note; and a critical reading at phone width.

The session is charted as it happened: the nurse enters each time (baseline 90 minutes ago,
the infusion from 80 to 40 minutes ago, recovery since), which is how a busy chair is
charted, and how the 30-minute observation minimum is met without the test waiting for it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from kapcare.accounts.roles import Role
from kapcare.conftest import sign_in
from kapcare.dosing.models import DosingSession, State, VitalAlert
from kapcare.dosing.tests.conftest import datetime_local, run_to
from kapcare.ledger import demo as ledger_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _local(minutes_ago: int) -> str:
    """A datetime-local value in the clinic's time zone."""
    return datetime_local(timezone.now() - timedelta(minutes=minutes_ago))


def _enter_vitals(
    page: Any,
    minutes_ago: int,
    values: tuple[int, int, int, int, int],
    *,
    then_focused: str = "#id_systolic",
) -> None:
    """Type one row as a nurse would: the time, then each value with Tab, then Enter."""
    rows = page.locator(".vitals-table tbody tr")
    before = rows.count()
    page.locator("#id_taken_at").fill(_local(minutes_ago))
    page.locator("#id_systolic").focus()
    for index, value in enumerate(values):
        if index:
            page.keyboard.press("Tab")
        page.keyboard.type(str(value))
    page.keyboard.press("Enter")
    expect(rows).to_have_count(before + 1)
    # The cursor is back in the first field for the next row (after a critical reading, in the
    # alert's "Action taken").
    expect(page.locator(then_focused)).to_be_focused()


def _message(page: Any, text: str) -> None:
    page.locator(".messages").get_by_text(text).wait_for()


def test_full_iv_session(page, users, session, settings) -> None:
    # The nurse charts the whole session from a check-in made now, with times back-dated up to
    # 90 minutes: the clinic's slack for readings before the check-in must cover them.
    settings.KAPCARE_VITALS_BEFORE_CHECK_IN_MIN = 180
    url = reverse("dosing:session", args=[session.pk])
    nurse, prescriber = users[Role.NURSE], users[Role.PRESCRIBER]
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    # --- the nurse: check in and the checklist ---
    sign_in(page, nurse.email)
    page.goto(url)
    expect(page.get_by_role("heading", name="Casey Cleared")).to_be_visible()
    page.get_by_role("button", name="Check in").click()
    _message(page, "The session is now: checked in.")
    expect(page.locator('.state-bar [aria-current="step"]')).to_have_text("Checked in")

    page.get_by_label("Fasting (hours)").fill("6")
    page.get_by_label("Designated driver's name").fill("Alex Example")
    page.get_by_label("Driver's phone").fill("555-0100")
    page.get_by_label("Medication holds confirmed").check()
    page.get_by_label("Medication holds (note)").fill("No holds needed")
    page.get_by_label("Weight today (kg)").fill("70")
    page.get_by_label("Intention", exact=True).fill("To feel more present with my family.")
    page.get_by_role("button", name="Save checklist").click()
    _message(page, "Checklist saved.")

    # Today's C-SSRS on the assessments form, then back.
    page.get_by_role("link", name="Record today's C-SSRS screener").click()
    # "No" to the questions always asked; the follow-ups stay "not asked".
    for number in (1, 2, 6):
        page.locator(f"#q{number} label.option").nth(0).click()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("recorded").first.wait_for()
    page.goto(url)

    # Baseline vitals, typed in the row; the next-step panel updates without a reload.
    page.evaluate("window.kapcareMarker = 'same page'")
    _enter_vitals(page, 90, (124, 80, 72, 98, 14))
    assert page.evaluate("window.kapcareMarker") == "same page"
    page.get_by_label("Centering exercise").select_option("breathing")
    page.get_by_label("Minutes", exact=True).fill("5")
    page.get_by_role("button", name="Save centering").click()
    _message(page, "Centering saved.")
    for item in ("Fasting", "C-SSRS screener today", "Baseline vitals", "Weight today"):
        expect(page.locator(".checklist-items li.ok", has_text=item)).to_have_count(1)
    page.get_by_role("button", name="Pass the checklist").click()
    _message(page, "The session is now: checklist passed.")
    expect(page.get_by_role("button", name="Sign dose order")).to_have_count(0)  # not a nurse's

    # --- the prescriber: the dose order ---
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, prescriber.email)
    page.goto(url)
    dose = page.get_by_label("Dose (mg/kg)")
    expect(dose).to_have_value("0.50")
    preview = page.locator("#order-preview")
    expect(preview.locator(".pump-rate")).to_contain_text("150 mL/h")
    dose.fill("0.75")  # the preview follows the typing (HTMX)
    expect(preview.locator(".dose")).to_contain_text("52.5 mg")
    dose.fill("0.5")
    expect(preview.locator(".dose")).to_contain_text("35 mg")
    page.get_by_role("button", name="Sign dose order").click()
    _message(page, "Dose order signed: 35.0 mg at 150.0 mL/h.")
    signed = page.locator(".orders li.current")
    expect(signed).to_contain_text("35 mg")
    expect(signed).to_contain_text("0.50 mg/kg \u00d7 70 kg")
    # 0.5 mg/kg x 70 kg = 35 mg in 100 mL over 40 min: 150 mL/h.
    expect(signed.locator(".pump-rate")).to_have_text("150 mL/h")
    expect(signed).to_contain_text("signed by Test prescriber")
    # The education-only curve waits behind its disclosure.
    expect(page.locator(".pk-chart svg")).to_be_hidden()
    page.get_by_text("Predicted concentration chart (education only").click()
    expect(page.locator(".pk-chart")).to_contain_text("for education and planning, not for dosing")
    expect(page.locator(".pk-chart svg")).to_be_visible()

    # --- the nurse: administration, vitals with a critical alert, recovery ---
    page.get_by_role("button", name="Sign out").click()
    # The vial drawn from is the ledger's (its lot is the administration's); nothing wasted.
    vial = ledger_demo.container_for("iv", Decimal(35), timezone.now())
    sign_in(page, nurse.email)
    page.goto(url)
    page.get_by_label("Vial or device").select_option(str(vial.pk))
    for label, ml in (("Drawn (mL)", "0.70"), ("Given (mL)", "0.70"), ("Wasted (mL)", "0")):
        page.get_by_label(label).fill(ml)
    page.get_by_label("Started at").fill(_local(80))
    page.get_by_role("button", name="Save and start dosing").click()  # one post
    _message(page, "Administration saved; the session is now: dosing.")

    page.evaluate("window.kapcareMarker = 'same page'")
    _enter_vitals(page, 70, (132, 84, 78, 98, 14))
    _enter_vitals(page, 60, (186, 114, 88, 97, 16), then_focused=".vital-alert.open textarea")
    alert = page.locator(".vital-alert.open")
    expect(alert).to_be_in_viewport()
    expect(alert).to_contain_text("CRITICAL")
    expect(alert).to_contain_text("186/114")
    expect(alert).to_have_css("background-color", "rgb(253, 236, 234)")  # shown in red
    # The open alert blocks the next step, and the panel says so at once.
    expect(page.locator("#next-step")).to_contain_text("Acknowledge each critical vitals alert")
    alert.get_by_role("button", name="Acknowledge alert").click()  # empty: refused, named
    expect(alert).to_contain_text("say what was done")
    alert.get_by_label("Action taken").fill(
        "Paused the infusion 5 min; BP rechecked 150/92; resumed at the same rate."
    )
    alert.get_by_role("button", name="Acknowledge alert").click()
    expect(page.locator(".vital-alert.open")).to_have_count(0)
    expect(page.locator(".vital-alerts")).to_contain_text("Action taken: Paused the infusion")
    _enter_vitals(page, 50, (148, 90, 80, 98, 15))
    _enter_vitals(page, 45, (138, 86, 76, 98, 14))
    assert page.evaluate("window.kapcareMarker") == "same page"  # no reload throughout
    expect(page.locator(".vitals-figure svg.wide")).to_be_visible()
    expect(page.locator(".vitals-figure svg.wide")).to_contain_text("Systolic BP (mmHg)")

    page.get_by_text("Correct the administration").click()  # charted late: a correction
    page.get_by_label("Stopped at").fill(_local(40))
    page.get_by_role("button", name="Save administration").click()
    _message(page, "Administration saved.")
    page.get_by_role("button", name="Start recovery").click()
    _message(page, "The session is now: recovery.")
    _enter_vitals(page, 30, (128, 82, 74, 98, 14))
    _enter_vitals(page, 15, (124, 78, 72, 99, 14))
    _enter_vitals(page, 1, (122, 78, 70, 99, 14))
    page.locator("#sed_value").fill("5")
    page.get_by_role("button", name="Add MOAA/S score").click()
    _message(page, "MOAA/S sedation recorded: 5.")

    # --- discharge with an escort ---
    expect(page.get_by_label("Escort's name")).to_have_value("Alex Example")  # the driver
    page.get_by_label("Sedation (MOAA/S)").select_option("5")
    page.get_by_label("Dissociation resolved").check()
    page.get_by_label("Nausea controlled").check()
    page.get_by_label("Walks steadily").check()
    page.get_by_role("button", name="Check discharge criteria").click()
    _message(page, "Discharge assessment saved: every criterion is met.")
    expect(page.locator("#discharge")).to_contain_text("Every discharge criterion is met.")
    page.get_by_role("button", name="Discharge", exact=True).click()
    _message(page, "The session is now: discharged.")

    # --- reflection, the note signed, then amended ---
    page.get_by_role("textbox", name="Reflection").fill("Felt distance from the memory.")
    page.get_by_role("button", name="Save reflection").click()
    _message(page, "Reflection saved.")
    page.get_by_role("textbox", name="Session note").fill(
        "IV ketamine 35 mg over 40 min. One critical BP (186/114), infusion paused and resumed."
    )
    page.get_by_role("button", name="Sign note").click()
    _message(page, "Note signed; the record is complete.")
    expect(page.locator('.state-bar [aria-current="step"]')).to_have_text("Note signed")
    expect(page.locator(".signed-note")).to_contain_text("Signed by Test nurse")
    expect(page.get_by_role("textbox", name="Session note")).to_have_count(
        0
    )  # locked: no editing field
    page.get_by_role("textbox", name="Amendment", exact=True).fill(
        "BP at 60 minutes after the stop: 120/76."
    )
    page.get_by_label("Reason for the amendment").fill("Late entry")
    page.get_by_role("button", name="Add amendment").click()
    _message(page, "Amendment added; the original note stays as signed.")
    expect(page.locator(".original-note")).to_contain_text("One critical BP (186/114)")
    amendment = page.locator(".amendments li").first
    expect(amendment).to_contain_text("BP at 60 minutes after the stop: 120/76.")
    expect(amendment).to_contain_text("Test nurse")
    expect(amendment).to_contain_text("reason: Late entry")

    done = DosingSession.objects.get(pk=session.pk)
    assert done.state == State.NOTE_SIGNED and done.escort_name == "Alex Example"
    order = done.orders.get()
    assert str(order.rate_ml_per_h) == "150.0" and order.signed_by == prescriber
    critical = VitalAlert.objects.get(session=done, level="critical")
    assert critical.acknowledged_by == nurse and critical.action_taken.startswith("Paused")
    assert done.note.text.startswith("IV ketamine 35 mg") and done.note.amendments.count() == 1
    assert done.vitals.count() == 8
    assert csp_errors == []


def test_a_critical_reading_on_a_phone_shows_the_alert_and_asks_for_the_action(
    browser, live_server, users, session
) -> None:
    """On a phone the entry row wraps: the critical alert still comes into view at once, the
    cursor waits in its "Action taken", and answering it does not jump the page away."""
    session = run_to(session, users, State.DOSING, minutes_ago=60)
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, users[Role.NURSE].email)
        page.goto(reverse("dosing:session", args=[session.pk]))
        page.locator("#id_systolic").scroll_into_view_if_needed()
        _enter_vitals(page, 1, (185, 115, 90, 97, 16), then_focused=".vital-alert.open textarea")
        alert = page.locator(".vital-alert.open")
        expect(alert).to_be_in_viewport()
        alert.get_by_role("button", name="Acknowledge alert").click()  # empty: refused
        refusal = page.locator(".vital-alert.open .form-errors")
        expect(refusal).to_be_in_viewport()
        page.locator(".vital-alert.open textarea").fill(
            "Rechecked in 5 min: 150/92; prescriber told."
        )
        page.locator(".vital-alert.open").get_by_role("button", name="Acknowledge alert").click()
        expect(page.locator(".vital-alert.open")).to_have_count(0)
        expect(page.get_by_text("Action taken: Rechecked in 5 min")).to_be_in_viewport()
    finally:
        context.close()
