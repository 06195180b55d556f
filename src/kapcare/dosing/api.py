"""Dosing sessions API (fixed contract, issue 5): read a session, add vitals in batches, move
it through its state machine, and write, sign and amend its note.

Errors keep the API's shape ``{detail, errors: [{field, rule, ...}]}``:

- a refused step (``POST /sessions/{id}/transitions``) is 409; each unmet requirement is one
  error ``{field: "to", rule: <requirement code>, message, overridable}``, and an illegal step
  (never allowed from the current state) is one error with rule ``illegal_transition``;
- an invalid vitals batch is 422 with ``{field: "readings[3].spo2", rule: <why>}``, and nothing
  of the batch is stored;
- a write the session's state does not allow (vitals on a discharged session, a change to a
  signed note) is 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import BaseModel, ConfigDict, Field

from kapcare.api.errors import split_field, unprocessable
from kapcare.api.routing import endpoint
from kapcare.audit.services import Actor, record_access
from kapcare.dosing import clock, selectors, services, workflow
from kapcare.dosing.models import (
    DoseOrder,
    DosingSession,
    ImmutableError,
    NoteAmendment,
    SessionNote,
    State,
    Transition,
    VitalAlert,
)
from kapcare.dosing.workflow import Requirement

router = Router(tags=["dosing sessions"])

MAX_READINGS = 1000
"""Readings per vitals batch (a bedside monitor's backlog fits; a runaway client does not)."""


# --- schemas ---------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    errors: list[dict[str, Any]]


class RequirementOut(Schema):
    code: str
    message: str
    overridable: bool = Field(..., description="A prescriber may override it with a reason")


class ChecklistItemOut(Schema):
    code: str
    label: str
    ok: bool
    detail: str


class ChecklistFieldsOut(Schema):
    fasting_hours: float | None
    driver_name: str
    driver_phone: str
    medication_holds_confirmed: bool
    medication_holds_note: str
    pregnancy_test: str
    weight_kg: float | None
    intention: str
    updated_by: str
    updated_at: datetime


class ChecklistOut(Schema):
    fields: ChecklistFieldsOut | None
    items: list[ChecklistItemOut]


class OrderOut(Schema):
    id: int
    route: str
    weight_kg: float | None
    weight_basis: str
    dosing_weight_kg: float | None
    mg_per_kg: float | None
    dose_mg: float
    duration_min: int | None
    volume_ml: int | None
    rate_ml_per_h: float | None
    rate_mg_per_min: float | None
    concentration_mg_per_ml: float | None
    devices: int | None
    deviation: str
    deviation_reason: str
    source: str
    signed_by: str
    signed_at: datetime
    superseded_by_id: int | None


class DeviceOut(Schema):
    number: int
    used_at: datetime


class AdministrationOut(Schema):
    order_id: int
    lot_number: str
    vial_id: str
    started_at: datetime
    stopped_at: datetime | None
    devices: list[DeviceOut]


class VitalAlertOut(Schema):
    id: int
    reading_id: int
    code: str
    level: str
    message: str
    source: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    action_taken: str


class VitalReadingOut(Schema):
    id: int
    taken_at: datetime
    phase: str
    systolic: int | None
    diastolic: int | None
    heart_rate: int | None
    spo2: int | None
    resp_rate: int | None
    alerts: list[VitalAlertOut]


class ReminderOut(Schema):
    due_at: datetime
    overdue_min: int
    interval_min: int


class SideEffectOut(Schema):
    id: int
    kind: str
    severity: str
    noted_at: datetime
    note: str


class InterventionOut(Schema):
    id: int
    drug: str
    dose: str
    given_at: datetime
    reason: str


class ScoreOut(Schema):
    id: int
    scale: str
    value: int
    items: list[int]
    scored_at: datetime


class DischargeOut(Schema):
    inputs: dict[str, Any]
    unmet: list[str] = Field(..., description="Unmet criteria codes at the last assessment")
    escort_name: str
    discharged_at: datetime | None
    ready_without_minimum_at: datetime | None


class AmendmentOut(Schema):
    id: int
    text: str
    reason: str
    author: str
    at: datetime


class NoteOut(Schema):
    text: str
    author: str
    signed_by: str | None
    signed_at: datetime | None
    amendments: list[AmendmentOut]


class TransitionOut(Schema):
    from_state: str
    to_state: str
    by: str
    at: datetime
    reason: str
    overridden: list[str]


class PatientRefOut(Schema):
    id: int
    mrn: str
    name: str
    is_synthetic: bool


class SessionOut(Schema):
    id: int
    state: str
    allowed_next: list[str]
    next_step: str | None = Field(..., description="The next forward state, if any")
    unmet: list[RequirementOut] = Field(..., description="What the next forward step needs")
    route: str
    protocol: str
    protocol_name: str
    course_id: int
    appointment_id: int
    scheduled_for: datetime
    patient: PatientRefOut
    checked_in_at: datetime | None
    centering_kind: str
    centering_minutes: int | None
    checklist: ChecklistOut
    order: OrderOut | None
    superseded_orders: list[OrderOut]
    administration: AdministrationOut | None
    vitals: list[VitalReadingOut] = Field(..., description="Oldest first, each with its alerts")
    open_critical_alerts: list[VitalAlertOut]
    vitals_reminder: ReminderOut | None
    side_effects: list[SideEffectOut]
    interventions: list[InterventionOut]
    scores: list[ScoreOut]
    discharge: DischargeOut
    reflection: str
    note: NoteOut | None
    transitions: list[TransitionOut]


class SessionStateOut(Schema):
    id: int
    state: str
    allowed_next: list[str]
    next_step: str | None
    unmet: list[RequirementOut]
    transition: TransitionOut


class ReadingIn(BaseModel):
    """One reading. Values are checked by the service (``kapcare.clinical.vitals.Reading``), so
    every problem is reported as ``readings[i].<field>`` (a plain pydantic model: ninja's Schema
    would hide unknown keys, and a misspelt field must be refused, not dropped)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"required": ["taken_at"], "additionalProperties": False}
    )

    taken_at: Any = Field(
        None,
        description="ISO 8601 date-time; not in the future",
        json_schema_extra={"type": "string", "format": "date-time"},
    )
    systolic: Any = Field(None, json_schema_extra={"type": "integer"}, description="mmHg")
    diastolic: Any = Field(None, json_schema_extra={"type": "integer"}, description="mmHg")
    heart_rate: Any = Field(None, json_schema_extra={"type": "integer"}, description="beats/min")
    spo2: Any = Field(None, json_schema_extra={"type": "integer"}, description="%")
    resp_rate: Any = Field(None, json_schema_extra={"type": "integer"}, description="breaths/min")


class VitalsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    readings: list[ReadingIn] = Field(..., max_length=MAX_READINGS)


class VitalsAlertOut(Schema):
    reading_index: int
    code: str
    level: str
    message: str
    id: int


class VitalsOut(Schema):
    stored: int
    reading_ids: list[int]
    alerts: list[VitalsAlertOut]


class TransitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(..., max_length=20, description="The state to move to")
    reason: str = Field(
        "", max_length=2000, description="Required to cancel, and for a prescriber's override"
    )


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., max_length=20000)


class AmendmentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., max_length=20000)
    reason: str = Field(..., max_length=300)


# --- helpers ---------------------------------------------------------------------------------


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _who(user: Any) -> str:
    return str(user.email) if user is not None else ""


def _requirement(r: Requirement) -> RequirementOut:
    return RequirementOut(code=r.code, message=r.message, overridable=r.overridable)


def _conflict(detail: str, errors: Sequence[dict[str, Any]]) -> Status[ErrorOut]:
    return Status(409, ErrorOut(detail=detail, errors=list(errors)))


def _refused(error: services.TransitionRefused) -> Status[ErrorOut]:
    """409 for a step that may not happen: each unmet requirement names its code."""
    if error.illegal:
        field, _ = split_field(str(error), "state")
        return _conflict(str(error), [{"field": field, "rule": "illegal_transition"}])
    return _conflict(
        str(error),
        [
            {"field": "to", "rule": r.code, "message": r.message, "overridable": r.overridable}
            for r in error.unmet
        ],
    )


def _session(session_id: int) -> DosingSession:
    return get_object_or_404(DosingSession.objects.only("id", "state"), pk=session_id)


def _order_out(order: DoseOrder) -> OrderOut:
    return OrderOut(
        id=order.pk,
        route=order.route,
        weight_kg=_num(order.weight_kg),
        weight_basis=order.weight_basis,
        dosing_weight_kg=_num(order.dosing_weight_kg),
        mg_per_kg=_num(order.mg_per_kg),
        dose_mg=float(order.dose_mg),
        duration_min=order.duration_min,
        volume_ml=order.volume_ml,
        rate_ml_per_h=_num(order.rate_ml_per_h),
        rate_mg_per_min=_num(order.rate_mg_per_min),
        concentration_mg_per_ml=_num(order.concentration_mg_per_ml),
        devices=order.devices,
        deviation=order.deviation,
        deviation_reason=order.deviation_reason,
        source=order.source,
        signed_by=_who(order.signed_by),
        signed_at=order.signed_at,
        superseded_by_id=order.superseded_by_id,
    )


def _alert_out(alert: VitalAlert) -> VitalAlertOut:
    return VitalAlertOut(
        id=alert.pk,
        reading_id=alert.reading_id,
        code=alert.code,
        level=alert.level,
        message=alert.message,
        source=alert.source,
        acknowledged_by=_who(alert.acknowledged_by) or None,
        acknowledged_at=alert.acknowledged_at,
        action_taken=alert.action_taken,
    )


def _note_out(note: SessionNote, amendments: Sequence[NoteAmendment]) -> NoteOut:
    return NoteOut(
        text=note.text,
        author=_who(note.author),
        signed_by=_who(note.signed_by) or None,
        signed_at=note.signed_at,
        amendments=[
            AmendmentOut(id=a.pk, text=a.text, reason=a.reason, author=_who(a.author), at=a.at)
            for a in amendments
        ],
    )


def _transition_out(t: Transition) -> TransitionOut:
    return TransitionOut(
        from_state=t.from_state,
        to_state=t.to_state,
        by=_who(t.by),
        at=t.at,
        reason=t.reason,
        overridden=list(t.overridden or []),
    )


def _next_step(session: DosingSession) -> tuple[str | None, list[Requirement]]:
    step = workflow.FORWARD.get(State(session.state))
    return (str(step), workflow.unmet(session, step)) if step else (None, [])


def session_detail(session_id: int) -> SessionOut:
    """Everything recorded in a session, in a fixed number of queries (however many readings,
    alerts, orders or amendments it has)."""
    session = get_object_or_404(
        selectors.session_queryset().select_related(
            "checklist__updated_by", "note__author", "note__signed_by"
        ),
        pk=session_id,
    )
    orders = list(session.orders.select_related("signed_by").order_by("signed_at", "id"))
    administration = getattr(session, "administration", None)
    devices = list(administration.devices.order_by("number")) if administration else []
    readings = list(
        session.vitals.order_by("taken_at", "id").prefetch_related(
            Prefetch(
                "alerts",
                queryset=VitalAlert.objects.select_related("acknowledged_by").order_by("id"),
            )
        )
    )
    note = getattr(session, "note", None)
    amendments = list(note.amendments.select_related("author").order_by("at", "id")) if note else []
    checklist = getattr(session, "checklist", None)
    transitions = list(session.transitions.select_related("by").order_by("at", "id"))
    next_step, unmet = _next_step(session)
    # Once the checklist has passed, show each item as it stood then ("a C-SSRS today" means
    # the session's day, not the day the record is read).
    passed_at = next((t.at for t in transitions if t.to_state == State.CHECKLIST_PASSED), None)
    with clock.at(passed_at) if passed_at else nullcontext():
        items = workflow.checklist_items(session)
    reminder = selectors.vitals_reminder(session)
    all_alerts = [alert for reading in readings for alert in reading.alerts.all()]
    current = [o for o in orders if o.superseded_by_id is None]
    patient = session.patient
    snapshot = session.course.protocol_snapshot
    return SessionOut(
        id=session.pk,
        state=session.state,
        allowed_next=[str(s) for s in workflow.allowed_next(session.state)],
        next_step=next_step,
        unmet=[_requirement(r) for r in unmet],
        route=session.route,
        protocol=str(snapshot["code"]),
        protocol_name=str(snapshot["name"]),
        course_id=session.course_id,
        appointment_id=session.appointment_id,
        scheduled_for=session.appointment.starts_at,
        patient=PatientRefOut(
            id=patient.pk,
            mrn=patient.mrn,
            name=f"{patient.given_name} {patient.family_name}",
            is_synthetic=patient.is_synthetic,
        ),
        checked_in_at=session.checked_in_at,
        centering_kind=session.centering_kind,
        centering_minutes=session.centering_minutes,
        checklist=ChecklistOut(
            fields=ChecklistFieldsOut(
                fasting_hours=_num(checklist.fasting_hours),
                driver_name=checklist.driver_name,
                driver_phone=checklist.driver_phone,
                medication_holds_confirmed=checklist.medication_holds_confirmed,
                medication_holds_note=checklist.medication_holds_note,
                pregnancy_test=checklist.pregnancy_test,
                weight_kg=_num(checklist.weight_kg),
                intention=checklist.intention,
                updated_by=_who(checklist.updated_by),
                updated_at=checklist.updated_at,
            )
            if checklist is not None
            else None,
            items=[ChecklistItemOut(**vars(item)) for item in items],
        ),
        order=_order_out(current[-1]) if current else None,
        superseded_orders=[_order_out(o) for o in orders if o.superseded_by_id is not None],
        administration=AdministrationOut(
            order_id=administration.order_id,
            lot_number=administration.lot_number,
            vial_id=administration.vial_id,
            started_at=administration.started_at,
            stopped_at=administration.stopped_at,
            devices=[DeviceOut(number=d.number, used_at=d.used_at) for d in devices],
        )
        if administration is not None
        else None,
        vitals=[
            VitalReadingOut(
                id=r.pk,
                taken_at=r.taken_at,
                phase=r.phase,
                systolic=r.systolic,
                diastolic=r.diastolic,
                heart_rate=r.heart_rate,
                spo2=r.spo2,
                resp_rate=r.resp_rate,
                alerts=[_alert_out(a) for a in r.alerts.all()],
            )
            for r in readings
        ],
        open_critical_alerts=[
            _alert_out(a) for a in all_alerts if a.level == "critical" and a.acknowledged_at is None
        ],
        vitals_reminder=ReminderOut(**vars(reminder)) if reminder else None,
        side_effects=[
            SideEffectOut(
                id=e.pk, kind=e.kind, severity=e.severity, noted_at=e.noted_at, note=e.note
            )
            for e in session.side_effects.order_by("noted_at", "id")
        ],
        interventions=[
            InterventionOut(id=i.pk, drug=i.drug, dose=i.dose, given_at=i.given_at, reason=i.reason)
            for i in session.interventions.order_by("given_at", "id")
        ],
        scores=[
            ScoreOut(
                id=s.pk,
                scale=s.scale,
                value=s.value,
                items=list(s.items or []),
                scored_at=s.scored_at,
            )
            for s in session.scores.order_by("scored_at", "id")
        ],
        discharge=DischargeOut(
            inputs=dict(session.discharge_inputs or {}),
            unmet=list(session.discharge_unmet or []),
            escort_name=session.escort_name,
            discharged_at=session.discharged_at,
            ready_without_minimum_at=session.ready_without_minimum_at,
        ),
        reflection=session.reflection,
        note=_note_out(note, amendments) if note is not None else None,
        transitions=[_transition_out(t) for t in transitions],
    )


# --- endpoints -------------------------------------------------------------------------------


@endpoint(router, "GET", "/sessions/{session_id}", operation_id="get_session", response=SessionOut)
def get_session(request: HttpRequest, session_id: int) -> SessionOut:
    """The session's state, the steps allowed next and what the next step still needs, the
    checklist (fields and each item's result), the current and superseded dose orders, the
    administration, the vitals (oldest first) with their alerts, open critical alerts, side
    effects, interventions, scores, the discharge assessment, the reflection, the note with its
    amendments, and every transition (overrides name what they overrode). The read is recorded
    in the access log."""
    detail = session_detail(session_id)
    record_access(Actor.from_request(request), [detail.patient.id], "API dosing session")
    return detail


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/vitals",
    operation_id="record_session_vitals",
    response={201: VitalsOut, 409: ErrorOut, 422: ErrorOut},
)
def record_vitals(request: HttpRequest, session_id: int, payload: VitalsIn) -> Status[Any]:
    """Add a batch of readings (BP in mmHg, heart rate in beats/min, SpO2 in %, respiratory
    rate in breaths/min). Each is checked with the clinical core's ``vitals.assess`` for the
    session's phase and the protocol's thresholds; the alerts come back with the index of their
    reading. Atomic: one invalid reading rejects the whole batch with 422 naming it
    (``readings[3].spo2``). A session that is not being monitored (scheduled, discharged, ...)
    gets 409."""
    # No read before the service's own locked read: an unknown id surfaces there (404).
    session = DosingSession(pk=session_id)
    raw = []
    for index, reading in enumerate(payload.readings):
        unknown = sorted(reading.model_extra or {})
        if unknown:
            field = f"readings[{index}].{unknown[0]}"
            allowed = "taken_at, " + ", ".join(services.VITAL_FIELDS)
            return Status(
                422,
                ErrorOut(
                    detail=f"{field}: not a reading field (allowed: {allowed})",
                    errors=[{"field": field, "rule": "unknown field"}],
                ),
            )
        raw.append({name: getattr(reading, name) for name in ("taken_at", *services.VITAL_FIELDS)})
    try:
        result = services.record_vitals(Actor.from_request(request), session, raw)
    except services.BatchError as error:
        field = (
            "readings" if error.field == "readings" else f"readings[{error.index}].{error.field}"
        )
        return Status(
            422,
            ErrorOut(
                detail=f"{field}: {error.message} (nothing was stored)",
                errors=[{"field": field, "rule": error.message}],
            ),
        )
    except services.TransitionRefused as error:
        return _conflict(str(error), [{"field": "state", "rule": "not_monitored"}])
    except DosingSession.DoesNotExist:
        raise HttpError(404, "session_id: no such dosing session") from None
    return Status(
        201,
        VitalsOut(
            stored=result.stored,
            reading_ids=result.reading_ids,
            alerts=[
                VitalsAlertOut(
                    reading_index=index,
                    code=alert.code,
                    level=alert.level,
                    message=alert.message,
                    id=alert.pk,
                )
                for index, alert in result.alerts
            ],
        ),
    )


def _state_out(session: DosingSession, transition: Transition) -> SessionStateOut:
    next_step, unmet = _next_step(session)
    return SessionStateOut(
        id=session.pk,
        state=session.state,
        allowed_next=[str(s) for s in workflow.allowed_next(session.state)],
        next_step=next_step,
        unmet=[_requirement(r) for r in unmet],
        transition=_transition_out(transition),
    )


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/transitions",
    operation_id="transition_session",
    response={200: SessionStateOut, 409: ErrorOut, 422: ErrorOut},
)
def transition(request: HttpRequest, session_id: int, payload: TransitionIn) -> Any:
    """Move the session one step: scheduled -> checked_in -> checklist_passed -> dose_ordered
    -> dosing -> recovery -> discharged -> note_signed, or cancelled before dosing starts (with
    a reason). The records a step needs are checked by the server; 409 names each unmet
    requirement (``errors[].rule`` is its code). An overridable requirement passes only for a
    prescriber who gives a reason, and the override is recorded with the transition. Moving to
    ``note_signed`` signs the note as the caller (the same as ``POST .../note/sign``)."""
    session = _session(session_id)
    actor = Actor.from_request(request)
    if payload.to not in State.values:
        raise unprocessable(
            "to", f"unknown state {payload.to!r}; states: {', '.join(State.values)}"
        )
    try:
        if payload.to == State.NOTE_SIGNED and session.state == State.DISCHARGED:
            services.sign_note(actor, session)
        else:
            services.transition(actor, session, payload.to, reason=payload.reason)
    except services.TransitionRefused as error:
        if not error.illegal and [r.code for r in error.unmet] == ["reason"]:
            raise unprocessable("reason", str(error).partition(": ")[2]) from None
        return _refused(error)
    session = selectors.get_session(session_id)
    last = session.transitions.select_related("by").order_by("-at", "-id").first()
    assert last is not None
    return _state_out(session, last)


def _note_response(session_id: int) -> NoteOut:
    note = SessionNote.objects.select_related("author", "signed_by").get(session_id=session_id)
    return _note_out(note, list(note.amendments.select_related("author").order_by("at", "id")))


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/note",
    operation_id="save_session_note",
    response={200: NoteOut, 409: ErrorOut, 422: ErrorOut},
)
def save_note(request: HttpRequest, session_id: int, payload: NoteIn) -> Any:
    """Write or rewrite the draft note (in recovery or after discharge). A signed note never
    changes: 409 (add an amendment instead)."""
    session = _session(session_id)
    try:
        services.save_note(Actor.from_request(request), session, payload.text)
    except ImmutableError as error:
        return _conflict(str(error), [{"field": "text", "rule": "note_signed"}])
    except services.TransitionRefused as error:
        return _refused(error)
    except ValueError as error:
        raise unprocessable(*split_field(str(error), "text")) from None
    return _note_response(session_id)


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/note/sign",
    operation_id="sign_session_note",
    response={200: NoteOut, 409: ErrorOut},
)
def sign_note(request: HttpRequest, session_id: int) -> Any:
    """Sign and lock the note of a discharged session; the session moves to note_signed. A
    note already signed: 409."""
    session = _session(session_id)
    try:
        services.sign_note(Actor.from_request(request), session)
    except services.TransitionRefused as error:
        return _refused(error)
    return _note_response(session_id)


@endpoint(
    router,
    "POST",
    "/sessions/{session_id}/note/amendments",
    operation_id="amend_session_note",
    response={201: AmendmentOut, 409: ErrorOut, 422: ErrorOut},
)
def amend_note(request: HttpRequest, session_id: int, payload: AmendmentIn) -> Any:
    """Amend a signed note: the amendment keeps its author, time and reason, and the signed
    text stays as it was. A note not yet signed: 409 (edit the draft instead)."""
    session = _session(session_id)
    try:
        amendment = services.amend_note(
            Actor.from_request(request), session, text=payload.text, reason=payload.reason
        )
    except ValueError as error:
        field, rule = split_field(str(error), "text")
        if field == "note":
            return _conflict(str(error), [{"field": "note", "rule": "not_signed"}])
        raise unprocessable(field, rule) from None
    return Status(
        201,
        AmendmentOut(
            id=amendment.pk,
            text=amendment.text,
            reason=amendment.reason,
            author=Actor.from_request(request).email,
            at=amendment.at,
        ),
    )
