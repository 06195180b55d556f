"""The pre-session checklist and the centering exercise."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from kapcare.audit.models import Action
from kapcare.audit.services import Actor
from kapcare.clinical.dosing import WEIGHT_RANGE_KG
from kapcare.clinical.session import Step
from kapcare.dosing.models import Checklist, DosingSession, PregnancyTest
from kapcare.dosing.services._common import audit, locked, now_or_default, require_open
from kapcare.errors import FieldInvalid

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
FASTING_RANGE_HOURS = (Decimal(0), Decimal(72))
CENTERING_KINDS = ("meditation", "breathing", "vr", "none")
CENTERING_RANGE_MIN = (1, 120)


def _decimal(name: str, value: Any, bounds: tuple[Decimal, Decimal], unit: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise FieldInvalid(name, "type", "must be a number") from None
    if not number.is_finite() or not bounds[0] <= number <= bounds[1]:
        raise FieldInvalid(
            name,
            "out_of_range",
            f"must be {bounds[0]}-{bounds[1]} {unit}",
            low=float(bounds[0]),
            high=float(bounds[1]),
            entered=value,
        )
    return number


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(CHECKLIST_FIELDS))
    if unknown:
        raise FieldInvalid(unknown[0], "unknown_field", "not a checklist field")
    clean = dict(values)
    if "weight_kg" in clean:
        clean["weight_kg"] = _decimal("weight_kg", clean["weight_kg"], WEIGHT_RANGE_KG, "kg")
    if "fasting_hours" in clean:
        clean["fasting_hours"] = _decimal(
            "fasting_hours", clean["fasting_hours"], FASTING_RANGE_HOURS, "hours"
        )
    if clean.get("pregnancy_test") not in (None, "", *PregnancyTest.values):
        raise FieldInvalid(
            "pregnancy_test", "one_of", f"must be one of {', '.join(PregnancyTest.values)}"
        )
    for name, value in clean.items():
        if isinstance(value, str):
            clean[name] = value.strip()
    return clean


def save_checklist(
    actor: Actor, session: DosingSession, *, now: datetime | None = None, **values: Any
) -> Checklist:
    """Record (or correct) the pre-session checklist; every version is kept. Today's weight
    also goes on the patient's record."""
    from kapcare.patients.services import add_measurement

    clean = _clean(values)
    weight = clean.get("weight_kg")
    at = now_or_default(now)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.CHECKLIST, session)
        checklist, _ = Checklist.objects.get_or_create(
            session=session, defaults={"updated_by_id": actor.person_id}
        )
        for name, value in clean.items():
            setattr(checklist, name, value)
        checklist.updated_by_id = actor.person_id
        checklist.save()
        if weight is not None:
            latest = session.patient.measurements.first()
            if latest is not None and (
                timezone.localdate(latest.measured_at) != timezone.localdate(at)
                or latest.weight_kg != weight
            ):
                add_measurement(
                    actor, session.patient, weight_kg=weight, height_cm=latest.height_cm
                )
        audit(actor, Action.UPDATE, session, "checklist")
    return checklist


def save_centering(
    actor: Actor, session: DosingSession, *, kind: str, minutes: int | None
) -> DosingSession:
    if kind not in CENTERING_KINDS:
        raise FieldInvalid(
            "centering_kind", "one_of", f"must be one of {', '.join(CENTERING_KINDS)}"
        )
    low, high = CENTERING_RANGE_MIN
    if kind != "none" and (minutes is None or not low <= minutes <= high):
        raise FieldInvalid(
            "centering_minutes",
            "out_of_range",
            f"must be {low}-{high} minutes",
            low=low,
            high=high,
            entered=minutes,
        )
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.CENTERING, session)
        session.centering_kind = kind
        session.centering_minutes = None if kind == "none" else minutes
        session.save()
        audit(actor, Action.UPDATE, session, "centering")
    return session
