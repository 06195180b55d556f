"""The esketamine REMS record: an esketamine session driven to a signed note gives a one-page
PDF whose text carries each monitoring-form field with the session's values."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from kapcare.audit.services import Actor
from kapcare.dosing import rems, services
from kapcare.dosing.models import DosingSession, State
from kapcare.dosing.tests.conftest import clock_time, pdf_text, run_to
from kapcare.errors import Conflict
from kapcare.patients.services import add_medication


@pytest.fixture
def esketamine_session(cleared_patient, dosing_session_for, users) -> DosingSession:
    system = Actor.system("test")
    add_medication(system, cleared_patient, generic_name="lorazepam", dose="1 mg at night")
    add_medication(system, cleared_patient, generic_name="Ambien", dose="5 mg")
    add_medication(system, cleared_patient, generic_name="sertraline", dose="100 mg")
    return run_to(dosing_session_for("esketamine"), users, State.NOTE_SIGNED, minutes_ago=240)


def test_rems_pdf_carries_every_field(esketamine_session, users, settings):
    settings.KAPCARE_CLINIC_NAME = "Riverside Ketamine Clinic"
    session = esketamine_session
    text = pdf_text(rems.build_rems_pdf(session))
    patient = session.patient
    devices = list(session.administration.devices.order_by("number"))
    first = devices[0].used_at
    assert "SYNTHETIC DEMO DATA" in text
    assert "clinic's copy" in text and "Submit it through the SPRAVATO REMS program" in text
    assert "Healthcare setting: Riverside Ketamine Clinic" in text
    assert f"Name: {patient.full_name}" in text
    assert f"Date of birth: {patient.birth_date.isoformat()}" in text
    assert f"MRN: {patient.mrn}" in text
    assert f"Session date: {timezone.localtime(first):%Y-%m-%d}" in text
    assert f"Prescriber (signed the order): {users['prescriber'].full_name} (Prescriber)" in text
    assert "Dose: 56 mg" in text
    assert "Devices used: 2 of 2 ordered" in text
    one, two = (clock_time(device.used_at) for device in devices)
    assert f"device 1 at {one}; device 2 at {two}" in text
    minutes = int((session.discharged_at - first).total_seconds() // 60)
    assert minutes == 125
    assert f"Monitoring: {minutes} minutes (first device {clock_time(first)}" in text
    # The scenario: 128/80 before dosing, 126/80 every 15 min in recovery (35 min after the
    # first device is the one nearest 40), and the reading at discharge.
    assert re.search(r"Before dosing: 128/80 mmHg at \d\d:\d\d", text)
    assert "At about 40 minutes: 126/80 mmHg" in text and "35 min after the first device" in text
    last = session.vitals.filter(phase="recovery", taken_at__lte=session.discharged_at).last()
    assert (
        f"Before discharge: {last.systolic}/{last.diastolic} mmHg at {clock_time(last.taken_at)}"
        in text
    )
    assert "Sedation (MOAA/S): Yes - lowest MOAA/S 4" in text
    assert "Dissociation: Not scored" in text and "resolved at discharge: yes" in text
    assert "Respiratory depression: No (lowest SpO2 98%, lowest respiratory rate 14/min)" in text
    assert "Ready to leave before 2 hours?: Not recorded" in text
    assert "Benzodiazepines: Yes - lorazepam 1 mg at night" in text
    assert "Non-benzodiazepine hypnotics: Yes - Ambien 5 mg" in text
    assert "Psychostimulants: No" in text and "MAOIs: No" in text
    assert "sertraline" not in text
    assert "Serious adverse event: None recorded" in text
    assert f"Completed by: {users['prescriber'].full_name} (Prescriber), note signed" in text


def test_rems_ready_time_adverse_events_and_respiratory_depression(esketamine_session, users):
    session = esketamine_session
    first = session.administration.devices.order_by("number").first().used_at
    DosingSession.objects.filter(pk=session.pk).update(
        ready_without_minimum_at=first + timedelta(minutes=95)
    )
    fields = {
        label: value for section in rems.rems_fields(session) for label, value in section.rows
    }
    assert fields["Ready to leave before 2 hours?"] == (
        f"Yes - ready at {clock_time(first + timedelta(minutes=95))} "
        "(95 min after the first device)"
    )
    DosingSession.objects.filter(pk=session.pk).update(
        ready_without_minimum_at=first + timedelta(minutes=125)
    )
    assert rems.rems_fields(session)[4].rows[3][1].startswith("No - ready at")


def test_rems_records_respiratory_depression_and_severe_events(dosing_session_for, users):
    session = run_to(dosing_session_for("esketamine"), users, State.DOSING, minutes_ago=40)
    nurse = Actor.for_user(users["nurse"])
    now = timezone.now()
    services.record_vitals(
        nurse, session, [{"taken_at": now.isoformat(), "spo2": 89, "resp_rate": 8}]
    )
    services.add_side_effect(
        nurse, session, kind="respiratory_depression", severity="severe", noted_at=now
    )
    services.add_score(nurse, session, scale="cadss6", items=[1, 2, 0, 1, 0, 1], scored_at=now)
    fields = {
        label: value for section in rems.rems_fields(session) for label, value in section.rows
    }
    assert fields["Respiratory depression"].startswith("Yes - severe respiratory depression")
    assert (
        "hypoxemia" in fields["Respiratory depression"]
        and "bradypnea" in fields["Respiratory depression"]
    )
    assert fields["Dissociation"].startswith("Yes - highest CADSS-6 5")
    assert fields["Serious adverse event"].startswith(
        "Review for reporting - severe: respiratory depression"
    )
    assert fields["Completed by"].startswith("not signed yet")
    assert fields["Monitoring"].startswith("not ended")
    assert pdf_text(rems.build_rems_pdf(session))  # one page, with text


def test_rems_is_for_esketamine_sessions_only(session):
    with pytest.raises(Conflict, match="esketamine"):
        rems.build_rems_pdf(session)
