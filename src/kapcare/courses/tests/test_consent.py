"""The course page says which treatment consent is missing (issue 14): without it no session
of the course passes its checklist."""

from __future__ import annotations

from django.urls import reverse

from kapcare.accounts.roles import Role
from kapcare.patients.models import ConsentSignature, ConsentTemplate


def _page(client_for, users, course, role: str = Role.NURSE) -> str:
    response = client_for(users[role]).get(reverse("courses:course", args=[course.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_course_page_names_the_missing_consent_with_a_link_to_sign_it(
    cleared_patient, plan_course_for, users, client_for
):
    course = plan_course_for(cleared_patient, "iv-ptsd")
    page = _page(client_for, users, course)
    assert "Consent to ketamine treatment (synthetic) version 1, signed" in page
    assert "Missing" not in page

    last = ConsentTemplate.objects.get(code="ketamine-treatment")
    new = ConsentTemplate.objects.create(
        code="ketamine-treatment", version=2, title=last.title, body="A new wording."
    )
    page = _page(client_for, users, course)
    assert (
        "<strong>Missing</strong> (not signed: Consent to ketamine treatment (synthetic) "
        "version 2 (version 1 was signed; a newer version replaced it))"
    ) in page
    assert reverse("patients:consent_sign", args=[cleared_patient.pk, new.pk]) in page


def test_an_esketamine_course_names_the_esketamine_consent(
    cleared_patient, plan_course_for, users, client_for
):
    course = plan_course_for(cleared_patient, "esketamine")
    ConsentSignature.objects.filter(
        patient=cleared_patient, template__code="esketamine-treatment"
    ).delete()
    page = _page(client_for, users, course, Role.PRESCRIBER)
    assert "not signed: Consent to esketamine (SPRAVATO) treatment (synthetic) version 1" in page
    template = ConsentTemplate.objects.get(code="esketamine-treatment")
    assert reverse("patients:consent_sign", args=[cleared_patient.pk, template.pk]) in page
