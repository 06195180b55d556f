"""The discharge assessment and the reflection. Discharging itself is a transition, which the
session model checks again at that moment."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from kapcare.audit.models import Action
from kapcare.audit.services import Actor
from kapcare.clinical.session import Requirement, Step
from kapcare.dosing import rules
from kapcare.dosing.models import DosingSession
from kapcare.dosing.services._common import audit, locked, now_or_default, require_open, text
from kapcare.errors import FieldInvalid

MOAAS_RANGE = (0, 5)


def assess_discharge(
    actor: Actor,
    session: DosingSession,
    *,
    escort_name: str,
    sedation_moaas: int | None,
    dissociation_resolved: bool,
    nausea_controlled: bool,
    ambulating_steadily: bool,
    ready_without_minimum_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Requirement, ...]:
    """Store the discharge assessment and return the criteria not met now."""
    low, high = MOAAS_RANGE
    if (
        sedation_moaas is None
        or isinstance(sedation_moaas, bool)
        or not isinstance(sedation_moaas, int)
        or not low <= sedation_moaas <= high
    ):
        raise FieldInvalid(
            "sedation_moaas",
            "out_of_range",
            f"must be a whole number {low}-{high}",
            low=low,
            high=high,
            entered=sedation_moaas,
        )
    escort = text(escort_name)[:120]
    inputs = {
        "escort_name": escort,
        "sedation_moaas": sedation_moaas,
        "dissociation_resolved": bool(dissociation_resolved),
        "nausea_controlled": bool(nausea_controlled),
        "ambulating_steadily": bool(ambulating_steadily),
    }
    at = now_or_default(now)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.DISCHARGE_ASSESSMENT, session)
        session.discharge_inputs = inputs
        session.escort_name = escort
        if ready_without_minimum_at is not None:
            session.ready_without_minimum_at = ready_without_minimum_at
        unmet = rules.discharge_unmet(session, at)
        session.discharge_unmet = [r.code for r in unmet]
        session.save()
        audit(actor, Action.UPDATE, session, "discharge assessment")
    return unmet


def save_reflection(actor: Actor, session: DosingSession, reflection: str) -> DosingSession:
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.REFLECTION, session)
        session.reflection = text(reflection)
        session.save()
        audit(actor, Action.UPDATE, session, "reflection")
    return session
