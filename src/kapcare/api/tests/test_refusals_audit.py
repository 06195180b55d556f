"""Every 401 and 403, of the API and of pages, is an audit entry (action "refused") naming the
path and the reason, never the token presented (issue 13; HIPAA 164.312(b))."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import resolve

from kapcare.accounts.models import ApiToken
from kapcare.audit.models import Action, AuditEntry
from kapcare.web.refusals import RefusalAuditMiddleware

ADDRESS = "10.3.0.1"


def _refusals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=Action.REFUSED).order_by("pk"))


def test_an_unknown_token_is_logged_without_the_token(db):
    guessed = "kc_not-a-real-token-at-all"
    client = Client(headers={"Authorization": f"Bearer {guessed}"})
    assert client.get("/api/v1/me", REMOTE_ADDR=ADDRESS).status_code == 401
    [entry] = _refusals()
    assert entry.what == "401 GET /api/v1/me: unknown token"
    assert entry.client_address == ADDRESS and entry.user_id is None
    assert guessed not in entry.what and "not-a-real" not in entry.what


def test_no_token_is_logged(db):
    assert Client().get("/api/v1/patients", REMOTE_ADDR=ADDRESS).status_code == 401
    [entry] = _refusals()
    assert entry.what == "401 GET /api/v1/patients: no bearer token"


def test_a_role_refused_by_the_policy_is_logged_with_the_user(users, token_for):
    # Patients' data is staff work: a patient's token is refused.
    patient = users["patient"]
    client = Client(headers={"Authorization": f"Bearer {token_for(patient)}"})
    assert client.get("/api/v1/patients", REMOTE_ADDR=ADDRESS).status_code == 403
    [entry] = _refusals()
    assert entry.what.startswith("403 GET /api/v1/patients: role")
    assert (entry.user_id, entry.role) == (patient.pk, "patient")
    token = ApiToken.objects.get(user=patient)
    assert token.hint not in entry.what


def test_a_page_refused_by_the_policy_is_logged(users, client_for):
    nurse = users["nurse"]
    response = client_for(nurse).get("/consultation/queue/", REMOTE_ADDR=ADDRESS)
    assert response.status_code == 403
    [entry] = _refusals()
    assert entry.what == "403 GET /consultation/queue/: access policy"
    assert (entry.user_id, entry.client_address) == (nurse.pk, ADDRESS)


def test_a_page_refused_by_csrf_is_logged(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["nurse"])
    assert client.post("/profile/tokens/", {"name": "x"}).status_code == 403
    [entry] = _refusals()
    assert entry.what == "403 POST /profile/tokens/: forbidden"
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("status", [200, 404])
def test_answers_that_are_not_refusals_are_not_logged_as_refusals(users, token_for, status):
    client = Client(headers={"Authorization": f"Bearer {token_for(users['nurse'])}"})
    path = "/api/v1/me" if status == 200 else "/api/v1/patients/987654321"
    assert client.get(path).status_code == status
    assert _refusals() == []


def test_a_credential_in_the_path_is_logged_as_the_route_pattern(db, rf):
    # A calendar feed's secret is its URL: a refusal there names the route, not the secret.
    request = rf.get("/calendar/s3cret-feed-token.ics", REMOTE_ADDR=ADDRESS)
    request.resolver_match = resolve(request.path)
    response = HttpResponse(status=403)
    RefusalAuditMiddleware(lambda _request: response)(request)
    [entry] = _refusals()
    assert entry.what == "403 GET /calendar/<str:token>.ics: forbidden"
