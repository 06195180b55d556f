"""End to end in Chromium: one esketamine session produces a REMS PDF (the issue's acceptance).

The session is driven to a signed note through the real services (``scenario.run_to``, which
charts it as if it began four hours ago); the nurse then opens the session page in the browser,
follows the "REMS monitoring record (PDF)" link and the test reads the PDF's text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.conftest import sign_in
from kapcare.dosing.models import State, VitalPhase
from kapcare.dosing.tests.conftest import clock_time, pdf_text, run_to
from kapcare.patients.services import add_medication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_pdf(page: Any, link: Any, target: Path) -> bytes:
    """Follow ``link`` as the nurse would and keep the PDF it opens.

    The view serves the PDF inline, so Chromium shows it in the tab (its viewer) rather than
    downloading it, and the navigation's response body is the viewer's page, not the PDF. The
    test checks the browser's own response, then fetches the same URL with the browser's
    cookies (``page.request`` shares the signed-in context) to read the bytes."""
    href = link.get_attribute("href")
    with page.expect_response(lambda r: r.url.endswith(href)) as info:
        link.click()
    shown = info.value
    assert shown.status == 200 and shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline;")
    expect(page).to_have_url(re.compile(re.escape(shown.url) + "$"))
    fetched = page.request.get(shown.url)
    assert fetched.ok and fetched.headers["content-type"] == "application/pdf"
    target.write_bytes(fetched.body())
    return fetched.body()


def test_esketamine_session_rems_pdf(
    page: Any, users: Any, cleared_patient: Any, dosing_session_for: Any, tmp_path: Path
) -> None:
    nurse = users[Role.NURSE]
    add_medication(
        Actor.system("test"), cleared_patient, generic_name="lorazepam", dose="1 mg at night"
    )
    session = run_to(dosing_session_for("esketamine"), users, State.NOTE_SIGNED, minutes_ago=240)

    sign_in(page, nurse.email)
    page.goto(reverse("dosing:session", args=[session.pk]))
    expect(page.get_by_role("heading", name="Casey Cleared")).to_be_visible()
    link = page.get_by_role("link", name="REMS monitoring record (PDF)")
    expect(link).to_have_attribute("href", reverse("dosing:rems_pdf", args=[session.pk]))
    pdf = _open_pdf(page, link, tmp_path / f"rems-session-{session.pk}.pdf")
    assert pdf.startswith(b"%PDF")

    text = pdf_text((tmp_path / f"rems-session-{session.pk}.pdf").read_bytes())

    patient = session.patient
    assert "SYNTHETIC DEMO DATA" in text
    assert f"Name: {patient.full_name}" in text and patient.full_name == "Casey Cleared"
    assert f"MRN: {patient.mrn}" in text
    assert "Dose: 56 mg" in text
    assert "Devices used: 2 of 2 ordered" in text
    devices = list(session.administration.devices.order_by("number"))
    first = devices[0].used_at
    assert f"device 1 at {clock_time(first)}; device 2 at {clock_time(devices[1].used_at)}" in text
    # run_to: discharge 5 minutes after the 120-minute observation from the first device.
    assert f"Monitoring: 125 minutes (first device {clock_time(first)}" in text
    # run_to: 128/80 at baseline (8 minutes after check-in), before the first device.
    baseline = session.vitals.get(phase=VitalPhase.PRE_DOSE)
    assert (baseline.systolic, baseline.diastolic) == (128, 80)
    assert f"Before dosing: 128/80 mmHg at {clock_time(baseline.taken_at)}" in text
    # run_to: 126/80 every recovery interval, the last one at discharge, 125 min in.
    last = (
        session.vitals.filter(phase=VitalPhase.RECOVERY, taken_at__lte=session.discharged_at)
        .order_by("taken_at", "id")
        .last()
    )
    assert last is not None and (last.systolic, last.diastolic) == (126, 80)
    assert (
        f"Before discharge: 126/80 mmHg at {clock_time(last.taken_at)}, 125 min after the first "
        "device" in text
    )
    assert "Benzodiazepines: Yes - lorazepam 1 mg at night" in text
