"""Writes to dosing sessions: each in a transaction, with its audit entry.

Every state change goes through ``transition``, which checks the step with
``workflow.unmet``; the records a step needs (checklist, order, administration, discharge
assessment, note) are written by their own functions first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.clinical import dosing, vitals
from kapcare.courses.models import Appointment, AppointmentStatus
from kapcare.dosing import clock, workflow
from kapcare.dosing.models import (
    Administration,
    Checklist,
    DeviceUse,
    DoseOrder,
    DosingSession,
    ImmutableError,
    Intervention,
    NoteAmendment,
    ScoreScale,
    SessionNote,
    SessionScore,
    Severity,
    SideEffect,
    SideEffectKind,
    State,
    Transition,
    VitalAlert,
    VitalPhase,
    VitalReading,
)
from kapcare.dosing.workflow import Requirement


class TransitionRefused(Exception):
    """A step that may not happen now. ``unmet`` lists what it needs; ``illegal`` marks a step
    that is never allowed from the current state."""

    def __init__(self, message: str, unmet: Sequence[Requirement] = (), *, illegal: bool = False):
        super().__init__(message)
        self.unmet = list(unmet)
        self.illegal = illegal


class NotAllowed(PermissionError):
    """The actor's role may not do this (for example, only a prescriber signs an order)."""


def _require_state(session: DosingSession, states: Sequence[str], what: str) -> None:
    if session.state not in states:
        allowed = ", ".join(State(s).label.lower() for s in states)
        raise TransitionRefused(
            f"{what}: not possible while the session is {State(session.state).label.lower()} "
            f"(only when {allowed})",
            illegal=True,
        )


def _locked(session: DosingSession) -> DosingSession:
    """Re-read the session under a row lock, so two writers take turns."""
    return (
        DosingSession.objects.select_for_update()
        .select_related("course", "patient")
        .get(pk=session.pk)
    )


def _now() -> datetime:
    return clock.now()


# --- creating and moving ---------------------------------------------------------------------


def create_session(actor: Actor, appointment: Appointment) -> DosingSession:
    """The session record for a dosing appointment (called when a course is planned)."""
    if appointment.course is None:
        raise ValueError("appointment: a dosing session belongs to a treatment course")
    return DosingSession.objects.create(
        appointment=appointment, course=appointment.course, patient_id=appointment.patient_id
    )


def transition(actor: Actor, session: DosingSession, to: str, *, reason: str = "") -> DosingSession:
    """Move the session one step. Unmet overridable requirements pass only for a prescriber
    with a reason (the override is recorded); others always refuse."""
    reason = (reason or "").strip()
    with transaction.atomic():
        session = _locked(session)
        if to not in State.values:
            raise TransitionRefused(f"to: unknown state {to!r}", illegal=True)
        if to not in workflow.allowed_next(session.state):
            nexts = (
                " or ".join(workflow.allowed_next(session.state))
                or "nothing (the record is complete)"
            )
            raise TransitionRefused(
                f"to: cannot go from {session.state} to {to}; next: {nexts}", illegal=True
            )
        if to == State.CANCELLED and not reason:
            raise TransitionRefused(
                "reason: required to cancel a session",
                [Requirement("reason", "Give a reason for cancelling", False)],
            )
        at = _now()
        found = workflow.unmet(session, to, at=at)
        blocking = [r for r in found if not r.overridable]
        overridable = [r for r in found if r.overridable]
        if blocking:
            raise TransitionRefused(
                f"to: {to} needs: " + "; ".join(r.message for r in blocking), found
            )
        if overridable and (actor.role != Role.PRESCRIBER or not reason):
            raise TransitionRefused(
                f"to: {to} needs: "
                + "; ".join(r.message for r in overridable)
                + " (or a prescriber's override with a reason)",
                found,
            )
        Transition.objects.create(
            session=session,
            from_state=session.state,
            to_state=to,
            by_id=actor.person_id,
            at=at,
            reason=reason,
            overridden=[r.code for r in overridable],
        )
        _enter(session, to, at)
        what = f"session {session.pk}: {session.state} -> {to}"
        if overridable:
            what += " (override: " + ", ".join(r.code for r in overridable) + ")"
        session.state = to
        session.save()
        record_event(actor, Action.UPDATE, what[:200], patient_id=session.patient_id)
    return session


