"""Thin HTML views of protocols, treatment courses, scheduling and calendar feeds. The access
policy has already decided who may reach each one; writes go through ``courses.services`` and
reads through ``courses.selectors``, and every page that shows patient data logs the access
(``kapcare.audit.reads``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapcare.accounts.models import User
from kapcare.accounts.policy import role_may_view
from kapcare.accounts.roles import CLINICAL, Role
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.clinical import schedule
from kapcare.clinical import session as session_model
from kapcare.courses import calendar, conf, selectors, services
from kapcare.courses.forms import (
    BookForm,
    BoosterForm,
    CancelForm,
    NoShowForm,
    PlanCourseForm,
    ProtocolForm,
    RescheduleForm,
    ResourceForm,
    describe_protocol,
)
from kapcare.courses.models import Appointment, CalendarFeed, Protocol, Resource, TreatmentCourse
from kapcare.dosing import rules as dosing_rules
from kapcare.errors import Refused
from kapcare.intake.selectors import course_planning_clearance
from kapcare.patients.models import Patient
from kapcare.web.errors import add_form_errors, page_status

# The roles that look after a patient's bookings and may hand out their calendar feed.
BOOKING_ROLES = CLINICAL | {Role.FRONT_DESK}


def _user(request: HttpRequest) -> User:
    # The policy middleware has already refused anonymous users on these pages.
    return cast(User, request.user)


def _patient(patient_id: int) -> Patient:
    return get_object_or_404(Patient, pk=patient_id)


# --- protocols -------------------------------------------------------------------------------


@require_GET
def protocol_list(request: HttpRequest) -> HttpResponse:
    return render(request, "courses/protocol_list.html", {"protocols": selectors.protocols()})


@require_GET
def protocol_detail(request: HttpRequest, protocol_id: int) -> HttpResponse:
    protocol = get_object_or_404(Protocol, pk=protocol_id)
    context = {
        "protocol": protocol,
        **describe_protocol(protocol),
        "history": selectors.protocol_history(protocol),
    }
    return render(request, "courses/protocol_detail.html", context)


def _protocol_form(request: HttpRequest, protocol: Protocol | None) -> HttpResponse:
    form = ProtocolForm(request.POST or None, instance=protocol)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.save_protocol(
                    Actor.from_request(request), form.instance_for_save()
                )
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(request, f"Protocol “{saved.name}” saved.")
                return redirect("courses:protocol", protocol_id=saved.pk)
        else:
            status = 400
    context = {"form": form, "protocol": protocol}
    return render(request, "courses/protocol_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def protocol_create(request: HttpRequest) -> HttpResponse:
    return _protocol_form(request, None)


@require_http_methods(["GET", "POST"])
def protocol_edit(request: HttpRequest, protocol_id: int) -> HttpResponse:
    return _protocol_form(request, get_object_or_404(Protocol, pk=protocol_id))


# --- rooms and chairs ------------------------------------------------------------------------


def _resource_form(request: HttpRequest, resource: Resource | None) -> HttpResponse:
    form = ResourceForm(request.POST or None, instance=resource)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.save_resource(Actor.from_request(request), form.save(commit=False))
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(request, f"{saved.get_kind_display()} “{saved.name}” saved.")
                return redirect("courses:resources")
        else:
            status = 400
    context = {"form": form, "resource": resource, "resources": list(Resource.objects.all())}
    return render(request, "courses/resources.html", context, status=status)


@require_http_methods(["GET", "POST"])
def resources(request: HttpRequest) -> HttpResponse:
    return _resource_form(request, None)


@require_http_methods(["GET", "POST"])
def resource_edit(request: HttpRequest, resource_id: int) -> HttpResponse:
    return _resource_form(request, get_object_or_404(Resource, pk=resource_id))


# --- planning a course -----------------------------------------------------------------------


@reads_patient_data
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Choose a protocol and start date, preview the dates, then confirm. Refused (409, with
    the reason) when the patient is not cleared for a course."""
    patient = _patient(patient_id)
    actor = Actor.from_request(request)
    clearance = course_planning_clearance(patient)
    form = PlanCourseForm(request.POST or None)
    preview: list[schedule.PlannedSession] = []
    status = 200
    if request.method == "POST":
        status = 400
        if not clearance.allowed:
            form.add_error(None, f"Planning refused: {clearance.reason}.")
            status = 409
        elif form.is_valid():
            protocol: Protocol = form.cleaned_data["protocol"]
            start: date = form.cleaned_data["start_date"]
            try:
                if "confirm" in request.POST:
                    course = services.plan_course(actor, patient, protocol, start)
                    messages.success(
                        request,
                        f"Course planned: {course.appointments.count()} appointments booked.",
                    )
                    return redirect("courses:course", course_id=course.pk)
                preview = schedule.plan_course(
                    protocol.schedule_code, start, clinic_days=conf.clinic_days()
                )
                status = 200
            except services.NotEligible as refused:
                form.add_error(None, f"Planning refused: {refused.reason}.")
                status = page_status(refused)
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
    context = {
        "patient": patient,
        "clearance": clearance,
        "form": form,
        "preview": preview,
        "preparation_days_before": conf.preparation_days_before(),
        "integration_days_after": conf.integration_days_after(),
        "courses": selectors.patient_courses(patient.pk),
    }
    return render(request, "courses/plan.html", context, status=status)


