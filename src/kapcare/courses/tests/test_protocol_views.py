"""Protocols: clinicians read them, the clinic admin creates and edits them (thresholds
included), every version is kept, and a course keeps the protocol it was planned with."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kapcare.accounts.roles import Role
from kapcare.audit.models import AuditEntry
from kapcare.courses.models import Protocol

pytestmark = pytest.mark.django_db


def _form_data(protocol: Protocol, **changes: object) -> dict[str, object]:
    """The protocol's current settings as the edit form posts them, with ``changes``."""
    data: dict[str, object] = {}
    for name in (
        "code", "name", "route", "dose_mode", "default_mg_per_kg", "min_mg_per_kg",
        "max_mg_per_kg", "default_dose_mg", "min_dose_mg", "max_dose_mg", "weight_basis",
        "infusion_duration_min", "infusion_volume_ml", "schedule_code",
        "vitals_interval_dosing_min", "vitals_interval_recovery_min", "min_observation_min",
        "source",
    ):  # fmt: skip
        value = getattr(protocol, name)
        data[name] = "" if value is None else value
    for name in ("rems_required", "integration_after_each_dose", "preparation_meeting", "active"):
        if getattr(protocol, name):
            data[name] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


@pytest.fixture
def admin(users):
    return users[Role.CLINIC_ADMIN]


@pytest.fixture
def iv_ptsd() -> Protocol:
    return Protocol.objects.get(code="iv-ptsd")


@pytest.mark.parametrize("role", [Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.CLINIC_ADMIN])
def test_clinicians_and_the_admin_read_protocols(client_for, users, iv_ptsd, role) -> None:
    client = client_for(users[role])
    listing = client.get(reverse("courses:protocols"))
    assert listing.status_code == 200 and "IV ketamine for PTSD" in listing.content.decode()
    detail = client.get(reverse("courses:protocol", kwargs={"protocol_id": iv_ptsd.pk}))
    assert detail.status_code == 200
    # The thresholds show their labelled defaults.
    assert "Default 180" in detail.content.decode()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PATIENT])
def test_others_cannot_read_protocols(client_for, users, role) -> None:
    assert client_for(users[role]).get(reverse("courses:protocols")).status_code == 403


@pytest.mark.parametrize("role", [Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK])
def test_only_the_admin_edits(client_for, users, iv_ptsd, role) -> None:
    client = client_for(users[role])
    edit = reverse("courses:protocol_edit", kwargs={"protocol_id": iv_ptsd.pk})
    assert client.get(edit).status_code == 403
    assert client.post(edit, _form_data(iv_ptsd, name="Changed")).status_code == 403
    assert client.get(reverse("courses:protocol_create")).status_code == 403


def test_admin_form_shows_threshold_inputs_with_defaults(client_for, admin, iv_ptsd) -> None:
    page = (
        client_for(admin)
        .get(reverse("courses:protocol_edit", kwargs={"protocol_id": iv_ptsd.pk}))
        .content.decode()
    )
    assert 'name="vt_critical_systolic_at_or_above"' in page and 'type="number"' in page
    assert 'placeholder="180"' in page and "Default 140" in page


def test_admin_creates_a_protocol_with_threshold_overrides(client_for, admin, iv_ptsd) -> None:
    data = _form_data(
        iv_ptsd,
        code="iv-ptsd-slow",
        name="IV PTSD, slower infusion",
        infusion_duration_min=60,
        vt_critical_systolic_at_or_above="170",
        vt_tachycardia_above="110",
    )
    response = client_for(admin).post(reverse("courses:protocol_create"), data)
    assert response.status_code == 302
    created = Protocol.objects.get(code="iv-ptsd-slow")
    assert created.infusion_duration_min == 60
    assert created.vitals_thresholds == {
        "critical_systolic_at_or_above": 170.0,
        "tachycardia_above": 110.0,
    }
    assert AuditEntry.objects.filter(what="protocol iv-ptsd-slow", action="create").exists()


def test_an_inconsistent_protocol_is_refused_naming_the_field(client_for, admin, iv_ptsd):
    response = client_for(admin).post(
        reverse("courses:protocol_edit", kwargs={"protocol_id": iv_ptsd.pk}),
        _form_data(iv_ptsd, min_mg_per_kg="0.8", default_mg_per_kg="0.5"),
    )
    assert response.status_code == 400
    assert (
        "Default dose (mg/kg): must be between 0.8 and 1 mg/kg (you entered 0.5)"
        in response.content.decode()
    )
    iv_ptsd.refresh_from_db()
    assert iv_ptsd.min_mg_per_kg == Decimal("0.50")


