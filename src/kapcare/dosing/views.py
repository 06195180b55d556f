"""Thin HTML views of the dosing session: one page, tablet-first, and one small form per step,
each posting to its own URL. The access policy has already let only clinical roles in; the
services enforce the rest (only a prescriber signs an order or overrides, the state machine,
the signed records), and ``kapcare.web.errors`` turns their refusals into 4xx once.

A refused write renders the page again with the error naming the field and the entered values
kept; nothing is stored. The vitals row and the alert acknowledgements post through HTMX and get
back only the live vitals panel (and the next-step panel, out of band).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.dosing import presenter, selectors, services
from kapcare.dosing.forms import (
    AcknowledgeForm,
    AdministrationForm,
    AmendmentForm,
    CenteringForm,
    ChecklistForm,
    DischargeForm,
    InterventionForm,
    NoteForm,
    OrderForm,
    ReflectionForm,
    ScoreForm,
    SideEffectForm,
    StartDosingForm,
    TransitionForm,
    VitalsForm,
    errors_of,
)
from kapcare.dosing.models import DosingSession, ScoreScale, State, VitalAlert
from kapcare.dosing.rems import build_rems_pdf
from kapcare.errors import NotFound, Refused
from kapcare.ledger.witness import by_password
from kapcare.web.errors import add_form_errors, page_messages, page_status
from kapcare.web.sections import is_htmx


def _is_prescriber(request: HttpRequest) -> bool:
    # The policy middleware has already refused anonymous users on these pages.
    return cast(User, request.user).role == Role.PRESCRIBER


def _record(session_id: int) -> selectors.SessionRecord:
    try:
        return selectors.session_record(session_id)
    except NotFound:
        raise Http404("No such dosing session.") from None


def _session(session_id: int) -> DosingSession:
    try:
        return selectors.get_session(session_id)
    except NotFound:
        raise Http404("No such dosing session.") from None


def _session_url(session: DosingSession, anchor: str = "") -> str:
    url = reverse("dosing:session", args=[session.pk])
    return f"{url}#{anchor}" if anchor else url


def _render_page(
    request: HttpRequest,
    session_id: int,
    *,
    bound: dict[str, forms.Form] | None = None,
    vitals: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    record = _record(session_id)
    context = presenter.page_context(record, bound or {}, prescriber=_is_prescriber(request))
    if vitals:
        context.update(vitals)
    shown(request, [record.session.patient_id])
    return render(request, "dosing/session.html", context, status=status)


def _done(request: HttpRequest, session: DosingSession, message: str, anchor: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(_session_url(session, anchor))


def _refused(
    request: HttpRequest,
    session: DosingSession,
    problems: Refused | list[str],
    *,
    bound: dict[str, forms.Form] | None = None,
    vitals: dict[str, Any] | None = None,
    status: int | None = None,
) -> HttpResponse:
    """The page again, with the problem on top and the entered values kept; nothing stored."""
    if isinstance(problems, Refused):
        status = status or page_status(problems)
        problems = page_messages(problems)
    for problem in problems:
        messages.error(request, problem)
    # The services re-read the session under a lock; show what is stored now.
    return _render_page(request, session.pk, bound=bound, vitals=vitals, status=status or 400)


Write = Callable[[Actor, DosingSession, forms.Form], str]


def _write(
    request: HttpRequest,
    session_id: int,
    form: forms.Form,
    section: str,
    write: Write,
    *,
    anchor: str = "",
) -> HttpResponse:
    """Validate ``form``, call the service through ``write`` (which returns the success
    message), and go back to the section (or ``anchor``); or show the page with the
    problem."""
    session = _session(session_id)
    if not form.is_valid():
        return _refused(request, session, errors_of(form), bound={section: form}, status=400)
    try:
        message = write(Actor.from_request(request), session, form)
    except Refused as error:
        # The refusal beside the field it names, as well as on top.
        add_form_errors(form, error)
        return _refused(request, session, error, bound={section: form})
    return _done(request, session, message, anchor or section.replace("_", "-"))


def _step(
    form_class: type[forms.Form],
    section: str,
    write: Write,
    *,
    auto_id: str = "id_%s",
    anchor: str = "",
) -> Callable[[HttpRequest, int], HttpResponse]:
    """The POST view of one step of the page: its form, its section and its write; ``anchor``
    where the page opens after it (the section's own by default)."""

    @require_POST
    @reads_patient_data  # a refusal shows the page again
    def view(request: HttpRequest, session_id: int) -> HttpResponse:
        form = form_class(request.POST, auto_id=auto_id)
        return _write(request, session_id, form, section, write, anchor=anchor)

    view.__name__ = view.__qualname__ = write.__name__.removeprefix("_write_")
    return view


# --- the page --------------------------------------------------------------------------------


@require_GET
@reads_patient_data
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    return _render_page(request, session_id)


@require_GET
@reads_patient_data
def order_preview(request: HttpRequest, session_id: int) -> HttpResponse:
    """The order the prescriber is about to sign, computed as they type (HTMX fragment)."""
    session = _session(session_id)
    form = presenter.order_form(session, request.GET)
    plan, error, status = None, "", 200
    if not form.is_valid():
        error, status = "; ".join(errors_of(form)), 400
    else:
        try:
            plan = services.plan_order(session, **form.amount())
        except Refused as problem:
            error, status = "; ".join(page_messages(problem)), page_status(problem)
    shown(request, [session.patient_id])
    return render(
        request,
        "dosing/_order_preview.html",
        {"plan": plan, "plan_error": error, "session": session},
        status=status,
    )


# --- vitals (HTMX) ---------------------------------------------------------------------------


def _vitals_response(
    request: HttpRequest,
    session_id: int,
    *,
    status: int,
    form: VitalsForm | None = None,
    ack_form: tuple[int, AcknowledgeForm] | None = None,
    errors: list[str] | None = None,
) -> HttpResponse:
    record = _record(session_id)
    context = presenter.vitals_context(record, form=form, ack_form=ack_form, errors=errors)
    context.update(presenter.next_step_context(record, prescriber=_is_prescriber(request)))
    context.update(presenter.checklist_context(record))
    context["oob"] = True
    shown(request, [record.session.patient_id])
    return render(request, "dosing/_vitals_response.html", context, status=status)


@require_POST
@reads_patient_data
def vitals(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session(session_id)
    form = VitalsForm(request.POST)
    problems: list[str] = []
    status = 400
    alerts: list[tuple[int, VitalAlert]] = []
    if not form.is_valid():
        problems = errors_of(form)
    else:
        reading = {"taken_at": form.cleaned_data["taken_at"] or timezone.now(), **form.reading()}
        try:
            alerts = services.record_vitals(Actor.from_request(request), session, [reading]).alerts
        except Refused as error:
            # The page sends one reading: name the field as the form shows it.
            problems = [m.removeprefix("readings[0].") for m in page_messages(error)]
            status = page_status(error)
    if is_htmx(request):
        if problems:
            return _vitals_response(request, session.pk, status=status, form=form, errors=problems)
        return _vitals_response(request, session.pk, status=201)
    if problems:
        return _refused(request, session, problems, vitals={"vitals_form": form}, status=status)
    shown = "; ".join(f"{a.level.upper()}: {a.message}" for _, a in alerts)
    return _done(request, session, "Reading saved." + (f" {shown}" if shown else ""), "vitals")


@require_GET
@reads_patient_data
def vitals_reminder(request: HttpRequest, session_id: int) -> HttpResponse:
    """The overdue-reading reminder, polled every 30 s by the page."""
    session = _session(session_id)
    shown(request, [session.patient_id])
    return render(
        request,
        "dosing/_reminder.html",
        {
            "session": session,
            "reminder": selectors.vitals_reminder(
                session, timezone.now(), selectors.last_reading_at(session)
            ),
        },
    )


@require_POST
@reads_patient_data
def vital_alert_acknowledge(request: HttpRequest, vital_alert_id: int) -> HttpResponse:
    alert = get_object_or_404(VitalAlert.objects.only("id", "session_id"), pk=vital_alert_id)
    session = _session(alert.session_id)
    form = AcknowledgeForm(request.POST, auto_id=f"ack{alert.pk}_%s")
    problems: list[str] = []
    status = 400
    if form.is_valid():
        try:
            services.acknowledge_vital_alert(
                Actor.from_request(request), alert, action_taken=form.cleaned_data["action_taken"]
            )
        except Refused as error:
            problems, status = page_messages(error), page_status(error)
    else:
        problems = errors_of(form)
    if is_htmx(request):
        if problems:
            return _vitals_response(
                request, session.pk, status=status, ack_form=(alert.pk, form), errors=problems
            )
        return _vitals_response(request, session.pk, status=200)
    if problems:
        return _refused(request, session, problems, status=status)
    return _done(request, session, "Alert acknowledged; the action taken is recorded.", "vitals")


# --- the steps: each a write and its form -----------------------------------------------------


def _write_transition(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    data = form.cleaned_data
    done = services.transition(actor, session, data["to"], reason=data["reason"] or "")
    if done.state == State.CANCELLED:
        return "Session cancelled."
    return f"The session is now: {State(done.state).label.lower()}."


def _write_checklist(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    services.save_checklist(actor, session, **form.cleaned_data)
    return "Checklist saved."


def _write_centering(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    data = form.cleaned_data
    services.save_centering(
        actor, session, kind=data["centering_kind"], minutes=data["centering_minutes"]
    )
    return "Centering saved."


def _write_order(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    amount = cast(OrderForm, form).amount()
    reason = form.cleaned_data["deviation_reason"] or ""
    order = services.sign_order(actor, session, **amount, deviation_reason=reason)
    rate = f" at {order.rate_ml_per_h} mL/h" if order.rate_ml_per_h is not None else ""
    return f"Dose order signed: {order.dose_mg} mg{rate}."


def _write_administration(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    data = form.cleaned_data
    services.record_administration(
        actor, session, started_at=data["started_at"] or timezone.now(),
        stopped_at=data["stopped_at"],
    )  # fmt: skip
    return "Administration saved."


@require_POST
@reads_patient_data  # a refusal shows the page again
def start_dosing(request: HttpRequest, session_id: int) -> HttpResponse:
    """The administration with its draw from the ledger, and dosing started: one post, one
    service call. The waste's witness signs in on the same form (email, password and their
    second-factor code when they have one) as the post is saved."""

    def write(actor: Actor, session: DosingSession, form: forms.Form) -> str:
        data = form.cleaned_data
        witness = (
            by_password(
                request, data["witness_email"], data["witness_password"] or "",
                code=data["witness_code"] or "", field="witness_email",
            )
            if data["witness_email"]
            else None
        )  # fmt: skip
        draw = services.Draw(
            data["container_id"], drawn_ml=data["drawn_ml"], given_ml=data["given_ml"],
            wasted_ml=data["wasted_ml"], waste_manner=data["waste_manner"] or "",
            witness=witness,
        )  # fmt: skip
        services.start_dosing(
            actor, session, draw=draw, started_at=data["started_at"] or timezone.now(),
            reason=data["reason"] or "",
        )  # fmt: skip
        return "Administration saved; the session is now: dosing."

    form = StartDosingForm(request.POST)
    return _write(request, session_id, form, "administration", write, anchor="live")


def _write_stop(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    done = services.record_stop(actor, session)
    return f"Administration stopped at {timezone.localtime(done.stopped_at):%H:%M}."


def _write_device(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    used = services.record_device(actor, session)
    return f"Device {used.number} recorded at {timezone.localtime(used.used_at):%H:%M}."


def _write_side_effect(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    data = form.cleaned_data
    services.add_side_effect(
        actor, session, kind=data["kind"], severity=data["severity"],
        noted_at=data["noted_at"], note=data["note"] or "",
    )  # fmt: skip
    return "Side effect recorded."


def _write_intervention(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    data = form.cleaned_data
    services.add_intervention(
        actor, session, drug=data["drug"] or "", dose=data["dose"] or "",
        given_at=data["given_at"], reason=data["reason"] or "",
    )  # fmt: skip
    return "Intervention recorded."


def _write_score(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    data = form.cleaned_data
    items = cast(ScoreForm, form).items() if data["scale"] == ScoreScale.CADSS6 else ()
    done = services.add_score(
        actor, session, scale=data["scale"], scored_at=data["scored_at"],
        value=None if items else data["value"], items=items,
    )  # fmt: skip
    return f"{ScoreScale(done.scale).label.split(' (')[0]} recorded: {done.value}."


def _write_discharge(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    data = form.cleaned_data
    unmet = services.assess_discharge(
        actor, session, escort_name=data["escort_name"] or "",
        sedation_moaas=data["sedation_moaas"], dissociation_resolved=data["dissociation_resolved"],
        nausea_controlled=data["nausea_controlled"],
        ambulating_steadily=data["ambulating_steadily"],
    )  # fmt: skip
    if not unmet:
        return "Discharge assessment saved: every criterion is met."
    return "Discharge assessment saved; not met yet: " + "; ".join(r.message for r in unmet) + "."


def _write_reflection(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    services.save_reflection(actor, session, form.cleaned_data["reflection"] or "")
    return "Reflection saved."


def _write_note(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    """Save the draft. A signed note refuses (409): a change is an amendment."""
    services.save_note(actor, session, form.cleaned_data["text"] or "")
    return "Draft note saved."


def _write_note_sign(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    """Sign the note as written in the form (saved as the draft first when it changed)."""
    services.sign_note(actor, session, final_text=form.cleaned_data["text"] or "")
    return "Note signed; the record is complete. Later changes are amendments."


def _write_amendment(actor: Actor, session: DosingSession, form: forms.Form) -> str:
    data = form.cleaned_data
    services.amend_note(actor, session, text_added=data["text"] or "", reason=data["reason"] or "")
    return "Amendment added; the original note stays as signed."


transition = _step(TransitionForm, "next_step", _write_transition)
checklist = _step(ChecklistForm, "checklist", _write_checklist)
centering = _step(CenteringForm, "centering", _write_centering)
administration = _step(AdministrationForm, "administration", _write_administration)
# Once dosing runs, the page opens on its live panel: the vitals entry and the dose's controls.
stop_dosing = _step(forms.Form, "administration", _write_stop, anchor="live")
device = _step(forms.Form, "administration", _write_device, anchor="live")
side_effect = _step(SideEffectForm, "side_effect", _write_side_effect)
intervention = _step(InterventionForm, "intervention", _write_intervention, auto_id="int_%s")
discharge = _step(DischargeForm, "discharge", _write_discharge)
reflection = _step(ReflectionForm, "reflection", _write_reflection)
note = _step(NoteForm, "note", _write_note)
note_sign = _step(NoteForm, "note", _write_note_sign)
note_amend = _step(AmendmentForm, "amendment", _write_amendment, auto_id="amend_%s")


@require_POST
@reads_patient_data
def order_sign(request: HttpRequest, session_id: int) -> HttpResponse:
    # The order form is built for the session's protocol (mg/kg or mg).
    form = presenter.order_form(_session(session_id), request.POST)
    return _write(request, session_id, form, "order", _write_order)


@require_POST
@reads_patient_data
def score(request: HttpRequest, session_id: int) -> HttpResponse:
    # Dissociation and sedation share the form; each has its own section on the page.
    sedation = request.POST.get("scale", "") == ScoreScale.MOAAS
    form = ScoreForm(request.POST, auto_id="sed_%s" if sedation else "dis_%s")
    return _write(
        request, session_id, form, "sedation" if sedation else "dissociation", _write_score
    )


# --- esketamine REMS -------------------------------------------------------------------------


@require_GET
@reads_patient_data
def rems_pdf(request: HttpRequest, session_id: int) -> HttpResponse:
    """The one-page REMS patient monitoring record of an esketamine session (fpdf2)."""
    session = _session(session_id)
    if session.route != "esketamine" or not session.course.protocol_record.rems_required:
        raise Http404("Only esketamine sessions under REMS have a monitoring record.")
    pdf = build_rems_pdf(session)
    shown(request, [session.patient_id])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="rems-session-{session.pk}.pdf"'
    return response
