"""One medication list per patient: the medications named at intake join the record's list
(which the dosing checklist and the esketamine REMS record read), in the screening's
transaction and audited, and the intake page shows the list as it stands."""

from __future__ import annotations

from datetime import date

import pytest

from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.dosing import rems
from kapcare.dosing.models import State
from kapcare.dosing.tests.conftest import pdf_text, run_to
from kapcare.errors import FieldInvalid
from kapcare.intake.demo import complete_intake_fields
from kapcare.intake.models import Screening
from kapcare.intake.services import review_screening, screen_patient
from kapcare.intake.tests.test_screening import _answers
from kapcare.patients.models import MedicationEntry, Patient
from kapcare.patients.selectors import active_medications
from kapcare.patients.services import add_medication, create_patient, stop_medication


@pytest.fixture
def patient(db) -> Patient:
    return create_patient(
        Actor.system("test"), given_name="Morgan", family_name="Meds",
        birth_date=date(1979, 2, 3), sex_at_birth="male", is_synthetic=True,
    )  # fmt: skip


def _names(patient: Patient) -> list[str]:
    return [entry.generic_name for entry in active_medications(patient)]


def test_screening_adds_intake_medications_to_the_list_with_their_class(patient, users):
    nurse = Actor.for_user(users["nurse"])
    screening = screen_patient(
        nurse, patient, complete_intake_fields(medications=("phenelzine", "sertraline"))
    )
    entries = {e.generic_name: e for e in active_medications(patient)}
    assert set(entries) == {"phenelzine", "sertraline"}
    assert entries["phenelzine"].drug_class == "maoi"
    events = AuditEntry.objects.filter(patient_id=patient.pk, what__startswith="medication")
    summaries = sorted(events.values_list("what", flat=True))
    assert summaries == [
        f"medication phenelzine (from intake screening #{screening.pk})",
        f"medication sertraline (from intake screening #{screening.pk})",
    ]
    assert {e.user_id for e in events} == {users["nurse"].pk}


def test_a_medication_already_active_is_not_added_again(patient, users):
    system = Actor.system("test")
    add_medication(system, patient, generic_name="Sertraline", dose="100 mg")
    screen_patient(
        system,
        patient,
        complete_intake_fields(medications=("sertraline ", "PHENELZINE", "phenelzine")),
    )
    assert _names(patient) == ["PHENELZINE", "Sertraline"]
    assert MedicationEntry.objects.get(generic_name="Sertraline").dose == "100 mg"
    # Screening again with the same list adds nothing.
    screen_patient(system, patient, complete_intake_fields(medications=("phenelzine",)))
    assert MedicationEntry.objects.filter(patient=patient).count() == 2


def test_a_stopped_medication_named_again_at_intake_is_active_again(patient, users):
    system = Actor.system("test")
    entry = add_medication(system, patient, generic_name="lorazepam")
    stop_medication(system, patient, entry.pk)
    screen_patient(system, patient, complete_intake_fields(medications=("lorazepam",)))
    assert _names(patient) == ["lorazepam"]
    assert MedicationEntry.objects.filter(patient=patient).count() == 2  # the stop stays


def test_no_medications_or_not_recorded_leaves_the_list_alone(patient, users):
    system = Actor.system("test")
    add_medication(system, patient, generic_name="bupropion")
    screen_patient(system, patient, complete_intake_fields(medications=()))
    screen_patient(system, patient, complete_intake_fields(medications=None))
    assert _names(patient) == ["bupropion"]


def test_a_refused_screening_adds_no_medication(patient, users):
    with pytest.raises(FieldInvalid):
        screen_patient(
            Actor.system("test"),
            patient,
            complete_intake_fields(medications=("phenelzine",), systolic_bp=400),
        )
    assert not MedicationEntry.objects.exists() and not Screening.objects.exists()


def test_the_screening_and_its_medications_are_one_transaction(patient, users, monkeypatch):
    """A failure while adding the medications leaves no screening behind either."""
    from kapcare.intake import services

    def broken(*args, **kwargs):
        raise RuntimeError("medication list unavailable")

    monkeypatch.setattr(services, "add_missing_medications", broken)
    with pytest.raises(RuntimeError):
        screen_patient(
            Actor.system("test"), patient, complete_intake_fields(medications=("phenelzine",))
        )
    assert not Screening.objects.exists()


def test_the_api_screening_adds_to_the_list(patient, users, token_for):
    from django.test import Client

    api = Client(headers={"Authorization": f"Bearer {token_for(users['nurse'])}"})
    response = api.post(
        f"/api/v1/patients/{patient.pk}/screenings",
        complete_intake_fields(medications=["Nardil"]),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert _names(patient) == ["Nardil"]
    assert MedicationEntry.objects.get().drug_class == "maoi"


def test_the_intake_page_adds_an_maoi_and_shows_the_list(patient, users, client_for):
    client = client_for(users["nurse"])
    add_medication(Actor.system("test"), patient, generic_name="sertraline", dose="50 mg")
    url = f"/patients/{patient.pk}/intake/"
    before = client.get(url).content.decode()
    assert "medication list now" in before
    assert "sertraline 50 mg" in before and "phenelzine" not in before
    response = client.post(
        url, _answers(takes_medications="yes", medications="sertraline\nphenelzine")
    )
    assert response.status_code == 302
    assert _names(patient) == ["phenelzine", "sertraline"]
    after = client.get(url).content.decode()
    assert '<li>phenelzine <span class="tag">maoi</span></li>' in after
    record = client.get(f"/patients/{patient.pk}/chart/record/").content.decode()
    assert "phenelzine" in record


def _esketamine_session(patient, plan_course_for, users):
    """The first session of an esketamine course, run to a signed note."""
    course = plan_course_for(patient, "esketamine")
    first = course.dosing_sessions.order_by("appointment__starts_at").first()
    return run_to(first, users, State.NOTE_SIGNED, minutes_ago=240)


def test_an_maoi_entered_at_intake_is_on_the_esketamine_rems_record(
    cleared_patient, plan_course_for, users, client_for
):
    """The MAOI typed on the intake page is on the REMS form of the esketamine session that
    follows (the prescriber overrides the MAOI's "needs review" with a reason)."""
    client = client_for(users["nurse"])
    response = client.post(
        f"/patients/{cleared_patient.pk}/intake/",
        _answers(takes_medications="yes", medications="phenelzine"),
    )
    assert response.status_code == 302
    screening = Screening.objects.filter(patient=cleared_patient).latest("id")
    assert screening.verdict == "needs_review"
    review_screening(
        Actor.for_user(users["prescriber"]), screening.pk, "override",
        "Phenelzine tapered under psychiatry; BP monitored (synthetic).",
    )  # fmt: skip
    session = _esketamine_session(cleared_patient, plan_course_for, users)
    text = pdf_text(rems.build_rems_pdf(session))
    assert "MAOIs: Yes - phenelzine" in text


def test_an_maoi_screened_through_the_service_is_on_the_rems_record(
    cleared_patient, plan_course_for, users
):
    screening = screen_patient(
        Actor.for_user(users["nurse"]),
        cleared_patient,
        complete_intake_fields(medications=("phenelzine",)),
    )
    review_screening(
        Actor.for_user(users["prescriber"]), screening.pk, "override", "Reviewed (synthetic)."
    )
    session = _esketamine_session(cleared_patient, plan_course_for, users)
    assert "MAOIs: Yes - phenelzine" in pdf_text(rems.build_rems_pdf(session))
