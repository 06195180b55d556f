"""Scale data for benchmarks: assessments for every synthetic patient, inserted in bulk.

Each row is scored by the clinical core (`instruments.score`), never by hand. Item 9 of the
PHQ-9 is kept at 0 so that seeded data raises no suicide-risk alerts (an alert is only ever
made together with its assessment, by `services.record_assessment`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from kapcare.assessments.demo import spread
from kapcare.assessments.models import Assessment, Source
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.clinical import instruments
from kapcare.errors import FieldInvalid
from kapcare.patients.models import Patient

BATCH_PATIENTS = 500


def seed_assessments(
    per_patient: int = 20,
    *,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Give every synthetic patient without assessments `per_patient` of them (PCL-5 and
    PHQ-9 alternating, weekly, ending this week). Returns how many rows were inserted."""
    if per_patient < 0:
        raise FieldInvalid("per_patient", "out_of_range", "must be 0 or more")
    rng = random.Random(seed)  # noqa: S311  (synthetic benchmark data, not a secret)
    scored: dict[tuple[str, tuple[int, ...]], instruments.Score] = {}
    now = timezone.now()
    patient_ids = list(
        Patient.objects.filter(is_synthetic=True)
        .exclude(assessments__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
    made = 0
    for start in range(0, len(patient_ids), BATCH_PATIENTS):
        rows = []
        for patient_id in patient_ids[start : start + BATCH_PATIENTS]:
            pcl_level, phq_level = rng.randint(20, 65), rng.randint(6, 22)
            for n in range(per_patient):
                code = "pcl5" if n % 2 == 0 else "phq9"
                improvement = n / max(1, per_patient)
                if code == "pcl5":
                    total = max(0, round(pcl_level * (1 - 0.5 * improvement)) + rng.randint(-3, 3))
                    values = tuple(spread(total, 20, 4, rng))
                else:
                    total = max(0, round(phq_level * (1 - 0.5 * improvement)) + rng.randint(-2, 2))
                    values = tuple(spread(total, 9, 3, rng, fixed={9: 0}))
                result = scored.get((code, values))
                if result is None:
                    result = scored[(code, values)] = instruments.score(code, values)
                rows.append(
                    Assessment(
                        patient_id=patient_id,
                        instrument=code,
                        responses=list(values),
                        total=result.total,
                        band=result.band,
                        flags=list(result.flags),
                        subscales=dict(result.subscales),
                        provisional_diagnosis=result.provisional_diagnosis,
                        administered_at=now - timedelta(days=7 * ((per_patient - 1 - n) // 2)),
                        source=Source.API,
                    )
                )
        with transaction.atomic():
            Assessment.objects.bulk_create(rows, batch_size=2000)
        made += len(rows)
        if progress is not None:
            progress(len(rows))
    record_event(
        Actor.system("kapcare seed"), Action.CREATE, f"seeded {made} synthetic assessments"
    )
    return made