def _consent_context(request: HttpRequest, course: TreatmentCourse) -> dict[str, Any]:
    """The treatment consent the course's route needs, as the session checklist judges it
    (one query), and where to sign it when it is missing and the user may take a signature."""
    consent = dosing_rules.consent_facts(course.patient_id, course.route)
    item = session_model.consent_check(course.route, consent)
    sign_url = None
    if (
        not item.ok
        and consent.template_id is not None
        and role_may_view("patients:consent_sign", _user(request).role)
    ):
        sign_url = reverse(
            "patients:consent_sign",
            kwargs={"patient_id": course.patient_id, "template_id": consent.template_id},
        )
    return {"consent": item, "consent_sign_url": sign_url}


def _course_page(
    request: HttpRequest,
    course_id: int,
    *,
    booster_form: BoosterForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        view = selectors.course_view(course_id)
    except TreatmentCourse.DoesNotExist as missing:
        raise Http404("No such course.") from missing
    shown(request, [view.course.patient_id])
    context = {
        **_consent_context(request, view.course),
        "view": view,
        "course": view.course,
        "patient": view.course.patient,
        "booster_form": booster_form or BoosterForm(),
        "may_add_booster": role_may_view("courses:add_booster", _user(request).role),
        "may_reschedule": role_may_view("courses:reschedule", _user(request).role),
        # Integration notes are written once the session has taken place.
        "now": timezone.now(),
    }
    return render(request, "courses/course.html", context, status=status)


@reads_patient_data
@require_GET
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    return _course_page(request, course_id)


@reads_patient_data
@require_POST
def add_booster(request: HttpRequest, course_id: int) -> HttpResponse:
    treatment = get_object_or_404(TreatmentCourse, pk=course_id)
    form = BoosterForm(request.POST)
    if not form.is_valid():
        return _course_page(request, course_id, booster_form=form, status=400)
    try:
        appointment = services.add_booster(
            Actor.from_request(request), treatment, form.cleaned_data["day"]
        )
    except Refused as error:
        add_form_errors(form, error)
        return _course_page(request, course_id, booster_form=form, status=page_status(error))
    when = timezone.localtime(appointment.starts_at)
    messages.success(
        request, f"Maintenance booster {appointment.number} booked for {when:%Y-%m-%d %H:%M}."
    )
    return redirect("courses:course", course_id=course_id)


# --- appointments ----------------------------------------------------------------------------


def _appointment(appointment_id: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related("patient", "resource", "course").prefetch_related(
            "staff"
        ),
        pk=appointment_id,
    )


@reads_patient_data
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment(appointment_id)
    actor = Actor.from_request(request)
    status = 200
    if request.method == "POST":
        form = RescheduleForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.reschedule(
                    actor,
                    appointment,
                    starts_at=data["starts_at"],
                    resource=data["resource"],
                    staff=list(data["staff"]),
                    reason=data["reason"],
                )
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                when = timezone.localtime(appointment.starts_at)
                messages.success(request, f"Appointment moved to {when:%Y-%m-%d %H:%M}.")
                return redirect("courses:reschedule", appointment_id=appointment.pk)
            # Nothing was saved: show the appointment as it still is.
            appointment = _appointment(appointment_id)
    else:
        form = RescheduleForm(
            initial={
                "starts_at": timezone.localtime(appointment.starts_at),
                "resource": appointment.resource,
                "staff": list(appointment.staff.all()),
            }
        )
    shown(request, [appointment.patient_id])
    context = {
        "appointment": appointment,
        "patient": appointment.patient,
        "form": form,
        "history": selectors.appointment_history(appointment),
        "day": timezone.localdate(appointment.starts_at),
    }
    return render(request, "courses/reschedule.html", context, status=status)


@reads_patient_data
@require_GET
def patient_appointments(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _patient_appointments(request, _patient(patient_id))


def _patient_appointments(
    request: HttpRequest,
    patient: Patient,
    *,
    new_feed_url: str = "",
    book_form: BookForm | None = None,
    status: int = 200,
) -> HttpResponse:
    found = selectors.patient_appointments(patient.pk)
    role = _user(request).role
    context = {
        "patient": patient,
        "appointments": found,
        "new_feed_url": new_feed_url,
        "clinical": role in CLINICAL,
        "may_book": role_may_view("courses:appointment_book", role),
        "may_reschedule": role_may_view("courses:reschedule", role),
        # Arrival is marked on the appointment's day (services._check_move): offered then only.
        "today": timezone.localdate().isoformat(),
        # One rule for the four moves (the policy gives them the same roles).
        "may_move": role_may_view("courses:appointment_arrive", role),
        "book_form": book_form or BookForm(),
        "cancel_form": CancelForm(),
        "no_show_form": NoShowForm(),
    }
    return render(request, "courses/patient_appointments.html", context, status=status)


@reads_patient_data
@require_POST
def appointment_book(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Book an appointment from the patient's appointments page; a refusal shows the form
    again with what was entered and the error on its field."""
    patient = _patient(patient_id)
    form = BookForm(request.POST)
    if not form.is_valid():
        return _patient_appointments(request, patient, book_form=form, status=400)
    data = form.cleaned_data
    try:
        appointment = services.book_appointment(
            Actor.from_request(request),
            patient,
            kind=data["kind"],
            starts_at=data["starts_at"],
            minutes=data["minutes"],
            resource=data["resource"],
            staff=list(data["staff"]),
        )
    except Refused as error:
        add_form_errors(form, error)
        return _patient_appointments(request, patient, book_form=form, status=page_status(error))
    when = timezone.localtime(appointment.starts_at)
    messages.success(request, f"{appointment.get_kind_display()} booked for {when:%Y-%m-%d %H:%M}.")
    return redirect("courses:patient_appointments", patient_id=patient.pk)


def _form_messages(form: forms.Form) -> list[str]:
    """A form's errors as sentences that name each field by its label."""
    return [
        f"{form.fields[name].label}: {error}" if name in form.fields else str(error)
        for name, errors in form.errors.items()
        for error in errors
    ]


# move -> (form of the move's inputs, or None, the service, what the page says when done).
MOVES: dict[str, tuple[type[forms.Form] | None, Callable[..., Appointment], str]] = {
    "arrive": (None, services.mark_arrived, "marked as arrived"),
    "no_show": (NoShowForm, services.mark_no_show, "marked as did not attend"),
    "cancel": (CancelForm, services.cancel_appointment, "cancelled"),
    "done": (None, services.mark_done, "marked as done"),
}


@require_POST
def appointment_move(request: HttpRequest, appointment_id: int, move: str) -> HttpResponse:
    """Arrival, did not attend, cancel or done, from the appointments page. It answers with a
    redirect back to that page either way: a refusal is its message there, naming the field
    or the rule (the page's own read is logged there)."""
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    form_class, move_status, done = MOVES[move]
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        for message in _form_messages(form):
            messages.error(request, message)
    else:
        inputs = form.cleaned_data if form is not None else {}
        try:
            moved = move_status(Actor.from_request(request), appointment, **inputs)
        except Refused as error:
            if form is not None:
                add_form_errors(form, error)
                refusals = _form_messages(form)
            else:
                refusals = [error.message]
            for message in refusals:
                messages.error(request, message)
        else:
            when = timezone.localtime(moved.starts_at)
            messages.success(
                request, f"{moved.get_kind_display()} on {when:%Y-%m-%d %H:%M} {done}."
            )
    return redirect("courses:patient_appointments", patient_id=appointment.patient_id)


# --- the day view ----------------------------------------------------------------------------


def day_context(request: HttpRequest, day: date) -> dict[str, Any]:
    """The day view for the signed-in user, its patients handed over to the access log (the
    "today" page uses it too)."""
    view = selectors.day_view(_user(request), day)
    shown(request, view.patient_ids)
    return {
        "day_view": view,
        "may_reschedule": role_may_view("courses:reschedule", _user(request).role),
    }


@reads_patient_data
@require_GET
def day(request: HttpRequest, day: str) -> HttpResponse:
    picked = request.GET.get("day")
    if picked:
        # The date picker submits ?day=; the canonical address has the day in its path.
        return redirect("courses:day", day=picked.strip()[:10])
    try:
        shown = date.fromisoformat(day)
    except ValueError:
        context = {"error": f"day: “{day}” is not a date; use YYYY-MM-DD."}
        return render(request, "courses/day.html", context, status=400)
    return render(request, "courses/day.html", day_context(request, shown))


# --- calendar feeds --------------------------------------------------------------------------


def _feed_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("courses:feed", kwargs={"token": token}))


def _my_calendar(
    request: HttpRequest, *, new_feed_url: str = "", status: int = 200
) -> HttpResponse:
    context = {"feeds": selectors.user_feeds(_user(request)), "new_feed_url": new_feed_url}
    return render(request, "courses/my_calendar.html", context, status=status)


@require_GET
def my_calendar(request: HttpRequest) -> HttpResponse:
    return _my_calendar(request)


@require_POST
def my_feed_create(request: HttpRequest) -> HttpResponse:
    _feed, token = services.create_calendar_feed(Actor.from_request(request), user=_user(request))
    # Rendered, not redirected: the secret address is shown this once (only its hash is kept).
    return _my_calendar(request, new_feed_url=_feed_url(request, token), status=201)


@reads_patient_data
@require_POST
def patient_feed_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(patient_id)
    _feed, token = services.create_calendar_feed(Actor.from_request(request), patient=patient)
    return _patient_appointments(
        request, patient, new_feed_url=_feed_url(request, token), status=201
    )


@require_POST
def feed_revoke(request: HttpRequest, feed_id: int) -> HttpResponse:
    """Revoke one's own feed, or (front desk and clinical roles) a patient's."""
    user = _user(request)
    feed = CalendarFeed.objects.filter(pk=feed_id).first()
    mine = feed is not None and feed.user_id == user.pk
    patients = feed is not None and feed.patient_id is not None and user.role in BOOKING_ROLES
    if feed is None or not (mine or patients):
        raise Http404("No such calendar feed of yours.")
    services.revoke_calendar_feed(Actor.from_request(request), feed)
    messages.success(request, "Calendar feed revoked: its address no longer works.")
    if feed.patient_id:
        return redirect("courses:patient_appointments", patient_id=feed.patient_id)
    return redirect("courses:my_calendar")


@never_cache
@reads_patient_data
@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The public .ics address: the secret token is the credential."""
    found = selectors.active_feed(services.token_sha256(token))
    if found is None:
        raise Http404("No such calendar.")
    appointments = selectors.feed_appointments(found)
    for_staff = found.user_id is not None
    body = calendar.build_calendar(
        appointments,
        name="kapcare: my appointments" if for_staff else "Clinic appointments",
        for_staff=for_staff,
        now=timezone.now(),
    )
    # No person signs in here: the feed is the actor, with the caller's address.
    caller = Actor.from_request(request)
    actor = dataclasses.replace(
        Actor.system(f"calendar feed {found.pk}"),
        client_address=caller.client_address,
        request_id=caller.request_id,
    )
    shown(request, selectors.ids_of(appointments), actor=actor)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    return response