def _enter(session: DosingSession, to: str, at: datetime) -> None:
    """Side effects of entering a state."""
    if to == State.CHECKED_IN:
        session.checked_in_at = at
    elif to == State.DISCHARGED:
        session.discharged_at = at
        session.discharge_unmet = [code for code, _ in _discharge_codes(session, at)]
        Appointment.objects.filter(pk=session.appointment_id).update(status=AppointmentStatus.DONE)
    elif to == State.CANCELLED:
        Appointment.objects.filter(pk=session.appointment_id).update(
            status=AppointmentStatus.CANCELLED, change_reason="session cancelled"
        )


def _discharge_codes(session: DosingSession, at: datetime) -> list[tuple[str, str]]:
    from kapcare.dosing.selectors import discharge_result

    return (
        discharge_result(session, session.discharge_inputs, at) if session.discharge_inputs else []
    )


def check_in(actor: Actor, session: DosingSession) -> DosingSession:
    return transition(actor, session, State.CHECKED_IN)


# --- checklist and centering -----------------------------------------------------------------

CHECKLIST_FIELDS = (
    "fasting_hours",
    "driver_name",
    "driver_phone",
    "medication_holds_confirmed",
    "medication_holds_note",
    "pregnancy_test",
    "weight_kg",
    "intention",
)


def save_checklist(actor: Actor, session: DosingSession, **values: Any) -> Checklist:
    """Record (or correct) the pre-session checklist; every version is kept. Today's weight
    also goes on the patient's record when a height is known."""
    unknown = set(values) - set(CHECKLIST_FIELDS)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a checklist field")
    weight = values.get("weight_kg")
    if weight is not None and not Decimal(30) <= Decimal(str(weight)) <= Decimal(300):
        raise ValueError("weight_kg: must be 30-300 kg")
    fasting = values.get("fasting_hours")
    if fasting is not None and not Decimal(0) <= Decimal(str(fasting)) <= Decimal(72):
        raise ValueError("fasting_hours: must be 0-72 hours")
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, [State.CHECKED_IN], "checklist")
        checklist, _ = Checklist.objects.get_or_create(
            session=session, defaults={"updated_by_id": actor.person_id}
        )
        for name, value in values.items():
            setattr(checklist, name, value.strip() if isinstance(value, str) else value)
        checklist.updated_by_id = actor.person_id
        checklist.save()
        if weight is not None:
            from kapcare.patients.services import add_measurement

            latest = session.patient.measurements.first()
            if latest is not None and (
                latest.measured_at.date() != timezone.localdate()
                or latest.weight_kg != Decimal(str(weight))
            ):
                add_measurement(
                    actor,
                    session.patient,
                    weight_kg=Decimal(str(weight)),
                    height_cm=latest.height_cm,
                )
        record_event(
            actor, Action.UPDATE, f"session {session.pk} checklist", patient_id=session.patient_id
        )
    return checklist


CENTERING_KINDS = ("meditation", "breathing", "vr", "none")


def save_centering(
    actor: Actor, session: DosingSession, *, kind: str, minutes: int | None
) -> DosingSession:
    if kind not in CENTERING_KINDS:
        raise ValueError(f"centering_kind: must be one of {', '.join(CENTERING_KINDS)}")
    if kind != "none" and (minutes is None or not 1 <= minutes <= 120):
        raise ValueError("centering_minutes: must be 1-120 minutes")
    with transaction.atomic():
        session = _locked(session)
        _require_state(
            session, [State.CHECKED_IN, State.CHECKLIST_PASSED, State.DOSE_ORDERED], "centering"
        )
        session.centering_kind = kind
        session.centering_minutes = None if kind == "none" else minutes
        session.save()
        record_event(
            actor, Action.UPDATE, f"session {session.pk} centering", patient_id=session.patient_id
        )
    return session


