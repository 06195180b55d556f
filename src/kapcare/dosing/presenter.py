"""What the session page shows, assembled from the one read model (``selectors.SessionRecord``):
HTML-only context (forms, the state bar, the charts, which sections are open). Which step is
open in which state comes from the session model's one table (``clinical.session.OPEN_IN``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.urls import reverse
from django.utils import timezone

from kapcare.clinical import session as model
from kapcare.clinical.dosing import ESKETAMINE_DEVICE_SPACING_MIN
from kapcare.dosing import charts, conf, rules, selectors, services
from kapcare.dosing import forms as step_forms
from kapcare.dosing.models import DosingSession, ScoreScale, State, VitalAlert, VitalReading
from kapcare.errors import FieldInvalid
from kapcare.ledger import selectors as ledger_selectors

# The states the bar shows, in order (a cancelled session is shown apart).
STATE_BAR: list[State] = [s for s in State if s != State.CANCELLED]
# Two steps have no button of their own: signing the order moves to "dose ordered", and
# signing the note to "note signed".
# While the dose runs and the patient recovers, the vitals entry, the latest readings and any
# open alert sit at the top of the page (``live``).
# The start form's fields for what a vial's draw needs and a whole device does not.
DRAW_FIELDS = (
    "drawn_ml", "given_ml", "wasted_ml", "waste_manner",
    "witness_email", "witness_password", "witness_code",
)  # fmt: skip
LIVE_STATES = frozenset({State.DOSING, State.RECOVERY})
# The latest readings the live panel shows above the fold (the whole table is further down).
LIVE_READINGS = 3
# The page's sections that fold away (details/summary) once their step is behind the session:
# every state in which the step is open comes before the session's state.
FOLDING_STEPS = {
    "checklist": model.Step.CHECKLIST,
    "centering": model.Step.CENTERING,
    "order": model.Step.ORDER,
    "administration": model.Step.ADMINISTRATION,
    "observations": model.Step.OBSERVE,
    "discharge": model.Step.DISCHARGE_ASSESSMENT,
}
STEP_ELSEWHERE = {
    State.DOSE_ORDERED: "A prescriber signs the dose order below; signing moves the session on.",
    State.NOTE_SIGNED: "Sign the session note below; signing completes the record.",
}


def order_form(
    session: DosingSession, data: Any = None, *, initial: dict[str, Any] | None = None
) -> step_forms.OrderForm:
    """The protocol's default dose is offered pre-filled; the prescriber still submits it."""
    protocol = session.course.protocol_record
    return step_forms.OrderForm(
        data,
        initial=initial
        if initial is not None
        else {protocol.amount_field: protocol.default_amount},
        dose_mode=protocol.dose_mode,
        preview_url=reverse("dosing:order_preview", args=[session.pk]),
    )


def _score_forms(bound: dict[str, forms.Form]) -> dict[str, forms.Form]:
    return {
        "dissociation": bound.get("dissociation")
        or step_forms.ScoreForm(initial={"scale": conf.dissociation_scale()}, auto_id="dis_%s"),
        "sedation": bound.get("sedation")
        or step_forms.ScoreForm(initial={"scale": ScoreScale.MOAAS}, auto_id="sed_%s"),
    }


