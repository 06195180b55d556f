"""End to end in Chromium: a visitor sends a consultation request and the front desk converts
it into a patient."""

from __future__ import annotations

import pytest

from kapcare.conftest import sign_in
from kapcare.consultations.models import ConsultationRequest, RequestStatus
from kapcare.patients.models import CareStatus, Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_consultation_request_is_submitted_and_converted(page, make_user, settings):
    # The form refuses submissions faster than a person types; the robot here is quick.
    settings.KAPCARE_CONSULTATION_MIN_SECONDS = 0
    front_desk = make_user("front_desk", email="desk.browser@test.example")

    # An anonymous visitor on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/consultation/")
    assert page.get_by_role("heading", name="Please do not send medical details").is_visible()
    page.get_by_label("First name").fill("Quinn")
    page.get_by_label("Last name").fill("Browser-Test")
    page.get_by_label("Email address").fill("quinn@example.org")
    page.get_by_label("Phone number").fill("+1 555 0199")
    page.get_by_label("Text message").check()
    page.get_by_label("What would you like to talk about?").fill("Information about IV sessions.")
    # The honeypot is neither on screen nor in the accessibility tree.
    box = page.locator("#id_website").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0
    assert page.get_by_role("textbox", name="Leave this field empty").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/consultation/thanks/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Thank you")
    consultation = ConsultationRequest.objects.get()
    assert consultation.preferred_contact == "sms"

    # The front desk signs in, finds it in the queue and converts it.
    page.set_viewport_size({"width": 1024, "height": 768})
    page.context.clear_cookies()
    sign_in(page, front_desk.email)
    page.wait_for_url("**/today/")
    page.get_by_role("link", name="Requests").click()
    page.wait_for_url("**/consultation/queue/")
    assert page.get_by_role("heading", name="Quinn Browser-Test").is_visible()
    assert page.get_by_text("Information about IV sessions.").is_visible()
    request_card = page.get_by_role("article", name="Quinn Browser-Test")
    request_card.get_by_role("link", name="Convert to patient").click()
    page.wait_for_url(f"**/consultation/queue/{consultation.pk}/convert/")
    assert page.get_by_label("First name").input_value() == "Quinn"
    page.get_by_label("Date of birth").fill("1990-06-15")
    page.get_by_label("Sex at birth").select_option("female")
    page.get_by_role("button", name="Create patient").click()
    page.wait_for_load_state()
    assert page.get_by_text("is now patient").is_visible()

    patient = Patient.objects.get(family_name="Browser-Test")
    assert patient.given_name == "Quinn" and patient.care_status == CareStatus.INQUIRY
    consultation.refresh_from_db()
    assert consultation.status == RequestStatus.CONVERTED and consultation.patient == patient
