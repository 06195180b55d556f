"""Issue 12 in Chromium: a nurse runs an IV session, draws from a vial on the session page,
gives the dose and wastes the rest with a witness who signs in on the same page; the vial's
balance (its history on the ledger) and the dispensing log show it. At tablet (820x1180) and
phone (390x844) size; screenshots of the form land in KAPCARE_SCREENSHOTS when it is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from kapcare.accounts.roles import Role
from kapcare.conftest import TEST_PASSWORD, sign_in
from kapcare.dosing.models import DosingSession, State
from kapcare.dosing.tests.conftest import run_to
from kapcare.ledger import demo as ledger_demo
from kapcare.ledger.models import Container, Entry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"tablet": {"width": 820, "height": 1180}, "phone": {"width": 390, "height": 844}}
MIN_TOUCH_PX = 44  # the smallest comfortable touch target


@pytest.fixture(params=list(SIZES))
def sized(request, browser, live_server) -> Iterator[tuple[str, Any]]:
    context = browser.new_context(viewport=SIZES[request.param], base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield request.param, page
    context.close()


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("KAPCARE_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=False)


def test_a_nurse_draws_gives_and_wastes_with_a_witness_on_the_same_page(
    sized, users, session
) -> None:
    size, page = sized
    session = run_to(session, users, State.DOSE_ORDERED, minutes_ago=30)
    vial = ledger_demo.container_for(session.route, Decimal(50), timezone.now())
    sign_in(page, users[Role.NURSE].email)
    page.goto(reverse("dosing:session", args=[session.pk]) + "#administration")
    form = page.locator("form.start-dosing")
    expect(form).to_be_visible()
    # The select shows the vial's label, lot, expiry and balance in mL and mg.
    option = form.locator(f'select[name="container_id"] option[value="{vial.pk}"]')
    expect(option).to_contain_text(f"{vial.label}")
    expect(option).to_contain_text(f"lot {vial.lot}")
    expect(option).to_contain_text("10.00 mL (500.00 mg)")
    form.get_by_label("Vial or device").select_option(str(vial.pk))
    form.get_by_label("Drawn (mL)").fill("1.00")
    form.get_by_label("Given (mL)").fill("0.70")
    form.get_by_label("Wasted (mL)").fill("0.30")
    form.get_by_label("Manner of waste").fill("Expelled into a drug-disposal container")
    form.get_by_label("Witness's email").fill(users[Role.PRESCRIBER].email)
    form.get_by_label("Witness's password").fill(TEST_PASSWORD)
    # Big enough to tap: every input of the form and its button.
    for field in ("container_id", "drawn_ml", "given_ml", "wasted_ml", "witness_email"):
        box = form.locator(f'[name="{field}"]').bounding_box()
        assert box is not None and box["height"] >= MIN_TOUCH_PX, (field, box)
    button = form.get_by_role("button", name="Save and start dosing")
    box = button.bounding_box()
    assert box is not None and box["height"] >= MIN_TOUCH_PX
    assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
    _shot(page, f"ledger-administration-{size}")
    button.click()
    expect(page.locator(".messages")).to_contain_text("the session is now: dosing")
    assert DosingSession.objects.get(pk=session.pk).state == State.DOSING
    entry = Entry.objects.get(session=session)
    assert (entry.given_ml, entry.wasted_ml, entry.witness_id) == (
        Decimal("0.70"),
        Decimal("0.30"),
        users[Role.PRESCRIBER].pk,
    )
    # The clinic admin reads the vial's balance and the dispensing log.
    page.context.clear_cookies()
    sign_in(page, users[Role.CLINIC_ADMIN].email)
    page.goto(reverse("ledger:home"))
    expect(page.locator("main")).to_contain_text(vial.label)
    page.goto(reverse("ledger:report") + f"?kind=container&container={vial.pk}")
    expect(page.locator("main")).to_contain_text("9.00")
    page.goto(reverse("ledger:report") + "?kind=dispensing")
    row = page.locator("tr", has_text=vial.label).filter(has_text="0.30")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Expelled into a drug-disposal container")
    expect(row).to_contain_text(users[Role.PRESCRIBER].full_name)
    vial = Container.objects.get(pk=vial.pk)
    assert vial.balance_ml == Decimal("9.00")
