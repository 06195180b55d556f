"""The chart page and the sections that load right after it (record, treatment timeline)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from kapcare.assessments.models import Delivery, Source
from kapcare.assessments.services import create_schedule, record_assessment
from kapcare.audit.models import Action, AuditEntry
from kapcare.audit.services import Actor
from kapcare.intake.services import screen_patient
from kapcare.integration.services import add_journal_entry
from kapcare.patients import services
from kapcare.patients.models import ConsentTemplate

HTMX = {"HX-Request": "true"}


def _urls(patient) -> dict[str, str]:
    kwargs = {"patient_id": patient.pk}
    return {
        "chart": reverse("patients:chart", kwargs=kwargs),
        "record": reverse("patients:chart_record", kwargs=kwargs),
        "timeline": reverse("integration:chart_timeline", kwargs=kwargs),
    }


def _grow(patient, users, step: int) -> None:
    """Add ``step`` more of everything the chart and its sections show."""
    nurse = users["nurse"]
    actor = Actor.for_user(nurse)
    now = timezone.now()
    for n in range(step):
        at = now - timedelta(days=7 * n + step, hours=1)
        record_assessment(actor, patient, "phq9", [2, 2, 1, 1, 1, 1, 1, 0, 1], source=Source.STAFF,
                          entered_by=nurse, administered_at=at)  # fmt: skip
        record_assessment(actor, patient, "pcl5", [2] * 20, source=Source.STAFF,
                          entered_by=nurse, administered_at=at)  # fmt: skip
        record_assessment(actor, patient, "gad7", [1] * 7, source=Source.STAFF,
                          entered_by=nurse, administered_at=at)  # fmt: skip
        screen_patient(actor, patient, {"systolic_bp": 150 + n, "diastolic_bp": 95})
        services.add_allergy(actor, patient, substance=f"Substance {step}-{n}")
        services.add_medication(actor, patient, generic_name="sertraline", dose=f"{50 + n} mg")
        services.add_measurement(actor, patient, weight_kg=Decimal(70 + n), height_cm=Decimal(175))
        template = ConsentTemplate.objects.create(
            code=f"consent-{step}-{n}", version=1, title=f"Consent {step}-{n}",
            body="Synthetic consent text.",
        )  # fmt: skip
        services.sign_consent(actor, patient, template, typed_name=patient.full_name)
        ConsentTemplate.objects.create(code=f"open-{step}-{n}", version=1, title="Open", body="x")
        add_journal_entry(actor, patient, entered_by=nurse, written_on=date.today(),
                          text=f"Journal {step}-{n} (synthetic)")  # fmt: skip
        create_schedule(actor, patient, instrument="gad7", every_days=7 + n,
                        starts_on=date.today(), delivery=Delivery.HOME_LINK)  # fmt: skip


def test_the_chart_shows_the_summary_and_loads_the_sections_after_it(
    cleared_patient, users, client_for
) -> None:
    _grow(cleared_patient, users, 2)
    client = client_for(users["nurse"])
    urls = _urls(cleared_patient)
    chart = client.get(urls["chart"]).content.decode()
    assert "Eligibility" in chart and "Latest scores" in chart and "Open suicide-risk" in chart
    assert "<strong>needs review</strong> BP 151/95" in chart  # a stored code shown as words
    for section in ("record", "timeline"):
        assert f'hx-get="{urls[section]}" hx-trigger="load"' in chart
    assert "Substance 2-0" not in chart  # the record itself arrives with its section
    record = client.get(urls["record"], headers=HTMX).content.decode()
    assert "Substance 2-0" in record and "sertraline 51 mg" in record
    assert "71.0 kg, 175.0 cm" in record
    assert "<html" not in record  # a fragment, swapped into the chart
    timeline = client.get(urls["timeline"], headers=HTMX).content.decode()
    assert "Treatment timeline" in timeline and "Journal 2-1" in timeline
    assert "<html" not in timeline


def test_without_htmx_a_section_is_a_page_of_its_own(cleared_patient, users, client_for):
    _grow(cleared_patient, users, 1)
    urls = _urls(cleared_patient)
    page = client_for(users["therapist"]).get(urls["record"]).content.decode()
    assert "<html" in page and cleared_patient.mrn in page and "Substance 1-0" in page
    assert f'href="{urls["chart"]}"' in page


def test_each_section_logs_the_read(cleared_patient, users, client_for) -> None:
    client = client_for(users["prescriber"])
    urls = _urls(cleared_patient)
    for section, what in (("record", "patient record"), ("timeline", "patient chart timeline")):
        before = AuditEntry.objects.count()
        assert client.get(urls[section], headers=HTMX).status_code == 200
        entry = AuditEntry.objects.order_by("-id")[0]
        assert AuditEntry.objects.count() == before + 1
        assert (entry.action, entry.patient_id, entry.what) == (
            Action.READ, cleared_patient.pk, what
        )  # fmt: skip
        assert entry.user_id == users["prescriber"].pk


def test_front_desk_gets_none_of_the_sections(cleared_patient, users, client_for) -> None:
    client = client_for(users["front_desk"])
    for url in _urls(cleared_patient).values():
        assert client.get(url, headers=HTMX).status_code == 403


def test_chart_and_section_queries_stay_constant_as_the_record_grows(
    cleared_patient, users, client_for, plan_course_for, django_assert_max_num_queries
) -> None:
    plan_course_for(cleared_patient)  # while the accepted screening is the latest
    client = client_for(users["nurse"])
    urls = _urls(cleared_patient)
    _grow(cleared_patient, users, 1)
    client.get("/today/")  # the session and user caches are warm in both rounds
    counts = {}
    for name, url in urls.items():
        with django_assert_max_num_queries(20) as few:
            assert client.get(url, headers=HTMX if name != "chart" else {}).status_code == 200
        counts[name] = len(few.captured_queries)
    _grow(cleared_patient, users, 6)
    for name, url in urls.items():
        with django_assert_max_num_queries(counts[name]):
            assert client.get(url, headers=HTMX if name != "chart" else {}).status_code == 200
    # The summary is the lean part: 2 for the session, 1 patient, 3 for the access log (and
    # the savepoint around them), 1 screening and 5 for measurement-based care (one is the
    # current course's start, for the baseline).
    assert counts["chart"] <= 14
