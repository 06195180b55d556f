"""Every HTML route and API operation is declared as a read of patient data or not
(policy.PATIENT_READS, policy.NO_PATIENT_READS), and every declared read, requested with the
demo clinic's data by a role the policy allows, leaves an access-log entry for the patient it
showed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.policy import (
    API_OPERATIONS,
    NO_PATIENT_READS,
    PATIENT_READS,
    Public,
    Rule,
    html_rule,
    read_declaration,
)
from kapcare.accounts.roles import Role
from kapcare.accounts.tests.routes import HtmlRoute, api_operations, html_routes
from kapcare.assessments.models import Alert, Assessment
from kapcare.assessments.services import create_home_link
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.reads import PatientReadsAdmin
from kapcare.audit.services import Actor
from kapcare.conftest import pass_second_factor
from kapcare.consultations.models import ConsultationRequest, RequestStatus
from kapcare.consultations.services import convert_request
from kapcare.courses.models import Appointment, TreatmentCourse
from kapcare.courses.services import create_calendar_feed
from kapcare.demodata.clinic import (
    DEMO_MFA_EMAIL,
    DEMO_PATIENT_LOGIN,
    DEMO_STAFF,
    load_demo_clinic,
)
from kapcare.dosing.models import DosingSession, VitalAlert
from kapcare.integration.models import IntegrationNote, JournalEntry
from kapcare.patients.models import ConsentTemplate, Patient

# Who requests a route: the first of these the policy lets in.
ROLE_PREFERENCE = (Role.PRESCRIBER, Role.FRONT_DESK, Role.CLINIC_ADMIN, Role.PATIENT)
# The form a POST-only read is sent, when an empty one would not show the record.
POSTED = {"assessments:link_create": {"instrument": "phq9", "send": "show"}}
# Routes that show many patients, or the signed-in patient's own: any patient shown will do.
ANY_PATIENT = None


def _names() -> list[str]:
    return [r.view_name for r in html_routes()] + [op.operation_id for op in api_operations()]


def test_every_route_and_operation_is_declared_as_a_read_or_not() -> None:
    undeclared = []
    for name in _names():
        try:
            read_declaration(name)
        except KeyError:
            undeclared.append(name)
    assert undeclared == [], (
        f"declare these in policy.PATIENT_READS or policy.NO_PATIENT_READS: {undeclared}"
    )


def test_the_declarations_name_only_routes_that_exist() -> None:
    known = set(_names())
    assert {"patients:chart", "get_patient", "web:login"} <= known  # the walk finds routes
    stale = [
        key
        for key in (*PATIENT_READS, *NO_PATIENT_READS)
        if not any(
            name == key or (key.endswith("*") and name.startswith(key[:-1])) for name in known
        )
    ]
    assert stale == []


def _is_patient_data(model: type[Model]) -> bool:
    """The patient, or a model that refers to one (or that a patient refers to)."""
    return model is Patient or any(
        getattr(field, "related_model", None) is Patient for field in model._meta.get_fields()
    )


def test_every_admin_of_patient_data_logs_its_pages() -> None:
    found = []
    for model, model_admin in admin.site._registry.items():
        if not _is_patient_data(model):
            continue
        found.append(model)
        changelist = f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        assert isinstance(model_admin, PatientReadsAdmin), f"{model}: base it on PatientReadsAdmin"
        assert read_declaration(changelist) is not None, f"declare {changelist} a read"
    assert {Patient, ConsultationRequest, User} <= set(found)


@dataclass(frozen=True)
class Sample:
    """A URL parameter's value, and the patient a page about it shows."""

    value: object
    patient_id: int | None