# --- the dose order --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderPlan:
    """A computed (not yet signed) order: what the prescriber sees before signing."""

    route: str
    weight_kg: Decimal | None
    weight_basis: str
    dosing_weight_kg: float | None
    mg_per_kg: Decimal | None
    dose_mg: float
    duration_min: int | None
    volume_ml: int | None
    infusion: dosing.Infusion | None
    devices: int | None
    deviation: str
    source: str


def plan_order(
    session: DosingSession, *, mg_per_kg: Decimal | None = None, dose_mg: Decimal | None = None
) -> OrderPlan:
    """Compute the order from today's weight and the course's protocol snapshot with the
    clinical core (``dosing.weight_based_dose``, ``dosing.infusion_rate``,
    ``dosing.esketamine_devices``). Raises ValueError naming the field."""
    protocol = session.protocol
    route = str(protocol["route"])
    checklist = getattr(session, "checklist", None)
    weight = checklist.weight_kg if checklist else None
    deviation = ""
    if protocol["dose_mode"] == "mg_per_kg":
        if weight is None:
            raise ValueError("weight_kg: record today's weight on the checklist first")
        rate = Decimal(str(mg_per_kg if mg_per_kg is not None else protocol["default_mg_per_kg"]))
        low, high = Decimal(protocol["min_mg_per_kg"]), Decimal(protocol["max_mg_per_kg"])
        if not low <= rate <= high:
            deviation = f"{rate} mg/kg is outside the protocol's {low}-{high} mg/kg"
        measurement = session.patient.measurements.first()
        computed = dosing.weight_based_dose(
            float(rate),
            float(weight),
            height_cm=float(measurement.height_cm) if measurement else None,
            sex=session.patient.sex_at_birth
            if session.patient.sex_at_birth in dosing.SEXES
            else None,
            basis=str(protocol["weight_basis"]),
        )
        dose, dosing_weight, source = computed.dose_mg, computed.dosing_weight_kg, computed.source
    else:
        amount = Decimal(str(dose_mg if dose_mg is not None else protocol["default_dose_mg"]))
        if amount <= 0:
            raise ValueError("dose_mg: must be above 0")
        low, high = Decimal(protocol["min_dose_mg"]), Decimal(protocol["max_dose_mg"])
        if not low <= amount <= high:
            deviation = f"{amount} mg is outside the protocol's {low}-{high} mg"
        rate, dose, dosing_weight = None, float(amount), None
        source = str(protocol.get("source", ""))
    infusion = None
    devices = None
    if route == "iv":
        infusion = dosing.infusion_rate(
            dose, int(protocol["infusion_duration_min"]), int(protocol["infusion_volume_ml"])
        )
    if route == "esketamine":
        if dose != int(dose):
            raise ValueError("dose_mg: must be 28, 56 or 84")
        devices = dosing.esketamine_devices(int(dose))
        source = dosing.ESKETAMINE_SOURCE
    return OrderPlan(
        route=route,
        weight_kg=weight,
        weight_basis=str(protocol["weight_basis"]),
        dosing_weight_kg=dosing_weight,
        mg_per_kg=rate,
        dose_mg=dose,
        duration_min=int(protocol["infusion_duration_min"]) if route == "iv" else None,
        volume_ml=int(protocol["infusion_volume_ml"]) if route == "iv" else None,
        infusion=infusion,
        devices=devices,
        deviation=deviation,
        source=source,
    )


