"""In Chromium at tablet size (820x1180): the front desk registers a patient, books an intake
appointment choosing the staff by checkbox, marks the arrival and sees the status; the same
page at phone size (390x844). Screenshots go to the test's own folder, and with
KAPCARE_SCREENSHOTS=1 to docs/screenshots/front-desk-*.png as well (committed), so anyone can
take them again: ``KAPCARE_SCREENSHOTS=1 pytest`` on this file.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.conftest import sign_in
from kapcare.courses import services
from kapcare.courses.models import Appointment, AppointmentStatus, Resource
from kapcare.patients.models import Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[4] / "docs" / "screenshots"
TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 390, "height": 844}


def _shoot(page: Any, folder: Path, name: str) -> None:
    targets = [folder] + ([DOCS] if os.environ.get("KAPCARE_SCREENSHOTS") else [])
    for target in targets:
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"))
        page.screenshot(path=str(target / f"{name}-full.png"), full_page=True)


def test_front_desk_registers_books_and_marks_arrival_on_a_tablet(
    browser, live_server, users, tmp_path
) -> None:
    Resource.objects.create(name="Consulting room 1", kind="room")
    therapist = users[Role.THERAPIST]
    context = browser.new_context(viewport=TABLET, base_url=live_server.url, device_scale_factor=1)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, users[Role.FRONT_DESK].email)
    page.wait_for_url("**/today/")

    page.get_by_role("link", name="Register a patient").click()
    page.wait_for_url("**/patients/new/")
    page.get_by_label("First name").fill("Robin")
    page.get_by_label("Last name").fill("Walkin")
    page.get_by_label("Date of birth").fill("1986-02-14")
    page.get_by_label("Sex at birth").select_option(label="Female")
    page.get_by_label("Email").fill("robin.walkin@example.org")
    page.get_by_role("button", name="Register the patient").click()
    page.wait_for_url("**/details/")
    patient = Patient.objects.get(family_name="Walkin")
    assert page.get_by_text(f"Robin Walkin is registered as patient {patient.mrn}.").is_visible()

    page.get_by_role("link", name="Appointments: book, arrive, cancel").click()
    page.wait_for_url(f"**/patients/{patient.pk}/appointments/")
    # Today, so that the arrival may be marked; a minute ago at the latest.
    start = timezone.localtime().replace(second=0, microsecond=0)
    page.get_by_label("Kind of appointment").select_option(label="Intake appointment")
    page.get_by_label("Start (clinic time)").fill(f"{start:%Y-%m-%dT%H:%M}")
    page.get_by_label("Length (minutes)").fill("45")
    page.get_by_label("Room or chair").select_option(label="Consulting room 1")
    staff_box = page.get_by_label(f"{therapist.full_name} (Therapist)")
    box = staff_box.locator("xpath=..").bounding_box()  # the label is the touch target
    assert box is not None and box["height"] >= 44
    staff_box.check()
    _shoot(page, tmp_path, "front-desk-booking-tablet")
    page.get_by_role("button", name="Book", exact=True).click()

    page.get_by_text("Intake appointment booked for").wait_for()
    appointment = Appointment.objects.get(patient=patient)
    assert list(appointment.staff.all()) == [therapist]
    card = page.locator(f"#appointment-{appointment.pk}")
    assert card.locator(".appointment-status").inner_text() == "Booked"
    card.get_by_role("button", name="Arrived").click()
    page.get_by_text("marked as arrived").wait_for()
    card = page.locator(f"#appointment-{appointment.pk}")
    assert card.locator(".appointment-status").inner_text() == "Arrived"
    assert card.get_by_role("button", name="Done").is_visible()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED
    _shoot(page, tmp_path, "front-desk-appointments-tablet")

    # A second one, still booked, so the phone shows its actions too.
    services.book_appointment(
        Actor.for_user(users[Role.FRONT_DESK]), patient, kind="consultation",
        starts_at=start + timedelta(days=1), minutes=30,
    )  # fmt: skip
    page.set_viewport_size(PHONE)
    page.reload()
    tomorrow = page.locator(".appointment-card", has_text="Consultation")
    assert tomorrow.get_by_role("button", name="Arrived").count() == 0  # not its day yet
    for name in ("Reschedule", "Did not attend…", "Cancel…"):
        action = page.get_by_text(name, exact=True).bounding_box()
        assert action is not None and action["height"] >= 44 and action["width"] >= 250
    card = page.locator(f"#appointment-{appointment.pk}")
    done = card.get_by_role("button", name="Done").bounding_box()
    assert done is not None and done["width"] >= 250  # the width of the card on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shoot(page, tmp_path, "front-desk-appointments-phone")
    print(f"screenshots in {tmp_path}")
    context.close()
