from __future__ import annotations

import pytest
from django.core import mail

from kapcare.accounts.roles import Role
from kapcare.assessments import services
from kapcare.assessments.models import (
    ACTION_TAKEN_MAX_LENGTH,
    Alert,
    AlertLevel,
    AlertStatus,
    Assessment,
    Source,
)
from kapcare.assessments.tests.conftest import PCL5_HIGH, PHQ9_CALM, PHQ9_ITEM9_TWO
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.errors import Conflict, FieldInvalid
from kapcare.jobs.models import Job
from kapcare.jobs.services import run_pending

ACTOR = Actor.system("test")


def test_scores_with_the_core_and_keeps_every_item(patient) -> None:
    assessment = services.record_assessment(ACTOR, patient, "pcl5", PCL5_HIGH, source=Source.STAFF)
    assessment.refresh_from_db()
    assert assessment.responses == PCL5_HIGH
    assert (assessment.total, assessment.band) == (60, "probable_ptsd")
    assert assessment.subscales == {"B": 15, "C": 6, "D": 21, "E": 18}
    assert assessment.provisional_diagnosis is True
    assert assessment.flags == []
    assert not Alert.objects.exists()
    assert AuditEntry.objects.filter(patient_id=patient.pk, what__startswith="assessment").exists()
    assert assessment.history.count() == 1


def test_invalid_responses_store_nothing(patient) -> None:
    with pytest.raises(ValueError, match="phq9 item 9"):
        services.record_assessment(ACTOR, patient, "phq9", [0] * 8 + [7], source=Source.STAFF)
    with pytest.raises(ValueError, match="instrument"):
        services.record_assessment(ACTOR, patient, "bdi", [0], source=Source.STAFF)
    assert not Assessment.objects.exists()


def test_phq9_item9_raises_an_alert_and_emails_the_primary_clinician(patient, users) -> None:
    patient.primary_clinician = users[Role.THERAPIST]
    patient.save()
    assessment = services.record_assessment(
        ACTOR, patient, "phq9", PHQ9_ITEM9_TWO, source=Source.STAFF
    )
    alert = Alert.objects.get()
    assert alert.assessment == assessment
    assert alert.assigned_to == users[Role.THERAPIST]
    assert alert.status == AlertStatus.OPEN and alert.level == AlertLevel.SAME_DAY
    assert "item 9" in alert.reason
    assert Job.objects.filter(kind=services.ALERT_EMAIL_JOB).count() == 1
    assert run_pending() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [users[Role.THERAPIST].email]
    assert patient.mrn in mail.outbox[0].subject
    assert patient.family_name not in mail.outbox[0].body


def test_without_primary_clinician_every_prescriber_is_emailed(patient, users, make_user) -> None:
    second = make_user(Role.PRESCRIBER)
    services.record_assessment(
        ACTOR, patient, "cssrs_screen", [1, 1, 0, 1, 0, 0, 0], source=Source.API
    )
    alert = Alert.objects.get()
    assert alert.assigned_to is None and alert.level == AlertLevel.URGENT
    run_pending()
    assert sorted(mail.outbox[0].to) == sorted([users[Role.PRESCRIBER].email, second.email])


@pytest.mark.parametrize(
    ("answers", "alert"),
    [
        ([1, 0, 0, 0, 0, 0, 0], False),  # low
        ([1, 1, 1, 0, 0, 0, 0], True),  # moderate
        ([0, 0, 0, 0, 0, 1, 0], True),  # moderate (behaviour > 3 months ago)
        ([0, 0, 0, 0, 0, 1, 1], True),  # high
    ],
)
def test_cssrs_moderate_or_high_alerts(patient, answers, alert) -> None:
    services.record_assessment(ACTOR, patient, "cssrs_screen", answers, source=Source.STAFF)
    assert Alert.objects.exists() is alert


def test_acknowledge_needs_an_action_and_records_who(patient, users) -> None:
    services.record_assessment(ACTOR, patient, "phq9", PHQ9_ITEM9_TWO, source=Source.STAFF)
    alert = Alert.objects.get()
    prescriber = users[Role.PRESCRIBER]
    with pytest.raises(FieldInvalid) as blank:
        services.acknowledge_alert(ACTOR, alert, prescriber, "   ")
    assert (blank.value.field, blank.value.rule) == ("action_taken", "required")
    with pytest.raises(FieldInvalid) as long:
        services.acknowledge_alert(ACTOR, alert, prescriber, "x" * (ACTION_TAKEN_MAX_LENGTH + 1))
    assert (long.value.field, long.value.rule) == ("action_taken", "too_long")
    assert Alert.objects.get().status == AlertStatus.OPEN
    services.acknowledge_alert(ACTOR, alert, prescriber, "Called patient; safety plan reviewed.")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == prescriber and alert.acknowledged_at is not None
    assert alert.action_taken == "Called patient; safety plan reviewed."
    assert alert.history.first().status == AlertStatus.ACKNOWLEDGED
    assert AuditEntry.objects.filter(what="suicide-risk alert acknowledged").exists()
    with pytest.raises(Conflict) as again:
        services.acknowledge_alert(ACTOR, alert, prescriber, "again")
    assert (again.value.field, again.value.rule) == ("status", "already_acknowledged")


def test_calm_phq9_raises_nothing(patient) -> None:
    services.record_assessment(ACTOR, patient, "phq9", PHQ9_CALM, source=Source.STAFF)
    assert not Alert.objects.exists() and not Job.objects.exists()
