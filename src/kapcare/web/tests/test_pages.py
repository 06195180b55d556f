"""The UI shell: sign-in, navigation by role, today, the patient list, the profile's tokens."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django.test import Client

from kapcare.accounts.models import ApiToken
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.conftest import TEST_PASSWORD
from kapcare.demodata.seed import seed_patients
from kapcare.patients.services import create_patient


def test_login_page_is_public_and_sends_security_headers(db):
    response = Client().get("/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_nurse_signs_in_and_lands_on_today(users):
    client = Client()
    response = client.post(
        "/login/", {"username": users["nurse"].email, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/today/"
    html = response.content.decode()
    assert "<h1>Today" in html
    assert 'href="/patients/"' in html  # the nurse's navigation
    assert 'href="/admin/"' not in html  # not the clinic admin's
    assert response["Cache-Control"] == "no-store"
    assert AuditEntry.objects.filter(action=Action.SIGN_IN, user=users["nurse"]).exists()


def test_failed_sign_in_is_refused_and_logged(users):
    response = Client().post("/login/", {"username": users["nurse"].email, "password": "wrong"})
    assert response.status_code == 200
    assert "correct email and password" in response.content.decode()
    failed = AuditEntry.objects.get(action=Action.SIGN_IN_FAILED)
    assert failed.user_email == users["nurse"].email


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (
            "clinic_admin",
            {
                "/today/",
                "/patients/",
                "/patients/new/",
                "/consultation/queue/",
                "/protocols/",
                "/resources/",
                "/calendar/",
                "/pk/",
                "/account/tokens/",
                "/admin/",
            },
        ),
        (
            "front_desk",
            {
                "/today/",
                "/patients/",
                "/patients/new/",
                "/consultation/queue/",
                "/calendar/",
                "/pk/",
            },
        ),
        ("nurse", {"/today/", "/patients/", "/alerts/", "/protocols/", "/calendar/", "/pk/"}),
        ("patient", {"/me/", "/pk/"}),
    ],
)
def test_navigation_follows_the_role(role, links, users, client_for):
    client = client_for(users[role])
    html = client.get("/profile/").content.decode()
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert nav is not None
    assert set(re.findall(r'href="([^"]+)"', nav.group(1))) == links


def _make_patients(count: int) -> None:
    seed_patients(count, seed=count)


def test_patient_list_searches_and_logs_what_it_shows(users, client_for):
    actor = Actor.system("test")
    ada = create_patient(
        actor, given_name="Ada", family_name="Lovelace", birth_date=date(1985, 12, 10),
        sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip
    _make_patients(30)
    client = client_for(users["nurse"])
    page = client.get("/patients/").content.decode()
    assert "31 patients" in page
    assert page.count("<tr>") == 1 + 25  # header row + one page
    reads = AuditEntry.objects.filter(action=Action.READ, user=users["nurse"])
    assert reads.count() == 25

    ada_reads_before = reads.filter(patient_id=ada.pk).count()
    found = client.get("/patients/", {"q": "lovelace"}).content.decode()
    assert "1 patient matching" in found and ada.mrn in found

    partial = client.get("/patients/", {"q": "ada lovelace"}, headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert ada.mrn in html and "<html" not in html
    assert reads.filter(patient_id=ada.pk).count() == ada_reads_before + 2


@pytest.mark.parametrize("count", [5, 60])
def test_patient_list_query_count_does_not_grow(
    count, users, client_for, django_assert_max_num_queries
):
    _make_patients(count)
    client = client_for(users["nurse"])
    client.get("/today/")  # settle the session
    # session, user, count, page, then the audit append (savepoint, lock, head, insert, head).
    with django_assert_max_num_queries(10):
        assert client.get("/patients/").status_code == 200


def test_profile_creates_a_token_shown_once_and_revokes_it(users, client_for):
    therapist = users["therapist"]
    client = client_for(therapist)
    response = client.post("/profile/tokens/", {"name": "notes sync"})
    assert response.status_code == 201
    raw = re.search(
        r'<output id="new-token" class="token">([^<]+)</output>', response.content.decode()
    )
    assert raw is not None
    token = ApiToken.objects.get(user=therapist)
    assert token.token_hash != raw.group(1) and raw.group(1) not in token.token_hash
    assert raw.group(1).startswith(token.hint)
    again = client.get("/profile/").content.decode()
    assert raw.group(1) not in again and "notes sync" in again

    api = Client(headers={"Authorization": f"Bearer {raw.group(1)}"})
    assert api.get("/api/v1/me").json()["email"] == therapist.email

    assert client.post(f"/profile/tokens/{token.pk}/revoke/").status_code == 302
    assert api.get("/api/v1/me").status_code == 401


def test_token_without_a_name_is_refused(users, client_for):
    response = client_for(users["nurse"]).post("/profile/tokens/", {"name": "  "})
    assert response.status_code == 400
    page = response.content.decode()
    assert "give the token a name" in page and "name: give the token a name" not in page
    assert not ApiToken.objects.exists()


def test_token_with_a_too_long_name_is_refused_naming_the_field(users, client_for):
    response = client_for(users["nurse"]).post("/profile/tokens/", {"name": "x" * 101})
    assert response.status_code == 400
    page = response.content.decode()
    assert "at most 100 characters" in page and "name: at most 100 characters" not in page
    assert not ApiToken.objects.exists()


def test_revoking_someone_elses_token_is_404(users, client_for, token_for):
    token_for(users["nurse"])
    other = ApiToken.objects.get(user=users["nurse"])
    response = client_for(users["prescriber"]).post(f"/profile/tokens/{other.pk}/revoke/")
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


TEMPLATE_AND_ASSET_DIRS = [Path(__file__).resolve().parents[2]]


def test_no_asset_is_fetched_from_elsewhere():
    """Scripts, stylesheets, images and fonts come from kapcare itself (links to other sites,
    such as crisis lines, are fine: they load nothing)."""
    asset_reference = re.compile(
        r"<(script|img|link|source|iframe)\b[^>]*\b(src|href)=[\"']?(https?:)?//"
        r"|url\(\s*['\"]?(https?:)?//"
        r"|@import\s+['\"]?(https?:)?//",
        re.IGNORECASE,
    )
    offenders = [
        str(path)
        for path in TEMPLATE_AND_ASSET_DIRS[0].rglob("*")
        if path.suffix in {".html", ".css"} and asset_reference.search(path.read_text())
    ]
    assert offenders == []


def test_static_assets_are_served(db):
    for asset in ("/static/kapcare/kapcare.css", "/static/kapcare/htmx.min.js"):
        response = Client().get(asset)
        assert response.status_code == 200, asset


def test_a_search_counts_at_most_its_cap_and_says_so(users, client_for, monkeypatch):
    from kapcare.web import views

    monkeypatch.setattr(views, "SEARCH_MATCHES_COUNTED", 30)
    _make_patients(40)
    client = client_for(users["nurse"])
    # Every synthetic patient's email is at example.org: all 40 match.
    page = client.get("/patients/", {"q": "example"}).content.decode()
    assert "More than 30 patients match" in page and "Page 1 of 2" in page
    last = client.get("/patients/", {"q": "example", "page": 2}).content.decode()
    assert last.count("<tr>") == 1 + 5  # the cap's last 5, not the 40th patient
    assert "Page 2 of 2" in last and 'rel="next"' not in last
    # Under the cap the exact count is shown.
    monkeypatch.setattr(views, "SEARCH_MATCHES_COUNTED", 40)
    assert "40 patients matching" in client.get("/patients/", {"q": "example"}).content.decode()
