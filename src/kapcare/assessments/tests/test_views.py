from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from kapcare.accounts.roles import Role
from kapcare.assessments import charts, services
from kapcare.assessments.models import (
    Alert,
    AlertStatus,
    Assessment,
    HomeLink,
    Source,
    TrajectoryChart,
)
from kapcare.assessments.tests.conftest import PHQ9_ITEM9_TWO
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.clinical.instruments import PCL5, PHQ9
from kapcare.jobs.services import run_pending

ACTOR = Actor.system("test")


def _answers(values: list[int]) -> dict[str, str]:
    return {f"item_{n}": str(v) for n, v in enumerate(values, start=1)}


def _record_url(patient, code: str) -> str:
    return reverse("assessments:record", kwargs={"patient_id": patient.pk, "instrument": code})


def _trajectory_url(patient, code: str) -> str:
    return reverse("assessments:trajectory", kwargs={"patient_id": patient.pk, "instrument": code})


# --- staff form ------------------------------------------------------------------------------


def test_staff_form_shows_full_wording_and_options(client_for, users, patient) -> None:
    page = client_for(users[Role.NURSE]).get(_record_url(patient, "pcl5")).content.decode()
    for item in PCL5.items:
        assert escape(item.text) in page
    for option in PCL5.options:
        assert option.label in page
    assert PCL5.instructions in page


@pytest.mark.parametrize("code", ["pcl5", "phq9", "gad7", "cssrs_screen"])
def test_each_clinical_role_reaches_each_form(client_for, users, patient, code) -> None:
    for role in (Role.PRESCRIBER, Role.NURSE, Role.THERAPIST):
        assert client_for(users[role]).get(_record_url(patient, code)).status_code == 200


def test_staff_form_records_and_flags(client_for, users, patient) -> None:
    nurse = users[Role.NURSE]
    response = client_for(nurse).post(_record_url(patient, "phq9"), _answers(PHQ9_ITEM9_TWO))
    assert response.status_code == 302
    assessment = Assessment.objects.get()
    assert assessment.responses == PHQ9_ITEM9_TWO and assessment.source == Source.STAFF
    assert assessment.entered_by == nurse
    assert Alert.objects.get().assessment == assessment
    detail = client_for(nurse).get(response["Location"]).content.decode()
    assert "Suicide-risk alert" in detail and "Thoughts that you would be better off dead" in detail


def test_staff_form_shows_the_core_message_next_to_the_item_and_stores_nothing(
    client_for, users, patient
) -> None:
    data = _answers([0] * 9)
    data["item_4"] = "7"
    response = client_for(users[Role.NURSE]).post(_record_url(patient, "phq9"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "phq9 item 4 must be an integer 0-3, got 7" in page
    assert 'id="id_item_4_error"' in page
    missing = _answers([0] * 8)
    response = client_for(users[Role.NURSE]).post(_record_url(patient, "phq9"), missing)
    assert response.status_code == 400 and "item 9: choose an answer" in response.content.decode()
    assert not Assessment.objects.exists()


def test_cssrs_skip_logic_on_the_form(client_for, users, patient) -> None:
    client = client_for(users[Role.NURSE])
    # Q2 no: Q3-Q5 skipped (left blank), Q6 no: the follow-up skipped.
    response = client.post(
        _record_url(patient, "cssrs_screen"), {"item_1": "1", "item_2": "0", "item_6": "0"}
    )
    assert response.status_code == 302
    assert Assessment.objects.get().responses == [1, 0, None, None, None, 0, None]
    # Q2 yes but Q3 unanswered: asked to answer it.
    response = client.post(
        _record_url(patient, "cssrs_screen"), {"item_1": "1", "item_2": "1", "item_6": "0"}
    )
    assert response.status_code == 400
    assert "item 3: answer this question because item 2 is yes" in response.content.decode()


def test_unknown_instrument_and_patient_are_404(client_for, users, patient) -> None:
    client = client_for(users[Role.NURSE])
    assert client.get(_record_url(patient, "bdi")).status_code == 404
    url = reverse("assessments:record", kwargs={"patient_id": 99999, "instrument": "phq9"})
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINIC_ADMIN, Role.PATIENT])
def test_non_clinical_roles_get_403(client_for, users, patient, role) -> None:
    client = client_for(users[role])
    for url in (
        _record_url(patient, "phq9"),
        reverse("assessments:patient_assessments", kwargs={"patient_id": patient.pk}),
        reverse("assessments:alerts"),
        _trajectory_url(patient, "phq9"),
    ):
        assert client.get(url).status_code == 403
    assert client.post(_record_url(patient, "phq9"), _answers([0] * 9)).status_code == 403
    assert not Assessment.objects.exists()


