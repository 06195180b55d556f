"""Critical vitals and overdue vitals of dosing sessions leave the session page (issue 14):
they reach the prescriber's and the session nurse's "today", the Alerts page and
GET /api/v1/alerts; the prescriber on duty is emailed by the worker; an acknowledged alert
leaves the open lists."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.assessments import selectors
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.courses.models import TreatmentCourse
from kapcare.dosing import services
from kapcare.dosing.models import DosingSession, State, VitalAlert
from kapcare.dosing.services.vitals import CRITICAL_VITALS_EMAIL_JOB
from kapcare.dosing.tests.conftest import reading, run_to
from kapcare.jobs.models import Job
from kapcare.jobs.services import run_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_session(cleared_patient, plan_course_for) -> Callable[[], DosingSession]:
    """The first dosing session of a new IV course for the cleared patient."""

    def make() -> DosingSession:
        course = plan_course_for(cleared_patient, "iv-ptsd")
        return course.dosing_sessions.order_by("appointment__starts_at").first()

    return make


@pytest.fixture
def dosing(new_session, users) -> DosingSession:
    """A session in dosing, its infusion begun 155 minutes ago, with the test nurse booked on
    its appointment."""
    session = new_session()
    session.appointment.staff.set([users[Role.NURSE]])
    return run_to(session, users, State.DOSING, minutes_ago=180)


def _critical(session: DosingSession, users) -> VitalAlert:
    nurse = Actor.for_user(users[Role.NURSE])
    result = services.record_vitals(nurse, session, [reading(timezone.now(), 185, 115)])
    [alert] = [a for _, a in result.alerts if a.level == "critical"]
    return alert


def _api(user, token_for) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_for(user)}"})


def _session_url(session: DosingSession) -> str:
    return reverse("dosing:session", kwargs={"session_id": session.pk})


def _today(client: Client) -> str:
    response = client.get("/today/")
    assert response.status_code == 200
    return response.content.decode()


def test_critical_bp_reaches_today_alerts_page_and_api(
    dosing, users, make_user, client_for, token_for
) -> None:
    alert = _critical(dosing, users)
    assert alert.code == "bp_critical"
    prescriber, nurse = users[Role.PRESCRIBER], users[Role.NURSE]
    mrn = dosing.patient.mrn
    for user in (prescriber, nurse):
        page = _today(client_for(user))
        assert f'id="open-vital-alert-{alert.pk}"' in page, user.role
        assert alert.message in page and mrn in page
        assert f"{_session_url(dosing)}#vital-alert-{alert.pk}" in page
    alerts_page = client_for(prescriber).get(reverse("assessments:alerts")).content.decode()
    assert f'id="open-vital-alert-{alert.pk}"' in alerts_page
    assert f"{_session_url(dosing)}#vital-alert-{alert.pk}" in alerts_page
    assert "prescriber on duty: Test prescriber" in alerts_page

    # A nurse not booked on the session, and the front desk, do not see it.
    other_nurse = make_user(Role.NURSE)
    assert f"open-vital-alert-{alert.pk}" not in _today(client_for(other_nurse))
    assert f"open-vital-alert-{alert.pk}" not in _today(client_for(users[Role.FRONT_DESK]))

    listed = _api(prescriber, token_for).get("/api/v1/alerts")
    assert listed.status_code == 200
    [item] = [a for a in listed.json() if a["kind"] == "vitals"]
    assert item["id"] == alert.pk and item["session_id"] == dosing.pk
    assert item["code"] == "bp_critical" and item["level"] == "critical"
    assert item["patient_id"] == dosing.patient_id and item["patient_mrn"] == mrn
    assert item["status"] == "open" and item["assessment_id"] is None
    assert item["assigned_to"] == prescriber.email
    nurse_items = _api(nurse, token_for).get("/api/v1/alerts").json()
    assert [a["id"] for a in nurse_items if a["kind"] == "vitals"] == [alert.pk]
    assert _api(other_nurse, token_for).get("/api/v1/alerts").json() == []

    # Each read logged the patient for its reader.
    for user, what in ((prescriber, "today page"), (nurse, "API alert list")):
        assert AuditEntry.objects.filter(
            action=Action.READ, user=user, patient_id=dosing.patient_id, what__contains=what
        ).exists(), (user.role, what)


def test_suicide_risk_alerts_keep_their_fields_and_gain_kind(
    dosing, users, token_for, client_for
) -> None:
    from kapcare.assessments.services import record_assessment
    from kapcare.assessments.tests.conftest import PHQ9_ITEM9_TWO

    record_assessment(Actor.system("test"), dosing.patient, "phq9", PHQ9_ITEM9_TWO, source="staff")
    _critical(dosing, users)
    items = _api(users[Role.PRESCRIBER], token_for).get("/api/v1/alerts").json()
    assert [a["kind"] for a in items] == ["suicide_risk", "vitals"]  # longest waiting first
    risk = items[0]
    assert risk["code"] == "suicide_risk" and risk["session_id"] is None
    assert risk["instrument"] == "phq9" and risk["assessment_id"] is not None
    schema = client_for(users[Role.PRESCRIBER]).get("/api/v1/openapi.json").json()
    fields = schema["components"]["schemas"]["AlertOut"]["properties"]
    assert fields["kind"]["enum"] == ["suicide_risk", "vitals"]
    assert "session_id" in fields and "code" in fields and fields["kind"]["description"]


def test_the_prescriber_on_duty_is_emailed_by_the_worker(dosing, users, make_user) -> None:
    # The course's planner is another prescriber: the signer of the current order is on duty.
    planner = make_user(Role.PRESCRIBER, email="planner@test.example")
    TreatmentCourse.objects.filter(pk=dosing.course_id).update(planned_by=planner)
    nurse = Actor.for_user(users[Role.NURSE])
    services.record_vitals(nurse, dosing, [reading(timezone.now(), 128, 80)])
    assert not Job.objects.filter(kind=CRITICAL_VITALS_EMAIL_JOB).exists()  # none when normal

    alert = _critical(dosing, users)
    job = Job.objects.get(kind=CRITICAL_VITALS_EMAIL_JOB)
    assert job.payload == {"session_id": dosing.pk, "alert_ids": [alert.pk]}
    assert not mail.outbox  # queued, not sent inside the request

    run_pending()
    [email] = mail.outbox
    assert email.to == [users[Role.PRESCRIBER].email]
    assert dosing.patient.mrn in email.subject
    assert _session_url(dosing) in email.body and "bp_critical" in email.body
    assert dosing.patient.family_name not in f"{email.subject}\n{email.body}"  # minimum necessary
    assert AuditEntry.objects.filter(
        what="critical vitals alert email sent", patient_id=dosing.patient_id
    ).exists()


def test_before_an_order_the_planner_is_on_duty(new_session, users, make_user) -> None:
    session = run_to(new_session(), users, State.CHECKED_IN, minutes_ago=10)
    planner = make_user(Role.PRESCRIBER, email="planner@test.example")
    TreatmentCourse.objects.filter(pk=session.course_id).update(planned_by=planner)
    session = DosingSession.objects.select_related("course__planned_by").get(pk=session.pk)
    assert selectors.on_duty(session) == planner
    # The planner has left: every active prescriber is emailed instead.
    planner.is_active = False
    planner.save()
    session.refresh_from_db()
    from kapcare.assessments.jobs import vitals_alert_recipients

    assert vitals_alert_recipients(session) == [users[Role.PRESCRIBER].email]


def test_a_refused_batch_queues_no_email(dosing, users) -> None:
    from kapcare.errors import FieldInvalid

    nurse = Actor.for_user(users[Role.NURSE])
    now = timezone.now()
    with pytest.raises(FieldInvalid):
        services.record_vitals(
            nurse, dosing, [reading(now, 185, 115), reading(now, 120, 80, spo2=140)]
        )
    assert not Job.objects.filter(kind=CRITICAL_VITALS_EMAIL_JOB).exists()
    assert not VitalAlert.objects.filter(level="critical", acknowledged_at__isnull=True).exists()


def test_acknowledged_alert_leaves_the_open_lists(dosing, users, client_for, token_for) -> None:
    alert = _critical(dosing, users)
    prescriber = users[Role.PRESCRIBER]
    marker = f'id="open-vital-alert-{alert.pk}"'
    assert marker in _today(client_for(prescriber))
    response = client_for(users[Role.NURSE]).post(
        reverse("dosing:vital_alert_acknowledge", kwargs={"vital_alert_id": alert.pk}),
        {"action_taken": "Paused the infusion; BP rechecked"},
    )
    assert response.status_code in (200, 302)
    alert.refresh_from_db()
    assert alert.acknowledged_by == users[Role.NURSE] and alert.acknowledged_at is not None
    for user in (prescriber, users[Role.NURSE]):
        assert marker not in _today(client_for(user))
    alerts_page = client_for(prescriber).get(reverse("assessments:alerts")).content.decode()
    assert marker not in alerts_page
    assert "Paused the infusion; BP rechecked" in alerts_page  # in "recently acknowledged"
    items = _api(prescriber, token_for).get("/api/v1/alerts").json()
    assert not [a for a in items if a["kind"] == "vitals"]
    # Acknowledged before the worker ran: nobody needs the email any more.
    run_pending()
    assert not mail.outbox


def test_overdue_vitals_appear_on_the_nurse_today(dosing, users, make_user, client_for) -> None:
    # The last reading was taken well over the dosing interval ago.
    [item] = selectors.overdue_vitals(users[Role.NURSE])
    assert item.reminder is not None
    assert item.session.pk == dosing.pk and item.reminder.overdue_min > 0
    page = _today(client_for(users[Role.NURSE]))
    # The nurse's today shows it once, in the sessions in progress.
    assert f'id="in-progress-{dosing.pk}"' in page
    assert f'id="overdue-vitals-{dosing.pk}"' not in page
    assert f"Vitals overdue by {item.reminder.overdue_min} min" in page
    assert f"{_session_url(dosing)}#vitals" in page
    assert f'id="overdue-vitals-{dosing.pk}"' in _today(client_for(users[Role.PRESCRIBER]))
    assert f'id="overdue-vitals-{dosing.pk}"' not in _today(client_for(make_user(Role.NURSE)))
    alerts_page = client_for(users[Role.NURSE]).get(reverse("assessments:alerts")).content
    assert f'id="overdue-vitals-{dosing.pk}"'.encode() in alerts_page
    # A reading now: no longer overdue.
    services.record_vitals(
        Actor.for_user(users[Role.NURSE]), dosing, [reading(timezone.now(), 128, 80)]
    )
    assert "Vitals overdue by" not in _today(client_for(users[Role.NURSE]))


def _sessions_with_critical_alerts(count, new_session, users) -> None:
    for _ in range(count):
        session = new_session()
        session.appointment.staff.set([users[Role.NURSE]])
        session = run_to(session, users, State.DOSING, minutes_ago=180)
        _critical(session, users)


@pytest.mark.parametrize("path", ["/today/", "/alerts/", "/api/v1/alerts"])
def test_query_counts_do_not_grow_with_the_alerts(
    path,
    new_session,
    users,
    client_for,
    token_for,
    django_assert_max_num_queries,
) -> None:
    nurse = users[Role.NURSE]
    client = _api(nurse, token_for) if path.startswith("/api/") else client_for(nurse)
    _sessions_with_critical_alerts(1, new_session, users)
    client.get(path)  # settle the session
    with django_assert_max_num_queries(60) as few:
        assert client.get(path).status_code == 200
    _sessions_with_critical_alerts(3, new_session, users)
    assert len(selectors.open_vital_alerts(nurse)) == 4
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(path).status_code == 200