@dataclass(frozen=True)
class Demo:
    clients: dict[str, Client]
    samples: dict[str, Sample]
    # Per route (or routes starting so, ending in "_"): samples unlike the parameter's usual.
    route_samples: dict[str, dict[str, Sample]]
    # Routes whose patient is neither in their address nor many: the signed-in patient's own.
    route_patients: dict[str, int]

    def samples_for(self, name: str) -> dict[str, Sample]:
        for prefix, samples in self.route_samples.items():
            if name == prefix or (prefix.endswith("_") and name.startswith(prefix)):
                return {**self.samples, **samples}
        return self.samples

    def shown_patient(self, name: str, params: tuple[str, ...]) -> int | None:
        """The patient the page shows: that of the object its address names, or its own."""
        samples = self.samples_for(name)
        if "patient_id" in params:
            return samples["patient_id"].patient_id
        for param in params:
            if samples[param].patient_id is not None:
                return samples[param].patient_id
        return self.route_patients.get(name, ANY_PATIENT)


def _first(queryset: Any) -> Any:
    found = queryset.first()
    assert found is not None, f"the demo clinic has a {queryset.model.__name__}"
    return found


def _of(obj: Any, patient_id: int | None = None) -> Sample:
    return Sample(obj.pk, obj.patient_id if patient_id is None else patient_id)


def _admin_pages(obj: Any, patient_id: int) -> dict[str, Sample]:
    """The samples of one object's admin pages (its change, history and past-version pages)."""
    # The object's own versions: on the history model ``pk`` is the version's id, not the
    # object's (they only match by chance, as on SQLite with a fresh database).
    version = _first(obj.history.order_by("-history_date"))
    return {
        "object_id": Sample(str(obj.pk), patient_id),
        "id": Sample(str(obj.pk), patient_id),
        "history_id": Sample(str(version.history_id), patient_id),
    }


@pytest.fixture
def demo(db: None) -> Demo:
    load_demo_clinic()
    users = {login.role: User.objects.get(email=login.email) for login in DEMO_STAFF}
    users[Role.PATIENT] = User.objects.get(email=DEMO_PATIENT_LOGIN.email)
    clients = {"anonymous": Client()}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
        if user.email == DEMO_MFA_EMAIL:
            pass_second_factor(clients[role], user)

    # One patient in a course, with its appointments and PHQ-9 scores, for per-patient pages.
    patient = _first(
        Patient.objects.filter(courses__isnull=False, assessments__instrument="phq9").distinct()
    )
    actor = Actor.for_user(users[Role.FRONT_DESK])
    _link, home_link_token = create_home_link(actor, patient, "phq9")
    _feed, feed_token = create_calendar_feed(actor, patient=patient)
    converted = convert_request(
        actor,
        _first(ConsultationRequest.objects.filter(status=RequestStatus.OPEN)).pk,
        given_name="Casey",
        family_name="Converted",
        birth_date=date(1990, 1, 1),
        sex_at_birth="female",
    )
    own_patient = Patient.objects.get(user=users[Role.PATIENT])
    session = _first(DosingSession.objects.select_related("course"))
    vital_alert = _first(VitalAlert.objects.select_related("session__course"))
    day = timezone.localdate(_first(Appointment.objects.filter(patient=patient)).starts_at)
    samples = {
        "patient_id": Sample(patient.pk, patient.pk),
        "instrument": Sample("phq9", None),
        "template_id": Sample(_first(ConsentTemplate.objects).pk, None),
        "assessment_id": _of(_first(Assessment.objects)),
        "alert_id": _of(_first(Alert.objects)),
        "course_id": _of(_first(TreatmentCourse.objects)),
        "appointment_id": _of(_first(Appointment.objects)),
        "session_id": _of(session, session.course.patient_id),
        "vital_alert_id": _of(vital_alert, vital_alert.session.course.patient_id),
        "note_id": _of(_first(IntegrationNote.objects)),
        "entry_id": _of(_first(JournalEntry.objects)),
        "day": Sample(day.isoformat(), ANY_PATIENT),
    }
    patient_user = Sample(str(users[Role.PATIENT].pk), own_patient.pk)
    route_samples = {
        "assessments:home_link": {"token": Sample(home_link_token, patient.pk)},
        "courses:feed": {"token": Sample(feed_token, patient.pk)},
        "admin:patients_patient_": _admin_pages(patient, patient.pk),
        "admin:consultations_consultationrequest_": _admin_pages(
            ConsultationRequest.objects.get(patient=converted), converted.pk
        ),
        "admin:accounts_user_": {"object_id": patient_user, "id": patient_user},
    }
    return Demo(clients, samples, route_samples, {"web:patient_home": own_patient.pk})