# --- the trajectory chart fragment ------------------------------------------------------------


def test_trajectory_fragment_draws_stores_and_logs(client_for, users, patient, monkeypatch) -> None:
    for total in (3, 2):
        services.record_assessment(ACTOR, patient, "phq9", [total] * 8 + [0], source=Source.STAFF)
    client = client_for(users[Role.PRESCRIBER])
    response = client.get(_trajectory_url(patient, "phq9"))
    assert response.status_code == 200
    fragment = response.content.decode().strip()
    assert fragment.startswith('<figure class="mbc-chart"><svg') and "latest 16" in fragment
    assert "<html" not in fragment
    chart = TrajectoryChart.objects.get(patient=patient, instrument="phq9")
    assert chart.svg in fragment
    assert AuditEntry.objects.filter(patient_id=patient.pk, what="trajectory chart").count() == 1

    # Up to date: served from the store, not drawn again.
    def refuse(*_args: object) -> str:
        raise AssertionError("drawn again")

    monkeypatch.setattr(charts, "_draw", refuse)
    assert client.get(_trajectory_url(patient, "phq9")).content.decode().strip() == fragment
    assert AuditEntry.objects.filter(patient_id=patient.pk, what="trajectory chart").count() == 2


def test_trajectory_fragment_404s(client_for, users, patient) -> None:
    client = client_for(users[Role.NURSE])
    assert client.get(_trajectory_url(patient, "gad7")).status_code == 404  # no scores yet
    assert client.get(_trajectory_url(patient, "bdi")).status_code == 404
    missing = reverse("assessments:trajectory", kwargs={"patient_id": 99999, "instrument": "gad7"})
    assert client.get(missing).status_code == 404
    assert not TrajectoryChart.objects.exists()


def test_front_desk_gets_403_on_the_trajectory_fragment(client_for, users, patient) -> None:
    services.record_assessment(ACTOR, patient, "gad7", [1] * 7, source=Source.STAFF)
    response = client_for(users[Role.FRONT_DESK]).get(_trajectory_url(patient, "gad7"))
    assert response.status_code == 403 and b"<svg" not in response.content
    assert not TrajectoryChart.objects.exists()


def test_patient_page_with_chart_schedules_and_links(client_for, users, patient) -> None:
    client = client_for(users[Role.THERAPIST])
    for week, total in enumerate([3, 3, 2, 1]):
        services.record_assessment(
            ACTOR,
            patient,
            "phq9",
            [total] * 8 + [0],
            source=Source.STAFF,
            administered_at=timezone.now() - timedelta(days=7 * (4 - week)),
        )
    url = reverse("assessments:patient_assessments", kwargs={"patient_id": patient.pk})
    page = client.get(url).content.decode()
    # No stored chart yet: a placeholder loads it; once drawn, the page inlines it.
    trajectory = _trajectory_url(patient, "phq9")
    assert f'hx-get="{trajectory}"' in page and "Measurement-based care" in page
    assert client.get(trajectory).status_code == 200
    page = client.get(url).content.decode()
    assert "<svg" in page and "hx-get" not in page
    created = client.post(
        reverse("assessments:schedule_create", kwargs={"patient_id": patient.pk}),
        {
            "instrument": "pcl5",
            "every_days": "7",
            "starts_on": "2026-01-01",
            "delivery": "home_link",
        },
    )
    assert created.status_code == 302
    bad = client.post(
        reverse("assessments:schedule_create", kwargs={"patient_id": patient.pk}),
        {
            "instrument": "pcl5",
            "every_days": "0",
            "starts_on": "2026-01-01",
            "delivery": "home_link",
        },
    )
    assert bad.status_code == 400
    link = client.post(
        reverse("assessments:link_create", kwargs={"patient_id": patient.pk}),
        {"instrument": "gad7", "send": "show"},
    )
    assert link.status_code == 201 and "/q/" in link.content.decode()
    emailed = client.post(
        reverse("assessments:link_create", kwargs={"patient_id": patient.pk}),
        {"instrument": "gad7", "send": "email"},
    )
    assert emailed.status_code == 302
    run_pending()
    assert mail.outbox[-1].to == [patient.email] and "/q/" in mail.outbox[-1].body


