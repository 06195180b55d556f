"""The dosing-session API: every step the session page offers, with the same services and the
same rules, so an integrator or a bedside-monitor gateway can run a session end to end.

Refusals are the services' error types, rendered once by the API (``kapcare.api.main``): bad
input is 422 naming the field and rule (``readings[3].spo2``), a step the session's state or
requirements do not allow is 409 with one error per unmet requirement (``rule`` is its code;
``overridable`` says a prescriber may override it with a reason), a role that may not is 403,
an unknown session 404. A refused call stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kapcare.api.routing import endpoint
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.clinical import session as model
from kapcare.dosing import selectors, services
from kapcare.dosing.api_schemas import (
    AcknowledgeIn,
    AdministrationIn,
    AdministrationOut,
    AmendmentIn,
    AmendmentOut,
    CenteringIn,
    CenteringOut,
    ChecklistFieldsOut,
    ChecklistIn,
    ChecklistItemOut,
    ChecklistOut,
    DeviceIn,
    DeviceOut,
    DischargeAssessmentOut,
    DischargeIn,
    DischargeOut,
    InterventionIn,
    InterventionOut,
    NoteIn,
    NoteOut,
    OrderIn,
    OrderOut,
    PatientRefOut,
    ReflectionIn,
    ReflectionOut,
    ReminderOut,
    RequirementOut,
    ScoreIn,
    ScoreOut,
    SessionOut,
    SessionStateOut,
    SideEffectIn,
    SideEffectOut,
    TransitionIn,
    TransitionOut,
    VitalAlertOut,
    VitalReadingOut,
    VitalsAlertOut,
    VitalsIn,
    VitalsOut,
    VitalsPageOut,
)
from kapcare.dosing.models import (
    Administration,
    DeviceUse,
    DoseOrder,
    DosingSession,
    NoteAmendment,
    SessionNote,
    Transition,
    VitalAlert,
    VitalReading,
)
from kapcare.ledger.witness import from_header

router = Router(tags=["dosing sessions"])
SchemaT = TypeVar("SchemaT", bound=Schema)


# --- rendering the read model ----------------------------------------------------------------


def _who(user: Any) -> str:
    return str(user.email) if user is not None else ""


def _requirement(r: model.Requirement) -> RequirementOut:
    return RequirementOut(code=r.code, message=r.message, overridable=r.overridable)


def _copy(schema: type[SchemaT], row: Any, **computed: Any) -> SchemaT:
    """The schema's fields read from the row by name; ``computed`` gives the others."""
    names = schema.model_fields.keys() - computed.keys()
    return schema(**{name: getattr(row, name) for name in names}, **computed)


def _order_out(order: DoseOrder) -> OrderOut:
    return _copy(OrderOut, order, signed_by=_who(order.signed_by))


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


def _reading_out(r: VitalReading) -> VitalReadingOut:
    return VitalReadingOut(
        id=r.pk, taken_at=r.taken_at, phase=r.phase, systolic=r.systolic, diastolic=r.diastolic,
        heart_rate=r.heart_rate, spo2=r.spo2, resp_rate=r.resp_rate,
        alerts=[_alert_out(a) for a in r.alerts.all()],
    )  # fmt: skip


def _amendment_out(a: NoteAmendment) -> AmendmentOut:
    return AmendmentOut(id=a.pk, text=a.text, reason=a.reason, author=_who(a.author), at=a.at)


def _note_out(note: SessionNote, amendments: Sequence[NoteAmendment]) -> NoteOut:
    return NoteOut(
        text=note.text,
        author=_who(note.author),
        signed_by=_who(note.signed_by) or None,
        signed_at=note.signed_at,
        amendments=[_amendment_out(a) for a in amendments],
    )


def _transition_out(t: Transition) -> TransitionOut:
    return TransitionOut(
        from_state=t.from_state, to_state=t.to_state, by=_who(t.by), at=t.at, reason=t.reason,
        overridden=list(t.overridden or []),
    )  # fmt: skip