def _role(rule: Rule) -> str:
    """Who requests a route: anyone for a public one, else the first role the policy lets in."""
    if isinstance(rule, Public):
        return "anonymous"
    return next(role for role in ROLE_PREFERENCE if role in rule)


def _problem(name: str, status: int, patient_id: int | None, before: int) -> str | None:
    if status >= 500 or status in (401, 403, 404):
        return f"{name}: answered {status}; give the walk data it can show"
    reads = AuditEntry.objects.filter(pk__gt=before, action=Action.READ)
    if patient_id is ANY_PATIENT:
        logged = reads.exclude(patient_id=None).exists()
    else:
        logged = reads.filter(patient_id=patient_id).exists()
    if not logged:
        return f"{name}: answered {status} and logged no read of patient {patient_id}"
    return None


def _last_entry() -> int:
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


# What unnamed URL groups stand for, in order: only simple-history's past-version page has them.
POSITIONAL_PARAMS = ("object_id", "history_id")


def _params(route: HtmlRoute) -> tuple[str, ...]:
    return route.kwarg_names or POSITIONAL_PARAMS[: route.positional_args]


def _url(route: HtmlRoute, samples: dict[str, Sample]) -> str:
    if route.positional_args:
        return reverse(route.view_name, args=[samples[p].value for p in _params(route)])
    return reverse(route.view_name, kwargs={p: samples[p].value for p in route.kwarg_names})


@pytest.mark.django_db
def test_every_page_that_shows_patient_data_logs_the_read(demo: Demo) -> None:
    walked, problems = [], []
    for route in html_routes():
        if read_declaration(route.view_name) is None:
            continue
        walked.append(route.view_name)
        rule = html_rule(route.view_name)
        assert rule is not None, route.view_name  # test_policy names the routes without one
        client = demo.clients[_role(rule)]
        url = _url(route, demo.samples_for(route.view_name))
        before = _last_entry()
        response = client.get(url)
        if response.status_code == 405:  # a POST-only page: the form, empty unless it must not be
            response = client.post(url, POSTED.get(route.view_name, {}))
        patient_id = demo.shown_patient(route.view_name, _params(route))
        problem = _problem(route.view_name, response.status_code, patient_id, before)
        if problem:
            problems.append(problem)
    assert problems == []
    # Guards the walk itself: it reached the reads of every kind of page.
    assert {
        "patients:chart",
        "web:today",
        "web:patient_home",
        "courses:feed",
        "dosing:session",
        "admin:patients_patient_change",
        "admin:patients_patient_simple_history",
        "admin:consultations_consultationrequest_changelist",
        "admin:accounts_user_change",
    } <= set(walked)


@pytest.mark.django_db
def test_every_api_operation_that_returns_patient_data_logs_the_read(demo: Demo) -> None:
    from kapcare.accounts.services import create_api_token

    tokens = {
        role: create_api_token(Actor.system("test"), User.objects.get(email=login.email), "walk")[1]
        for login in DEMO_STAFF
        for role in [login.role]
    }
    walked, problems = [], []
    for operation in api_operations():
        if read_declaration(operation.operation_id) is None:
            continue
        walked.append(operation.operation_id)
        role = _role(API_OPERATIONS[operation.operation_id])
        client = Client(headers={"Authorization": f"Bearer {tokens[role]}"})
        params = tuple(re.findall(r"\{(\w+)\}", operation.path))
        path = operation.path.format(**{name: demo.samples[name].value for name in params})
        before = _last_entry()
        response = client.generic(operation.method, path)
        patient_id = demo.shown_patient(operation.operation_id, params)
        problem = _problem(operation.operation_id, response.status_code, patient_id, before)
        if problem:
            problems.append(problem)
    assert problems == []
    assert {"list_patients", "get_patient", "get_session"} <= set(walked)