# --- alerts inbox ----------------------------------------------------------------------------


def test_prescriber_acknowledges_in_the_inbox(client_for, users, patient) -> None:
    services.record_assessment(ACTOR, patient, "phq9", PHQ9_ITEM9_TWO, source=Source.STAFF)
    alert = Alert.objects.get()
    client = client_for(users[Role.PRESCRIBER])
    inbox = client.get(reverse("assessments:alerts")).content.decode()
    assert patient.mrn in inbox and "item 9" in inbox
    url = reverse("assessments:alert_acknowledge", kwargs={"alert_id": alert.pk})
    blank = client.post(url, {"action_taken": "  "})
    assert blank.status_code == 400 and "action_taken" in blank.content.decode()
    assert Alert.objects.get().status == AlertStatus.OPEN
    assert client.post(url, {"action_taken": "Called; safe."}).status_code == 302
    alert.refresh_from_db()
    assert (
        alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == users[Role.PRESCRIBER]
    )
    # A nurse who is not assigned cannot see or acknowledge it.
    assert client_for(users[Role.NURSE]).get(url).status_code == 404


# --- home links ------------------------------------------------------------------------------


def _link(patient, code: str = "phq9", **fields) -> str:
    link, raw = services.create_home_link(ACTOR, patient, code)
    if fields:
        HomeLink.objects.filter(pk=link.pk).update(**fields)
    return reverse("assessments:home_link", kwargs={"token": raw})


def test_home_link_reveals_only_the_first_name(patient) -> None:
    url = _link(patient)
    page = Client().get(url).content.decode()
    assert "Hello Robin" in page and PHQ9.items[8].text in page
    for secret in (patient.family_name, patient.mrn, patient.email, "1980"):
        assert secret not in page
    assert HomeLink.objects.get().token_hash not in url


def test_home_link_completion_and_crisis_resources(patient) -> None:
    url = _link(patient)
    response = Client().post(url, _answers(PHQ9_ITEM9_TWO))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Thank you, Robin" in page
    assert "988" in page and "911" in page and "Suicide &amp; Crisis Lifeline" in page
    assessment = Assessment.objects.get()
    assert assessment.source == Source.HOME_LINK and assessment.link is not None
    assert Alert.objects.get().assessment == assessment


def test_calm_home_link_has_no_crisis_block(patient) -> None:
    page = Client().post(_link(patient, "gad7"), _answers([0] * 7)).content.decode()
    assert "Thank you, Robin" in page and 'class="crisis"' not in page


def test_reused_link_is_refused_and_stores_nothing(patient) -> None:
    url = _link(patient)
    assert Client().post(url, _answers([0] * 9)).status_code == 200
    again = Client().post(url, _answers([3] * 9))
    assert again.status_code == 410 and "already been completed" in again.content.decode()
    assert Client().get(url).status_code == 410
    assert Assessment.objects.count() == 1 and not Alert.objects.exists()


def test_expired_link_is_refused_and_stores_nothing(patient) -> None:
    url = _link(patient, expires_at=timezone.now() - timedelta(minutes=1))
    for response in (Client().get(url), Client().post(url, _answers([0] * 9))):
        assert response.status_code == 410 and "expired" in response.content.decode()
        assert "Robin" not in response.content.decode()
    assert not Assessment.objects.exists()


def test_unknown_link_is_refused(db) -> None:
    response = Client().get(reverse("assessments:home_link", kwargs={"token": "nope"}))
    assert response.status_code == 404 and "not valid" in response.content.decode()


def test_link_expires_after_72_hours_by_default(patient) -> None:
    link, _raw = services.create_home_link(ACTOR, patient, "phq9")
    lifetime = link.expires_at - link.created_at
    assert timedelta(hours=71, minutes=59) < lifetime <= timedelta(hours=72)


def test_invalid_home_link_answers_show_the_error_and_keep_the_link(patient) -> None:
    url = _link(patient)
    data = _answers([0] * 9)
    data["item_2"] = "9"
    response = Client().post(url, data)
    assert response.status_code == 400 and "phq9 item 2" in response.content.decode()
    assert not Assessment.objects.exists() and HomeLink.objects.get().used_at is None