def vitals_context(
    record: selectors.SessionRecord,
    *,
    form: step_forms.VitalsForm | None = None,
    ack_form: tuple[int, step_forms.AcknowledgeForm] | None = None,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    """The live vitals panel: the entry row, the alerts, the reminder, the table and the
    chart, over the record's latest readings."""
    session, timeline = record.session, record.readings
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
        alert.pk: step_forms.AcknowledgeForm(auto_id=f"ack{alert.pk}_%s")
        for alert, _ in alerts
        if alert.level == "critical" and alert.acknowledged_at is None
    }
    # A refusal shows where it happened: in the row form, or in the alert being acknowledged.
    ack_errors: dict[int, list[str]] = {}
    if ack_form is not None and ack_form[0] in ack_forms:
        ack_forms[ack_form[0]] = ack_form[1]
        ack_errors[ack_form[0]] = errors or []
    entries = [
        {
            "alert": alert,
            "reading": reading,
            "form": ack_forms.get(alert.pk),
            "errors": ack_errors.get(alert.pk, []),
        }
        for alert, reading in alerts
    ]
    administration = getattr(session, "administration", None)
    limits = rules.thresholds(session)
    chart: dict[str, Any] = {
        "dosing_started_at": administration.started_at if administration else None,
        "dosing_stopped_at": administration.stopped_at if administration else None,
        "critical_systolic_mmhg": limits.critical_systolic_at_or_above,
        "critical_diastolic_mmhg": limits.critical_diastolic_at_or_above,
    }
    newest_first = list(reversed(timeline))
    return {
        "session": session,
        "live": session.state in LIVE_STATES,
        "vitals_form": form or step_forms.VitalsForm(),
        "vitals_errors": (errors or []) if ack_form is None else [],
        "can_record_vitals": session.state in model.OPEN_IN[model.Step.VITALS],
        "readings_newest_first": newest_first,
        "latest_readings": newest_first[:LIVE_READINGS],
        "readings_total": record.readings_total,
        # Open critical alerts above the entry row (they demand an action and block the next
        # step); the others, newest first, below it.
        "open_alerts": [e for e in entries if e["form"] is not None],
        "other_alerts": [e for e in entries if e["form"] is None],
        # Drawn twice: wide for a tablet, and narrow with larger text for a phone (the page
        # shows the one that fits), so the labels stay legible at 390 px.
        "vitals_chart_svg": charts.vitals_svg(timeline, **chart),
        "vitals_chart_narrow_svg": charts.vitals_svg(timeline, narrow=True, **chart),
        "reminder": record.reminder,
    }


def next_step_context(record: selectors.SessionRecord, *, prescriber: bool) -> dict[str, Any]:
    step, unmet = record.next_state, record.unmet
    blocking = [r for r in unmet if not r.overridable]
    overridable = [r for r in unmet if r.overridable]
    has_button = step is not None and step not in STEP_ELSEWHERE
    return {
        "next_state": State(step) if step else None,
        "next_button": model.MOVE_LABELS[step] if has_button and step else None,
        "next_elsewhere": STEP_ELSEWHERE.get(State(step), "") if step else "",
        "unmet": unmet,
        "blocking": blocking,
        "overridable": overridable,
        # The button shows when the step can go: nothing blocks it, and anything overridable
        # has a prescriber to override it (with the reason the form asks for).
        "can_step": bool(has_button and not blocking and (not overridable or prescriber)),
        "cancellable": State(record.session.state) in model.CANCELLABLE,
        "is_prescriber": prescriber,
    }


def _plan(
    record: selectors.SessionRecord, typed: Mapping[str, Any] | None
) -> tuple[services.OrderPlan | None, str]:
    """The order as it would be computed: from the amount the prescriber typed (a refused
    order shows the dose that matches what was typed), else the protocol's default."""
    if record.session.state not in model.OPEN_IN[model.Step.ORDER]:
        return None, ""
    amount: dict[str, Any] = {}
    if typed is not None:
        # Validated afresh: the refused form's own errors have taken the amount out of it.
        form = order_form(record.session, typed)
        if not form.is_valid():
            return None, ""
        amount = form.amount()
    try:
        return services.plan_order(record.session, **amount), ""
    except FieldInvalid as error:
        return None, error.message


def _pk_svg(record: selectors.SessionRecord, plan: services.OrderPlan | None) -> str:
    current, observe_min = record.current_order, record.protocol.min_observation_min
    source: Any = current or plan
    if source is None:
        return ""
    weight = source.weight_kg
    return charts.order_curve_svg(
        route=source.route,
        dose_mg=float(source.dose_mg),
        weight_kg=float(weight) if weight is not None else None,
        duration_min=source.duration_min,
        min_observation_min=observe_min,
    )


def _device_slots(record: selectors.SessionRecord) -> list[dict[str, Any]]:
    current = record.current_order
    if record.session.route != "esketamine" or current is None:
        return []
    used = {d.number: d for d in record.devices}
    return [
        {"number": n, "used": used.get(n), "next": n not in used and n == len(used) + 1}
        for n in range(1, (current.devices or 0) + 1)
    ]


def _device_wait(record: selectors.SessionRecord) -> dict[str, Any] | None:
    """When the next esketamine device may be given (the label's spacing after the last one),
    while that is still to come; the page counts down to it."""
    current, devices = record.current_order, record.devices
    if record.session.state != State.DOSING or current is None or not devices:
        return None
    if len(devices) >= (current.devices or 0):
        return None
    ready_at = devices[-1].used_at + timedelta(minutes=ESKETAMINE_DEVICE_SPACING_MIN)
    if ready_at <= record.now:
        return None
    return {"number": len(devices) + 1, "ready_at": ready_at, "now": record.now}