def _checklist_out(record: selectors.SessionRecord) -> ChecklistOut:
    checklist = getattr(record.session, "checklist", None)
    return ChecklistOut(
        fields=_copy(ChecklistFieldsOut, checklist, updated_by=_who(checklist.updated_by))
        if checklist is not None
        else None,
        items=[ChecklistItemOut(**vars(item)) for item in record.checklist_items],
    )


def session_out(record: selectors.SessionRecord) -> SessionOut:
    session, administration = record.session, getattr(record.session, "administration", None)
    patient, note, current = session.patient, getattr(session, "note", None), record.current_order
    return SessionOut(
        id=session.pk,
        state=session.state,
        allowed_next=[str(s) for s in model.allowed_next(model.State(session.state))],
        next_step=str(record.next_state) if record.next_state else None,
        unmet=[_requirement(r) for r in record.unmet],
        route=session.route,
        protocol=record.protocol.code,
        protocol_name=record.protocol.name,
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
        checklist=_checklist_out(record),
        order=_order_out(current) if current else None,
        superseded_orders=[_order_out(o) for o in record.orders if o.superseded_by_id is not None],
        administration=_administration_out(administration, record.devices)
        if administration is not None
        else None,
        vitals=[_reading_out(r) for r in record.readings],
        vitals_total=record.readings_total,
        vitals_cursor=record.readings_cursor,
        open_critical_alerts=[_alert_out(a) for a in record.open_critical_alerts],
        vitals_reminder=ReminderOut(**vars(record.reminder)) if record.reminder else None,
        side_effects=[SideEffectOut.from_orm(e) for e in record.side_effects],
        interventions=[InterventionOut.from_orm(i) for i in record.interventions],
        scores=[ScoreOut.from_orm(s) for s in record.scores],
        discharge=DischargeOut(
            inputs=dict(session.discharge_inputs or {}),
            unmet=list(session.discharge_unmet or []),
            escort_name=session.escort_name,
            discharged_at=session.discharged_at,
            ready_without_minimum_at=session.ready_without_minimum_at,
        ),
        reflection=session.reflection,
        note=_note_out(note, record.amendments) if note is not None else None,
        transitions=[_transition_out(t) for t in record.transitions],
    )


def _session_post(path: str, operation_id: str, response: Any) -> Callable[..., Any]:
    """A POST operation on one session (``/sessions/{session_id}`` + ``path``)."""
    return endpoint(
        router,
        "POST",
        f"/sessions/{{session_id}}{path}",
        operation_id=operation_id,
        response=response,
    )


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _session(session_id: int) -> DosingSession:
    # Only the id: every service re-reads the session under its own lock.
    return DosingSession(pk=session_id)


def _read(request: HttpRequest, session_id: int) -> selectors.SessionRecord:
    record = selectors.session_record(session_id)
    shown(request, [record.session.patient_id])
    return record


# --- reading ---------------------------------------------------------------------------------


@reads_patient_data
@endpoint(router, "GET", "/sessions/{session_id}", operation_id="get_session", response=SessionOut)
def get_session(request: HttpRequest, session_id: int) -> SessionOut:
    """The session's state, the steps allowed next and what the next step still needs, the
    checklist (fields and each item's result), the current and superseded dose orders, the
    administration, the latest 200 vitals readings (oldest first, with their alerts; page
    through all of them with ``GET .../vitals``), open critical alerts, side effects,
    interventions, scores, the discharge assessment, the reflection, the note with its
    amendments, and every transition. The read is recorded in the access log."""
    return session_out(_read(request, session_id))


class VitalsQuery(Schema):
    after: str | None = Field(None, max_length=200, description="A cursor from a previous page")
    limit: int = Field(200, ge=1, le=selectors.MAX_PAGE_READINGS)


