"""/favicon.ico answers (a redirect to the local static icon) for anyone, signed in or not, and
every page links the icon (issue 14)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

from kapcare.accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_static_icon_without_sign_in(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("kapcare/favicon.svg")
    icon = finders.find("kapcare/favicon.svg")
    assert icon is not None
    with open(icon, encoding="utf-8") as file:
        assert file.read().startswith("<svg")


def test_favicon_ico_answers_a_signed_in_user_too(client_for, users) -> None:
    response = client_for(users[Role.PATIENT]).get("/favicon.ico")
    assert response.status_code == 301


def test_the_pages_link_the_icon(client) -> None:
    page = client.get("/login/").content.decode()
    assert f'<link rel="icon" href="{static("kapcare/favicon.svg")}"' in page