def sign_order(
    actor: Actor,
    session: DosingSession,
    *,
    mg_per_kg: Decimal | None = None,
    dose_mg: Decimal | None = None,
    deviation_reason: str = "",
) -> DoseOrder:
    """A prescriber signs a dose order. An earlier order is superseded, never changed. Signing
    the first order moves a session whose checklist passed to "dose ordered"."""
    if actor.role != Role.PRESCRIBER:
        raise NotAllowed("Only a prescriber signs a dose order.")
    deviation_reason = deviation_reason.strip()
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, [State.CHECKLIST_PASSED, State.DOSE_ORDERED], "dose order")
        plan = plan_order(session, mg_per_kg=mg_per_kg, dose_mg=dose_mg)
        if plan.deviation and not deviation_reason:
            raise ValueError(f"deviation_reason: required because {plan.deviation}")
        previous = workflow.current_order(session)
        order = DoseOrder.objects.create(
            session=session,
            route=plan.route,
            weight_kg=plan.weight_kg,
            weight_basis=plan.weight_basis,
            dosing_weight_kg=Decimal(str(plan.dosing_weight_kg)).quantize(Decimal("0.1"))
            if plan.dosing_weight_kg
            else None,
            mg_per_kg=plan.mg_per_kg,
            dose_mg=Decimal(str(plan.dose_mg)),
            duration_min=plan.duration_min,
            volume_ml=plan.volume_ml,
            rate_ml_per_h=Decimal(str(plan.infusion.rate_ml_per_h)) if plan.infusion else None,
            rate_mg_per_min=Decimal(str(plan.infusion.rate_mg_per_min)) if plan.infusion else None,
            concentration_mg_per_ml=Decimal(str(plan.infusion.concentration_mg_per_ml))
            if plan.infusion
            else None,
            devices=plan.devices,
            deviation=plan.deviation,
            deviation_reason=deviation_reason if plan.deviation else "",
            source=plan.source[:400],
            signed_by_id=actor.person_id,
            signed_at=_now(),
        )
        if previous is not None:
            previous.superseded_by = order
            previous.save(update_fields=["superseded_by"])
        record_event(
            actor,
            Action.CREATE,
            f"session {session.pk} dose order {order.pk} signed ({order.dose_mg} mg)",
            patient_id=session.patient_id,
        )
    if session.state == State.CHECKLIST_PASSED:
        transition(actor, session, State.DOSE_ORDERED)
    return order


# --- administration --------------------------------------------------------------------------


def record_administration(
    actor: Actor,
    session: DosingSession,
    *,
    lot_number: str,
    vial_id: str,
    started_at: datetime,
    stopped_at: datetime | None = None,
) -> Administration:
    """Record the lot, vial and start (before dosing starts), and the stop time (during
    dosing). Times may be entered after the fact; each version is kept."""
    lot_number, vial_id = lot_number.strip(), vial_id.strip()
    if not lot_number:
        raise ValueError("lot_number: required")
    if not vial_id:
        raise ValueError("vial_id: required")
    if started_at > _now():
        raise ValueError("started_at: cannot be in the future")
    if stopped_at is not None and (stopped_at <= started_at or stopped_at > _now()):
        raise ValueError("stopped_at: must be after the start and not in the future")
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, [State.DOSE_ORDERED, State.DOSING], "administration")
        order = workflow.current_order(session)
        if order is None:
            raise ValueError("order: no signed dose order")
        administration = Administration.objects.filter(session=session).first() or Administration(
            session=session
        )
        administration.order = order
        administration.lot_number, administration.vial_id = lot_number, vial_id
        administration.started_at, administration.stopped_at = started_at, stopped_at
        administration.recorded_by_id = actor.person_id
        administration.save()
        _rephase(session, administration)
        record_event(
            actor,
            Action.UPDATE,
            f"session {session.pk} administration (lot {lot_number})",
            patient_id=session.patient_id,
        )
    return administration


def record_device(actor: Actor, session: DosingSession, *, used_at: datetime) -> DeviceUse:
    """Esketamine: one more device used (the SPRAVATO label spaces them 5 minutes apart)."""
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, [State.DOSING], "device")
        if session.route != "esketamine":
            raise ValueError("device: only esketamine sessions record devices")
        administration = session.administration
        order = administration.order
        used = list(administration.devices.all())
        if len(used) >= (order.devices or 0):
            raise ValueError(f"device: the order is for {order.devices} devices, all recorded")
        if used and used_at <= used[-1].used_at:
            raise ValueError("used_at: must be after the previous device")
        if used_at < administration.started_at or used_at > _now():
            raise ValueError("used_at: must be between the start of dosing and now")
        device = DeviceUse.objects.create(
            administration=administration, number=len(used) + 1, used_at=used_at
        )
        if device.number == order.devices:
            administration.stopped_at = used_at
            administration.save()
            _rephase(session, administration)
        record_event(
            actor,
            Action.CREATE,
            f"session {session.pk} device {device.number}",
            patient_id=session.patient_id,
        )
    return device


