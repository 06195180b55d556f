"""Scale data for benchmarks: many synthetic patients, inserted in bulk."""

from __future__ import annotations

import random
from collections.abc import Callable

from django.db import connection, transaction
from simple_history.utils import bulk_create_with_history

from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.demodata.clinic import synthetic_birth_date
from kapcare.demodata.names import FAMILY_NAMES, GIVEN_NAMES
from kapcare.errors import FieldInvalid
from kapcare.patients.models import Patient, SexAtBirth
from kapcare.patients.services import new_mrn

BATCH_SIZE = 1000


def seed_patients(
    count: int, *, seed: int = 1, progress: Callable[[int], None] | None = None
) -> int:
    """Insert `count` synthetic patients in batches; `progress(n)` is told each batch."""
    if count < 0:
        raise FieldInvalid("patients", "out_of_range", "must be 0 or more")
    rng = random.Random(seed)
    taken = set(Patient.objects.values_list("mrn", flat=True))
    made = 0
    while made < count:
        batch = []
        for _ in range(min(BATCH_SIZE, count - made)):
            mrn = new_mrn()
            while mrn in taken:
                mrn = new_mrn()
            taken.add(mrn)
            given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
            batch.append(
                Patient(
                    mrn=mrn,
                    given_name=given,
                    family_name=family,
                    birth_date=synthetic_birth_date(rng),
                    sex_at_birth=rng.choice([SexAtBirth.FEMALE, SexAtBirth.MALE]),
                    email=f"{given}.{family}.{mrn[-4:]}@example.org".lower(),
                    is_synthetic=True,
                )
            )
        with transaction.atomic():
            bulk_create_with_history(batch, Patient, batch_size=BATCH_SIZE)
        made += len(batch)
        if progress is not None:
            progress(len(batch))
    record_event(Actor.system("kapcare seed"), Action.CREATE, f"seeded {count} synthetic patients")
    return made


def refresh_planner_statistics() -> None:
    """After a bulk load, let PostgreSQL's planner see the new row counts (what autovacuum's
    ANALYZE does on its own a minute later on a default server); until then it plans for the
    empty tables it last saw, e.g. sorting every patient instead of reading the list's index.
    SQLite keeps no statistics unless asked, and plans from its indexes without them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
