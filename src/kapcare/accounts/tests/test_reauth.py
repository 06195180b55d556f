"""Signing an order or a note asks for the signer's password again when they last gave it
more than KAPCARE_REAUTH_SIGN_MINUTES ago (issue 14): the form posted is kept, a wrong
password signs nothing, the right one signs as intended."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.policy import HTML_ROUTES, SIGNING_ROUTES
from kapcare.accounts.reauth import CODE_FIELD, PASSWORD_FIELD
from kapcare.accounts.roles import Role
from kapcare.accounts.tests.test_mfa import enrolled, totp_code
from kapcare.conftest import TEST_PASSWORD
from kapcare.dosing.models import DoseOrder, DosingSession, State
from kapcare.dosing.tests.conftest import run_to
from kapcare.integration.models import IntegrationNote

pytestmark = pytest.mark.django_db


def _sign_in(email: str) -> Client:
    client = Client()
    response = client.post(reverse("web:login"), {"username": email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def ready_for_order(cleared_patient, plan_course_for, users) -> DosingSession:
    course = plan_course_for(cleared_patient, "iv-ptsd")
    session = course.dosing_sessions.order_by("appointment__starts_at").first()
    return run_to(session, users, State.CHECKLIST_PASSED, minutes_ago=20)


def _order_post(session: DosingSession) -> dict[str, str]:
    return {"mg_per_kg": str(session.course.protocol_record.default_amount)}


def test_every_signing_route_exists_in_the_policy() -> None:
    assert set(HTML_ROUTES) >= SIGNING_ROUTES


def test_a_fresh_sign_in_signs_without_asking(ready_for_order, users) -> None:
    client = _sign_in(users[Role.PRESCRIBER].email)
    url = reverse("dosing:order_sign", kwargs={"session_id": ready_for_order.pk})
    client.post(url, _order_post(ready_for_order))
    assert DoseOrder.objects.filter(session=ready_for_order).count() == 1


def test_an_old_sign_in_is_asked_for_the_password_and_nothing_is_signed(
    ready_for_order, users
) -> None:
    client = _sign_in(users[Role.PRESCRIBER].email)
    url = reverse("dosing:order_sign", kwargs={"session_id": ready_for_order.pk})
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        response = client.post(url, _order_post(ready_for_order))
        page = response.content.decode()
        assert response.status_code == 200
        assert "Confirm it is you to sign" in page
        # The form posted is carried, to post again with the password.
        assert f'name="mg_per_kg" value="{_order_post(ready_for_order)["mg_per_kg"]}"' in page
        assert f'action="{url}"' in page
        assert not DoseOrder.objects.filter(session=ready_for_order).exists()

        wrong = client.post(url, {**_order_post(ready_for_order), PASSWORD_FIELD: "not-it-at-all"})
        assert "That is not your password. Nothing was signed." in wrong.content.decode()
        assert not DoseOrder.objects.filter(session=ready_for_order).exists()

        client.post(url, {**_order_post(ready_for_order), PASSWORD_FIELD: TEST_PASSWORD})
        assert DoseOrder.objects.filter(session=ready_for_order).count() == 1
        ready_for_order.refresh_from_db()
        assert ready_for_order.state == State.DOSE_ORDERED


def test_after_confirming_the_next_signature_within_the_limit_does_not_ask(
    cleared_patient, plan_course_for, users
) -> None:
    course = plan_course_for(cleared_patient, "iv-ptsd")
    first, second = course.dosing_sessions.order_by("appointment__starts_at")[:2]
    first = run_to(first, users, State.CHECKLIST_PASSED, minutes_ago=20)
    second = run_to(second, users, State.CHECKLIST_PASSED, minutes_ago=20)
    client = _sign_in(users[Role.PRESCRIBER].email)
    later = timezone.now() + timedelta(minutes=30)
    with time_machine.travel(later, tick=False):
        client.post(
            reverse("dosing:order_sign", kwargs={"session_id": first.pk}),
            {**_order_post(first), PASSWORD_FIELD: TEST_PASSWORD},
        )
    with time_machine.travel(later + timedelta(minutes=9), tick=False):
        client.post(
            reverse("dosing:order_sign", kwargs={"session_id": second.pk}), _order_post(second)
        )
    assert DoseOrder.objects.filter(session__in=[first, second]).count() == 2


def test_the_limit_is_a_setting(ready_for_order, users, settings) -> None:
    settings.KAPCARE_REAUTH_SIGN_MINUTES = 60
    client = _sign_in(users[Role.PRESCRIBER].email)
    url = reverse("dosing:order_sign", kwargs={"session_id": ready_for_order.pk})
    with time_machine.travel(timezone.now() + timedelta(minutes=30), tick=False):
        client.post(url, _order_post(ready_for_order))
    assert DoseOrder.objects.filter(session=ready_for_order).count() == 1


def test_an_integration_note_signature_asks_too(cleared_patient, users) -> None:
    therapist = users[Role.THERAPIST]
    note = IntegrationNote.objects.create(
        patient=cleared_patient,
        held_on=timezone.localdate() - timedelta(days=1),
        insights="Talked about the session.",
        author=therapist,
    )
    client = _sign_in(therapist.email)
    url = reverse("integration:note_sign", kwargs={"note_id": note.pk})
    with time_machine.travel(timezone.now() + timedelta(minutes=15), tick=False):
        response = client.post(url, {})
        assert "Confirm it is you to sign" in response.content.decode()
        note.refresh_from_db()
        assert note.signed_at is None
        client.post(url, {PASSWORD_FIELD: TEST_PASSWORD})
    note.refresh_from_db()
    assert note.signed_by == therapist


def test_the_session_note_signature_asks_too(cleared_patient, plan_course_for, users) -> None:
    course = plan_course_for(cleared_patient, "iv-ptsd")
    session = course.dosing_sessions.order_by("appointment__starts_at").first()
    session = run_to(session, users, State.DISCHARGED, minutes_ago=240)
    client = _sign_in(users[Role.NURSE].email)
    url = reverse("dosing:note_sign", kwargs={"session_id": session.pk})
    with time_machine.travel(timezone.now() + timedelta(minutes=15), tick=False):
        response = client.post(url, {"text": "Calm session; discharged with escort."})
        page = response.content.decode()
        assert 'value="Calm session; discharged with escort."' in page
        client.post(
            url, {"text": "Calm session; discharged with escort.", PASSWORD_FIELD: TEST_PASSWORD}
        )
    session.refresh_from_db()
    assert session.state == State.NOTE_SIGNED
    assert session.note.text == "Calm session; discharged with escort."


def test_someone_with_a_second_factor_may_confirm_with_a_code(ready_for_order, users) -> None:
    prescriber = users[Role.PRESCRIBER]
    device, _ = enrolled(prescriber)
    client = _sign_in(prescriber.email)
    # Signed in with both factors (the next step's code: the enrolment used this one).
    verified = client.post(reverse("accounts:verify"), {"code": totp_code(device, steps_ahead=1)})
    assert verified.status_code == 302
    url = reverse("dosing:order_sign", kwargs={"session_id": ready_for_order.pk})
    later = timezone.now() + timedelta(minutes=11)
    with time_machine.travel(later, tick=False):
        page = client.post(url, _order_post(ready_for_order)).content.decode()
        assert f'name="{CODE_FIELD}"' in page
        wrong = client.post(url, {**_order_post(ready_for_order), CODE_FIELD: "000000"})
        assert "That code is not right. Nothing was signed." in wrong.content.decode()
        assert not DoseOrder.objects.filter(session=ready_for_order).exists()
    # django-otp makes a second try after a wrong code wait a moment.
    with time_machine.travel(later + timedelta(seconds=5), tick=False):
        client.post(url, {**_order_post(ready_for_order), CODE_FIELD: totp_code(device)})
    assert DoseOrder.objects.filter(session=ready_for_order).count() == 1


def test_without_a_second_factor_no_code_is_offered(ready_for_order, users) -> None:
    client = _sign_in(users[Role.PRESCRIBER].email)
    url = reverse("dosing:order_sign", kwargs={"session_id": ready_for_order.pk})
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        page = client.post(url, _order_post(ready_for_order)).content.decode()
    assert f'name="{CODE_FIELD}"' not in page and f'name="{PASSWORD_FIELD}"' in page
