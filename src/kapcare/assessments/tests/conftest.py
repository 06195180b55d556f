from __future__ import annotations

from datetime import date

import pytest

from kapcare.audit.services import Actor
from kapcare.patients.models import Patient
from kapcare.patients.services import create_patient


@pytest.fixture
def patient(db: None) -> Patient:
    return create_patient(
        Actor.system("test"),
        given_name="Robin",
        family_name="Quillfeather",
        birth_date=date(1980, 5, 17),
        sex_at_birth="female",
        email="robin@example.org",
    )


PHQ9_ITEM9_TWO = [1, 1, 1, 1, 1, 0, 0, 0, 2]
PHQ9_CALM = [1, 1, 1, 1, 1, 0, 0, 0, 0]
PCL5_HIGH = [3] * 20
