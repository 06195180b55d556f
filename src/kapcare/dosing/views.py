"""Thin HTML views of the dosing session: one page, tablet-first, and one small form per step,
each posting to its own URL. The access policy has already let only clinical roles in; the
services enforce the rest (only a prescriber signs an order or overrides, the state machine,
the signed records).

A refused write renders the page again with the error naming the field and the entered values
kept (4xx: 400 bad input, 403 not this role, 409 not now or a signed record); nothing is stored.
The vitals row and the alert acknowledgements post through HTMX and get back only the live
vitals panel (and the next-step panel, out of band).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor, record_access
from kapcare.dosing import charts, clock, conf, selectors, services, workflow
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
    TransitionForm,
    VitalsForm,
    errors_of,
)
from kapcare.dosing.models import (
    DosingSession,
    ImmutableError,
    ScoreScale,
    State,
    VitalAlert,
    VitalReading,
)
from kapcare.dosing.rems import build_rems_pdf
from kapcare.web.sections import is_htmx

# What the services raise for a write that may not happen; each becomes a clear 4xx.
REFUSALS = (ValueError, services.TransitionRefused, services.NotAllowed, ImmutableError)

# The states the bar shows, in order (a cancelled session is shown apart).
STATE_BAR = [s for s in State if s != State.CANCELLED]
# The button that takes each forward step. Two steps have no button of their own: signing the
# order moves to "dose ordered", and signing the note to "note signed".
STEP_BUTTONS = {
    State.CHECKED_IN: "Check in",
    State.CHECKLIST_PASSED: "Pass the checklist",
    State.DOSING: "Start dosing",
    State.RECOVERY: "Start recovery",
    State.DISCHARGED: "Discharge",
}
STEP_ELSEWHERE = {
    State.DOSE_ORDERED: "A prescriber signs the dose order below; signing moves the session on.",
    State.NOTE_SIGNED: "Sign the session note below; signing completes the record.",
}
CENTERING_STATES = (State.CHECKED_IN, State.CHECKLIST_PASSED, State.DOSE_ORDERED)
ORDER_STATES = (State.CHECKLIST_PASSED, State.DOSE_ORDERED)
ADMINISTRATION_STATES = (State.DOSE_ORDERED, State.DOSING)


def _user(request: HttpRequest) -> User:
    # The policy middleware has already refused anonymous users on these pages.
    return cast(User, request.user)


def _is_prescriber(request: HttpRequest) -> bool:
    return _user(request).role == Role.PRESCRIBER


def _session(session_id: int) -> DosingSession:
    try:
        return selectors.get_session(session_id)
    except DosingSession.DoesNotExist:
        raise Http404("No such dosing session.") from None


def _status_of(error: Exception) -> int:
    if isinstance(error, services.NotAllowed):
        return 403
    if isinstance(error, services.TransitionRefused | ImmutableError):
        return 409
    return 400


def _message_of(error: Exception) -> str:
    if isinstance(error, services.BatchError):
        # The page sends one reading at a time: name the field as the form shows it.
        return f"{error.field}: {error.message}"
    return str(error)


def _session_url(session: DosingSession, anchor: str = "") -> str:
    url = reverse("dosing:session", args=[session.pk])
    return f"{url}#{anchor}" if anchor else url


def _now() -> datetime:
    return clock.now()


# --- what the page shows ---------------------------------------------------------------------


def _order_form(
    session: DosingSession, data: Any = None, *, initial: dict[str, Any] | None = None
) -> OrderForm:
    protocol = session.protocol
    if initial is None:
        initial = (
            {"mg_per_kg": protocol.get("default_mg_per_kg")}
            if protocol["dose_mode"] == "mg_per_kg"
            else {"dose_mg": protocol.get("default_dose_mg")}
        )
    return OrderForm(
        data,
        initial=initial,
        dose_mode=str(protocol["dose_mode"]),
        preview_url=reverse("dosing:order_preview", args=[session.pk]),
    )


def _score_forms(bound: dict[str, forms.Form]) -> dict[str, forms.Form]:
    dissociation = conf.dissociation_scale()
    return {
        "dissociation": bound.get("dissociation")
        or ScoreForm(initial={"scale": dissociation}, auto_id="dis_%s"),
        "sedation": bound.get("sedation")
        or ScoreForm(initial={"scale": ScoreScale.MOAAS}, auto_id="sed_%s"),
    }


def _vitals_context(
    session: DosingSession,
    *,
    form: VitalsForm | None = None,
    ack_form: tuple[int, AcknowledgeForm] | None = None,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    """The live vitals panel: the entry row, the alerts, the reminder, the table and the chart.
    Built from one timeline read (two queries however many readings)."""
    timeline = selectors.vitals_timeline(session)
    alerts: list[tuple[VitalAlert, VitalReading]] = [
        (alert, reading) for reading in timeline for alert in reading.alerts.all()
    ]
    # Open critical alerts first (they block the next step), then the newest.
    alerts.sort(
        key=lambda pair: (
            not (pair[0].level == "critical" and pair[0].acknowledged_at is None),
            -pair[1].taken_at.timestamp(),
            -(pair[0].pk or 0),
        )
    )
    ack_forms = {
        alert.pk: AcknowledgeForm(auto_id=f"ack{alert.pk}_%s")
        for alert, _ in alerts
        if alert.level == "critical" and alert.acknowledged_at is None
    }
    # A refusal shows where it happened: in the row form, or in the alert being acknowledged.
    ack_errors: dict[int, list[str]] = {}
    if ack_form is not None and ack_form[0] in ack_forms:
        ack_forms[ack_form[0]] = ack_form[1]
        ack_errors[ack_form[0]] = errors or []
    administration = getattr(session, "administration", None)
    limits = workflow.thresholds(session)
    return {
        "session": session,
        "vitals_form": form or VitalsForm(),
        "vitals_errors": (errors or []) if ack_form is None else [],
        "can_record_vitals": session.state in workflow.MONITORED,
        "readings_newest_first": list(reversed(timeline)),
        "vital_alerts": [
            {
                "alert": alert,
                "reading": reading,
                "form": ack_forms.get(alert.pk),
                "errors": ack_errors.get(alert.pk, []),
            }
            for alert, reading in alerts
        ],
        "vitals_chart_svg": charts.vitals_svg(
            timeline,
            dosing_started_at=administration.started_at if administration else None,
            dosing_stopped_at=administration.stopped_at if administration else None,
            critical_systolic_mmhg=limits.critical_systolic_at_or_above,
            critical_diastolic_mmhg=limits.critical_diastolic_at_or_above,
        ),
        "reminder": selectors.vitals_reminder(session),
    }


def _next_step_context(request: HttpRequest, session: DosingSession) -> dict[str, Any]:
    state = State(session.state)
    step = workflow.FORWARD.get(state)
    unmet = workflow.unmet(session, step) if step else []
    blocking = [r for r in unmet if not r.overridable]
    overridable = [r for r in unmet if r.overridable]
    prescriber = _is_prescriber(request)
    return {
        "next_state": State(step) if step else None,
        "next_button": STEP_BUTTONS.get(State(step)) if step else None,
        "next_elsewhere": STEP_ELSEWHERE.get(State(step), "") if step else "",
        "unmet": unmet,
        "blocking": blocking,
        "overridable": overridable,
        # The button shows when the step can go: nothing blocks it, and anything overridable
        # has a prescriber to override it (with the reason the form asks for).
        "can_step": bool(step in STEP_BUTTONS and not blocking and (not overridable or prescriber)),
        "cancellable": state in workflow.CANCELLABLE,
        "is_prescriber": prescriber,
    }


def _page_context(
    request: HttpRequest, session: DosingSession, bound: dict[str, forms.Form]
) -> dict[str, Any]:
    state = State(session.state)
    protocol = session.protocol
    prescriber = _is_prescriber(request)
    checklist = getattr(session, "checklist", None)
    administration = getattr(session, "administration", None)
    note = getattr(session, "note", None)
    now = _now()

    orders = list(session.orders.select_related("signed_by").order_by("signed_at", "id"))
    current = next((o for o in reversed(orders) if o.superseded_by_id is None), None)
    # The planned order (not yet signed): what the prescriber is about to sign.
    plan, plan_error = None, ""
    if state in ORDER_STATES:
        try:
            plan = services.plan_order(session)
        except ValueError as error:
            plan_error = str(error)
    observe_min = int(protocol["min_observation_min"])
    if current is not None:
        pk_svg = charts.order_curve_svg(
            route=current.route, dose_mg=float(current.dose_mg),
            weight_kg=float(current.weight_kg) if current.weight_kg is not None else None,
            duration_min=current.duration_min, min_observation_min=observe_min,
        )  # fmt: skip
    elif plan is not None:
        pk_svg = charts.order_curve_svg(
            route=plan.route, dose_mg=plan.dose_mg,
            weight_kg=float(plan.weight_kg) if plan.weight_kg is not None else None,
            duration_min=plan.duration_min, min_observation_min=observe_min,
        )  # fmt: skip
    else:
        pk_svg = ""

    devices = list(administration.devices.all()) if administration else []
    device_slots = []
    if session.route == "esketamine" and current is not None:
        for number in range(1, (current.devices or 0) + 1):
            used = next((d for d in devices if d.number == number), None)
            device_slots.append(
                {
                    "number": number,
                    "used": used,
                    "next": used is None and number == len(devices) + 1,
                }
            )

    if checklist is not None:
        checklist_initial = {name: getattr(checklist, name) for name in services.CHECKLIST_FIELDS}
    else:
        checklist_initial = {}
    administration_initial = (
        {
            "lot_number": administration.lot_number, "vial_id": administration.vial_id,
            "started_at": administration.started_at, "stopped_at": administration.stopped_at,
        }
        if administration
        else {}
    )  # fmt: skip
    inputs = session.discharge_inputs or {}
    form_set: dict[str, forms.Form] = {
        "checklist": ChecklistForm(initial=checklist_initial),
        "centering": CenteringForm(
            initial={
                "centering_kind": session.centering_kind or "breathing",
                "centering_minutes": session.centering_minutes,
            }
        ),
        "order": _order_form(session),
        "administration": AdministrationForm(initial=administration_initial),
        "side_effect": SideEffectForm(),
        "intervention": InterventionForm(auto_id="int_%s"),
        "discharge": DischargeForm(
            initial={"escort_name": session.escort_name or _driver(checklist), **inputs}
        ),
        "reflection": ReflectionForm(initial={"reflection": session.reflection}),
        "note": NoteForm(initial={"text": note.text if note else ""}),
        "amendment": AmendmentForm(auto_id="amend_%s"),
    }
    form_set.update(_score_forms(bound))
    form_set.update({k: v for k, v in bound.items() if k in form_set})

    rems = session.route == "esketamine" and bool(protocol.get("rems_required"))
    context: dict[str, Any] = {
        "session": session,
        "patient": session.patient,
        "appointment": session.appointment,
        "protocol": protocol,
        "state_bar": [
            {
                "value": s.value,
                "label": s.label,
                "status": "current"
                if s == state
                else ("done" if STATE_BAR.index(s) < _bar_index(state) else "todo"),
            }
            for s in STATE_BAR
        ],
        "cancelled": state == State.CANCELLED,
        "cancel_transition": (
            session.transitions.filter(to_state=State.CANCELLED).select_related("by").first()
            if state == State.CANCELLED
            else None
        ),
        "forms": form_set,
        "is_prescriber": prescriber,
        # Which sections are open for entry in this state (the services check again).
        "can": {
            "checklist": state == State.CHECKED_IN,
            "centering": state in CENTERING_STATES,
            "order": prescriber and state in ORDER_STATES,
            "administration": state in ADMINISTRATION_STATES,
            "device": session.route == "esketamine" and state == State.DOSING,
            "observe": state in services.ACTIVE,
            "discharge": state == State.RECOVERY,
            "reflection": state in (State.RECOVERY, State.DISCHARGED),
            "note": (note is None or note.signed_at is None)
            and state in (State.RECOVERY, State.DISCHARGED),
            "sign_note": state == State.DISCHARGED and (note is None or note.signed_at is None),
            "amend": note is not None and note.signed_at is not None,
        },
        "show": {
            "checklist": state != State.SCHEDULED
            and (checklist is not None or state == State.CHECKED_IN),
            "order": state in ORDER_STATES or bool(orders),
            "administration": state in ADMINISTRATION_STATES or administration is not None,
            "vitals": state != State.SCHEDULED,
            "discharge": state == State.RECOVERY or bool(inputs),
            "note": note is not None or state in (State.RECOVERY, State.DISCHARGED),
        },
        "checklist": checklist,
        "checklist_items": workflow.checklist_items(session)
        if checklist is not None or state == State.CHECKED_IN
        else [],
        "cssrs_url": reverse(
            "assessments:record",
            kwargs={"patient_id": session.patient_id, "instrument": "cssrs_screen"},
        ),
        "orders": orders,
        "current_order": current,
        "plan": plan,
        "plan_error": plan_error,
        "pk_svg": pk_svg,
        "administration": administration,
        "device_slots": device_slots,
        "side_effects": list(session.side_effects.all()),
        "interventions": list(session.interventions.all()),
        "scores": list(session.scores.all()),
        "dissociation_scale": conf.dissociation_scale(),
        "discharge_inputs": inputs,
        "minutes_observed": selectors.minutes_observed(session, now),
        "min_observation_min": observe_min,
        "note": note,
        "amendments": list(note.amendments.select_related("author")) if note else [],
        "transitions": list(session.transitions.select_related("by")),
        "rems": rems,
    }
    context.update(_next_step_context(request, session))
    context.update(_vitals_context(session))
    return context


def _bar_index(state: State) -> int:
    return STATE_BAR.index(state) if state in STATE_BAR else -1


def _driver(checklist: Any) -> str:
    # The designated driver named on the checklist is usually the escort: offer the name.
    return str(checklist.driver_name) if checklist is not None else ""


def _render_page(
    request: HttpRequest,
    session: DosingSession,
    *,
    bound: dict[str, forms.Form] | None = None,
    vitals: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _page_context(request, session, bound or {})
    if vitals:
        context.update(vitals)
    record_access(Actor.from_request(request), [session.patient_id], "dosing session page")
    return render(request, "dosing/session.html", context, status=status)


def _done(request: HttpRequest, session: DosingSession, message: str, anchor: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(_session_url(session, anchor))


def _refused(
    request: HttpRequest,
    session: DosingSession,
    problems: Exception | list[str],
    *,
    bound: dict[str, forms.Form] | None = None,
    vitals: dict[str, Any] | None = None,
    status: int | None = None,
) -> HttpResponse:
    """The page again, with the problem on top and the entered values kept; nothing stored."""
    if isinstance(problems, Exception):
        status = status or _status_of(problems)
        problems = [_message_of(problems)]
    for problem in problems:
        messages.error(request, problem)
    # The services re-read the session under a lock; show what is stored now.
    return _render_page(
        request, _session(session.pk), bound=bound, vitals=vitals, status=status or 400
    )


def _write(
    request: HttpRequest,
    session_id: int,
    form: forms.Form,
    section: str,
    write: Callable[[Actor, DosingSession, dict[str, Any]], str],
) -> HttpResponse:
    """Validate ``form``, call the service through ``write`` (which returns the success
    message), and go back to the section; or show the page with the problem."""
    session = _session(session_id)
    if not form.is_valid():
        return _refused(request, session, errors_of(form), bound={section: form}, status=400)
    try:
        message = write(Actor.from_request(request), session, form.cleaned_data)
    except REFUSALS as error:
        return _refused(request, session, error, bound={section: form})
    return _done(request, session, message, section.replace("_", "-"))


# --- the page --------------------------------------------------------------------------------


@require_GET
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    return _render_page(request, _session(session_id))


@require_POST
def transition(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        done = services.transition(actor, session, data["to"], reason=data["reason"] or "")
        if done.state == State.CANCELLED:
            return "Session cancelled."
        return f"The session is now: {State(done.state).label.lower()}."

    return _write(request, session_id, TransitionForm(request.POST), "next_step", write)


@require_POST
def checklist(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        services.save_checklist(actor, session, **data)
        return "Checklist saved."

    return _write(request, session_id, ChecklistForm(request.POST), "checklist", write)


@require_POST
def centering(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        services.save_centering(
            actor, session, kind=data["centering_kind"], minutes=data["centering_minutes"]
        )
        return "Centering saved."

    return _write(request, session_id, CenteringForm(request.POST), "centering", write)


@require_GET
def order_preview(request: HttpRequest, session_id: int) -> HttpResponse:
    """The order the prescriber is about to sign, computed as they type (HTMX fragment)."""
    session = _session(session_id)
    form = _order_form(session, request.GET)
    plan, error, status = None, "", 200
    if not form.is_valid():
        error, status = "; ".join(errors_of(form)), 400
    else:
        try:
            plan = services.plan_order(session, **form.amount())
        except ValueError as problem:
            error, status = str(problem), 400
    record_access(Actor.from_request(request), [session.patient_id], "dose order preview")
    return render(
        request,
        "dosing/_order_preview.html",
        {"plan": plan, "plan_error": error, "session": session},
        status=status,
    )


@require_POST
def order_sign(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session(session_id)
    form = _order_form(session, request.POST)

    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        order = services.sign_order(
            actor, session, **form.amount(), deviation_reason=data["deviation_reason"] or ""
        )
        rate = f" at {order.rate_ml_per_h} mL/h" if order.rate_ml_per_h is not None else ""
        return f"Dose order signed: {order.dose_mg} mg{rate}."

    return _write(request, session_id, form, "order", write)


@require_POST
def administration(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        services.record_administration(
            actor, session, lot_number=data["lot_number"], vial_id=data["vial_id"],
            started_at=data["started_at"] or _now(), stopped_at=data["stopped_at"],
        )  # fmt: skip
        return "Administration saved."

    return _write(request, session_id, AdministrationForm(request.POST), "administration", write)


@require_POST
def device(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        used = services.record_device(actor, session, used_at=_now())
        return f"Device {used.number} recorded at {used.used_at:%H:%M}."

    return _write(request, session_id, forms.Form(request.POST), "administration", write)


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
    session = _session(session_id)
    context = _vitals_context(session, form=form, ack_form=ack_form, errors=errors)
    context.update(_next_step_context(request, session))
    context["oob"] = True
    record_access(Actor.from_request(request), [session.patient_id], "dosing session vitals")
    return render(request, "dosing/_vitals_response.html", context, status=status)


@require_POST
def vitals(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session(session_id)
    form = VitalsForm(request.POST)
    problems: list[str] = []
    status = 400
    alerts: list[tuple[int, VitalAlert]] = []
    if not form.is_valid():
        problems = errors_of(form)
    else:
        reading = {"taken_at": form.cleaned_data["taken_at"] or _now(), **form.reading()}
        try:
            alerts = services.record_vitals(Actor.from_request(request), session, [reading]).alerts
        except REFUSALS as error:
            problems, status = [_message_of(error)], _status_of(error)
    if is_htmx(request):
        if problems:
            return _vitals_response(request, session.pk, status=status, form=form, errors=problems)
        return _vitals_response(request, session.pk, status=201)
    if problems:
        return _refused(request, session, problems, vitals={"vitals_form": form}, status=status)
    shown = "; ".join(f"{a.level.upper()}: {a.message}" for _, a in alerts)
    return _done(request, session, "Reading saved." + (f" {shown}" if shown else ""), "vitals")


@require_GET
def vitals_reminder(request: HttpRequest, session_id: int) -> HttpResponse:
    """The overdue-reading reminder, polled every 30 s by the page."""
    session = _session(session_id)
    record_access(Actor.from_request(request), [session.patient_id], "vitals reminder")
    return render(
        request,
        "dosing/_reminder.html",
        {"session": session, "reminder": selectors.vitals_reminder(session)},
    )


@require_POST
def vital_alert_acknowledge(request: HttpRequest, vital_alert_id: int) -> HttpResponse:
    alert = get_object_or_404(VitalAlert.objects.select_related("session"), pk=vital_alert_id)
    session = _session(alert.session_id)
    form = AcknowledgeForm(request.POST, auto_id=f"ack{alert.pk}_%s")
    problems: list[str] = []
    status = 400
    if form.is_valid():
        try:
            services.acknowledge_vital_alert(
                Actor.from_request(request), alert, action_taken=form.cleaned_data["action_taken"]
            )
        except REFUSALS as error:
            problems, status = [_message_of(error)], _status_of(error)
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


# --- during and after the dose ---------------------------------------------------------------


@require_POST
def side_effect(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        services.add_side_effect(
            actor, session, kind=data["kind"], severity=data["severity"],
            noted_at=data["noted_at"] or _now(), note=data["note"] or "",
        )  # fmt: skip
        return "Side effect recorded."

    return _write(request, session_id, SideEffectForm(request.POST), "side_effect", write)


@require_POST
def intervention(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        services.add_intervention(
            actor, session, drug=data["drug"] or "", dose=data["dose"] or "",
            given_at=data["given_at"] or _now(), reason=data["reason"] or "",
        )  # fmt: skip
        return "Intervention recorded."

    form = InterventionForm(request.POST, auto_id="int_%s")
    return _write(request, session_id, form, "intervention", write)


@require_POST
def score(request: HttpRequest, session_id: int) -> HttpResponse:
    scale = request.POST.get("scale", "")
    section = "sedation" if scale == ScoreScale.MOAAS else "dissociation"
    form = ScoreForm(request.POST, auto_id="sed_%s" if section == "sedation" else "dis_%s")

    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        at = data["scored_at"] or _now()
        if data["scale"] == ScoreScale.CADSS6:
            done = services.add_score(
                actor, session, scale=data["scale"], scored_at=at, items=form.items()
            )
        else:
            done = services.add_score(
                actor, session, scale=data["scale"], scored_at=at, value=data["value"]
            )
        return f"{ScoreScale(done.scale).label.split(' (')[0]} recorded: {done.value}."

    return _write(request, session_id, form, section, write)


@require_POST
def discharge(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        unmet = services.assess_discharge(
            actor, session, escort_name=data["escort_name"] or "",
            sedation_moaas=data["sedation_moaas"],
            dissociation_resolved=data["dissociation_resolved"],
            nausea_controlled=data["nausea_controlled"],
            ambulating_steadily=data["ambulating_steadily"],
        )  # fmt: skip
        if not unmet:
            return "Discharge assessment saved: every criterion is met."
        return "Discharge assessment saved; not met yet: " + "; ".join(m for _, m in unmet) + "."

    return _write(request, session_id, DischargeForm(request.POST), "discharge", write)


@require_POST
def reflection(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        services.save_reflection(actor, session, data["reflection"] or "")
        return "Reflection saved."

    return _write(request, session_id, ReflectionForm(request.POST), "reflection", write)


# --- the note --------------------------------------------------------------------------------


@require_POST
def note(request: HttpRequest, session_id: int) -> HttpResponse:
    """Save the draft. A signed note refuses (409): a change is an amendment."""

    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        services.save_note(actor, session, data["text"] or "")
        return "Draft note saved."

    return _write(request, session_id, NoteForm(request.POST), "note", write)


@require_POST
def note_sign(request: HttpRequest, session_id: int) -> HttpResponse:
    """Sign the note as written in the form (saving the draft first when it changed)."""

    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        current = getattr(session, "note", None)
        text = (data["text"] or "").strip()
        if text and (current is None or current.text != text):
            services.save_note(actor, session, text)
        services.sign_note(actor, session)
        return "Note signed; the record is complete. Later changes are amendments."

    return _write(request, session_id, NoteForm(request.POST), "note", write)


@require_POST
def note_amend(request: HttpRequest, session_id: int) -> HttpResponse:
    def write(actor: Actor, session: DosingSession, data: dict[str, Any]) -> str:
        services.amend_note(actor, session, text=data["text"] or "", reason=data["reason"] or "")
        return "Amendment added; the original note stays as signed."

    form = AmendmentForm(request.POST, auto_id="amend_%s")
    return _write(request, session_id, form, "amendment", write)


# --- esketamine REMS -------------------------------------------------------------------------


@require_GET
def rems_pdf(request: HttpRequest, session_id: int) -> HttpResponse:
    """The one-page REMS patient monitoring record of an esketamine session (fpdf2)."""
    session = _session(session_id)
    if session.route != "esketamine" or not session.protocol.get("rems_required"):
        raise Http404("Only esketamine sessions under REMS have a monitoring record.")
    pdf = build_rems_pdf(session)
    record_access(Actor.from_request(request), [session.patient_id], "REMS monitoring record PDF")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="rems-session-{session.pk}.pdf"'
    return response
