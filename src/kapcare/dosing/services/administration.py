"""What was given: the lot, the vial, the start and stop times, and each esketamine device."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

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


def record_administration(
    actor: Actor,
    session: DosingSession,
    *,
    lot_number: str,
    vial_id: str = "",
    started_at: datetime,
    stopped_at: datetime | None = None,
    now: datetime | None = None,
) -> Administration:
    """Record the lot, vial and start (before dosing starts), and the stop time (during
    dosing). Times may be entered after the fact; each version is kept.

    A correction never moves a stored time by accident: a time sent back as the page shows it
    (to the minute) keeps the stored seconds, and an esketamine administration's stop is the
    last device's time, which only recording a device sets. Moving a time re-files readings
    into their phase, so a silent shift would turn a baseline into a dosing reading."""
    at = now_or_default(now)
    lot_number, vial_id = text(lot_number), text(vial_id)
    if not lot_number:
        raise FieldInvalid("lot_number", "required", "the lot number on the vial's label")
    not_in_future("started_at", started_at, at)
    if stopped_at is not None:
        if stopped_at <= started_at:
            raise FieldInvalid("stopped_at", "before_start", "must be after the start")
        not_in_future("stopped_at", stopped_at, at)
    with transaction.atomic():
        session = locked(session.pk)
        require_open(Step.ADMINISTRATION, session)
        # A vial has its own identifier; esketamine comes in sealed nasal devices, each device
        # recorded on its own (the lot is on the package).
        if session.route == ESKETAMINE:
            vial_id = ""
        elif not vial_id:
            raise FieldInvalid("vial_id", "required", "the vial's identifier")
        order = session.orders.filter(superseded_by__isnull=True).order_by("-id").first()
        if order is None:
            raise Conflict("No signed dose order.", field="order", rule="no_order")
        stored = Administration.objects.filter(session=session).first()
        administration = stored or Administration(session=session)
        if stored is not None:
            started_at = _as_stored(started_at, stored.started_at) or started_at
            stopped_at = _as_stored(stopped_at, stored.stopped_at)
            if session.route == ESKETAMINE:
                stopped_at = stored.stopped_at
        administration.order = order
        administration.lot_number, administration.vial_id = lot_number, vial_id
        administration.started_at, administration.stopped_at = started_at, stopped_at
        administration.recorded_by_id = actor.person_id
        administration.save()
        _rephase(session, administration)
        audit(actor, Action.UPDATE, session, f"administration (lot {lot_number})")
    return administration


def start_dosing(
    actor: Actor,
    session: DosingSession,
    *,
    lot_number: str,
    vial_id: str = "",
    started_at: datetime,
    reason: str = "",
    now: datetime | None = None,
) -> DosingSession:
    """Record the administration and start dosing, as one use case: the nurse saves the lot,
    vial and start and the session moves to dosing, or (a refusal of either) nothing is
    stored. ``reason`` is a prescriber's override reason for the move."""
    at = now_or_default(now)
    with transaction.atomic():
        record_administration(
            actor, session, lot_number=lot_number, vial_id=vial_id, started_at=started_at, now=at
        )
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
            actor, session, lot_number=stored.lot_number, vial_id=stored.vial_id,
            started_at=stored.started_at, stopped_at=at, now=at,
        )  # fmt: skip


def record_device(
    actor: Actor,
    session: DosingSession,
    *,
    used_at: datetime | None = None,
    now: datetime | None = None,
) -> DeviceUse:
    """Esketamine: one more device used, at least 5 minutes after the previous one (SPRAVATO
    label)."""
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
        device = DeviceUse.objects.create(
            administration=administration, number=len(used) + 1, used_at=used_at
        )
        if device.number == order.devices:
            administration.stopped_at = used_at
            administration.save()
            _rephase(session, administration)
        audit(actor, Action.CREATE, session, f"device {device.number}")
    return device


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
