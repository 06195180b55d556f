"""Integration notes and journal entries (services and pages), and the patient's timeline on
the chart: newest first, with constant queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.assessments.models import Source
from kapcare.assessments.services import record_assessment
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.dosing.models import State
from kapcare.errors import FieldInvalid
from kapcare.integration import selectors, services
from kapcare.integration.models import IntegrationNote, JournalEntry

pytestmark = pytest.mark.django_db


def _note_url(patient) -> str:
    return reverse("integration:note_create", kwargs={"patient_id": patient.pk})


def _held_on(session):
    return timezone.localdate(session.appointment.starts_at) + timedelta(days=1)


# --- services --------------------------------------------------------------------------------


def test_a_note_links_to_the_session_and_its_integration_appointment(users, first_session):
    therapist = users[Role.THERAPIST]
    note = services.write_note(
        Actor.for_user(therapist), first_session.patient, author=therapist,
        dosing_session=first_session, held_on=_held_on(first_session),
        insights="  Felt safe remembering the event.  ", practices=["meditation", "creative"],
        homework="Five minutes of breathing daily.",
    )  # fmt: skip
    assert note.insights == "Felt safe remembering the event."
    assert note.appointment is not None
    assert note.appointment.follows_id == first_session.appointment_id
    assert note.practices == ["meditation", "creative"]
    assert AuditEntry.objects.filter(
        action="create", patient_id=first_session.patient_id, what__startswith="integration note"
    ).exists()


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"insights": "   "}, "insights", "required"),
        ({"practices": ["yoga"]}, "practices", "one_of"),
        ({"held_on": timezone.localdate() + timedelta(days=3)}, "held_on", "in_future"),
        ({"held_on": timezone.localdate() - timedelta(days=400)}, "held_on", "before_session"),
    ],
)
def test_bad_notes_are_refused_naming_the_field(users, first_session, changes, field, rule) -> None:
    therapist = users[Role.THERAPIST]
    values = {
        "author": therapist, "dosing_session": first_session,
        "held_on": _held_on(first_session), "insights": "ok", "practices": [],
        **changes,
    }  # fmt: skip
    with pytest.raises(FieldInvalid) as refused:
        services.write_note(Actor.for_user(therapist), first_session.patient, **values)
    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert not IntegrationNote.objects.exists()


def test_a_cancelled_session_takes_no_note(users, first_session) -> None:
    first_session.state = State.CANCELLED
    first_session.save()
    with pytest.raises(FieldInvalid) as refused:
        services.write_note(
            Actor.system("test"), first_session.patient, author=users[Role.THERAPIST],
            dosing_session=first_session, held_on=_held_on(first_session), insights="x",
        )  # fmt: skip
    assert (refused.value.field, refused.value.rule) == ("dosing_session", "cancelled")
    assert not IntegrationNote.objects.exists()


def test_a_session_of_another_patient_is_refused(users, first_session) -> None:
    from datetime import date

    from kapcare.patients.services import create_patient

    other = create_patient(
        Actor.system("test"), given_name="Other", family_name="Person",
        birth_date=date(1970, 5, 5), sex_at_birth="male", is_synthetic=True,
    )  # fmt: skip
    with pytest.raises(FieldInvalid, match=r"^dosing_session: belongs to another patient"):
        services.write_note(
            Actor.system("test"), other, author=users[Role.THERAPIST],
            dosing_session=first_session, held_on=timezone.localdate(), insights="x",
        )  # fmt: skip


def test_journal_entries_are_audited_and_checked(users, cleared_patient) -> None:
    nurse = users[Role.NURSE]
    entry = services.add_journal_entry(
        Actor.for_user(nurse), cleared_patient, entered_by=nurse,
        written_on=timezone.localdate(), text="Slept through the night.",
    )  # fmt: skip
    assert AuditEntry.objects.filter(what=f"journal entry {entry.pk}").exists()
    with pytest.raises(FieldInvalid, match=r"^text: required"):
        services.add_journal_entry(
            Actor.for_user(nurse), cleared_patient, entered_by=nurse,
            written_on=timezone.localdate(), text=" ",
        )  # fmt: skip


# --- pages -----------------------------------------------------------------------------------


def test_therapist_writes_a_note_through_the_page(client_for, users, first_session) -> None:
    client = client_for(users[Role.THERAPIST])
    patient = first_session.patient
    form = client.get(_note_url(patient), {"session": first_session.pk})
    assert form.status_code == 200
    assert f'value="{first_session.pk}" selected' in form.content.decode()
    response = client.post(
        _note_url(patient),
        {
            "dosing_session": first_session.pk,
            "held_on": _held_on(first_session).isoformat(),
            "insights": "Noticed the urge to avoid fading.",
            "practices": ["meditation", "vr"],
            "homework": "Journal each evening.",
        },
    )
    note = IntegrationNote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("integration:note", kwargs={"note_id": note.pk})
    page = client.get(response["Location"]).content.decode()
    assert "Meditation, VR" in page and "Journal each evening." in page


def test_a_note_without_insights_is_refused_naming_the_field(client_for, users, first_session):
    response = client_for(users[Role.THERAPIST]).post(
        _note_url(first_session.patient),
        {"dosing_session": first_session.pk, "held_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 400
    assert "Insights: This field is required." in response.content.decode()
    assert not IntegrationNote.objects.exists()


def test_nurse_enters_a_journal_entry(client_for, users, cleared_patient) -> None:
    client = client_for(users[Role.NURSE])
    url = reverse("integration:journal_create", kwargs={"patient_id": cleared_patient.pk})
    response = client.post(
        url, {"written_on": timezone.localdate().isoformat(), "text": "A calmer week."}
    )
    entry = JournalEntry.objects.get()
    assert response.status_code == 302 and entry.entered_by == users[Role.NURSE]
    future = client.post(
        url,
        {"written_on": (timezone.localdate() + timedelta(days=2)).isoformat(), "text": "x"},
    )
    assert future.status_code == 400
    assert "Written on: cannot be in the future" in future.content.decode()
    assert JournalEntry.objects.count() == 1


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINIC_ADMIN, Role.PATIENT])
def test_integration_pages_are_clinical(client_for, users, cleared_patient, role) -> None:
    client = client_for(users[role])
    for name in ("note_create", "journal_create", "timeline"):
        url = reverse(f"integration:{name}", kwargs={"patient_id": cleared_patient.pk})
        assert client.get(url).status_code == 403, name


# --- the timeline ----------------------------------------------------------------------------


def _fill(patient, session, users, *, notes: int) -> None:
    therapist, nurse = users[Role.THERAPIST], users[Role.NURSE]
    for n in range(notes):
        services.write_note(
            Actor.for_user(therapist), patient, author=therapist, dosing_session=session,
            held_on=_held_on(session), insights=f"Insight {n}", practices=["breathwork"],
        )  # fmt: skip
        services.add_journal_entry(
            Actor.for_user(nurse), patient, entered_by=nurse,
            written_on=timezone.localdate() - timedelta(days=n), text=f"Journal {n}",
        )  # fmt: skip
        record_assessment(
            Actor.for_user(nurse), patient, "phq9", [1] * 9, source=Source.STAFF,
            entered_by=nurse, administered_at=timezone.now() - timedelta(days=n, hours=1),
        )  # fmt: skip


def test_the_timeline_is_newest_first_with_every_kind(users, first_session) -> None:
    patient = first_session.patient
    _fill(patient, first_session, users, notes=1)
    items = selectors.patient_timeline(patient.pk)
    kinds = {i.kind for i in items}
    assert kinds == {"dosing", "integration", "journal", "assessment"}
    assert [(i.day, i.at) for i in items] == sorted(((i.day, i.at) for i in items), reverse=True)
    dosing = next(i for i in items if i.obj.pk == first_session.pk and i.kind == "dosing")
    assert dosing.order is not None and dosing.order.dose_mg == Decimal("35.0")
    # Future sessions are on the course page, not on the timeline.
    assert all(i.day <= timezone.localdate() for i in items)


def test_the_chart_shows_the_timeline_with_links(client_for, users, first_session) -> None:
    patient = first_session.patient
    _fill(patient, first_session, users, notes=1)
    client = client_for(users[Role.PRESCRIBER])
    chart = client.get(reverse("patients:chart", kwargs={"patient_id": patient.pk}))
    section_url = reverse("integration:chart_timeline", kwargs={"patient_id": patient.pk})
    assert f'hx-get="{section_url}"' in chart.content.decode()
    page = client.get(section_url, headers={"HX-Request": "true"}).content.decode()
    assert "Treatment timeline" in page and "35.0 mg iv" in page
    assert "Note signed" in page and "Insight 0" in page and "Journal 0" in page
    assert "PHQ-9" in page or "Patient Health Questionnaire" in page
    note = IntegrationNote.objects.get()
    assert reverse("integration:note", kwargs={"note_id": note.pk}) in page
    assert reverse("courses:plan", kwargs={"patient_id": patient.pk}) in chart.content.decode()
    assert reverse("dosing:session", kwargs={"session_id": first_session.pk}) in page
    # Only the prescriber is offered planning.
    nurse_page = client_for(users[Role.NURSE]).get(
        reverse("patients:chart", kwargs={"patient_id": patient.pk})
    )
    assert reverse("courses:plan", kwargs={"patient_id": patient.pk}) not in (
        nurse_page.content.decode()
    )


def test_the_timeline_queries_do_not_grow(users, first_session, django_assert_num_queries):
    patient = first_session.patient
    _fill(patient, first_session, users, notes=1)
    with django_assert_num_queries(5):
        small = selectors.patient_timeline(patient.pk)
    _fill(patient, first_session, users, notes=6)
    with django_assert_num_queries(5):
        large = selectors.patient_timeline(patient.pk)
    assert len(large) > len(small)
    with django_assert_num_queries(5):
        assert len(selectors.patient_timeline(patient.pk, limit=4)) == 4


def test_the_full_timeline_page_logs_access(client_for, users, first_session) -> None:
    patient = first_session.patient
    response = client_for(users[Role.THERAPIST]).get(
        reverse("integration:timeline", kwargs={"patient_id": patient.pk})
    )
    assert response.status_code == 200
    assert AuditEntry.objects.filter(
        action="read", patient_id=patient.pk, what="patient timeline"
    ).exists()