# --- vitals ----------------------------------------------------------------------------------

VITAL_FIELDS = ("systolic", "diastolic", "heart_rate", "spo2", "resp_rate")


def _phase(taken_at: datetime, administration: Administration | None) -> str:
    if administration is None or taken_at < administration.started_at:
        return VitalPhase.PRE_DOSE
    if administration.stopped_at is None or taken_at < administration.stopped_at:
        return VitalPhase.DOSING
    return VitalPhase.RECOVERY


def _rephase(session: DosingSession, administration: Administration) -> None:
    """Administration times decide each reading's phase; re-file readings when they change."""
    for reading in session.vitals.all():
        phase = _phase(reading.taken_at, administration)
        if phase != reading.phase:
            VitalReading.objects.filter(pk=reading.pk).update(phase=phase)


@dataclass(frozen=True)
class VitalsResult:
    reading_ids: list[int]  # the stored readings' ids, in batch order
    alerts: list[tuple[int, VitalAlert]]  # (index in the batch, alert)

    @property
    def stored(self) -> int:
        return len(self.reading_ids)


class BatchError(ValueError):
    def __init__(self, index: int, field: str, message: str):
        super().__init__(f"readings[{index}].{field}: {message}")
        self.index, self.field, self.message = index, field, message


def _parse_reading(
    index: int, raw: Mapping[str, Any], now: datetime
) -> tuple[datetime, vitals.Reading]:
    taken_at = raw.get("taken_at")
    if isinstance(taken_at, str):
        try:
            taken_at = parse_datetime(taken_at)
        except ValueError:  # well formed but not a real date-time, e.g. month 13
            taken_at = None
    if not isinstance(taken_at, datetime):
        raise BatchError(index, "taken_at", "must be an ISO 8601 date-time")
    if timezone.is_naive(taken_at):
        taken_at = timezone.make_aware(taken_at)
    if taken_at > now + timedelta(minutes=2):
        raise BatchError(index, "taken_at", "cannot be in the future")
    values = {name: raw.get(name) for name in VITAL_FIELDS}
    if all(v is None for v in values.values()):
        raise BatchError(index, "systolic", "a reading needs at least one value")
    if (values["systolic"] is None) != (values["diastolic"] is None):
        raise BatchError(
            index,
            "diastolic" if values["diastolic"] is None else "systolic",
            "systolic and diastolic go together",
        )
    try:
        reading = vitals.Reading(**values)
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        raise BatchError(index, field, message) from error
    for name, value in values.items():
        if value is not None and float(value) != int(value):
            raise BatchError(index, name, "must be a whole number")
    return taken_at, reading


_READING_COLUMNS = (
    "taken_at", "phase", "systolic", "diastolic", "heart_rate", "spo2", "resp_rate",
)  # fmt: skip
_BATCH_COLUMNS = ("session_id", "recorded_by_id", "recorded_at")  # the same for every row
# Rows per INSERT: at most 5,000 parameters, well inside SQLite's and PostgreSQL's limits.
_INSERT_CHUNK = 500


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def _values(r: vitals.Reading) -> tuple[float | None, ...]:
    return (r.systolic, r.diastolic, r.heart_rate, r.spo2, r.resp_rate)