def test_a_bad_threshold_is_refused_naming_it(client_for, admin, iv_ptsd) -> None:
    response = client_for(admin).post(
        reverse("courses:protocol_edit", kwargs={"protocol_id": iv_ptsd.pk}),
        _form_data(iv_ptsd, vt_bradycardia_below="-5"),
    )
    assert response.status_code == 400
    assert "Bradycardia below (beats/min):" in response.content.decode()
    iv_ptsd.refresh_from_db()
    assert iv_ptsd.vitals_thresholds == {}


def test_editing_shows_in_the_history_with_who_and_what(client_for, admin, iv_ptsd) -> None:
    client = client_for(admin)
    edit = reverse("courses:protocol_edit", kwargs={"protocol_id": iv_ptsd.pk})
    client.post(edit, _form_data(iv_ptsd, min_observation_min=45))
    client.post(edit, _form_data(iv_ptsd, min_observation_min=50))
    page = client.get(
        reverse("courses:protocol", kwargs={"protocol_id": iv_ptsd.pk})
    ).content.decode()
    assert "min_observation_min" in page and "45 → 50" in page
    assert admin.full_name in page


def test_editing_a_protocol_does_not_change_a_course_planned_earlier(
    client_for, admin, users, iv_ptsd, cleared_patient, plan_course_for
) -> None:
    course = plan_course_for(cleared_patient)
    snapshot = dict(course.protocol_snapshot)
    response = client_for(admin).post(
        reverse("courses:protocol_edit", kwargs={"protocol_id": iv_ptsd.pk}),
        _form_data(
            iv_ptsd,
            default_mg_per_kg="0.75",
            infusion_duration_min=60,
            min_observation_min=90,
            vt_critical_systolic_at_or_above="170",
        ),
    )
    assert response.status_code == 302
    iv_ptsd.refresh_from_db()
    assert iv_ptsd.default_mg_per_kg == Decimal("0.75")
    course.refresh_from_db()
    assert course.protocol_snapshot == snapshot
    assert course.protocol_snapshot["default_mg_per_kg"] == "0.50"
    assert course.protocol_snapshot["vitals_thresholds"] == {}
    page = (
        client_for(users[Role.NURSE])
        .get(reverse("courses:course", kwargs={"course_id": course.pk}))
        .content.decode()
    )
    assert "0.50 mg/kg" in page and "0.75" not in page


def test_a_retired_protocol_is_not_offered_for_planning(client_for, admin, users, iv_ptsd):
    data = _form_data(iv_ptsd)
    data.pop("active")
    client_for(admin).post(
        reverse("courses:protocol_edit", kwargs={"protocol_id": iv_ptsd.pk}), data
    )
    iv_ptsd.refresh_from_db()
    assert iv_ptsd.active is False
    page = client_for(users[Role.NURSE]).get(reverse("courses:protocols")).content.decode()
    assert "retired" in page


# --- rooms and chairs ------------------------------------------------------------------------


def test_admin_adds_and_edits_a_chair(client_for, admin) -> None:
    client = client_for(admin)
    response = client.post(
        reverse("courses:resources"),
        {"name": "Chair 1", "kind": "chair", "capacity": 1, "active": "on"},
    )
    assert response.status_code == 302
    from kapcare.courses.models import Resource

    chair = Resource.objects.get(name="Chair 1")
    response = client.post(
        reverse("courses:resource_edit", kwargs={"resource_id": chair.pk}),
        {"name": "Chair 1", "kind": "chair", "capacity": 0, "active": "on"},
    )
    assert response.status_code == 400
    assert "Capacity (appointments at once):" in response.content.decode()
    chair.refresh_from_db()
    assert chair.capacity == 1 and chair.active is True
    assert "Chair 1" in client.get(reverse("courses:resources")).content.decode()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.NURSE, Role.PRESCRIBER, Role.PATIENT])
def test_only_the_admin_manages_rooms_and_chairs(client_for, users, role) -> None:
    assert client_for(users[role]).get(reverse("courses:resources")).status_code == 403