@reads_patient_data
@endpoint(
    router,
    "GET",
    "/sessions/{session_id}/vitals",
    operation_id="list_session_vitals",
    response=VitalsPageOut,
)
def list_vitals(
    request: HttpRequest, session_id: int, filters: Query[VitalsQuery]
) -> VitalsPageOut:
    """The session's readings in the order they were stored (each with the time it was taken),
    ``limit`` at a time, from the first one or after ``after`` (a cursor from ``next_cursor``,
    or the session's ``vitals_cursor`` for the readings stored since it was read, including a
    late entry taken earlier)."""
    page = selectors.vitals_page(session_id, after=filters.after, limit=filters.limit)
    patient_id = DosingSession.objects.values_list("patient_id", flat=True).get(pk=session_id)
    shown(request, [patient_id])
    return VitalsPageOut(
        readings=[_reading_out(r) for r in page.readings],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


# --- moving the session ----------------------------------------------------------------------


@_session_post("/transitions", "transition_session", SessionStateOut)
def transition(request: HttpRequest, session_id: int, payload: TransitionIn) -> SessionStateOut:
    """Move the session one step: scheduled -> checked_in -> checklist_passed -> dose_ordered
    -> dosing -> recovery -> discharged -> note_signed, or cancelled before dosing starts (with
    a reason). 409 names each unmet requirement (``errors[].rule`` is its code); an illegal
    step is one error with rule ``illegal_transition``. An overridable requirement passes only
    for a prescriber who gives a reason, and the override is recorded with the transition.
    ``dose_ordered`` is reached by signing an order, ``note_signed`` by signing the note (here
    too: it signs the note as the caller)."""
    actor, session = _actor(request), _session(session_id)
    discharged = DosingSession.objects.filter(pk=session_id, state=model.State.DISCHARGED)
    if payload.to == model.State.NOTE_SIGNED and discharged.exists():
        services.sign_note(actor, session)
    else:
        services.transition(actor, session, payload.to, reason=payload.reason)
    # The move is audited with the patient; its answer is not logged again as a read.
    record = selectors.session_record(session_id)
    return SessionStateOut(
        id=session_id,
        state=record.session.state,
        allowed_next=[str(s) for s in model.allowed_next(model.State(record.session.state))],
        next_step=str(record.next_state) if record.next_state else None,
        unmet=[_requirement(r) for r in record.unmet],
        transition=_transition_out(record.transitions[-1]),
    )


# --- the steps -------------------------------------------------------------------------------


@_session_post("/checklist", "save_session_checklist", ChecklistOut)
def save_checklist(request: HttpRequest, session_id: int, payload: ChecklistIn) -> ChecklistOut:
    """Record or correct the pre-session checklist (checked in only); the fields sent change.
    The answer lists each checklist item and whether it passes."""
    services.save_checklist(
        _actor(request), _session(session_id), **payload.dict(exclude_unset=True)
    )
    return _checklist_out(selectors.session_record(session_id))


@_session_post("/centering", "save_session_centering", CenteringOut)
def save_centering(request: HttpRequest, session_id: int, payload: CenteringIn) -> CenteringOut:
    """The centering exercise before the dose: meditation, breathing, VR or none."""
    done = services.save_centering(
        _actor(request), _session(session_id), kind=payload.kind, minutes=payload.minutes
    )
    return CenteringOut(kind=done.centering_kind, minutes=done.centering_minutes)


@_session_post("/orders", "sign_session_order", {201: OrderOut})
def sign_order(request: HttpRequest, session_id: int, payload: OrderIn) -> Status[OrderOut]:
    """A prescriber signs a dose order (prescribers only: 403 otherwise). The dose must be
    stated: ``mg_per_kg`` (weight-based protocols, with today's checklist weight) or
    ``dose_mg``; the pump rate, the dosing weight and the esketamine devices are computed by
    the clinical core. A dose outside the protocol's range needs ``deviation_reason`` (422
    naming it). A new order supersedes the current one, which never changes. The first order
    moves the session to ``dose_ordered`` (409 naming what is unmet, e.g. an open critical
    alert; then nothing is stored)."""
    order = services.sign_order(
        _actor(request), _session(session_id), mg_per_kg=payload.mg_per_kg,
        dose_mg=payload.dose_mg, deviation_reason=payload.deviation_reason,
    )  # fmt: skip
    order = DoseOrder.objects.select_related("signed_by").get(pk=order.pk)
    return Status(201, _order_out(order))


def _administration_out(
    administration: Administration, devices: Iterable[DeviceUse]
) -> AdministrationOut:
    return AdministrationOut(
        order_id=administration.order_id, lot_number=administration.lot_number,
        container_id=administration.container_id,
        legacy_vial_label=administration.legacy_vial_label,
        started_at=administration.started_at, stopped_at=administration.stopped_at,
        devices=[DeviceOut.from_orm(d) for d in devices],
    )  # fmt: skip


@_session_post("/administration", "record_session_administration", AdministrationOut)
def record_administration(
    request: HttpRequest, session_id: int, payload: AdministrationIn
) -> AdministrationOut:
    """The container drawn from with drawn, given and wasted (the ledger's withdrawal, in the
    same transaction; waste needs the witness's own token in ``X-Witness-Authorization:
    Bearer``, as on ``POST /ledger/containers/{id}/withdrawals``) and the start time (before
    dosing starts), and the stop time (during dosing). Sent again, it corrects the times (each
    version is kept); the draw is corrected in the ledger, by a reversing entry."""
    draw = services.Draw(
        payload.container_id, drawn_ml=payload.drawn_ml, given_ml=payload.given_ml,
        wasted_ml=payload.wasted_ml, waste_manner=payload.waste_manner,
        witness=from_header(request.headers.get("X-Witness-Authorization")),
    )  # fmt: skip
    done = services.record_administration(
        _actor(request), _session(session_id), draw=draw if payload.container_id else None,
        started_at=payload.started_at, stopped_at=payload.stopped_at,
    )  # fmt: skip
    return _administration_out(done, done.devices.all())


@_session_post("/devices", "record_session_device", {201: DeviceOut})
def record_device(request: HttpRequest, session_id: int, payload: DeviceIn) -> Status[DeviceOut]:
    """Esketamine: one more nasal device used, at least 5 minutes after the previous one
    (SPRAVATO label; sooner is 422 saying how long to wait), withdrawn whole from the ledger
    (``container_id``, or the next full device of the lot). The last device ends the
    administration."""
    used = services.record_device(
        _actor(request), _session(session_id), used_at=payload.used_at,
        container_id=payload.container_id,
    )  # fmt: skip
    return Status(201, DeviceOut.from_orm(used))


@_session_post("/vitals", "record_session_vitals", {201: VitalsOut})
def record_vitals(request: HttpRequest, session_id: int, payload: VitalsIn) -> Status[VitalsOut]:
    """Add a batch of readings (BP in mmHg, heart rate in beats/min, SpO2 in %, respiratory
    rate in breaths/min). Each is checked with the clinical core's ``vitals.assess`` for the
    session's phase and the protocol's thresholds; the alerts come back with the index of their
    reading. Atomic: one invalid reading refuses the whole batch with 422 naming it
    (``readings[3].spo2``); so does a reading taken in the future or before the check-in (less
    the clinic's slack). A session not being monitored gets 409."""
    raw = [
        {**reading.model_dump(exclude_unset=True), **(reading.model_extra or {})}
        for reading in payload.readings
    ]
    result = services.record_vitals(_actor(request), _session(session_id), raw)
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


@endpoint(
    router,
    "POST",
    "/vital-alerts/{vital_alert_id}/acknowledgement",
    operation_id="acknowledge_vital_alert",
    response=VitalAlertOut,
)
def acknowledge_vital_alert(
    request: HttpRequest, vital_alert_id: int, payload: AcknowledgeIn
) -> VitalAlertOut:
    """Acknowledge a vitals alert with the action taken (a critical one blocks the session's
    next step until then). Already acknowledged: 409."""
    alert = services.acknowledge_vital_alert(
        _actor(request), VitalAlert(pk=vital_alert_id), action_taken=payload.action_taken
    )
    return _alert_out(VitalAlert.objects.select_related("acknowledged_by").get(pk=alert.pk))


def _entry_operation(
    path: str,
    operation_id: str,
    body: type[Schema],
    out: type[Schema],
    add: Callable[..., Any],
    summary: str,
) -> None:
    """Register a POST that adds one row to a session through ``add``: the body's fields are
    the service's keywords, the answer (201) the row as ``out``."""

    def operation(request: HttpRequest, session_id: int, payload: Any) -> Status[Any]:
        entry = add(_actor(request), _session(session_id), **payload.dict())
        return Status(201, out.from_orm(entry))

    # ninja reads the body's schema from the signature.
    operation.__annotations__ = {"request": HttpRequest, "session_id": int, "payload": body}
    operation.__name__, operation.__doc__ = operation_id, summary
    _session_post(path, operation_id, {201: out})(operation)


_entry_operation(
    "/side-effects", "add_session_side_effect", SideEffectIn, SideEffectOut,
    services.add_side_effect,
    "A side effect, with its severity (once the dose is ordered, until discharge).",
)  # fmt: skip
_entry_operation(
    "/interventions", "add_session_intervention", InterventionIn, InterventionOut,
    services.add_intervention,
    "A drug given in the session (for example ondansetron 4 mg IV for nausea).",
)  # fmt: skip
_entry_operation(
    "/scores", "add_session_score", ScoreIn, ScoreOut, services.add_score,
    "A dissociation (CADSS-6 items, or the patient-rated 0-10 scale) or sedation (MOAA/S) "
    "score.",
)  # fmt: skip


@_session_post("/discharge-assessment", "assess_session_discharge", DischargeAssessmentOut)
def assess_discharge(
    request: HttpRequest, session_id: int, payload: DischargeIn
) -> DischargeAssessmentOut:
    """Store the discharge assessment (in recovery) and answer the criteria not met now.
    Discharging is then the transition to ``discharged``, checked again at that moment."""
    unmet = services.assess_discharge(
        _actor(request), _session(session_id), escort_name=payload.escort_name,
        sedation_moaas=payload.sedation_moaas, dissociation_resolved=payload.dissociation_resolved,
        nausea_controlled=payload.nausea_controlled,
        ambulating_steadily=payload.ambulating_steadily,
        ready_without_minimum_at=payload.ready_without_minimum_at,
    )  # fmt: skip
    return DischargeAssessmentOut(unmet=[_requirement(r) for r in unmet])


@_session_post("/reflection", "save_session_reflection", ReflectionOut)
def save_reflection(request: HttpRequest, session_id: int, payload: ReflectionIn) -> ReflectionOut:
    """The patient's short reflection (in recovery or after discharge)."""
    done = services.save_reflection(_actor(request), _session(session_id), payload.reflection)
    return ReflectionOut(reflection=done.reflection)


def _note_response(session_id: int) -> NoteOut:
    note = SessionNote.objects.select_related("author", "signed_by").get(session_id=session_id)
    return _note_out(note, list(note.amendments.select_related("author").order_by("at", "id")))


@_session_post("/note", "save_session_note", NoteOut)
def save_note(request: HttpRequest, session_id: int, payload: NoteIn) -> NoteOut:
    """Write or rewrite the draft note (in recovery or after discharge). A signed note never
    changes: 409 (add an amendment instead)."""
    services.save_note(_actor(request), _session(session_id), payload.text)
    return _note_response(session_id)


@_session_post("/note/sign", "sign_session_note", NoteOut)
def sign_note(request: HttpRequest, session_id: int) -> NoteOut:
    """Sign and lock the note of a discharged session; the session moves to note_signed. A
    note already signed: 409."""
    services.sign_note(_actor(request), _session(session_id))
    return _note_response(session_id)


@_session_post("/note/amendments", "amend_session_note", {201: AmendmentOut})
def amend_note(request: HttpRequest, session_id: int, payload: AmendmentIn) -> Status[AmendmentOut]:
    """Amend a signed note: the amendment keeps its author, time and reason, and the signed
    text stays as it was. A note not yet signed: 409 (edit the draft instead)."""
    amendment = services.amend_note(
        _actor(request), _session(session_id), text_added=payload.text, reason=payload.reason
    )
    return Status(
        201, _amendment_out(NoteAmendment.objects.select_related("author").get(pk=amendment.pk))
    )
