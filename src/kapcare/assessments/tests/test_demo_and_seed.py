from __future__ import annotations

from datetime import date

import pytest

from kapcare.assessments.demo import load_demo
from kapcare.assessments.models import Alert, AlertStatus, Assessment, AssessmentSchedule, HomeLink
from kapcare.assessments.seed import seed_assessments
from kapcare.assessments.selectors import due_assessments
from kapcare.clinical import instruments
from kapcare.demodata.seed import seed_patients
from kapcare.patients.models import Patient

pytestmark = pytest.mark.django_db


def _demo_patients(n: int = 24) -> None:
    for i in range(n):
        Patient.objects.create(
            mrn=f"KC-DEMO{i:04d}",
            given_name=f"Given{i}",
            family_name="Synthetic",
            birth_date=date(1980, 1, 1),
            sex_at_birth="female",
            is_synthetic=True,
        )


def test_demo_trajectories_alert_and_schedules(users) -> None:
    _demo_patients()
    assert load_demo() is True
    assert load_demo() is False  # idempotent
    alerts = Alert.objects.filter(status=AlertStatus.OPEN)
    assert alerts.count() == 1
    assert AssessmentSchedule.objects.count() == 16
    assert HomeLink.objects.filter(used_at__isnull=True).count() == 3
    assert any(item.overdue for item in due_assessments())
    # Responders and non-responders, by the clinical core's change rule.
    outcomes = set()
    for patient in Patient.objects.all()[:8]:
        pcl = list(Assessment.objects.filter(patient=patient, instrument="pcl5"))
        outcomes.add(instruments.change("pcl5", pcl[0].total, pcl[-1].total).response)
    assert outcomes == {True, False}


def test_seed_in_bulk() -> None:
    seed_patients(5)
    assert seed_assessments(per_patient=20) == 100
    assert seed_assessments(per_patient=20) == 0  # patients already seeded are skipped
    sample = Assessment.objects.filter(instrument="phq9").first()
    assert sample is not None
    assert instruments.score("phq9", sample.responses).total == sample.total
    assert not Alert.objects.exists()
