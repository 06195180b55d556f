"""The session page names alerts and overridden requirements in words, never by their codes
(issue 14: "Codes (`bp_critical`) appear as words")."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.clinical.session import Requirement
from kapcare.dosing import services
from kapcare.dosing.models import State
from kapcare.dosing.tests.conftest import reading, run_to

pytestmark = pytest.mark.django_db


def _page(client, session) -> str:
    response = client.get(reverse("dosing:session", kwargs={"session_id": session.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_an_alert_in_the_vitals_record_reads_as_words(session, users, client_for) -> None:
    session = run_to(session, users, State.DOSING)
    services.record_vitals(
        Actor.for_user(users[Role.NURSE]), session, [reading(timezone.now(), 186, 114)]
    )
    page = _page(client_for(users[Role.NURSE]), session)
    assert "critical blood pressure</span>" in page
    assert ">bp_critical<" not in page


def test_the_override_hint_lists_requirements_in_words(session) -> None:
    overridable = [
        Requirement("bp_40_min", "Esketamine: a blood pressure at about 40 minutes", True),
        Requirement("observation_time", "Observation time: fewer minutes", True),
    ]
    html = render_to_string(
        "dosing/_step_form.html",
        {"session": session, "overridable": overridable, "next_button": "Discharge"},
    )
    hint = html.split("You are overriding:", 1)[1].split(".", 1)[0]
    assert hint.strip() == "blood pressure at about 40 minutes, observation time"
