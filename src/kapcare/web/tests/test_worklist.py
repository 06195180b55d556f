"""The prescriber's and the nurse's "today" list what waits for them (issue 14): orders to
sign, screenings to review, notes to sign; a nurse's sessions in progress with their vitals.
Each item leaves the list once it is done."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.dosing import services
from kapcare.dosing.models import DosingSession, State
from kapcare.dosing.tests.conftest import run_to
from kapcare.intake.models import ReviewStatus, Screening
from kapcare.integration.models import IntegrationNote
from kapcare.web.worklist import worklist

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(cleared_patient, plan_course_for, users) -> list[DosingSession]:
    """The first three dosing sessions of an IV course, the test nurse booked on each."""
    course = plan_course_for(cleared_patient, "iv-ptsd")
    found = list(course.dosing_sessions.order_by("appointment__starts_at")[:3])
    for session in found:
        session.appointment.staff.set([users[Role.NURSE]])
    return found


def _today(client) -> str:
    response = client.get("/today/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_session_waiting_for_its_order_is_on_the_prescriber_today_until_signed(
    sessions, users, client_for
) -> None:
    session = run_to(sessions[0], users, State.CHECKLIST_PASSED)
    prescriber = users[Role.PRESCRIBER]
    assert [s.pk for s in worklist(prescriber).orders_to_sign] == [session.pk]
    page = _today(client_for(prescriber))
    assert f'id="order-to-sign-{session.pk}"' in page
    assert "waiting for the dose order" in page
    # A nurse does not sign orders: not on their list.
    assert worklist(users[Role.NURSE]).orders_to_sign == []

    protocol = session.course.protocol_record
    services.sign_order(Actor.for_user(prescriber), session, mg_per_kg=protocol.default_amount)
    assert worklist(prescriber).orders_to_sign == []
    assert f'id="order-to-sign-{session.pk}"' not in _today(client_for(prescriber))


def test_a_pending_screening_is_on_the_prescriber_today_until_reviewed(
    cleared_patient, users, client_for
) -> None:
    prescriber = users[Role.PRESCRIBER]
    screening = Screening.objects.create(
        patient=cleared_patient,
        inputs={},
        ruleset_version="2026.1",
        verdict="needs_review",
        reasons=[],
    )
    page = _today(client_for(prescriber))
    assert f'id="screening-to-review-{screening.pk}"' in page
    assert "Needs review" in page
    Screening.objects.filter(pk=screening.pk).update(review_status=ReviewStatus.ACCEPTED)
    assert f'id="screening-to-review-{screening.pk}"' not in _today(client_for(prescriber))
    assert worklist(users[Role.FRONT_DESK]).screenings_to_review == []


def test_an_unsigned_session_note_waits_until_signed(sessions, users, client_for) -> None:
    session = run_to(sessions[0], users, State.DISCHARGED)
    for role in (Role.PRESCRIBER, Role.NURSE):
        page = _today(client_for(users[role]))
        assert f'id="session-note-to-sign-{session.pk}"' in page, role
    services.sign_note(Actor.for_user(users[Role.NURSE]), session, final_text="Uneventful session.")
    assert worklist(users[Role.PRESCRIBER]).session_notes_to_sign == []
    assert worklist(users[Role.NURSE]).session_notes_to_sign == []


def test_a_therapist_sees_their_own_unsigned_integration_notes(
    cleared_patient, users, make_user, client_for
) -> None:
    therapist = users[Role.THERAPIST]
    colleague = make_user(Role.THERAPIST)
    mine = IntegrationNote.objects.create(
        patient=cleared_patient,
        held_on=date.today() - timedelta(days=1),
        insights="Talked about the session.",
        author=therapist,
    )
    IntegrationNote.objects.create(
        patient=cleared_patient, held_on=date.today(), insights="Hers.", author=colleague
    )
    assert [n.pk for n in worklist(therapist).integration_notes_to_sign] == [mine.pk]
    assert f'id="integration-note-to-sign-{mine.pk}"' in _today(client_for(therapist))


def test_the_nurse_sees_sessions_in_progress_with_their_vitals(sessions, users, client_for) -> None:
    nurse = users[Role.NURSE]
    checked_in = run_to(sessions[0], users, State.CHECKED_IN, minutes_ago=10)
    # The infusion's readings stopped two hours ago: overdue under the protocol.
    overdue = run_to(sessions[1], users, State.DOSING, minutes_ago=180)
    items = worklist(nurse).in_progress
    # The overdue session first, then the one only checked in.
    assert [i.session.pk for i in items] == [overdue.pk, checked_in.pk]
    assert items[0].overdue and items[0].reminder is not None
    assert items[1].reminder is None and not items[1].overdue
    page = _today(client_for(nurse))
    assert f'id="in-progress-{overdue.pk}"' in page
    assert f"Vitals overdue by {items[0].reminder.overdue_min} min" in page
    assert f'id="in-progress-{checked_in.pk}"' in page
    # The overdue session is counted as waiting; the checked-in one is watched.
    assert worklist(nurse).waiting == 1


def test_a_nurse_not_booked_on_a_session_does_not_see_it(sessions, users, make_user) -> None:
    run_to(sessions[0], users, State.DOSING, minutes_ago=60)
    other_nurse = make_user(Role.NURSE)
    assert worklist(other_nurse).in_progress == []
    assert worklist(other_nurse).session_notes_to_sign == []


def test_the_front_desk_has_no_work_list_and_no_clinical_reads(sessions, users, client_for) -> None:
    run_to(sessions[0], users, State.CHECKLIST_PASSED)
    page = _today(client_for(users[Role.FRONT_DESK]))
    assert 'id="worklist"' not in page


def test_the_work_list_patients_are_in_the_access_log(sessions, users, client_for) -> None:
    session = run_to(sessions[0], users, State.CHECKLIST_PASSED)
    prescriber = users[Role.PRESCRIBER]
    before = timezone.now()
    _today(client_for(prescriber))
    assert AuditEntry.objects.filter(
        action=Action.READ,
        user=prescriber,
        patient_id=session.patient_id,
        occurred_at__gte=before,
    ).exists()


def _queries_of_today(client, django_assert_max_num_queries) -> int:
    _today(client)  # the first request warms the session and the caches
    with django_assert_max_num_queries(40) as captured:
        _today(client)
    return len(captured)


def test_today_queries_do_not_grow_with_the_work_list(
    cleared_patient, plan_course_for, users, client_for, django_assert_max_num_queries
) -> None:
    course = plan_course_for(cleared_patient, "iv-ptsd")
    found = list(course.dosing_sessions.order_by("appointment__starts_at")[:6])
    for session in found:
        session.appointment.staff.set([users[Role.NURSE]])
    targets = (State.DOSING, State.DISCHARGED, State.CHECKLIST_PASSED)
    for session, target in zip(found[:3], targets, strict=True):
        run_to(session, users, target, minutes_ago=180)
    clients = {role: client_for(users[role]) for role in (Role.NURSE, Role.PRESCRIBER)}
    first = {r: _queries_of_today(c, django_assert_max_num_queries) for r, c in clients.items()}
    for session, target in zip(found[3:], targets, strict=True):
        run_to(session, users, target, minutes_ago=180)
    assert len(worklist(users[Role.PRESCRIBER]).orders_to_sign) == 2
    again = {r: _queries_of_today(c, django_assert_max_num_queries) for r, c in clients.items()}
    assert again == first