def _folded(state: State) -> dict[str, bool]:
    """Which sections fold away: those whose step is behind the session (all, once cancelled)."""
    if state not in STATE_BAR:
        return dict.fromkeys(FOLDING_STEPS, True)
    at = STATE_BAR.index(state)
    return {
        name: at > max(STATE_BAR.index(State(s)) for s in model.OPEN_IN[step])
        for name, step in FOLDING_STEPS.items()
    }


def checklist_context(record: selectors.SessionRecord) -> dict[str, Any]:
    """The checklist's items as the page shows them (and as a vitals post updates them)."""
    session = record.session
    checklist = getattr(session, "checklist", None)
    shown = checklist is not None or session.state == State.CHECKED_IN
    items = record.checklist_items if shown else ()
    return {
        "show_checklist": session.state != State.SCHEDULED and shown,
        "checklist_items": items,
        "checklist_met": sum(1 for item in items if item.ok),
        # A missing treatment consent is signed on the chart (its "Sign ..." links).
        "consent_url": reverse("patients:chart", kwargs={"patient_id": session.patient_id}),
    }


def _forms(record: selectors.SessionRecord, bound: dict[str, forms.Form]) -> dict[str, forms.Form]:
    session = record.session
    checklist = getattr(session, "checklist", None)
    administration = getattr(session, "administration", None)
    note = getattr(session, "note", None)
    checklist_initial = (
        {name: getattr(checklist, name) for name in services.CHECKLIST_FIELDS} if checklist else {}
    )
    administration_initial = (
        {"started_at": administration.started_at, "stopped_at": administration.stopped_at}
        if administration
        else {}
    )
    # The designated driver named on the checklist is usually the escort: offer the name.
    driver = checklist.driver_name if checklist is not None else ""
    form_set: dict[str, forms.Form] = {
        "checklist": step_forms.ChecklistForm(initial=checklist_initial),
        "centering": step_forms.CenteringForm(
            initial={
                "centering_kind": session.centering_kind or "breathing",
                "centering_minutes": session.centering_minutes,
            }
        ),
        # A new order replaces a signed one: it starts empty, so the current dose is never
        # signed again by a second click on a pre-filled form.
        "order": order_form(session, initial={} if record.current_order else None),
        # Before dosing, the administration is saved and dosing started in one post.
        "administration": step_forms.StartDosingForm(initial=administration_initial)
        if session.state == State.DOSE_ORDERED
        else step_forms.AdministrationForm(initial=administration_initial),
        "side_effect": step_forms.SideEffectForm(),
        "intervention": step_forms.InterventionForm(auto_id="int_%s"),
        "discharge": step_forms.DischargeForm(
            initial={
                "escort_name": session.escort_name or driver,
                **(session.discharge_inputs or {}),
            }
        ),
        "reflection": step_forms.ReflectionForm(initial={"reflection": session.reflection}),
        "note": step_forms.NoteForm(initial={"text": note.text if note else ""}),
        "amendment": step_forms.AmendmentForm(auto_id="amend_%s"),
    }
    form_set.update(_score_forms(bound))
    form_set.update({k: v for k, v in bound.items() if k in form_set})
    start = form_set["administration"]
    if "container_id" in start.fields:
        stock = ledger_selectors.usable_containers(
            session.route, timezone.localdate(), session.appointment.resource_id
        )
        start.fields["container_id"].widget.choices = [
            ("", "Pick the vial or device"),
            *((c.pk, ledger_selectors.container_choice(c)) for c in stock),
        ]
    return form_set


