"""The dose order: computed by the clinical core from today's weight and the course's protocol,
signed by a prescriber, never changed (a new order supersedes it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from kapcare.accounts.roles import Role
from kapcare.audit.models import Action
from kapcare.audit.services import Actor
from kapcare.clinical import dosing
from kapcare.clinical.session import Step
from kapcare.dosing.models import DoseOrder, DosingSession, State
from kapcare.dosing.services import transitions
from kapcare.dosing.services._common import audit, locked, now_or_default, require_open, text
from kapcare.errors import FieldInvalid, Forbidden


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


def _outside(amount: Decimal, low: Decimal | None, high: Decimal | None, unit: str) -> str:
    if low is not None and high is not None and not low <= amount <= high:
        return f"{amount} {unit} is outside the protocol's {low}-{high} {unit}"
    return ""


def plan_order(
    session: DosingSession, *, mg_per_kg: Decimal | None = None, dose_mg: Decimal | None = None
) -> OrderPlan:
    """Compute the order with the clinical core (``dosing.weight_based_dose``,
    ``dosing.infusion_rate``, ``dosing.esketamine_devices``). Without an amount the protocol's
    default is planned: that is the preview the order form offers, never what is signed."""
    protocol = session.course.protocol_record
    checklist = getattr(session, "checklist", None)
    weight = checklist.weight_kg if checklist else None
    if protocol.weight_based:
        if weight is None:
            raise FieldInvalid("weight_kg", "required", "record today's weight on the checklist")
        rate = mg_per_kg if mg_per_kg is not None else protocol.default_mg_per_kg
        if rate is None:
            raise FieldInvalid("mg_per_kg", "required", "state the dose in mg/kg")
        deviation = _outside(rate, protocol.min_mg_per_kg, protocol.max_mg_per_kg, "mg/kg")
        measurement = session.patient.measurements.first()
        sex = session.patient.sex_at_birth
        computed = dosing.weight_based_dose(
            float(rate),
            float(weight),
            height_cm=float(measurement.height_cm) if measurement else None,
            sex=sex if sex in dosing.SEXES else None,
            basis=protocol.weight_basis,
            # The IV evidence backs an IV order; any other route cites its own protocol.
            dose_source=dosing.IV_SOURCE if protocol.route == "iv" else protocol.source,
        )
        dose, dosing_weight, source = computed.dose_mg, computed.dosing_weight_kg, computed.source
        planned_rate: Decimal | None = rate
    else:
        amount = dose_mg if dose_mg is not None else protocol.default_dose_mg
        if amount is None:
            raise FieldInvalid("dose_mg", "required", "state the dose in mg")
        if amount <= 0:
            raise FieldInvalid("dose_mg", "out_of_range", "must be above 0")
        deviation = _outside(amount, protocol.min_dose_mg, protocol.max_dose_mg, "mg")
        planned_rate, dose, dosing_weight, source = None, float(amount), None, protocol.source
    infusion = devices = None
    iv = protocol.route == "iv"
    if iv:
        if not protocol.infusion_duration_min or not protocol.infusion_volume_ml:
            raise FieldInvalid("protocol", "incomplete", "an IV protocol needs duration and volume")
        infusion = dosing.infusion_rate(
            dose, protocol.infusion_duration_min, protocol.infusion_volume_ml
        )
    if protocol.route == "esketamine":
        if dose != int(dose):
            raise FieldInvalid("dose_mg", "one_of", "must be 28, 56 or 84")
        devices = dosing.esketamine_devices(int(dose))
        source = dosing.ESKETAMINE_SOURCE
    return OrderPlan(
        route=protocol.route,
        weight_kg=weight,
        weight_basis=protocol.weight_basis,
        dosing_weight_kg=dosing_weight,
        mg_per_kg=planned_rate,
        dose_mg=dose,
        duration_min=protocol.infusion_duration_min if iv else None,
        volume_ml=protocol.infusion_volume_ml if iv else None,
        infusion=infusion,
        devices=devices,
        deviation=deviation,
        source=source,
    )


def _decimal(value: float | None, places: str) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(places))


def sign_order(
    actor: Actor,
    session: DosingSession,
    *,
    mg_per_kg: Decimal | None = None,
    dose_mg: Decimal | None = None,
    deviation_reason: str = "",
    now: datetime | None = None,
) -> DoseOrder:
    """A prescriber signs a dose order they state (the protocol's default is offered, never
    assumed). An earlier order is superseded, never changed. The first order moves a session
    whose checklist passed to "dose ordered", in the same transaction: a refused move (an open
    critical alert) leaves no order behind."""
    if actor.role != Role.PRESCRIBER:
        raise Forbidden("Only a prescriber signs a dose order.")
    at = now_or_default(now)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.ORDER, session)
        field = session.course.protocol_record.amount_field
        if (mg_per_kg if field == "mg_per_kg" else dose_mg) is None:
            raise FieldInvalid(field, "required", "state the dose to sign")
        plan = plan_order(session, mg_per_kg=mg_per_kg, dose_mg=dose_mg)
        reason = text(deviation_reason)
        if plan.deviation and not reason:
            raise FieldInvalid("deviation_reason", "required", f"required because {plan.deviation}")
        previous = (
            session.orders.select_for_update()
            .filter(superseded_by__isnull=True)
            .order_by("-id")
            .first()
        )
        order = DoseOrder.objects.create(
            session=session,
            route=plan.route,
            weight_kg=plan.weight_kg,
            weight_basis=plan.weight_basis,
            dosing_weight_kg=_decimal(plan.dosing_weight_kg, "0.1")
            if plan.dosing_weight_kg
            else None,
            mg_per_kg=plan.mg_per_kg,
            dose_mg=Decimal(str(plan.dose_mg)),
            duration_min=plan.duration_min,
            volume_ml=plan.volume_ml,
            rate_ml_per_h=_decimal(plan.infusion.rate_ml_per_h, "0.1") if plan.infusion else None,
            rate_mg_per_min=_decimal(plan.infusion.rate_mg_per_min, "0.1")
            if plan.infusion
            else None,
            concentration_mg_per_ml=_decimal(plan.infusion.concentration_mg_per_ml, "0.001")
            if plan.infusion
            else None,
            devices=plan.devices,
            deviation=plan.deviation,
            deviation_reason=reason if plan.deviation else "",
            source=plan.source[:400],
            signed_by_id=actor.person_id,
            signed_at=at,
        )
        if previous is not None:
            previous.superseded_by = order
            previous.save(update_fields=["superseded_by"])
        audit(actor, Action.CREATE, session, f"dose order {order.pk} signed ({order.dose_mg} mg)")
        if session.state == State.CHECKLIST_PASSED:
            transitions.move(actor, session, State.DOSE_ORDERED, reason="", now=at)
    return order