def _insert_readings(shared: tuple[int, int, datetime], rows: list[tuple[Any, ...]]) -> list[int]:
    """Insert the rows (``_READING_COLUMNS``; ``shared`` fills ``_BATCH_COLUMNS``) and return
    their ids in batch order, in one statement per chunk. The ORM's bulk_create prepares every
    value of every row through the field classes, which was most of the ingest time; these
    values are already checked and typed. PostgreSQL gets one array per column (``INSERT ...
    SELECT ... FROM unnest(...)``, as Django 5.2's bulk_create does), SQLite a multi-row VALUES
    list; both with RETURNING."""
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    table = quote(VitalReading._meta.db_table)
    columns = ", ".join(quote(c) for c in (*_BATCH_COLUMNS, *_READING_COLUMNS))
    returning = f"RETURNING {quote('id')}"
    shared_params = [shared[0], shared[1], adapt(shared[2])]
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[start : start + _INSERT_CHUNK]
            # Only quoted model names, column types and placeholders are formatted into the
            # SQL; every value is a parameter.
            if connection.vendor == "postgresql":

                def cast(column: str) -> str:
                    field = VitalReading._meta.get_field(column.removesuffix("_id"))
                    return str(field.db_type(connection)).split("(")[0]

                scalars = ", ".join(f"%s::{cast(c)}" for c in _BATCH_COLUMNS)
                arrays = ", ".join(f"%s::{cast(c)}[]" for c in _READING_COLUMNS)
                sql = (
                    f"INSERT INTO {table} ({columns}) SELECT {scalars}, u.* "  # noqa: S608  (names from the model; values are parameters)
                    f"FROM unnest({arrays}) AS u {returning}"
                )
                params = shared_params + [list(c) for c in zip(*chunk, strict=True)]
            else:
                row_sql = "(" + ", ".join(["%s"] * (3 + len(_READING_COLUMNS))) + ")"
                values = ", ".join([row_sql] * len(chunk))
                sql = f"INSERT INTO {table} ({columns}) VALUES {values} {returning}"  # noqa: S608  (names from the model)
                params = []
                for row in chunk:
                    params += shared_params
                    params.append(adapt(row[0]))
                    params.extend(row[1:])
            cursor.execute(sql, params)
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


def record_vitals(
    actor: Actor, session: DosingSession, readings: Sequence[Mapping[str, Any]]
) -> VitalsResult:
    """Store a batch of readings atomically: one invalid reading rejects the whole batch
    (``BatchError`` names its index and field). Each reading is checked with
    ``vitals.assess`` in its phase, with the protocol's thresholds. One locked read of the
    session (with its course and administration), one INSERT for the readings, one for the
    alerts, and one audit entry for the batch."""
    if not readings:
        raise BatchError(0, "readings", "at least one reading is needed")
    now = _now()
    parsed = [_parse_reading(i, raw, now) for i, raw in enumerate(readings)]
    author = actor.person_id
    with transaction.atomic():
        # Lock the session row only (PostgreSQL refuses FOR UPDATE on the nullable side of the
        # administration join); SQLite's IMMEDIATE transaction already serialises writers.
        session = (
            DosingSession.objects.select_for_update(of=("self",))
            .select_related("course", "administration")
            .get(pk=session.pk)
        )
        _require_state(session, sorted(workflow.MONITORED), "vitals")
        administration = getattr(session, "administration", None)
        limits = workflow.thresholds(session)
        phases = [_phase(taken_at, administration) for taken_at, _ in parsed]
        ids = _insert_readings(
            (session.pk, author, now),
            [
                (taken_at, phase, *map(_whole, _values(reading)))
                for (taken_at, reading), phase in zip(parsed, phases, strict=True)
            ],
        )
        alerts: list[tuple[int, VitalAlert]] = []
        for index, ((_, reading), phase) in enumerate(zip(parsed, phases, strict=True)):
            for found in vitals.assess(reading, phase, limits):
                alert = VitalAlert(
                    session_id=session.pk,
                    reading_id=ids[index],
                    code=found.code,
                    level=found.level,
                    message=found.message[:300],
                    source=found.source[:300],
                )
                alerts.append((index, alert))
        if alerts:
            VitalAlert.objects.bulk_create([alert for _, alert in alerts])
        record_event(
            actor,
            Action.CREATE,
            f"session {session.pk}: {len(ids)} vitals readings",
            patient_id=session.patient_id,
        )
    return VitalsResult(ids, alerts)


def acknowledge_vital_alert(actor: Actor, alert: VitalAlert, *, action_taken: str) -> VitalAlert:
    action_taken = action_taken.strip()
    if not action_taken:
        raise ValueError("action_taken: say what was done (for example, paused the infusion)")
    with transaction.atomic():
        alert = VitalAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at is not None:
            raise ValueError("alert: already acknowledged")
        alert.acknowledged_by_id = actor.person_id
        alert.acknowledged_at = _now()
        alert.action_taken = action_taken
        alert.save()
        record_event(
            actor,
            Action.UPDATE,
            f"vitals alert {alert.pk} ({alert.code}) acknowledged",
            patient_id=alert.session.patient_id,
        )
    return alert


