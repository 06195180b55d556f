"""What was given: the container drawn from, the start and stop times, and each esketamine
device. The ledger's withdrawal is written here, in the same transaction as the administration
(or the device), so one use case is one call: both are stored, or (a refusal of either)
neither."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from kapcare.audit.models import Action
from kapcare.audit.services import Actor
from kapcare.clinical.dosing import ESKETAMINE_DEVICE_SPACING_MIN
from kapcare.clinical.session import ESKETAMINE, Step
from kapcare.dosing.models import Administration, DeviceUse, DosingSession, State, VitalReading
from kapcare.dosing.services import transitions
from kapcare.dosing.services._common import (
    audit,
    locked,
    not_in_future,
    now_or_default,
    require_open,
    text,
)
from kapcare.errors import Conflict, FieldInvalid
from kapcare.ledger import services as ledger
from kapcare.ledger.models import Container
from kapcare.ledger.witness import Witness


@dataclass(frozen=True)
class Draw:
    """What the nurse took from the ledger's container: for a vial, drawn, given and wasted
    (mL, drawn = given + wasted) with the manner of waste and its witness; for esketamine, the
    first device (each device is withdrawn whole as it is recorded, ``record_device``)."""

    container_id: int | None
    drawn_ml: Decimal | None = None
    given_ml: Decimal | None = None
    wasted_ml: Decimal | None = None
    waste_manner: str = ""
    witness: Witness | None = None


def record_administration(
    actor: Actor,
    session: DosingSession,
    *,
    draw: Draw | None = None,
    started_at: datetime,
    stopped_at: datetime | None = None,
    now: datetime | None = None,
) -> Administration:
    """Record the container drawn from and the start (before dosing starts), and the stop time
    (during dosing). Times may be entered after the fact; each version is kept.

    The first recording needs the ``draw``: the lot is the container's, and for a vial the
    ledger's withdrawal is written with it. A later call corrects times only (a withdrawal is
    corrected in the ledger, by a reversing entry).

    A correction never moves a stored time by accident: a time sent back as the page shows it
    (to the minute) keeps the stored seconds, and an esketamine administration's stop is the
    last device's time, which only recording a device sets. Moving a time re-files readings
    into their phase, so a silent shift would turn a baseline into a dosing reading."""
    at = now_or_default(now)
    not_in_future("started_at", started_at, at)
    if stopped_at is not None:
        if stopped_at <= started_at:
            raise FieldInvalid("stopped_at", "before_start", "must be after the start")
        not_in_future("stopped_at", stopped_at, at)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.ADMINISTRATION, session)
        order = session.orders.filter(superseded_by__isnull=True).order_by("-id").first()
        if order is None:
            raise Conflict("No signed dose order.", field="order", rule="no_order")
        stored = Administration.objects.filter(session=session).first()
        administration = stored or Administration(session=session)
        container = None
        if stored is not None:
            started_at = _as_stored(started_at, stored.started_at) or started_at
            stopped_at = _as_stored(stopped_at, stored.stopped_at)
            if session.route == ESKETAMINE:
                stopped_at = stored.stopped_at
        else:
            container = _container(draw)
            administration.container = container
            administration.lot_number = container.lot
        administration.order = order
        administration.started_at, administration.stopped_at = started_at, stopped_at
        administration.recorded_by_id = actor.person_id
        administration.save()
        # A vial is drawn now; esketamine's devices are withdrawn one by one (record_device).
        if container is not None and draw is not None and session.route != ESKETAMINE:
            ledger.record_withdrawal(
                actor, container_id=container.pk, session=session,
                administration=administration, drawn_ml=draw.drawn_ml, given_ml=draw.given_ml,
                wasted_ml=draw.wasted_ml, waste_manner=draw.waste_manner, witness=draw.witness,
                now=at,
            )  # fmt: skip
        _rephase(session, administration)
        audit(actor, Action.UPDATE, session, f"administration (lot {administration.lot_number})")
    return administration


def _container(draw: Draw | None) -> Container:
    """The container the administration is drawn from (the ledger checks it as it withdraws)."""
    if draw is None or draw.container_id is None:
        raise FieldInvalid("container_id", "required", "the vial or device drawn from")
    container = Container.objects.filter(pk=draw.container_id).first()
    if container is None:
        raise FieldInvalid("container_id", "unknown", "no such vial or device in the ledger")
    return container


def start_dosing(
    actor: Actor,
    session: DosingSession,
    *,
    draw: Draw | None,
    started_at: datetime,
    reason: str = "",
    now: datetime | None = None,
) -> DosingSession:
    """Record the administration (with the ledger's withdrawal) and start dosing, as one use
    case: the nurse saves the container, the quantities and the start and the session moves to
    dosing, or (a refusal of any) nothing is stored. ``reason`` is a prescriber's override
    reason for the move."""
    at = now_or_default(now)
    with transaction.atomic():
        record_administration(actor, session, draw=draw, started_at=started_at, now=at)
        return transitions.move(
            actor, locked(session.pk), State.DOSING, reason=text(reason), now=at
        )


def record_stop(
    actor: Actor, session: DosingSession, *, now: datetime | None = None
) -> Administration:
    """ "Stopped now": the stored administration, its stop at ``now`` (one tap on the page).
    An esketamine administration stops with its last device instead."""
    at = now_or_default(now)
    with transaction.atomic():
        session = locked(session.pk)
        if session.route == ESKETAMINE:
            raise Conflict(
                "An esketamine administration stops with its last device.",
                field="stopped_at",
                rule="esketamine_devices",
            )
        stored = Administration.objects.filter(session=session).first()
        if stored is None:
            raise Conflict(
                "Record the administration first.", field="administration", rule="no_administration"
            )
        return record_administration(
            actor, session, started_at=stored.started_at, stopped_at=at, now=at
        )


def record_device(
    actor: Actor,
    session: DosingSession,
    *,
    used_at: datetime | None = None,
    container_id: int | None = None,
    now: datetime | None = None,
) -> DeviceUse:
    """Esketamine: one more device used, at least 5 minutes after the previous one (SPRAVATO
    label), withdrawn whole from the ledger in the same transaction. The device is
    ``container_id``, else the next full one of the administration's lot (the next in the
    package; the first is the one picked when dosing started)."""
    at = now_or_default(now)
    used_at = used_at or at
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.DEVICE, session)
        administration = session.administration
        order = administration.order
        used = list(administration.devices.order_by("number"))
        if len(used) >= (order.devices or 0):
            raise Conflict(
                f"The order is for {order.devices} devices, all recorded.",
                field="device",
                rule="all_recorded",
            )
        if used_at < administration.started_at:
            raise FieldInvalid("used_at", "before_start", "must be after the start of dosing")
        not_in_future("used_at", used_at, at)
        if used:
            ready_at = used[-1].used_at + timedelta(minutes=ESKETAMINE_DEVICE_SPACING_MIN)
            if used_at < ready_at:
                wait = math.ceil((ready_at - used_at).total_seconds() / 60)
                raise FieldInvalid(
                    "used_at",
                    "device_spacing",
                    f"the label spaces devices {ESKETAMINE_DEVICE_SPACING_MIN} minutes apart; "
                    f"wait about {wait} more minute{'s' if wait != 1 else ''}",
                )
        container_id = container_id or _next_device(administration)
        device = DeviceUse.objects.create(
            administration=administration,
            number=len(used) + 1,
            used_at=used_at,
            container_id=container_id,
        )
        ledger.record_withdrawal(
            actor, container_id=container_id, session=session, administration=administration,
            drawn_ml=None, given_ml=None, wasted_ml=None, now=used_at,
        )  # fmt: skip
        if device.number == order.devices:
            administration.stopped_at = used_at
            administration.save()
            _rephase(session, administration)
        audit(actor, Action.CREATE, session, f"device {device.number}")
    return device


def _next_device(administration: Administration) -> int:
    """The first device picked when it is still full, else the next full one of its lot."""
    first = administration.container
    if first is None:
        raise FieldInvalid("container_id", "required", "the device used")
    if first.balance_mg > 0:
        return first.pk
    following = (
        Container.objects.filter(
            product_id=first.product_id, lot=first.lot, location_id=first.location_id,
            balance_mg__gt=0, quarantined=False,
        )
        .order_by("label", "id")
        .values_list("pk", flat=True)
        .first()
    )  # fmt: skip
    if following is None:
        raise Conflict(
            f"No full device of lot {first.lot} is left at {first.location}; pick another.",
            field="container_id",
            rule="insufficient_balance",
        )
    return following


def _as_stored(sent: datetime | None, stored: datetime | None) -> datetime | None:
    """The stored time when ``sent`` is that time as the page shows it (to the minute)."""
    if sent is None or stored is None:
        return sent
    return stored if sent == stored.replace(second=0, microsecond=0) else sent


def _rephase(session: DosingSession, administration: Administration) -> None:
    """Administration times decide each reading's phase; re-file readings when they change
    (one UPDATE per phase)."""
    start, stop = administration.started_at, administration.stopped_at
    readings = VitalReading.objects.filter(session=session)
    for phase, window in (
        ("pre_dose", readings.filter(taken_at__lt=start)),
        (
            "dosing",
            readings.filter(taken_at__gte=start, **({"taken_at__lt": stop} if stop else {})),
        ),
        ("recovery", readings.filter(taken_at__gte=stop) if stop else readings.none()),
    ):
        window.exclude(phase=phase).update(phase=phase)
