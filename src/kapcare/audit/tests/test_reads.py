"""kapcare.audit.reads: what it logs for a view's answer, and what it refuses."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import reverse
from ninja import Router

from kapcare.accounts.roles import Role
from kapcare.api.routing import endpoint
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.consultations.models import ConsultationRequest
from kapcare.patients.models import Patient
from kapcare.patients.services import create_patient

pytestmark = pytest.mark.django_db


def _patient(given_name: str = "Ada") -> Patient:
    return create_patient(
        Actor.system("test"), given_name=given_name, family_name="Lovelace",
        birth_date=date(1985, 12, 10), sex_at_birth="female", is_synthetic=True,
    )  # fmt: skip


def _reads() -> list[tuple[int | None, str]]:
    return list(AuditEntry.objects.filter(action=Action.READ).values_list("patient_id", "what"))


def test_shown_outside_a_decorated_view_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="reads_patient_data"):
        shown(HttpRequest(), [1])


def test_an_api_operation_not_declared_as_a_read_is_refused_at_import() -> None:
    with pytest.raises(KeyError, match="PATIENT_READS"):

        @reads_patient_data
        @endpoint(Router(), "GET", "/me", operation_id="whoami")
        def whoami(request: HttpRequest) -> None:
            """Declared in policy.NO_PATIENT_READS."""


def test_a_page_logs_the_patient_in_its_address_a_redirect_and_a_404_log_nothing(
    users, client_for
) -> None:
    patient = _patient()
    client = client_for(users[Role.FRONT_DESK])
    url = reverse("patients:edit_contacts", kwargs={"patient_id": patient.pk})

    assert client.get(url).status_code == 200
    assert _reads() == [(patient.pk, "patient contacts form")]
    # The form shown again with its errors shows the record again.
    assert client.post(url, {"email": "not an email"}).status_code == 400
    assert len(_reads()) == 2
    # Saved: a redirect, nothing shown (the write logs itself).
    saved = client.post(url, {"email": "ada@example.org", "preferred_contact": "email"})
    assert saved.status_code == 302
    missing = reverse("patients:details", kwargs={"patient_id": patient.pk + 1000})
    assert client.get(missing).status_code == 404
    assert len(_reads()) == 2


def test_the_logged_read_names_the_url_parameters_and_the_views_detail(users, client_for):
    ada = _patient()
    client = client_for(users[Role.NURSE])
    client.get(reverse("web:patient_list"), {"q": "lovelace"})
    client.get(reverse("assessments:record", kwargs={"patient_id": ada.pk, "instrument": "gad7"}))
    assert _reads() == [(ada.pk, "patient list q='lovelace'"), (ada.pk, "assessment form gad7")]


@pytest.fixture
def clinic_admin(users, client_for):
    admin_user = users[Role.CLINIC_ADMIN]
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    return client_for(admin_user)


def test_admin_pages_log_the_patients_they_show(clinic_admin) -> None:
    ada, bea = _patient(), _patient("Bea")
    assert clinic_admin.get(reverse("admin:patients_patient_changelist")).status_code == 200
    assert sorted(_reads()) == [(ada.pk, "admin patient record"), (bea.pk, "admin patient record")]
    change = reverse("admin:patients_patient_change", args=[ada.pk])
    assert clinic_admin.get(change).status_code == 200
    assert _reads()[-1] == (ada.pk, "admin patient record")
    # The empty form that adds a patient shows no one.
    count = len(_reads())
    assert clinic_admin.get(reverse("admin:patients_patient_add")).status_code == 200
    assert len(_reads()) == count


def test_admin_of_users_logs_only_the_patients_among_them(clinic_admin, users) -> None:
    ada = _patient()
    ada.user = users[Role.PATIENT]
    ada.save(update_fields=["user"])
    assert clinic_admin.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert _reads() == [(ada.pk, "admin user account")]
    nurse = reverse("admin:accounts_user_change", args=[users[Role.NURSE].pk])
    assert clinic_admin.get(nurse).status_code == 200
    assert len(_reads()) == 1


def test_admin_of_consultation_requests_logs_each_request_as_the_queue_does(clinic_admin):
    request = ConsultationRequest.objects.create(
        given_name="Cleo", family_name="Caller", preferred_contact="email", reason="Asking"
    )
    changelist = reverse("admin:consultations_consultationrequest_changelist")
    assert clinic_admin.get(changelist).status_code == 200
    assert _reads() == [(None, f"consultation request #{request.pk} (admin)")]