def _open_steps(record: selectors.SessionRecord, prescriber: bool) -> dict[str, bool]:
    """Which sections take entries now, by the session model (the services check again)."""
    facts = model.SessionFacts(
        state=model.State(record.session.state),
        route=record.session.route,
        policy=model.SessionPolicy(min_observation_min=record.protocol.min_observation_min),
        note=rules.note_facts(getattr(record.session, "note", None)),
    )
    is_open = {step: model.step_open(step, facts) for step in model.Step}
    return {
        "checklist": is_open[model.Step.CHECKLIST],
        "centering": is_open[model.Step.CENTERING],
        "order": prescriber and is_open[model.Step.ORDER],
        "administration": is_open[model.Step.ADMINISTRATION],
        "device": is_open[model.Step.DEVICE],
        "observe": is_open[model.Step.OBSERVE],
        "discharge": is_open[model.Step.DISCHARGE_ASSESSMENT],
        "reflection": is_open[model.Step.REFLECTION],
        "note": is_open[model.Step.NOTE],
        "sign_note": is_open[model.Step.SIGN_NOTE],
        "amend": is_open[model.Step.AMEND_NOTE],
    }


def page_context(
    record: selectors.SessionRecord, bound: dict[str, forms.Form], *, prescriber: bool
) -> dict[str, Any]:
    session = record.session
    state = State(session.state)
    checklist = getattr(session, "checklist", None)
    administration = getattr(session, "administration", None)
    note = getattr(session, "note", None)
    inputs = session.discharge_inputs or {}
    typed_order = bound["order"].data if "order" in bound else None
    plan, plan_error = _plan(record, typed_order)
    bar_index = STATE_BAR.index(state) if state in STATE_BAR else -1
    session_url = reverse("dosing:session", args=[session.pk])
    context: dict[str, Any] = {
        "session": session,
        "patient": session.patient,
        "appointment": session.appointment,
        "protocol": record.protocol,
        "state_bar": [
            {
                "value": s.value,
                "label": s.label,
                "status": "current" if s == state else ("done" if i < bar_index else "todo"),
            }
            for i, s in enumerate(STATE_BAR)
        ],
        "cancelled": state == State.CANCELLED,
        "cancel_transition": next(
            (t for t in record.transitions if t.to_state == State.CANCELLED), None
        ),
        "forms": _forms(record, bound),
        "is_prescriber": prescriber,
        "can": _open_steps(record, prescriber),
        "live": state in LIVE_STATES,
        "folded": _folded(state),
        "show": {
            "order": state in model.OPEN_IN[model.Step.ORDER] or bool(record.orders),
            "administration": state in model.OPEN_IN[model.Step.ADMINISTRATION]
            or administration is not None,
            "vitals": state != State.SCHEDULED,
            "discharge": state == State.RECOVERY or bool(inputs),
            "note": note is not None or state in (State.RECOVERY, State.DISCHARGED),
        },
        "checklist": checklist,
        # Today's C-SSRS on the assessments form, which comes back here when saved.
        "cssrs_url": reverse(
            "assessments:record",
            kwargs={"patient_id": session.patient_id, "instrument": "cssrs_screen"},
        )
        + "?"
        + urlencode({"next": session_url + "#checklist"}),
        "orders": record.orders,
        "current_order": record.current_order,
        "plan": plan,
        "plan_error": plan_error,
        "pk_svg": _pk_svg(record, plan),
        "administration": administration,
        "device_slots": _device_slots(record),
        "device_wait": _device_wait(record),
        # "Stopped now" is one tap while an IV or IM dose runs (esketamine stops with its last
        # device).
        "can_stop": state == State.DOSING
        and session.route != model.ESKETAMINE
        and administration is not None
        and administration.stopped_at is None,
        "side_effects": record.side_effects,
        "interventions": record.interventions,
        "scores": record.scores,
        # Each score with its CADSS-6 items by CADSS number and question ("item 15: 2").
        "score_rows": [
            (
                score,
                list(zip(step_forms.CADSS6_ITEMS, score.items, strict=True)) if score.items else [],
            )
            for score in record.scores
        ],
        "dissociation_scale": conf.dissociation_scale(),
        "discharge_inputs": inputs,
        "minutes_observed": record.minutes_observed,
        "min_observation_min": record.protocol.min_observation_min,
        "note": note,
        "amendments": record.amendments,
        "transitions": record.transitions,
        "rems": session.route == "esketamine" and record.protocol.rems_required,
        # Esketamine is used in whole devices (nothing drawn or wasted) and has no stop field
        # (the last device is the stop).
        "administration_without": [*DRAW_FIELDS, "stopped_at"]
        if session.route == model.ESKETAMINE
        else [],
    }
    context.update(checklist_context(record))
    context.update(next_step_context(record, prescriber=prescriber))
    context.update(vitals_context(record))
    return context
