"""The front desk's queue: who may see it, what is logged, converting and closing once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kapcare.accounts.middleware import POLICY_HEADER
from kapcare.accounts.roles import Role
from kapcare.api.paging import MAX_PAGE
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.selectors import verify_chain
from kapcare.audit.services import Actor
from kapcare.consultations.demo import DEMO_REQUESTS, load_demo
from kapcare.consultations.models import ConsultationRequest, RequestStatus
from kapcare.consultations.services import AlreadyHandled, close_request, convert_request
from kapcare.errors import Conflict, FieldInvalid
from kapcare.patients.models import CareStatus, Patient

pytestmark = pytest.mark.django_db

QUEUE = "/consultation/queue/"


def _request(given="Robin", family="Example", hours_ago=1, **fields) -> ConsultationRequest:
    consultation = ConsultationRequest.objects.create(
        given_name=given,
        family_name=family,
        email=fields.pop("email", f"{given}@example.org".lower()),
        phone=fields.pop("phone", "+1 555 0100"),
        preferred_contact=fields.pop("preferred_contact", "phone"),
        reason=fields.pop("reason", "Please call me about a first appointment."),
        **fields,
    )
    ConsultationRequest.objects.filter(pk=consultation.pk).update(
        submitted_at=timezone.now() - timedelta(hours=hours_ago)
    )
    consultation.refresh_from_db()
    return consultation


CONVERT_DATA = {
    "given_name": "Robin",
    "family_name": "Example",
    "birth_date": "1988-04-02",
    "sex_at_birth": "female",
    "email": "robin@example.org",
    "phone": "+1 555 0100",
}


@pytest.mark.parametrize("role", Role.values)
def test_queue_access_by_role(role, users, client_for):
    consultation = _request()
    client = client_for(users[role])
    allowed = role in {Role.FRONT_DESK, Role.CLINIC_ADMIN}
    for url in (
        QUEUE,
        f"/consultation/queue/{consultation.pk}/convert/",
        f"/consultation/queue/{consultation.pk}/close/",
    ):
        response = client.get(url)
        if allowed:
            assert response.status_code == 200, url
        else:
            assert response.status_code == 403 and response[POLICY_HEADER] == "denied", url
    refused_post = client.post(f"/consultation/queue/{consultation.pk}/close/", {"reason": "x"})
    assert (refused_post.status_code == 302) is allowed
    consultation.refresh_from_db()
    assert (consultation.status == RequestStatus.CLOSED) is allowed


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get(QUEUE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_queue_lists_open_requests_oldest_first_and_logs_each_read(users, client_for):
    newer = _request("Newer", "Person", hours_ago=1, reason="Newer reason")
    older = _request("Older", "Person", hours_ago=30, reason="Older reason")
    _request("Closed", "Person", status=RequestStatus.CLOSED, close_reason="duplicate")
    front_desk = users[Role.FRONT_DESK]
    html = client_for(front_desk).get(QUEUE).content.decode()
    assert html.index("Older Person") < html.index("Newer Person")
    assert "Closed Person" not in html
    assert "Older reason" in html and "older@example.org" in html and "Phone call" in html
    assert "2 open" in html
    reads = AuditEntry.objects.filter(action=Action.READ, user=front_desk)
    assert sorted(reads.values_list("what", flat=True)) == sorted(
        [f"consultation request #{older.pk} (queue)", f"consultation request #{newer.pk} (queue)"]
    )
    assert verify_chain().intact


def test_navigation_shows_requests_to_the_front_desk_only(users, client_for):
    assert (
        'href="/consultation/queue/"'
        in client_for(users[Role.FRONT_DESK]).get("/profile/").content.decode()
    )
    assert (
        'href="/consultation/queue/"'
        not in client_for(users[Role.NURSE]).get("/profile/").content.decode()
    )


def test_convert_form_is_prefilled_and_logged(users, client_for):
    consultation = _request("Sam", "Rivera")
    client = client_for(users[Role.FRONT_DESK])
    response = client.get(f"/consultation/queue/{consultation.pk}/convert/")
    form = response.context["form"]
    assert form.initial["given_name"] == "Sam" and form.initial["family_name"] == "Rivera"
    assert 'value="Sam"' in response.content.decode()
    assert AuditEntry.objects.filter(
        action=Action.READ, what=f"consultation request #{consultation.pk} (convert)"
    ).exists()


def test_convert_creates_the_patient_links_it_and_audits(users, client_for):
    consultation = _request(preferred_contact="sms")
    front_desk = users[Role.FRONT_DESK]
    client = client_for(front_desk)
    response = client.post(f"/consultation/queue/{consultation.pk}/convert/", CONVERT_DATA)
    assert response.status_code == 302
    patient = Patient.objects.get()
    # The front desk lands on the new patient's demographics (the chart is clinical).
    assert response["Location"] == f"/patients/{patient.pk}/details/"
    assert (patient.given_name, patient.family_name, str(patient.birth_date)) == (
        "Robin",
        "Example",
        "1988-04-02",
    )
    assert patient.care_status == CareStatus.INQUIRY
    assert patient.preferred_contact == "sms"
    consultation.refresh_from_db()
    assert consultation.status == RequestStatus.CONVERTED and consultation.patient == patient
    assert consultation.handled_by == front_desk and consultation.handled_at is not None
    assert AuditEntry.objects.filter(
        action=Action.CREATE, patient_id=patient.pk, user=front_desk
    ).exists()
    assert AuditEntry.objects.filter(
        action=Action.UPDATE,
        patient_id=patient.pk,
        what=f"consultation request #{consultation.pk} converted to patient {patient.mrn}",
    ).exists()
    assert verify_chain().intact
    # It has left the queue.
    assert client.get(QUEUE).context["consultations"] == []


def test_a_request_converts_only_once(users, client_for):
    consultation = _request()
    client = client_for(users[Role.FRONT_DESK])
    url = f"/consultation/queue/{consultation.pk}/convert/"
    assert client.post(url, CONVERT_DATA).status_code == 302
    again = client.post(url, CONVERT_DATA)
    assert again.status_code == 409
    assert "already converted" in again.content.decode().lower()
    assert Patient.objects.count() == 1
    assert client.get(url).status_code == 409
    closing = client.post(f"/consultation/queue/{consultation.pk}/close/", {"reason": "dup"})
    assert closing.status_code == 409
    consultation.refresh_from_db()
    assert consultation.status == RequestStatus.CONVERTED and consultation.close_reason == ""


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"birth_date": ""}, "birth_date"),
        ({"birth_date": "1988-13-40"}, "birth_date"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"sex_at_birth": ""}, "sex_at_birth"),
        ({"sex_at_birth": "robot"}, "sex_at_birth"),
        ({"given_name": ""}, "given_name"),
        ({"phone": "abc"}, "phone"),
    ],
)
def test_bad_conversion_input_names_the_field_and_changes_nothing(
    overrides, field, users, client_for
):
    consultation = _request()
    response = client_for(users[Role.FRONT_DESK]).post(
        f"/consultation/queue/{consultation.pk}/convert/", {**CONVERT_DATA, **overrides}
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Patient.objects.exists()
    consultation.refresh_from_db()
    assert consultation.status == RequestStatus.OPEN
    assert not AuditEntry.objects.filter(action__in=[Action.CREATE, Action.UPDATE]).exists()


@pytest.mark.parametrize("field", ["given_name", "family_name"])
@pytest.mark.parametrize("name", ["Robin\u200b", "\u202eRobin", "Rob\tin"])
def test_a_name_with_hidden_characters_is_a_400_naming_the_field(field, name, users, client_for):
    consultation = _request()
    response = client_for(users[Role.FRONT_DESK]).post(
        f"/consultation/queue/{consultation.pk}/convert/", {**CONVERT_DATA, field: name}
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert "invisible characters" in response.context["form"].errors[field][0]
    assert not Patient.objects.exists()
    consultation.refresh_from_db()
    assert consultation.status == RequestStatus.OPEN


def test_a_birth_date_before_1900_is_refused_by_the_records_rule(users, client_for):
    consultation = _request()
    response = client_for(users[Role.FRONT_DESK]).post(
        f"/consultation/queue/{consultation.pk}/convert/",
        {**CONVERT_DATA, "birth_date": "1899-12-31"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["birth_date"] == ["must be on or after 1900-01-01"]
    assert not Patient.objects.exists()


def test_a_refusal_of_the_service_is_shown_on_its_field(users, client_for, monkeypatch):
    """Whatever create_patient refuses that the form did not foresee is a 400 on the field it
    names, not a 500."""
    from kapcare.consultations import views

    def refuse(*args, **kwargs):
        raise FieldInvalid("family_name", "control_characters", "must not contain U+200B")

    monkeypatch.setattr(views, "convert_request", refuse)
    consultation = _request()
    response = client_for(users[Role.FRONT_DESK]).post(
        f"/consultation/queue/{consultation.pk}/convert/", CONVERT_DATA
    )
    assert response.status_code == 400
    assert response.context["form"].errors["family_name"] == ["must not contain U+200B"]


def test_close_with_a_reason_once(users, client_for):
    consultation = _request()
    admin = users[Role.CLINIC_ADMIN]
    client = client_for(admin)
    url = f"/consultation/queue/{consultation.pk}/close/"
    missing = client.post(url, {"reason": "  "})
    assert missing.status_code == 400 and "reason" in missing.context["form"].errors
    consultation.refresh_from_db()
    assert consultation.status == RequestStatus.OPEN

    response = client.post(url, {"reason": "Duplicate of an earlier request"})
    assert response.status_code == 302 and response["Location"] == QUEUE
    consultation.refresh_from_db()
    assert consultation.status == RequestStatus.CLOSED
    assert consultation.close_reason == "Duplicate of an earlier request"
    assert consultation.handled_by == admin and consultation.patient is None
    entry = AuditEntry.objects.get(action=Action.UPDATE)
    assert entry.what == f"consultation request #{consultation.pk} closed"
    assert entry.user == admin

    again = client.post(url, {"reason": "again"})
    assert again.status_code == 409 and "already closed" in again.content.decode().lower()
    convert = client.post(f"/consultation/queue/{consultation.pk}/convert/", CONVERT_DATA)
    assert convert.status_code == 409 and not Patient.objects.exists()
    assert AuditEntry.objects.filter(action=Action.UPDATE).count() == 1


def test_unknown_requests_are_404(users, client_for):
    client = client_for(users[Role.FRONT_DESK])
    assert client.get("/consultation/queue/999/convert/").status_code == 404
    assert client.post("/consultation/queue/999/close/", {"reason": "x"}).status_code == 404


def test_services_refuse_a_second_handling():
    consultation = _request()
    actor = Actor.system("test")
    close_request(actor, consultation.pk, reason="not a fit")
    with pytest.raises(AlreadyHandled) as handled:
        close_request(actor, consultation.pk, reason="twice")
    assert isinstance(handled.value, Conflict)
    assert (handled.value.field, handled.value.rule) == ("status", "already_closed")
    with pytest.raises(AlreadyHandled):
        convert_request(
            actor,
            consultation.pk,
            given_name="A",
            family_name="B",
            birth_date=timezone.localdate() - timedelta(days=365 * 30),
            sex_at_birth="male",
        )
    with pytest.raises(FieldInvalid) as blank:
        close_request(actor, _request().pk, reason=" ")
    assert (blank.value.field, blank.value.rule) == ("reason", "required")
    assert not Patient.objects.exists()


def test_api_lists_open_requests_for_the_front_desk(users, token_for):
    older = _request("Older", "Person", hours_ago=5)
    newer = _request("Newer", "Person", hours_ago=1)
    _request("Closed", "Person", status=RequestStatus.CLOSED, close_reason="duplicate")
    front_desk = users[Role.FRONT_DESK]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(front_desk)}")
    response = client.get("/api/v1/consultation-requests")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [r["id"] for r in body["results"]] == [older.pk, newer.pk]
    assert body["results"][0]["given_name"] == "Older"
    assert AuditEntry.objects.filter(
        action=Action.READ, user=front_desk, what=f"consultation request #{older.pk} (API)"
    ).exists()
    nurse = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(users[Role.NURSE])}")
    assert nurse.get("/api/v1/consultation-requests").status_code == 403
    bad = client.get("/api/v1/consultation-requests", {"page": 0})
    assert bad.status_code == 422 and "page" in bad.json()["detail"]


def test_api_pages_past_the_end_are_empty_and_past_the_largest_page_422(users, token_for):
    _request()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(users[Role.FRONT_DESK])}")
    last = client.get("/api/v1/consultation-requests", {"page": MAX_PAGE, "page_size": 200})
    assert last.status_code == 200
    assert (last.json()["count"], last.json()["results"]) == (1, [])
    for page in (MAX_PAGE + 1, 9223372036854775807):
        response = client.get("/api/v1/consultation-requests", {"page": page})
        assert response.status_code == 422, page
        assert [e["field"] for e in response.json()["errors"]] == ["page"]


def test_demo_requests_are_synthetic_and_loaded_once():
    assert load_demo() == len(DEMO_REQUESTS) >= 3
    assert load_demo() == 0
    requests = ConsultationRequest.objects.all()
    assert requests.count() == len(DEMO_REQUESTS)
    for consultation in requests:
        assert consultation.is_synthetic and consultation.status == RequestStatus.OPEN
        assert consultation.email.endswith("@example.org") and "555" in consultation.phone
