"""What happens during and after the dose: side effects, interventions, and the dissociation
and sedation scores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

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
    now_or_default,
    require_open,
    text,
    time_noted,
)
from kapcare.errors import FieldInvalid

Entry = TypeVar("Entry", SideEffect, Intervention, SessionScore)

# CADSS-6: items 1, 2, 6, 7, 15 and 22 of the CADSS, each 0-4 (Bremner 1998; the six-item form
# used in ketamine studies, docs/clinical-reference.md §6.3).
CADSS6_ITEMS = 6
CADSS6_ITEM_RANGE = (0, 4)
SCALE_RANGES = {ScoreScale.DISSOCIATION_0_10: (0, 10), ScoreScale.MOAAS: (0, 5)}


def scale_label(scale: str) -> str:
    """A scale's score in words, from the scale's choice label: "MOAA/S sedation score"."""
    return f"{ScoreScale(scale).label.split(' (')[0]} score"


def _one_of(field: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise FieldInvalid(field, "one_of", f"must be one of {', '.join(allowed)}")


def _record(
    actor: Actor, session: DosingSession, model: type[Entry], what: str, **fields: Any
) -> Entry:
    """One more row in the session, while side effects, interventions and scores are open."""
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.OBSERVE, session)
        entry = model.objects.create(session=session, recorded_by_id=actor.person_id, **fields)
        audit(actor, Action.CREATE, session, what)
    return entry


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
    _one_of("kind", kind, SideEffectKind.values)
    _one_of("severity", severity, Severity.values)
    if kind == SideEffectKind.OTHER and not text(note):
        raise FieldInvalid("note", "required", "describe the side effect when the kind is 'other'")
    noted_at = time_noted("noted_at", noted_at, now_or_default(now))
    return _record(
        actor, session, SideEffect, f"side effect {kind}",
        kind=kind, severity=severity, noted_at=noted_at, note=text(note)[:300],
    )  # fmt: skip


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
    drug, dose = text(drug), text(dose)
    if not drug:
        raise FieldInvalid("drug", "required", "name the drug given")
    if not dose:
        raise FieldInvalid("dose", "required", "with its unit (for example '4 mg IV')")
    given_at = time_noted("given_at", given_at, now_or_default(now))
    return _record(
        actor, session, Intervention, f"intervention {drug[:40]}",
        drug=drug[:80], dose=dose[:40], given_at=given_at, reason=text(reason)[:200],
    )  # fmt: skip


def _score_value(scale: str, value: int | None, items: Sequence[int]) -> tuple[int, list[int]]:
    _one_of("scale", scale, ScoreScale.values)
    if scale == ScoreScale.CADSS6:
        low, high = CADSS6_ITEM_RANGE
        if len(items) != CADSS6_ITEMS or any(
            isinstance(i, bool) or not isinstance(i, int) or not low <= i <= high for i in items
        ):
            raise FieldInvalid(
                "items",
                "out_of_range",
                f"must be {CADSS6_ITEMS} scores, each between {low} and {high}",
            )
        return sum(items), list(items)
    low, high = SCALE_RANGES[ScoreScale(scale)]
    if value is None or isinstance(value, bool) or not low <= value <= high:
        # The API names the field ``value`` whatever the scale; a page names the scale.
        label = scale_label(scale)
        raise FieldInvalid(
            "value",
            "out_of_range",
            f"{label} must be between {low} and {high}",
            low=low,
            high=high,
            entered=value,
            label=label,
        )
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
    total, kept_items = _score_value(scale, value, items)
    scored_at = time_noted("scored_at", scored_at, now_or_default(now))
    return _record(
        actor, session, SessionScore, f"{scale} {total}",
        scale=scale, value=total, items=kept_items, scored_at=scored_at,
    )  # fmt: skip
