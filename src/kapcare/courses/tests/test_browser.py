"""In Chromium: the prescriber plans an IV PTSD course for a cleared patient and sees its
appointments; the front desk tries to double-book a chair and sees the clear refusal."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from kapcare.audit.services import Actor
from kapcare.conftest import sign_in
from kapcare.courses import services
from kapcare.courses.models import AppointmentKind, Resource, TreatmentCourse
from kapcare.patients.services import create_patient

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seeded_protocols"),
]


def _monday() -> date:
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def test_prescriber_plans_an_iv_ptsd_course(page, users, cleared_patient) -> None:
    monday = _monday()
    sign_in(page, users["prescriber"].email)
    page.wait_for_url("**/today/")
    page.goto(f"/patients/{cleared_patient.pk}/")
    page.get_by_role("link", name="Plan a course").click()
    page.wait_for_url(f"**/patients/{cleared_patient.pk}/courses/plan/")
    assert page.get_by_text("Cleared", exact=True).is_visible()

    page.get_by_label("Protocol:", exact=True).select_option(
        label="IV ketamine for PTSD (0.5 mg/kg over 40 min, 6 in 2 weeks)"
    )
    page.get_by_label("First dose on or after").fill(monday.isoformat())
    page.get_by_role("button", name="Preview the dates").click()
    preview = page.locator("#course-preview tbody tr")
    preview.first.wait_for()
    assert preview.count() == 6
    assert TreatmentCourse.objects.count() == 0

    page.get_by_role("button", name="Plan the course").click()
    page.wait_for_url("**/courses/*/")
    assert page.get_by_text("Course planned: 13 appointments booked.").is_visible()
    rows = page.locator("#course-appointments tbody tr")
    assert rows.count() == 13
    table = page.locator("#course-appointments").inner_text()
    assert "Preparation meeting" in table and "Dosing session 6" in table
    assert table.count("Integration session") == 6
    assert page.locator("#dosing-progress").inner_text() == "0 of 6 done"
    assert TreatmentCourse.objects.get().patient_id == cleared_patient.pk


def test_front_desk_is_refused_a_double_booked_chair(page, users) -> None:
    system = Actor.system("test")
    chair = Resource.objects.create(name="Chair 1", kind="chair")
    Resource.objects.create(name="Chair 2", kind="chair")
    zone = timezone.get_current_timezone()
    monday = _monday()

    def patient(given: str):
        return create_patient(
            system, given_name=given, family_name="Booking", birth_date=date(1985, 6, 1),
            sex_at_birth="female", is_synthetic=True,
        )  # fmt: skip

    for given, hour in (("Ava", 10), ("Bea", 14)):
        services.book_appointment(
            system, patient(given), kind=AppointmentKind.INTEGRATION,
            starts_at=datetime.combine(monday, time(hour), tzinfo=zone), minutes=60,
            resource=chair,
        )  # fmt: skip

    sign_in(page, users["front_desk"].email)
    page.wait_for_url("**/today/")
    page.get_by_label("Day", exact=True).fill(monday.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/day/{monday.isoformat()}/")
    row = page.locator("tr", has_text="Booking, Bea")
    row.get_by_role("link", name="Reschedule").click()
    page.wait_for_url("**/appointments/*/reschedule/")

    page.get_by_label("New start (clinic time)").fill(f"{monday.isoformat()}T10:30")
    page.get_by_label("Room or chair").select_option(label="Chair 1")
    page.get_by_label("Reason").fill("Patient prefers the morning")
    page.get_by_role("button", name="Reschedule").click()

    error = page.locator(".field-error", has_text="fully booked")
    error.wait_for()
    assert "Room or chair: Chair 1 is fully booked" in error.inner_text()
    assert "14:00" in page.locator("#appointment-now").inner_text()
