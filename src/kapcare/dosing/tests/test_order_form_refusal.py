"""After a refused dose order the form shows what was typed, the dose computed from it (not the
protocol's default), and the error beside the field it names; nothing is stored."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from kapcare.accounts.roles import Role
from kapcare.conftest import sign_in
from kapcare.dosing.models import DoseOrder, DosingSession, State
from kapcare.dosing.tests.conftest import run_to


def _refused(client, session: DosingSession, typed: dict[str, str]):
    response = client.post(reverse("dosing:order_sign", args=[session.pk]), typed)
    assert response.status_code == 400
    assert not DoseOrder.objects.filter(session=session).exists()
    return response


def _preview(html: str) -> str:
    found = re.search(r'<div id="order-preview".*?</div>', html, re.S)
    assert found
    return found.group(0)


@pytest.mark.django_db
def test_a_deviating_dose_without_a_reason_keeps_the_typed_dose_and_computes_it(
    session, users, client_for, django_assert_max_num_queries
):
    session = run_to(session, users, State.CHECKLIST_PASSED, minutes_ago=20)
    client = client_for(users[Role.PRESCRIBER])
    response = _refused(client, session, {"mg_per_kg": "1.2", "deviation_reason": ""})
    form = response.context["forms"]["order"]
    assert form["mg_per_kg"].value() == "1.2"
    assert "deviation_reason" in form.errors  # beside the field
    plan = response.context["plan"]
    # 1.2 mg/kg x 70 kg = 84 mg: the dose of what was typed, not the default 0.5 mg/kg's 35.
    assert plan is not None and plan.dose_mg == pytest.approx(84)
    html = response.content.decode()
    assert "84 mg" in _preview(html) and "35 mg" not in _preview(html)
    assert re.search(
        r'field has-error">\s*<label for="id_deviation_reason">.*?class="field-error"', html, re.S
    )
    # The page shown again costs what the page costs.
    with django_assert_max_num_queries(40):
        _refused(client, session, {"mg_per_kg": "1.2", "deviation_reason": ""})


@pytest.mark.django_db
def test_a_dose_that_is_not_a_number_is_kept_and_named(session, users, client_for):
    session = run_to(session, users, State.CHECKLIST_PASSED, minutes_ago=20)
    response = _refused(
        client_for(users[Role.PRESCRIBER]), session, {"mg_per_kg": "half", "deviation_reason": ""}
    )
    form = response.context["forms"]["order"]
    assert form["mg_per_kg"].value() == "half" and "mg_per_kg" in form.errors
    # No dose computed from the protocol's default beside a dose it cannot read.
    assert response.context["plan"] is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [(820, 1180), (390, 844)], ids=["tablet", "phone"])
def test_the_refused_order_in_chromium(browser, live_server, users, session, size) -> None:
    session = run_to(session, users, State.CHECKLIST_PASSED, minutes_ago=20)
    width, height = size
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=live_server.url
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, users[Role.PRESCRIBER].email)
        page.goto(reverse("dosing:session", args=[session.pk]))
        page.get_by_label("Dose (mg/kg)").fill("1.2")
        expect(page.locator("#order-preview .dose")).to_contain_text("84 mg")
        page.get_by_role("button", name="Sign dose order").click()
        expect(page.get_by_label("Dose (mg/kg)")).to_have_value("1.2")
        expect(page.locator("#order-preview .dose")).to_contain_text("84 mg")
        reason = page.locator(".field.has-error", has=page.get_by_label("Reason for deviating"))
        expect(reason.locator(".field-error")).to_be_visible()
        expect(page.locator("#order .form-errors")).to_contain_text("nothing was stored")
    finally:
        context.close()
    assert not DoseOrder.objects.filter(session=session).exists()