# --- side effects, interventions, scores -----------------------------------------------------

ACTIVE = (State.DOSE_ORDERED, State.DOSING, State.RECOVERY)


def _check_time(name: str, at: datetime) -> None:
    if at > _now() + timedelta(minutes=2):
        raise ValueError(f"{name}: cannot be in the future")


def add_side_effect(
    actor: Actor,
    session: DosingSession,
    *,
    kind: str,
    severity: str,
    noted_at: datetime,
    note: str = "",
) -> SideEffect:
    if kind not in SideEffectKind.values:
        raise ValueError(f"kind: must be one of {', '.join(SideEffectKind.values)}")
    if severity not in Severity.values:
        raise ValueError("severity: must be mild, moderate or severe")
    if kind == SideEffectKind.OTHER and not note.strip():
        raise ValueError("note: describe the side effect when the kind is 'other'")
    _check_time("noted_at", noted_at)
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, ACTIVE, "side effect")
        effect = SideEffect.objects.create(
            session=session,
            kind=kind,
            severity=severity,
            noted_at=noted_at,
            note=note.strip()[:300],
            recorded_by_id=actor.person_id,
        )
        record_event(
            actor,
            Action.CREATE,
            f"session {session.pk} side effect {kind}",
            patient_id=session.patient_id,
        )
    return effect


def add_intervention(
    actor: Actor,
    session: DosingSession,
    *,
    drug: str,
    dose: str,
    given_at: datetime,
    reason: str = "",
) -> Intervention:
    drug, dose = drug.strip(), dose.strip()
    if not drug:
        raise ValueError("drug: required")
    if not dose:
        raise ValueError("dose: required, with its unit (for example '4 mg IV')")
    _check_time("given_at", given_at)
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, ACTIVE, "intervention")
        intervention = Intervention.objects.create(
            session=session,
            drug=drug[:80],
            dose=dose[:40],
            given_at=given_at,
            reason=reason.strip()[:200],
            recorded_by_id=actor.person_id,
        )
        record_event(
            actor,
            Action.CREATE,
            f"session {session.pk} intervention {drug[:40]}",
            patient_id=session.patient_id,
        )
    return intervention


# CADSS-6: items 1, 2, 6, 7, 15 and 22 of the CADSS, each 0-4 (Bremner 1998; the 6-item form
# as used in ketamine studies, CLINICAL_REFERENCE.md section 1).
CADSS6_ITEMS = 6
SCALE_RANGES = {ScoreScale.DISSOCIATION_0_10: (0, 10), ScoreScale.MOAAS: (0, 5)}


def add_score(
    actor: Actor,
    session: DosingSession,
    *,
    scale: str,
    scored_at: datetime,
    value: int | None = None,
    items: Sequence[int] = (),
) -> SessionScore:
    if scale not in ScoreScale.values:
        raise ValueError(f"scale: must be one of {', '.join(ScoreScale.values)}")
    if scale == ScoreScale.CADSS6:
        if len(items) != CADSS6_ITEMS or any(
            isinstance(i, bool) or not isinstance(i, int) or not 0 <= i <= 4 for i in items
        ):
            raise ValueError("items: CADSS-6 needs 6 item scores, each 0-4")
        value = sum(items)
    else:
        low, high = SCALE_RANGES[ScoreScale(scale)]
        if value is None or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"value: {scale} must be {low}-{high}")
        items = ()
    _check_time("scored_at", scored_at)
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, ACTIVE, "score")
        score = SessionScore.objects.create(
            session=session,
            scale=scale,
            value=value,
            items=list(items),
            scored_at=scored_at,
            recorded_by_id=actor.person_id,
        )
        record_event(
            actor,
            Action.CREATE,
            f"session {session.pk} {scale} {value}",
            patient_id=session.patient_id,
        )
    return score


# --- discharge -------------------------------------------------------------------------------


