"""Screenshots of the pages a nurse and a prescriber use mid-session, at tablet (820x1180) and
phone (390x844) size, written to docs/screenshots/ (the PNGs are committed).

Rerun with ``python docs/screenshots/take.py`` (or ``KAPCARE_SCREENSHOTS=1 pytest`` on this
file). The test writes files into the repository, so an ordinary test run leaves it out.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from kapcare.accounts.roles import Role
from kapcare.assessments.services import draw_trajectory_chart, record_assessment
from kapcare.audit.services import Actor
from kapcare.conftest import sign_in
from kapcare.dosing import services
from kapcare.dosing.models import State
from kapcare.dosing.tests.conftest import reading, run_to

OUT = Path(__file__).resolve().parents[4] / "docs" / "screenshots"
TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("KAPCARE_SCREENSHOTS"),
        reason="writes PNGs into docs/screenshots/: run docs/screenshots/take.py",
    ),
]


def _save(png: bytes, name: str) -> None:
    """Write ``png`` as ``docs/screenshots/<name>.png`` in 64 colours (a third of the size;
    the pages are flat colours and text)."""
    OUT.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    image.save(OUT / f"{name}.png", optimize=True)


def _shoot(
    browser: Any, live_server: Any, email: str, url: str, name: str, size: dict, *, full: bool
) -> None:
    """Sign in and save ``url`` at ``size``: what a person sees first, and with ``full`` the
    whole page as ``<name>-full.png``; at device scale 1 to keep the files small."""
    context = browser.new_context(viewport=size, base_url=live_server.url, device_scale_factor=1)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, email)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        _save(page.screenshot(), name)
        if full:
            _save(page.screenshot(full_page=True), f"{name}-full")
    finally:
        context.close()


def test_screenshots(browser, live_server, users, cleared_patient, plan_course_for) -> None:
    nurse, prescriber = users[Role.NURSE], users[Role.PRESCRIBER]
    course = plan_course_for(cleared_patient)
    first, second = course.dosing_sessions.order_by("appointment__starts_at")[:2]
    dosing = run_to(first, users, State.DOSING, minutes_ago=60, critical_bp_at_min=20)
    # A fresh critical reading: the alert a nurse must answer, at the top of the page.
    services.record_vitals(
        Actor.for_user(nurse), dosing, [reading(timezone.now() - timedelta(minutes=1), 186, 114)]
    )
    recovery = run_to(second, users, State.RECOVERY, minutes_ago=70)
    # A PHQ-9 trajectory for the chart: three scores before the course (which began with
    # today's sessions), then one since.
    for weeks_ago, answers in (
        (6, [2] * 8 + [0]),
        (5, [3] * 8 + [0]),
        (1, [2] * 8 + [0]),
        (0, [1] * 8 + [0]),
    ):
        record_assessment(
            Actor.for_user(nurse), cleared_patient, "phq9", answers, source="staff",
            administered_at=timezone.now() - timedelta(weeks=weeks_ago),
        )  # fmt: skip
    draw_trajectory_chart(cleared_patient.pk, "phq9")

    session_url = reverse("dosing:session", args=[dosing.pk])
    recovery_url = reverse("dosing:session", args=[recovery.pk])
    for size_name, size in (("tablet", TABLET), ("phone", PHONE)):
        for url, name in ((session_url, "dosing"), (recovery_url, "recovery")):
            _shoot(browser, live_server, nurse.email, url, f"{name}-{size_name}", size, full=True)
        _shoot(
            browser, live_server, prescriber.email, reverse("web:today"),
            f"today-{size_name}", size, full=False,
        )  # fmt: skip
    pages = (
        (prescriber, reverse("courses:course", args=[course.pk]), "course-tablet"),
        (prescriber, reverse("patients:chart", args=[cleared_patient.pk]), "chart-tablet"),
    )
    for user, url, name in pages:
        _shoot(browser, live_server, user.email, url, name, TABLET, full=True)
