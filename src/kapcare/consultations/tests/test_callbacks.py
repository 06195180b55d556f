"""Callback attempts on a consultation request (issue 14): logged with when, by whom, the
outcome and a note, audited, shown on the request's page in the order they were made; a
refusal names the field and stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.consultations.models import CallbackAttempt, ConsultationRequest
from kapcare.consultations.services import log_callback
from kapcare.errors import FieldInvalid, Forbidden, NotFound

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultation() -> ConsultationRequest:
    return ConsultationRequest.objects.create(
        given_name="Robin", family_name="Caller", email="robin@example.org",
        phone="+1 555 0100", preferred_contact="phone", reason="Please call me back.",
    )  # fmt: skip


def _stored() -> tuple[int, int]:
    return CallbackAttempt.objects.count(), AuditEntry.objects.exclude(action=Action.READ).count()


def test_attempts_are_logged_audited_and_kept_in_order(users, consultation) -> None:
    desk = Actor.for_user(users[Role.FRONT_DESK])
    now = timezone.now()
    later = log_callback(desk, consultation.pk, outcome="reached", note="Booked intake", now=now)
    earlier = log_callback(
        desk, consultation.pk, outcome="no_answer", attempted_at=now - timedelta(hours=2), now=now
    )
    assert later.by == users[Role.FRONT_DESK] and later.note == "Booked intake"
    assert list(consultation.callbacks.all()) == [earlier, later]
    assert AuditEntry.objects.filter(
        action=Action.CREATE, what=f"consultation request #{consultation.pk} callback: Reached"
    ).exists()


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"outcome": "maybe"}, "outcome", "one_of"),
        ({"attempted_at": timezone.now() + timedelta(days=1)}, "attempted_at", "in_future"),
        ({"note": "x" * 501}, "note", "too_long"),
    ],
)
def test_a_refused_attempt_names_the_field_and_stores_nothing(
    users, consultation, kwargs, field, rule
) -> None:
    before = _stored()
    with pytest.raises(FieldInvalid) as refused:
        log_callback(
            Actor.for_user(users[Role.FRONT_DESK]), consultation.pk,
            **{"outcome": "reached", **kwargs},
        )  # fmt: skip
    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert _stored() == before


def test_no_such_request_and_no_person_are_refused(users, consultation) -> None:
    before = _stored()
    with pytest.raises(NotFound):
        log_callback(Actor.for_user(users[Role.FRONT_DESK]), 999999, outcome="reached")
    with pytest.raises(Forbidden):
        log_callback(Actor.system("test"), consultation.pk, outcome="reached")
    assert _stored() == before


def test_the_request_page_shows_the_attempts_and_logs_one(
    client_for, users, consultation, django_assert_max_num_queries
) -> None:
    client = client_for(users[Role.FRONT_DESK])
    page = reverse("consultations:detail", kwargs={"consultation_id": consultation.pk})
    url = reverse("consultations:callback", kwargs={"consultation_id": consultation.pk})
    response = client.post(
        url, {"outcome": "left_message", "note": "Voicemail", "attempted_at": ""}
    )
    assert response.status_code == 302 and response["Location"] == page
    client.post(url, {"outcome": "wrong_number"})
    with django_assert_max_num_queries(12):
        html = client.get(page).content.decode()
    assert html.index("Left a message") < html.index("Wrong number")
    assert "Voicemail" in html and users[Role.FRONT_DESK].full_name in html
    assert AuditEntry.objects.filter(
        action=Action.READ, what__contains=f"consultation request #{consultation.pk} (request page)"
    ).exists()
    queue = client.get(reverse("consultations:queue")).content.decode()
    assert page in queue


def test_a_bad_attempt_is_shown_again_with_words(client_for, users, consultation) -> None:
    url = reverse("consultations:callback", kwargs={"consultation_id": consultation.pk})
    response = client_for(users[Role.FRONT_DESK]).post(url, {"outcome": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    future = timezone.localtime() + timedelta(days=2)
    response = client_for(users[Role.FRONT_DESK]).post(
        url, {"outcome": "reached", "attempted_at": f"{future:%Y-%m-%dT%H:%M}"}
    )
    assert response.status_code == 400 and "must not be in the future" in response.content.decode()
    assert not CallbackAttempt.objects.exists()


@pytest.mark.parametrize("role", [Role.NURSE, Role.PRESCRIBER, Role.PATIENT])
def test_only_the_front_desk_and_the_admin_log_callbacks(client_for, users, consultation, role):
    url = reverse("consultations:callback", kwargs={"consultation_id": consultation.pk})
    assert client_for(users[role]).post(url, {"outcome": "reached"}).status_code == 403
    assert client_for(users[Role.CLINIC_ADMIN]).post(url, {"outcome": "reached"}).status_code == 302