def assess_discharge(
    actor: Actor,
    session: DosingSession,
    *,
    escort_name: str,
    sedation_moaas: int,
    dissociation_resolved: bool,
    nausea_controlled: bool,
    ambulating_steadily: bool,
    ready_without_minimum_at: datetime | None = None,
) -> list[tuple[str, str]]:
    """Store the discharge assessment and return the unmet criteria now (``discharge_check``).
    Discharging is then ``transition(..., "discharged")``, which checks again."""
    from kapcare.dosing.selectors import discharge_result

    if (
        isinstance(sedation_moaas, bool)
        or not isinstance(sedation_moaas, int)
        or not 0 <= sedation_moaas <= 5
    ):
        raise ValueError("sedation_moaas: must be an integer 0-5")
    escort = escort_name.strip()[:120]
    inputs = {
        "escort_name": escort,
        "sedation_moaas": sedation_moaas,
        "dissociation_resolved": bool(dissociation_resolved),
        "nausea_controlled": bool(nausea_controlled),
        "ambulating_steadily": bool(ambulating_steadily),
    }
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, [State.RECOVERY], "discharge assessment")
        session.discharge_inputs = inputs
        session.escort_name = escort
        if ready_without_minimum_at is not None:
            session.ready_without_minimum_at = ready_without_minimum_at
        unmet = discharge_result(session, inputs, _now())
        session.discharge_unmet = [code for code, _ in unmet]
        session.save()
        record_event(
            actor,
            Action.UPDATE,
            f"session {session.pk} discharge assessment",
            patient_id=session.patient_id,
        )
    return unmet


# --- reflection, note, amendments ------------------------------------------------------------


def save_reflection(actor: Actor, session: DosingSession, text: str) -> DosingSession:
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, [State.RECOVERY, State.DISCHARGED], "reflection")
        session.reflection = text.strip()
        session.save()
        record_event(
            actor, Action.UPDATE, f"session {session.pk} reflection", patient_id=session.patient_id
        )
    return session


def save_note(actor: Actor, session: DosingSession, text: str) -> SessionNote:
    """Write or rewrite the draft note. A signed note refuses (amend it instead)."""
    text = text.strip()
    if not text:
        raise ValueError("text: the note is empty")
    with transaction.atomic():
        session = _locked(session)
        note = SessionNote.objects.filter(session=session).first()
        if note is not None and note.signed_at is not None:
            raise ImmutableError("text: the note is signed; add an amendment instead")
        _require_state(session, [State.RECOVERY, State.DISCHARGED], "note")
        if note is None:
            note = SessionNote(session=session, author_id=actor.person_id)
        note.text = text
        note.save()
        record_event(
            actor, Action.UPDATE, f"session {session.pk} note draft", patient_id=session.patient_id
        )
    return note


def sign_note(actor: Actor, session: DosingSession) -> SessionNote:
    """Sign and lock the note; the session's record is then complete."""
    with transaction.atomic():
        session = _locked(session)
        _require_state(session, [State.DISCHARGED], "signing the note")
        note = SessionNote.objects.select_for_update().filter(session=session).first()
        if note is None or not note.text.strip():
            raise TransitionRefused(
                "note: write the note before signing",
                [Requirement("note", "Write the session note before signing", False)],
            )
        note.signed_by_id = actor.person_id
        note.signed_at = _now()
        note.save()
        record_event(
            actor, Action.UPDATE, f"session {session.pk} note signed", patient_id=session.patient_id
        )
        transition(actor, session, State.NOTE_SIGNED)
    return note


def amend_note(actor: Actor, session: DosingSession, *, text: str, reason: str) -> NoteAmendment:
    text, reason = text.strip(), reason.strip()
    if not text:
        raise ValueError("text: the amendment is empty")
    if not reason:
        raise ValueError("reason: say why the note is amended")
    with transaction.atomic():
        note = SessionNote.objects.select_for_update().filter(session=session).first()
        if note is None or note.signed_at is None:
            raise ValueError("note: only a signed note is amended; edit the draft instead")
        amendment = NoteAmendment.objects.create(
            note=note, text=text, reason=reason[:300], author_id=actor.person_id, at=_now()
        )
        record_event(
            actor,
            Action.UPDATE,
            f"session {session.pk} note amended",
            patient_id=session.patient_id,
        )
    return amendment
