"""The clinic admin publishes consent versions in Django's admin; a published wording never
changes and no version is deleted."""

from __future__ import annotations

import pytest

from kapcare.accounts.roles import Role
from kapcare.patients.models import ConsentTemplate


@pytest.fixture
def admin_client(users, client_for):
    admin_user = users[Role.CLINIC_ADMIN]
    admin_user.is_staff = admin_user.is_superuser = True  # as the demo and the CLI set it
    admin_user.save()
    return client_for(admin_user)


@pytest.mark.django_db
def test_the_clinic_admin_publishes_a_version_whose_wording_then_never_changes(admin_client):
    response = admin_client.post(
        "/admin/patients/consenttemplate/add/",
        {"code": "ketamine-treatment", "version": 3, "title": "Consent to ketamine treatment",
         "body": "Synthetic consent wording.", "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    published = ConsentTemplate.objects.get(code="ketamine-treatment", version=3)
    admin_client.post(
        f"/admin/patients/consenttemplate/{published.pk}/change/",
        {"body": "Rewritten after signing", "active": ""},
    )
    published.refresh_from_db()
    assert published.body == "Synthetic consent wording." and published.active is False
    delete = admin_client.post(
        f"/admin/patients/consenttemplate/{published.pk}/delete/", {"post": "yes"}
    )
    assert delete.status_code == 403 and ConsentTemplate.objects.filter(pk=published.pk).exists()
