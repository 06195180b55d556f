"""Integration notes sign and lock like session notes (issue 14): a signed note never changes,
later changes are amendments with author, time and reason, and a note never attaches to an
integration appointment still to come."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.courses.models import Appointment, AppointmentKind
from kapcare.errors import Conflict, FieldInvalid
from kapcare.integration import services
from kapcare.integration.models import IntegrationNote
from kapcare.records import ImmutableError

pytestmark = pytest.mark.django_db


def _held_on(session):
    return timezone.localdate(session.appointment.starts_at) + timedelta(days=1)


@pytest.fixture
def note(users, first_session) -> IntegrationNote:
    therapist = users[Role.THERAPIST]
    return services.write_note(
        Actor.for_user(therapist), first_session.patient, author=therapist,
        dosing_session=first_session, held_on=_held_on(first_session),
        insights="Felt safe remembering the event.", practices=["meditation"],
    )  # fmt: skip


def _url(name: str, note: IntegrationNote) -> str:
    return reverse(f"integration:{name}", kwargs={"note_id": note.pk})


def _edit_data(note: IntegrationNote, insights: str) -> dict[str, object]:
    return {
        "dosing_session": note.dosing_session_id,
        "held_on": note.held_on.isoformat(),
        "insights": insights,
        "practices": ["meditation"],
    }


def test_a_draft_is_edited_then_signed_and_audited(client_for, users, note) -> None:
    client = client_for(users[Role.THERAPIST])
    edited = client.post(_url("note_edit", note), _edit_data(note, "Rewritten draft."))
    assert edited.status_code == 302
    note.refresh_from_db()
    assert note.insights == "Rewritten draft." and note.signed_at is None
    # Any clinician signs, not only the author.
    signed = client_for(users[Role.PRESCRIBER]).post(_url("note_sign", note))
    assert signed.status_code == 302
    note.refresh_from_db()
    assert note.signed_by == users[Role.PRESCRIBER] and note.signed_at is not None
    assert AuditEntry.objects.filter(
        action="update", patient_id=note.patient_id, what=f"integration note {note.pk} signed"
    ).exists()
    page = client.get(_url("note", note)).content.decode()
    assert "Signed by" in page and "Add an amendment" in page


def test_a_signed_note_refuses_edits(client_for, users, note) -> None:
    therapist = users[Role.THERAPIST]
    services.sign_note(Actor.for_user(therapist), note, signer=therapist)
    client = client_for(therapist)
    form = client.get(_url("note_edit", note))
    assert form.status_code == 409
    assert services.SIGNED in form.content.decode()
    assert _url("note_amend", note) in form.content.decode()  # the amendment is offered
    posted = client.post(_url("note_edit", note), _edit_data(note, "Changed after signing."))
    assert posted.status_code == 409
    with pytest.raises(Conflict):
        services.edit_note(
            Actor.for_user(therapist), note, dosing_session=note.dosing_session,
            held_on=note.held_on, insights="Changed",
        )  # fmt: skip
    note.refresh_from_db()
    note.insights = "Changed in the model"
    with pytest.raises(ImmutableError):
        note.save()
    assert IntegrationNote.objects.get().insights == "Felt safe remembering the event."
    with pytest.raises(Conflict):
        services.sign_note(Actor.for_user(therapist), note, signer=therapist)


def test_an_amendment_keeps_the_original(client_for, users, note) -> None:
    therapist = users[Role.THERAPIST]
    client = client_for(therapist)
    # A draft is edited, not amended.
    with pytest.raises(Conflict):
        services.amend_note(Actor.for_user(therapist), note, author=therapist, text="x", reason="y")
    client.post(_url("note_sign", note))
    missing = client.post(_url("note_amend", note), {"text": "Also mentioned sleep."})
    assert missing.status_code == 400
    response = client.post(
        _url("note_amend", note),
        {"text": "Also mentioned poor sleep.", "reason": "Omitted at signing"},
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.insights == "Felt safe remembering the event."
    (amendment,) = note.amendments.all()
    assert (amendment.author, amendment.reason) == (therapist, "Omitted at signing")
    assert amendment.at is not None
    page = client.get(_url("note", note)).content.decode()
    assert "Felt safe remembering the event." in page
    assert "Also mentioned poor sleep." in page and "Omitted at signing" in page
    assert AuditEntry.objects.filter(what=f"integration note {note.pk} amended").exists()


def test_a_future_integration_appointment_is_refused(client_for, users, first_session) -> None:
    upcoming = Appointment.objects.filter(
        follows_id=first_session.appointment_id, kind=AppointmentKind.INTEGRATION
    )
    assert upcoming.exists()
    upcoming.update(starts_at=timezone.now() + timedelta(days=2))
    therapist = users[Role.THERAPIST]
    with pytest.raises(FieldInvalid) as refused:
        services.write_note(
            Actor.for_user(therapist), first_session.patient, author=therapist,
            dosing_session=first_session, held_on=_held_on(first_session), insights="x",
        )  # fmt: skip
    assert (refused.value.field, refused.value.rule) == ("appointment", "in_future")
    response = client_for(therapist).post(
        reverse("integration:note_create", kwargs={"patient_id": first_session.patient_id}),
        {
            "dosing_session": first_session.pk,
            "held_on": _held_on(first_session).isoformat(),
            "insights": "Too early.",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    # Named in words beside its field, not by its code.
    assert "the integration appointment on" in page
    assert "appointment: the integration appointment on" not in page
    assert not IntegrationNote.objects.exists()


def test_the_timeline_shows_signed_and_amended(client_for, users, note) -> None:
    therapist = users[Role.THERAPIST]
    client = client_for(therapist)
    url = reverse("integration:timeline", kwargs={"patient_id": note.patient_id})
    section = reverse("integration:chart_timeline", kwargs={"patient_id": note.patient_id})

    def note_line(page_url: str) -> str:
        page = client.get(page_url, headers={"HX-Request": "true"}).content.decode()
        start = page.index("<strong>Integration note</strong>")
        return page[start : page.index("</li>", start)]

    assert "draft" in note_line(url) and "signed" not in note_line(url)
    services.sign_note(Actor.for_user(therapist), note, signer=therapist)
    assert "signed" in note_line(url) and "amended" not in note_line(url)
    services.amend_note(
        Actor.for_user(therapist), note, author=therapist, text="More.", reason="Forgot"
    )
    assert "signed" in note_line(url) and "amended" in note_line(url)
    assert "signed" in note_line(section) and "amended" in note_line(section)
