"""The session page in Chromium at tablet (820x1180) and phone (390x844) size: during dosing the
vitals entry is above the fold (and, on a tablet, stays in reach while the nurse scrolls),
finished steps are folded, the education-only concentration chart waits behind its link, a
baseline reading ticks the checklist without a reload, "Stopped now" is one tap, today's C-SSRS
comes back to the session, and an esketamine device counts down to the label's 5 minutes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from kapcare.accounts.roles import Role
from kapcare.conftest import sign_in
from kapcare.dosing.models import Administration, DosingSession, State
from kapcare.dosing.tests.conftest import run_to
from kapcare.ledger import demo as ledger_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"tablet": {"width": 820, "height": 1180}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def sized(request, browser, live_server) -> Iterator[tuple[str, Any]]:
    """A fresh page at tablet and at phone size (the test runs once for each)."""
    size = SIZES[request.param]
    context = browser.new_context(viewport=size, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield request.param, page
    context.close()


def _within_viewport(page: Any, selector: str) -> None:
    """The whole element is on screen, as the page is now scrolled."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box, size)
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (selector, box, size)


def _open(page: Any, section: str) -> bool:
    return page.locator(f"details#{section}").evaluate("el => el.open")


def _session_url(session: DosingSession) -> str:
    return reverse("dosing:session", args=[session.pk])


def test_during_dosing_the_vitals_entry_is_above_the_fold(sized, users, session) -> None:
    size, page = sized
    session = run_to(session, users, State.DOSING, minutes_ago=60)
    sign_in(page, users[Role.NURSE].email)
    page.goto(_session_url(session))
    _within_viewport(page, "#vitals-form")
    for section in ("checklist", "centering", "order"):
        assert not _open(page, section), section
    # A folded step says what it holds in its summary line.
    expect(page.locator("#order > summary .summary-line")).to_contain_text("150 mL/h")
    expect(page.locator("#checklist > summary .summary-line")).to_contain_text("items met")
    if size == "tablet":
        # Scrolled to the end of the page, the entry row is still in reach.
        page.keyboard.press("End")
        page.locator("#history").scroll_into_view_if_needed()
        _within_viewport(page, "#vitals-form")
    # The step opens with a tap on its heading.
    page.locator("#checklist > summary").click()
    assert _open(page, "checklist")
    expect(page.locator("#checklist-items")).to_be_visible()


def test_the_concentration_chart_waits_behind_its_link(sized, users, session) -> None:
    _size, page = sized
    session = run_to(session, users, State.DOSE_ORDERED, minutes_ago=30)
    sign_in(page, users[Role.NURSE].email)
    page.goto(_session_url(session))
    chart = page.locator(".pk-chart svg")
    expect(chart).to_be_hidden()
    page.get_by_text("Predicted concentration chart (education only").click()
    expect(chart).to_be_visible()
    expect(page.locator(".pk-chart")).to_contain_text("not for dosing")


def test_a_baseline_reading_ticks_the_checklist_without_a_reload(sized, users, session) -> None:
    _size, page = sized
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    sign_in(page, users[Role.NURSE].email)
    page.goto(_session_url(session))
    baseline = page.locator("#checklist-items li", has_text="Baseline vitals")
    expect(baseline).to_have_class("not-ok")
    page.evaluate("window.kapcareMarker = 'same page'")
    page.locator("#id_systolic").fill("124")
    page.locator("#id_diastolic").fill("80")
    page.locator("#id_heart_rate").fill("72")
    page.locator("#id_spo2").fill("98")
    page.locator("#id_resp_rate").fill("14")
    page.get_by_role("button", name="Add reading").click()
    expect(baseline).to_have_class("ok")
    expect(page.locator(".vitals-table tbody tr")).to_have_count(1)
    assert page.evaluate("window.kapcareMarker") == "same page"


def test_stopped_now_is_one_tap(sized, users, session) -> None:
    _size, page = sized
    session = run_to(session, users, State.DOSING, minutes_ago=60)
    sign_in(page, users[Role.NURSE].email)
    page.goto(_session_url(session))
    before = timezone.now()
    page.get_by_role("button", name="Stopped now").click()
    page.locator(".messages").get_by_text("Administration stopped at").wait_for()
    stopped = Administration.objects.get(session=session).stopped_at
    assert stopped is not None and stopped >= before - timedelta(seconds=1)
    expect(page.locator("#dose-controls")).to_contain_text(
        f"Dose stopped at {timezone.localtime(stopped):%H:%M}"
    )
    expect(page.get_by_role("button", name="Start recovery")).to_be_visible()


def test_todays_cssrs_comes_back_to_the_session(sized, users, session) -> None:
    _size, page = sized
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    sign_in(page, users[Role.NURSE].email)
    url = _session_url(session)
    page.goto(url)
    page.get_by_role("link", name="Record today's C-SSRS screener").click()
    for number in (1, 2, 6):  # "No" to the questions always asked
        page.locator(f"#q{number} label.option").nth(0).click()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{url}#checklist")
    expect(page.locator("#checklist-items li", has_text="C-SSRS screener today")).to_have_class(
        "ok"
    )


def test_the_esketamine_device_countdown(sized, users, dosing_session_for) -> None:
    _size, page = sized
    session = run_to(dosing_session_for("esketamine"), users, State.DOSE_ORDERED, minutes_ago=30)
    # The page's clock, under the test's control from the current time.
    page.clock.install(time=timezone.now())
    first_device = ledger_demo.container_for(session.route, Decimal(28), timezone.now())
    sign_in(page, users[Role.NURSE].email)
    page.goto(_session_url(session))
    expect(page.get_by_label("Drawn (mL)")).to_have_count(0)  # a sealed device, used whole
    page.get_by_label("Vial or device").select_option(str(first_device.pk))
    page.get_by_role("button", name="Save and start dosing").click()
    page.locator(".messages").get_by_text("the session is now: dosing").wait_for()
    _within_viewport(page, "#vitals-form")
    page.get_by_role("button", name="Device 1 used").click()
    page.locator(".messages").get_by_text("Device 1 recorded").wait_for()

    device = Administration.objects.get(session=session).devices.get()
    ready = timezone.localtime(device.used_at + timedelta(minutes=5))
    wait = page.locator("#device-wait")
    expect(wait.locator("time")).to_have_text(f"{ready:%H:%M:%S}")  # the clinic's clock
    expect(wait.locator(".countdown")).to_have_text("wait 5:00")
    second = page.get_by_role("button", name="Device 2 used")
    expect(second).to_be_disabled()
    page.clock.run_for("02:00")
    expect(wait.locator(".countdown")).to_have_text("wait 3:00")
    expect(second).to_be_disabled()
    page.clock.run_for("03:00")
    expect(wait.locator(".countdown")).to_have_text("Device 2 may be given now.")
    expect(second).to_be_enabled()


def test_the_vitals_chart_text_is_legible(sized, users, session) -> None:
    size, page = sized
    session = run_to(session, users, State.RECOVERY, minutes_ago=90)
    sign_in(page, users[Role.NURSE].email)
    page.goto(_session_url(session))
    chart = page.locator(".vitals-figure svg:visible")
    expect(chart).to_have_count(1)
    expect(chart).to_have_class("vitals-chart narrow" if size == "phone" else "vitals-chart wide")
    # The smallest label as drawn on screen: its font size scaled to the chart's width.
    smallest_px = chart.evaluate(
        """svg => {
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            const sizes = [...svg.querySelectorAll("text")].map(t => +t.getAttribute("font-size"));
            return Math.min(...sizes) * scale;
        }"""
    )
    assert smallest_px >= 10, smallest_px
