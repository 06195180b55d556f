"""In Chromium: the session page's checklist names the missing treatment consent, links to the
chart where it is signed, and a prescriber's override with a reason does not pass it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from kapcare.accounts.roles import Role
from kapcare.conftest import sign_in
from kapcare.dosing.models import State
from kapcare.dosing.tests.conftest import run_to, short_fast
from kapcare.patients.models import ConsentTemplate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_checklist_shows_the_missing_consent(page, users, session) -> None:
    last = ConsentTemplate.objects.get(code="ketamine-treatment")
    ConsentTemplate.objects.create(
        code="ketamine-treatment", version=2, title=last.title, body="A new wording."
    )
    session = short_fast(run_to(session, users, State.CHECKED_IN), users)
    sign_in(page, users[Role.PRESCRIBER].email)
    page.goto(reverse("dosing:session", args=[session.pk]))
    item = page.locator("#checklist .checklist-items li").filter(has_text="Treatment consent")
    expect(item).to_contain_text(
        "not signed: Consent to ketamine treatment (synthetic) version 2 "
        "(version 1 was signed; a newer version replaced it)"
    )
    expect(item).to_have_class("not-ok")
    link = item.get_by_role("link", name="sign it on the chart")
    expect(link).to_have_attribute("href", reverse("patients:chart", args=[session.patient_id]))
    session.refresh_from_db()
    assert session.state == State.CHECKED_IN
