"""What happens during and after the dose: side effects, interventions, and the dissociation
and sedation scores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from kapcare.audit.models import Action
from kapcare.audit.services import Actor
from kapcare.clinical.session import Step
from kapcare.dosing.models import (
    DosingSession,
    Intervention,
    ScoreScale,
    SessionScore,
    Severity,
    SideEffect,
    SideEffectKind,
)
from kapcare.dosing.services._common import (
    audit,
    locked,
    not_in_future,
    now_or_default,
    require_open,
    text,
)
from kapcare.errors import FieldInvalid

# CADSS-6: items 1, 2, 6, 7, 15 and 22 of the CADSS, each 0-4 (Bremner 1998; the six-item form
# used in ketamine studies, docs/clinical-reference.md §6.3).
CADSS6_ITEMS = 6
CADSS6_ITEM_RANGE = (0, 4)
SCALE_RANGES = {ScoreScale.DISSOCIATION_0_10: (0, 10), ScoreScale.MOAAS: (0, 5)}


def _one_of(field: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise FieldInvalid(field, "one_of", f"must be one of {', '.join(allowed)}")


def add_side_effect(
    actor: Actor,
    session: DosingSession,
    *,
    kind: str,
    severity: str,
    noted_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> SideEffect:
    at = now_or_default(now)
    noted_at = noted_at or at
    _one_of("kind", kind, SideEffectKind.values)
    _one_of("severity", severity, Severity.values)
    if kind == SideEffectKind.OTHER and not text(note):
        raise FieldInvalid("note", "required", "describe the side effect when the kind is 'other'")
    not_in_future("noted_at", noted_at, at)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.OBSERVE, session)
        effect = SideEffect.objects.create(
            session=session, kind=kind, severity=severity, noted_at=noted_at,
            note=text(note)[:300], recorded_by_id=actor.person_id,
        )  # fmt: skip
        audit(actor, Action.CREATE, session, f"side effect {kind}")
    return effect


def add_intervention(
    actor: Actor,
    session: DosingSession,
    *,
    drug: str,
    dose: str,
    given_at: datetime | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Intervention:
    at = now_or_default(now)
    given_at = given_at or at
    drug, dose = text(drug), text(dose)
    if not drug:
        raise FieldInvalid("drug", "required", "name the drug given")
    if not dose:
        raise FieldInvalid("dose", "required", "with its unit (for example '4 mg IV')")
    not_in_future("given_at", given_at, at)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.OBSERVE, session)
        intervention = Intervention.objects.create(
            session=session, drug=drug[:80], dose=dose[:40], given_at=given_at,
            reason=text(reason)[:200], recorded_by_id=actor.person_id,
        )  # fmt: skip
        audit(actor, Action.CREATE, session, f"intervention {drug[:40]}")
    return intervention


def _score_value(scale: str, value: int | None, items: Sequence[int]) -> tuple[int, list[int]]:
    _one_of("scale", scale, ScoreScale.values)
    if scale == ScoreScale.CADSS6:
        low, high = CADSS6_ITEM_RANGE
        if len(items) != CADSS6_ITEMS or any(
            isinstance(i, bool) or not isinstance(i, int) or not low <= i <= high for i in items
        ):
            raise FieldInvalid("items", "out_of_range", "CADSS-6 needs 6 item scores, each 0-4")
        return sum(items), list(items)
    low, high = SCALE_RANGES[ScoreScale(scale)]
    if value is None or isinstance(value, bool) or not low <= value <= high:
        raise FieldInvalid("value", "out_of_range", f"{scale} must be {low}-{high}")
    return value, []


def add_score(
    actor: Actor,
    session: DosingSession,
    *,
    scale: str,
    scored_at: datetime | None = None,
    value: int | None = None,
    items: Sequence[int] = (),
    now: datetime | None = None,
) -> SessionScore:
    at = now_or_default(now)
    scored_at = scored_at or at
    total, kept_items = _score_value(scale, value, items)
    not_in_future("scored_at", scored_at, at)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.OBSERVE, session)
        score = SessionScore.objects.create(
            session=session, scale=scale, value=total, items=kept_items, scored_at=scored_at,
            recorded_by_id=actor.person_id,
        )  # fmt: skip
        audit(actor, Action.CREATE, session, f"{scale} {total}")
    return score
