"""Automatic logoff (issue 13, HIPAA 164.312(a)(2)(iii)): a session ends on the server after
KAPCARE_IDLE_LOGOUT_SECONDS without activity; the page's own polls are no activity; signing in
again returns to the page; KAPCARE_SESSION_SECONDS stays an absolute limit; the cookie goes
when the browser closes."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from kapcare.accounts.idle import BACKGROUND_HEADER
from kapcare.accounts.roles import Role
from kapcare.audit.models import Action, AuditEntry
from kapcare.conftest import TEST_PASSWORD
from kapcare.dosing.models import State
from kapcare.dosing.tests.conftest import run_to

pytestmark = pytest.mark.django_db

IDLE_S = 900
BACKGROUND = {BACKGROUND_HEADER: "1"}


@pytest.fixture(autouse=True)
def production_idle_limit(settings):
    settings.KAPCARE_IDLE_LOGOUT_SECONDS = IDLE_S


def sign_in(user) -> Client:
    client = Client()
    response = client.post(
        reverse("web:login"), {"username": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    return client


def signed_in(client: Client) -> bool:
    return client.get(reverse("accounts:session_status"), headers=BACKGROUND).json()["signed_in"]


def at(start: float, seconds: float) -> time_machine.travel:
    return time_machine.travel(start + seconds, tick=False)


def test_an_idle_session_ends_on_the_server_and_sign_in_returns_to_the_page(make_user):
    nurse = make_user(Role.NURSE)
    start = time.time()
    with at(start, 0):
        client = sign_in(nurse)
    with at(start, IDLE_S - 5):
        assert client.get(reverse("web:profile")).status_code == 200  # activity
    with at(start, 2 * IDLE_S - 10):
        assert client.get(reverse("web:profile")).status_code == 200  # 895 s later: still on
    with at(start, 3 * IDLE_S):
        response = client.get(reverse("web:patient_list") + "?q=ada")
        assert response.status_code == 302
        wanted = reverse("web:patient_list") + "?q=ada"
        location = urlsplit(response["Location"])
        assert location.path == reverse("web:login")
        assert parse_qs(location.query) == {"next": [wanted]}
        page = client.get(response["Location"]).content.decode()
        assert "You were signed out after 15 minutes without activity" in page
        assert not signed_in(client)
        again = client.post(
            response["Location"],
            {"username": nurse.email, "password": TEST_PASSWORD, "next": wanted},
        )
        assert again["Location"] == wanted
    entry = AuditEntry.objects.filter(action=Action.SIGN_OUT, user=nurse).get()
    assert entry.what == "signed out automatically after 15 minutes without activity"


def test_a_polling_page_does_not_keep_the_session_alive(
    make_user, users, cleared_patient, plan_course_for
):
    course = plan_course_for(cleared_patient, "iv-ptsd")
    session = run_to(course.dosing_sessions.first(), users, State.DOSING, minutes_ago=5)
    page = reverse("dosing:session", kwargs={"session_id": session.pk})
    poll = reverse("dosing:vitals_reminder", kwargs={"session_id": session.pk})
    htmx_poll = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}", **BACKGROUND}
    start = time.time()
    with at(start, 0):
        client = sign_in(users[Role.NURSE])
        assert client.get(page).status_code == 200
    # The reminder polls every 30 s, marked as background by kapcare/idle.js.
    for second in range(30, IDLE_S, 30):
        with at(start, second):
            assert client.get(poll, headers=htmx_poll).status_code == 200
    with at(start, IDLE_S + 1):
        ended = client.get(poll, headers=htmx_poll)
    # htmx loads the sign-in page, which returns to the session page.
    assert ended.status_code == 200 and ended.content == b""
    assert ended["HX-Redirect"] == f"{reverse('web:login')}?{urlencode({'next': page})}"
    assert not signed_in(client)


def test_requests_a_person_makes_are_activity(make_user):
    nurse = make_user(Role.NURSE)
    start = time.time()
    with at(start, 0):
        client = sign_in(nurse)
    for minute in range(10, 60, 10):
        with at(start, minute * 60):
            assert client.get(reverse("web:today")).status_code == 200
    with at(start, 60 * 60):
        assert signed_in(client)


def test_the_warning_check_is_no_activity_and_stay_signed_in_is(make_user):
    nurse = make_user(Role.NURSE)
    status = reverse("accounts:session_status")
    start = time.time()
    with at(start, 0):
        client = sign_in(nurse)
    with at(start, IDLE_S - 60):
        assert client.get(status, headers=BACKGROUND).json() == {
            "signed_in": True,
            "seconds_left": 60,
        }
    with at(start, IDLE_S - 30):
        # "Stay signed in": asked plainly, it is activity.
        assert client.get(status).json() == {"signed_in": True, "seconds_left": IDLE_S}
    with at(start, 2 * IDLE_S - 31):
        assert signed_in(client)


def test_the_absolute_limit_stays(settings, make_user):
    settings.SESSION_COOKIE_AGE = 1800  # KAPCARE_SESSION_SECONDS
    nurse = make_user(Role.NURSE)
    start = time.time()
    with at(start, 0):
        client = sign_in(nurse)
    for minute in (10, 20, 29):
        with at(start, minute * 60):
            assert client.get(reverse("web:today")).status_code == 200
    with at(start, 30 * 60 + 1):
        response = client.get(reverse("web:today"))
        assert response["Location"].startswith(reverse("web:login"))
        assert "reached its time limit" in client.get(response["Location"]).content.decode()
    entry = AuditEntry.objects.filter(action=Action.SIGN_OUT, user=nurse).get()
    assert entry.what == "signed out automatically: the session reached its time limit"


def test_a_post_after_the_logoff_returns_to_the_page_it_came_from(make_user):
    nurse = make_user(Role.NURSE)
    start = time.time()
    with at(start, 0):
        client = sign_in(nurse)
    with at(start, IDLE_S + 1):
        response = client.post(
            reverse("web:token_create"),
            {"name": "late"},
            HTTP_REFERER="http://testserver/profile/",
        )
    assert response["Location"] == f"{reverse('web:login')}?next=%2Fprofile%2F"


def test_only_same_site_pages_are_returned_to(make_user):
    nurse = make_user(Role.NURSE)
    start = time.time()
    with at(start, 0):
        client = sign_in(nurse)
    with at(start, IDLE_S + 1):
        ended = client.get(
            reverse("accounts:session_status"),
            HTTP_HX_REQUEST="true",
            HTTP_HX_CURRENT_URL="https://evil.example/phish/",
        )
    assert ended["HX-Redirect"] == reverse("web:login")


def test_the_session_cookie_ends_with_the_browser(make_user):
    client = sign_in(make_user(Role.NURSE))
    cookie = client.cookies["sessionid"]
    assert cookie["expires"] == "" and cookie["max-age"] == ""


def test_signed_in_pages_carry_the_warning_script(make_user, client_for):
    html = client_for(make_user(Role.NURSE)).get(reverse("web:profile")).content.decode()
    assert "kapcare/idle.js" in html and f'data-idle-seconds="{IDLE_S}"' in html
    assert 'data-warning-seconds="60"' in html
    assert "kapcare/idle.js" not in Client().get(reverse("web:login")).content.decode()
