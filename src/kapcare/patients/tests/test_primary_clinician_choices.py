"""Only active clinicians are offered as a patient's primary clinician, on every form."""

from __future__ import annotations

import pytest

from kapcare.accounts.roles import Role


@pytest.mark.django_db
def test_the_admin_offers_only_active_clinicians(users, client_for, make_user):
    retired = make_user(Role.NURSE, is_active=False)
    admin_user = users[Role.CLINIC_ADMIN]
    admin_user.is_staff = admin_user.is_superuser = True  # as the demo and the CLI set it
    admin_user.save()
    page = client_for(admin_user).get("/admin/patients/patient/add/")
    assert page.status_code == 200
    choices = page.context["adminform"].form.fields["primary_clinician"].queryset
    offered = set(choices)
    assert {users[r] for r in (Role.PRESCRIBER, Role.NURSE, Role.THERAPIST)} <= offered
    assert not offered & {users[Role.PATIENT], users[Role.FRONT_DESK], users[Role.CLINIC_ADMIN]}
    assert retired not in offered
