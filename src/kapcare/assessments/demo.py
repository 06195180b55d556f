"""Synthetic measurement-based care for the demo clinic: weekly PCL-5 and PHQ-9 over eight
weeks for the demo patients (responders, partial and non-responders), one open suicide-risk
alert, schedules with due and overdue items, and a few home links. Every record is synthetic
and belongs to a patient marked `is_synthetic`."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from kapcare.accounts.models import User
from kapcare.accounts.roles import Role
from kapcare.assessments import services
from kapcare.assessments.models import Assessment, Delivery, HomeLink, Source
from kapcare.audit.services import Actor
from kapcare.clinical.instruments import INSTRUMENTS
from kapcare.patients.models import Patient

DEMO_PATIENTS = 24
WEEKS = 8

# (PCL-5 baseline -> week 8, PHQ-9 baseline -> week 8) per trajectory kind.
TRAJECTORIES = {
    "responder": ((56, 22), (19, 4)),
    "partial": ((52, 40), (17, 11)),
    "non_responder": ((49, 47), (16, 17)),
    "depression_responder": ((30, 24), (21, 6)),
}


def spread(
    total: int,
    n_items: int,
    maximum: int,
    rng: random.Random,
    *,
    fixed: dict[int, int] | None = None,
) -> list[int]:
    """Item responses (0..maximum each) that add up to `total`, with `fixed` 1-based items
    held at their given values."""
    fixed = fixed or {}
    values = [0] * n_items
    for number, value in fixed.items():
        values[number - 1] = value
    free = [i for i in range(n_items) if i + 1 not in fixed]
    remaining = max(0, min(total - sum(fixed.values()), maximum * len(free)))
    while remaining:
        index = rng.choice(free)
        if values[index] < maximum:
            values[index] += 1
            remaining -= 1
    return values


def _path(start: int, end: int, weeks: int, rng: random.Random, top: int) -> list[int]:
    out = []
    for week in range(weeks + 1):
        fraction = week / weeks
        # Most of the change comes early (ketamine's rapid effect), with some noise.
        eased = 1 - (1 - fraction) ** 2
        value = round(start + (end - start) * eased + rng.randint(-2, 2))
        out.append(max(0, min(top, value)))
    out[0], out[-1] = start, end
    return out


def _at(days_ago: int, hour: int = 10) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _record(
    actor: Actor,
    patient: Patient,
    code: str,
    values: Sequence[int],
    days_ago: int,
    *,
    source: str = Source.STAFF,
    entered_by: User | None = None,
    link: HomeLink | None = None,
) -> Assessment:
    when = timezone.now() - timedelta(hours=1) if days_ago == 0 else _at(days_ago)
    return services.record_assessment(
        actor,
        patient,
        code,
        values,
        source=source,
        entered_by=entered_by,
        link=link,
        administered_at=when,
    )


@transaction.atomic
def load_demo() -> bool:
    """Load the demo's scales once. Returns True when it loaded them."""
    patients = list(Patient.objects.filter(is_synthetic=True).order_by("id")[:DEMO_PATIENTS])
    if not patients or Assessment.objects.filter(patient__in=patients).exists():
        return False
    actor = Actor.system("kapcare demo loader")
    rng = random.Random(20261122)  # noqa: S311  (synthetic demo data: fixed, not a secret)
    prescriber = User.objects.filter(role=Role.PRESCRIBER).order_by("id").first()
    nurse = User.objects.filter(role=Role.NURSE).order_by("id").first()
    kinds = list(TRAJECTORIES)
    pcl5_max, phq9_max = INSTRUMENTS["pcl5"].max_value, INSTRUMENTS["phq9"].max_value
    for index, patient in enumerate(patients):
        patient.primary_clinician = prescriber if index % 3 else nurse
        patient.save(update_fields=["primary_clinician"])
        (pcl_from, pcl_to), (phq_from, phq_to) = TRAJECTORIES[kinds[index % len(kinds)]]
        # The last few patients are only at baseline; a few others are a week behind.
        weeks = 0 if index >= DEMO_PATIENTS - 4 else WEEKS
        lag = 10 if index % 5 == 4 else 0
        pcl = _path(pcl_from + rng.randint(-3, 3), pcl_to, weeks or 1, rng, 80)[: weeks + 1]
        phq = _path(phq_from + rng.randint(-1, 1), phq_to, weeks or 1, rng, 26)[: weeks + 1]
        for week, (pcl_total, phq_total) in enumerate(zip(pcl, phq, strict=True)):
            days_ago = lag + (weeks - week) * 7
            entered = nurse if week % 2 else prescriber
            _record(
                actor,
                patient,
                "pcl5",
                spread(pcl_total, 20, pcl5_max, rng),
                days_ago,
                entered_by=entered,
            )
            _record(
                actor,
                patient,
                "phq9",
                spread(phq_total, 9, phq9_max, rng, fixed={9: 0}),
                days_ago,
                entered_by=entered,
            )
        _record(actor, patient, "gad7", spread(rng.randint(6, 16), 7, 3, rng), lag + weeks * 7)
        _record(actor, patient, "cssrs_screen", [0] * 7, lag + weeks * 7)
        if index < 8:
            services.create_schedule(
                actor,
                patient,
                instrument="pcl5",
                every_days=7,
                starts_on=timezone.localdate() - timedelta(days=WEEKS * 7),
                delivery=Delivery.IN_CLINIC,
            )
            services.create_schedule(
                actor,
                patient,
                instrument="phq9",
                every_days=7,
                starts_on=timezone.localdate() - timedelta(days=WEEKS * 7),
                delivery=Delivery.HOME_LINK if index % 2 else Delivery.IN_CLINIC,
            )
    # A partial responder who answers PHQ-9 item 9 "several days" from home last night:
    # the open suicide-risk alert of the demo.
    flagged = patients[5]
    link, _raw = services.create_home_link(actor, flagged, "phq9")
    _record(
        actor,
        flagged,
        "phq9",
        spread(13, 9, phq9_max, rng, fixed={9: 1}),
        0,
        source=Source.HOME_LINK,
        link=link,
    )
    # Unused links waiting for patients to answer.
    for patient in patients[1:4]:
        services.create_home_link(actor, patient, "pcl5", created_by=nurse)
    return True
