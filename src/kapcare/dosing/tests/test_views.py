"""The dosing session page and its forms: each form's effect, bad input (named, nothing
stored), the prescriber-only actions, the policy, the signed note, and the query bound."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.audit.models import AuditEntry
from kapcare.audit.services import Actor
from kapcare.dosing import models, scenario, services
from kapcare.dosing.models import DosingSession, State, VitalAlert, VitalReading
from kapcare.dosing.tests.conftest import datetime_local, reading, run_to, short_fast
from kapcare.dosing.urls import urlpatterns

HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(name: str, session: DosingSession) -> str:
    return reverse(f"dosing:{name}", args=[session.pk])


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _said(response, text: str, *, anywhere: bool = False) -> bool:
    """A message on the page starts with (or contains) ``text``."""
    return any((text in m) if anywhere else m.startswith(text) for m in _messages(response))


def _row(**values: Any) -> dict[str, Any]:
    """A vitals row typed on the page, its time left blank (now)."""
    return reading("", **values)


# --- the page --------------------------------------------------------------------------------


def test_reverse_gives_the_session_page(session):
    assert reverse("dosing:session", args=[session.pk]) == f"/sessions/{session.pk}/"


@pytest.mark.parametrize("state", ["scheduled", *scenario.ORDER])
def test_page_shows_every_state_and_logs_the_read(session, users, client_for, state):
    if state != "scheduled":
        session = run_to(session, users, state, critical_bp_at_min=20)
    before = AuditEntry.objects.filter(what="dosing session page").count()
    response = client_for(users[Role.THERAPIST]).get(_url("session", session))
    assert response.status_code == 200
    html = response.content.decode()
    assert session.patient.full_name in html and session.patient.mrn in html
    assert "IV ketamine for PTSD" in html
    assert f'aria-current="step">{State(state).label}' in html
    assert AuditEntry.objects.filter(what="dosing session page").count() == before + 1
    assert AuditEntry.objects.filter(
        what="dosing session page", patient_id=session.patient_id
    ).exists()


def test_unknown_session_is_404(users, client_for, db):
    assert client_for(users[Role.NURSE]).get("/sessions/999999/").status_code == 404


def test_check_in_through_the_next_step_button(session, users, client_for):
    client = client_for(users[Role.NURSE])
    assert "Check in</button>" in client.get(_url("session", session)).content.decode()
    response = client.post(_url("transition", session), {"to": "checked_in"})
    assert response.status_code == 302 and response["Location"].endswith("#next-step")
    session.refresh_from_db()
    assert session.state == State.CHECKED_IN and session.checked_in_at is not None


def test_an_illegal_step_is_409_and_changes_nothing(session, users, client_for):
    response = client_for(users[Role.NURSE]).post(_url("transition", session), {"to": "dosing"})
    assert response.status_code == 409
    assert any(
        m.startswith("Start dosing: not possible while the session is scheduled")
        for m in _messages(response)
    )
    session.refresh_from_db()
    assert session.state == State.SCHEDULED and not session.transitions.exists()


def test_cancel_needs_a_reason(session, users, client_for):
    client = client_for(users[Role.NURSE])
    response = client.post(_url("transition", session), {"to": "cancelled", "reason": " "})
    assert response.status_code == 400
    assert "Reason: Cancel the session needs: Give a reason for cancelling." in _messages(response)
    session.refresh_from_db()
    assert session.state == State.SCHEDULED
    response = client.post(
        _url("transition", session), {"to": "cancelled", "reason": "Patient unwell"}
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.state == State.CANCELLED
    assert "Patient unwell" in client.get(_url("session", session)).content.decode()


# --- checklist and centering -----------------------------------------------------------------

CHECKLIST = {
    "fasting_hours": "6", "driver_name": "Alex Example", "driver_phone": "555-0100",
    "medication_holds_confirmed": "on", "medication_holds_note": "No holds needed",
    "pregnancy_test": "not_applicable", "weight_kg": "70.0", "intention": "Be present",
}  # fmt: skip


def test_checklist_saves_every_field(session, users, client_for):
    session = run_to(session, users, State.CHECKED_IN)
    response = client_for(users[Role.NURSE]).post(_url("checklist", session), CHECKLIST)
    assert response.status_code == 302 and response["Location"].endswith("#checklist")
    checklist = models.Checklist.objects.get(session=session)
    assert checklist.weight_kg == Decimal("70.0") and checklist.fasting_hours == Decimal("6.0")
    assert checklist.medication_holds_confirmed and checklist.driver_phone == "555-0100"
    assert checklist.intention == "Be present" and checklist.updated_by == users[Role.NURSE]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight_kg", "seventy", "weight_kg: Enter a number."),
        ("weight_kg", "500", "Weight must be between 30 and 300 kg (you entered 500)."),
        ("fasting_hours", "99", "Fasting must be between 0 and 72 hours (you entered 99)."),
    ],
)
def test_checklist_bad_input_names_the_field_and_stores_nothing(
    session, users, client_for, field, value, message
):
    session = run_to(session, users, State.CHECKED_IN)
    response = client_for(users[Role.NURSE]).post(
        _url("checklist", session), {**CHECKLIST, field: value}
    )
    assert response.status_code == 400
    assert message in _messages(response)
    # The entered values are kept in the form.
    assert 'value="Alex Example"' in response.content.decode()
    assert not models.Checklist.objects.filter(session=session).exists()


def test_passing_the_checklist_with_unmet_items_is_refused_for_a_nurse(session, users, client_for):
    session = run_to(session, users, State.CHECKED_IN)
    client = client_for(users[Role.NURSE])
    client.post(_url("checklist", session), CHECKLIST)
    page = client.get(_url("session", session)).content.decode()
    assert "C-SSRS screener today: not done today" in page
    assert reverse("assessments:record", args=[session.patient_id, "cssrs_screen"]) in page
    assert "Override reason" not in page  # a nurse is not offered the override
    response = client.post(_url("transition", session), {"to": "checklist_passed", "reason": "x"})
    assert response.status_code == 409
    assert _said(response, "prescriber's override", anywhere=True)
    session.refresh_from_db()
    assert session.state == State.CHECKED_IN


def test_prescriber_overrides_an_unmet_item_with_a_reason(session, users, client_for):
    session = short_fast(run_to(session, users, State.CHECKED_IN), users)
    client = client_for(users[Role.PRESCRIBER])
    page = client.get(_url("session", session)).content.decode()
    assert "Override reason (prescriber)" in page and "Override and pass the checklist" in page
    response = client.post(_url("transition", session), {"to": "checklist_passed"})
    assert response.status_code == 409  # a reason is needed
    response = client.post(
        _url("transition", session), {"to": "checklist_passed", "reason": "Clear fluids only"}
    )
    assert response.status_code == 302
    session.refresh_from_db()
    last = session.transitions.last()
    assert session.state == State.CHECKLIST_PASSED and last.overridden == ["fasting"]
    history = client.get(_url("session", session)).content.decode()
    assert "override: fasting" in history and "Clear fluids only" in history


def test_centering(session, users, client_for):
    session = run_to(session, users, State.CHECKED_IN)
    client = client_for(users[Role.THERAPIST])
    response = client.post(
        _url("centering", session), {"centering_kind": "vr", "centering_minutes": "0"}
    )
    assert response.status_code == 400
    assert "Centering must be between 1 and 120 minutes (you entered 0)." in _messages(response)
    session.refresh_from_db()
    assert session.centering_kind == ""
    response = client.post(
        _url("centering", session), {"centering_kind": "vr", "centering_minutes": "12"}
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.centering_kind, session.centering_minutes) == ("vr", 12)


# --- the dose order --------------------------------------------------------------------------


def test_prescriber_signs_the_order_and_the_page_shows_the_pump_rate(session, users, client_for):
    session = run_to(session, users, State.CHECKLIST_PASSED)
    client = client_for(users[Role.PRESCRIBER])
    page = client.get(_url("session", session)).content.decode()
    assert 'name="mg_per_kg"' in page and 'value="0.50"' in page  # prefilled from the protocol
    assert "150 mL/h" in page  # the preview before signing
    response = client.post(_url("order_sign", session), {"mg_per_kg": "0.50"})
    assert response.status_code == 302
    order = models.DoseOrder.objects.get(session=session)
    assert order.dose_mg == Decimal("35.0") and order.rate_ml_per_h == Decimal("150.0")
    session.refresh_from_db()
    assert session.state == State.DOSE_ORDERED
    page = client.get(_url("session", session)).content.decode()
    assert 'class="pump-rate">150 mL/h' in page and "signed by Test prescriber" in page
    # The predicted curve is there, and labelled for what it is.
    assert "for education and planning, not for dosing" in page and "<svg" in page


def test_a_new_order_supersedes_and_the_old_one_is_struck_through(session, users, client_for):
    session = run_to(session, users, State.DOSE_ORDERED)
    client = client_for(users[Role.PRESCRIBER])
    response = client.post(_url("order_sign", session), {"mg_per_kg": "1.20"})
    assert response.status_code == 400
    assert any(
        m.startswith("Reason for the deviation: required because 1.20 mg/kg")
        for m in _messages(response)
    )
    assert models.DoseOrder.objects.filter(session=session).count() == 1
    response = client.post(_url("order_sign", session), {"mg_per_kg": "0.75"})
    assert response.status_code == 302
    first, second = models.DoseOrder.objects.filter(session=session).order_by("id")
    assert first.superseded_by == second and second.dose_mg == Decimal("52.5")
    page = client.get(_url("session", session)).content.decode()
    assert 'class="order superseded"' in page and "<del>" in page
    # The form for yet another order starts empty: a second click never re-signs the dose.
    assert 'name="mg_per_kg"' in page and 'name="mg_per_kg" value=' not in page
    assert "Sign the new order (replaces the current one)" in page


def test_a_therapist_cannot_sign_an_order(session, users, client_for):
    session = run_to(session, users, State.CHECKLIST_PASSED)
    client = client_for(users[Role.THERAPIST])
    page = client.get(_url("session", session)).content.decode()
    assert "Sign dose order" not in page and "Awaiting a prescriber" in page
    response = client.post(_url("order_sign", session), {"mg_per_kg": "0.50"})
    assert response.status_code == 403
    assert "Only a prescriber signs a dose order." in _messages(response)
    assert not models.DoseOrder.objects.filter(session=session).exists()
    session.refresh_from_db()
    assert session.state == State.CHECKLIST_PASSED


def test_order_preview_computes_as_the_prescriber_types(session, users, client_for):
    session = run_to(session, users, State.CHECKLIST_PASSED)
    client = client_for(users[Role.PRESCRIBER])
    response = client.get(_url("order_preview", session), {"mg_per_kg": "1.0"}, **HTMX)
    html = response.content.decode()
    # The bag's volume and duration are fixed, so a bigger dose is a stronger bag at the same
    # pump rate: 70 mg in 100 mL over 40 min.
    assert response.status_code == 200 and "<strong>70 mg</strong>" in html
    assert "150 mL/h" in html and "0.700 mg/mL" in html and "1.8 mg/min" in html
    response = client.get(_url("order_preview", session), {"mg_per_kg": "1.5"}, **HTMX)
    assert "outside the protocol" in response.content.decode()
    response = client.get(_url("order_preview", session), {"mg_per_kg": "lots"}, **HTMX)
    assert response.status_code == 400 and "mg_per_kg: Enter a number." in response.content.decode()
    assert not models.DoseOrder.objects.filter(session=session).exists()


# --- administration and vitals ---------------------------------------------------------------


def test_administration_needs_its_container_and_starts_dosing(session, users, client_for):
    session = run_to(session, users, State.DOSE_ORDERED)
    client = client_for(users[Role.NURSE])
    response = client.post(_url("administration", session), {})
    assert response.status_code == 400
    assert "Vial or device: the vial or device drawn from." in _messages(response)
    assert not hasattr(DosingSession.objects.get(pk=session.pk), "administration")
    start = timezone.now() - timedelta(minutes=5)
    vial = scenario.draw(session, start, users[Role.PRESCRIBER]).container_id
    response = client.post(
        _url("start_dosing", session),
        {"container_id": vial, "drawn_ml": "0.7", "given_ml": "0.7", "wasted_ml": "0",
         "started_at": datetime_local(start)},
    )  # fmt: skip
    assert response.status_code == 302
    session = DosingSession.objects.get(pk=session.pk)
    assert session.administration.container_id == vial
    assert session.administration.lot_number == session.administration.container.lot
    session.refresh_from_db()
    assert session.state == State.DOSING


def test_vitals_row_through_htmx_shows_the_alert_at_once(session, users, client_for):
    session = run_to(session, users, State.DOSING)
    client = client_for(users[Role.NURSE])
    response = client.post(_url("vitals", session), _row(systolic=186, diastolic=114), **HTMX)
    assert response.status_code == 201
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="vitals-live"')  # the panel only, not the page
    assert "186/114" in html and "vital-alert level-critical open" in html
    assert "Acknowledge alert" in html and 'hx-swap-oob="true"' in html
    assert "Acknowledge each critical vitals alert" in html  # the next step is now blocked
    alert = VitalAlert.objects.get(session=session, level="critical", acknowledged_at=None)
    assert alert.reading.systolic == 186


def test_bad_vitals_name_the_field_and_store_nothing(session, users, client_for):
    session = run_to(session, users, State.DOSING)
    before = VitalReading.objects.filter(session=session).count()
    client = client_for(users[Role.NURSE])
    response = client.post(_url("vitals", session), _row(spo2=140), **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Oxygen saturation (SpO₂) must be between 50% and 100% (you entered 140)" in html
    assert 'value="140"' in html  # named, and the row kept for correction
    response = client.post(_url("vitals", session), _row(heart_rate="fast"), **HTMX)
    assert (
        response.status_code == 400
        and "heart_rate: Enter a whole number." in response.content.decode()
    )
    future = datetime_local(timezone.now() + timedelta(hours=1))
    response = client.post(_url("vitals", session), reading(future))
    assert response.status_code == 400 and "Time taken cannot be in the future." in _messages(
        response
    )
    assert VitalReading.objects.filter(session=session).count() == before


def test_vitals_without_htmx_redirect_with_the_alerts(session, users, client_for):
    session = run_to(session, users, State.DOSING)
    response = client_for(users[Role.NURSE]).post(
        _url("vitals", session), _row(spo2=90), follow=True
    )
    assert response.redirect_chain[-1][0].endswith("#vitals")
    assert any("CRITICAL" in m for m in _messages(response))


def test_critical_alert_needs_the_action_taken(session, users, client_for):
    session = run_to(session, users, State.DOSING)
    result = services.record_vitals(
        Actor.for_user(users[Role.NURSE]),
        session,
        [reading(timezone.now(), 190)],
    )
    alert = next(a for _, a in result.alerts if a.level == "critical")
    url = reverse("dosing:vital_alert_acknowledge", args=[alert.pk])
    client = client_for(users[Role.NURSE])
    response = client.post(url, {"action_taken": "  "}, **HTMX)
    assert (
        response.status_code == 400
        and "Action taken: say what was done" in response.content.decode()
    )
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    response = client.post(url, {"action_taken": "Paused the infusion; BP 150/90 at 5 min"}, **HTMX)
    assert response.status_code == 200
    assert "Action taken: Paused the infusion" in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == users[Role.NURSE]
    assert client.post(url, {"action_taken": "again"}).status_code == 409  # once only


def test_reminder_polls_and_shows_overdue(session, users, client_for):
    session = run_to(session, users, State.RECOVERY)
    response = client_for(users[Role.NURSE]).get(_url("vitals_reminder", session), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'hx-trigger="every 30s"' in html
    assert "Vitals overdue by" in html


# --- side effects, interventions, scores -----------------------------------------------------


def test_side_effect_intervention_and_scores(session, users, client_for):
    session = run_to(session, users, State.DOSING)
    client = client_for(users[Role.NURSE])
    now = datetime_local(timezone.now())
    response = client.post(
        _url("side_effect", session), {"kind": "other", "severity": "mild", "noted_at": now}
    )
    assert response.status_code == 400 and _said(
        response, "Note: describe the side effect", anywhere=True
    )
    assert (
        client.post(
            _url("side_effect", session),
            {"kind": "nausea", "severity": "moderate", "noted_at": now},
        ).status_code
        == 302
    )
    assert models.SideEffect.objects.get(session=session).severity == "moderate"
    response = client.post(
        _url("intervention", session), {"drug": "Ondansetron", "dose": "", "given_at": now}
    )
    assert response.status_code == 400 and _said(response, "Dose: with its unit")
    assert (
        client.post(
            _url("intervention", session),
            {"drug": "Ondansetron", "dose": "4 mg IV", "reason": "nausea"},
        ).status_code
        == 302
    )
    assert models.Intervention.objects.get(session=session).dose == "4 mg IV"
    five = {f"item_{n}": "1" for n in range(1, 6)}
    response = client.post(_url("score", session), {"scale": "cadss6", **five})
    assert response.status_code == 400 and _said(
        response, "CADSS-6 items must be 6 scores, each between 0 and 4."
    )
    assert (
        client.post(_url("score", session), {"scale": "cadss6", **five, "item_6": "2"}).status_code
        == 302
    )
    response = client.post(_url("score", session), {"scale": "moaas", "value": "7"})
    assert response.status_code == 400 and _said(
        response, "MOAA/S sedation score must be between 0 and 5 (you entered 7)."
    )
    assert client.post(_url("score", session), {"scale": "moaas", "value": "4"}).status_code == 302
    scores = {
        s.scale: s
        for s in models.SessionScore.objects.filter(session=session, recorded_by=users[Role.NURSE])
    }
    assert scores["cadss6"].value == 7 and scores["cadss6"].items == [1, 1, 1, 1, 1, 2]
    assert scores["moaas"].value == 4
    page = client.get(_url("session", session)).content.decode()
    assert "Nausea (moderate)" in page and "Ondansetron 4 mg IV" in page
    # CADSS items by their CADSS number, the question on hover.
    assert (
        '<abbr title="Spaces out or otherwise loses track of what is going on">item 15</abbr>: 1'
        in page
    )
    assert "item 22</abbr>: 2" in page


def test_patient_rated_dissociation_when_the_clinic_chooses_it(
    session, users, client_for, settings
):
    settings.KAPCARE_DISSOCIATION_SCALE = "dissociation_0_10"
    session = run_to(session, users, State.DOSING)
    client = client_for(users[Role.NURSE])
    assert (
        "Patient-rated dissociation (0-10)" in client.get(_url("session", session)).content.decode()
    )
    assert (
        client.post(
            _url("score", session), {"scale": "dissociation_0_10", "value": "6"}
        ).status_code
        == 302
    )
    assert models.SessionScore.objects.get(session=session, scale="dissociation_0_10").value == 6


# --- discharge, reflection, note -------------------------------------------------------------

DISCHARGE = {
    "escort_name": "Alex Example", "sedation_moaas": "5", "dissociation_resolved": "on",
    "nausea_controlled": "on", "ambulating_steadily": "on",
}  # fmt: skip


def test_discharge_assessment_then_discharge(session, users, client_for):
    session = run_to(session, users, State.RECOVERY)
    nurse = client_for(users[Role.NURSE])
    response = nurse.post(_url("discharge", session), {**DISCHARGE, "sedation_moaas": ""})
    assert response.status_code == 400
    assert "Sedation (MOAA/S) must be between 0 and 5." in _messages(response)
    response = nurse.post(_url("discharge", session), {**DISCHARGE, "escort_name": ""}, follow=True)
    assert any("No escort" in m for m in _messages(response))
    page = response.content.decode()
    assert "Not met yet" in page and "Only a prescriber may discharge despite these" in page
    assert nurse.post(_url("transition", session), {"to": "discharged"}).status_code == 409
    response = nurse.post(_url("discharge", session), DISCHARGE, follow=True)
    assert "Every discharge criterion is met." in response.content.decode()
    assert nurse.post(_url("transition", session), {"to": "discharged"}).status_code == 302
    session.refresh_from_db()
    assert session.state == State.DISCHARGED and session.escort_name == "Alex Example"


def test_signed_note_cannot_be_changed_through_the_note_url(session, users, client_for):
    session = run_to(session, users, State.DISCHARGED)
    client = client_for(users[Role.PRESCRIBER])
    assert client.post(_url("reflection", session), {"reflection": "Felt calm"}).status_code == 302
    assert client.post(_url("note", session), {"text": ""}).status_code == 400  # empty: refused
    assert client.post(_url("note", session), {"text": "Draft one"}).status_code == 302
    # Signing takes the text as it stands in the form.
    response = client.post(_url("note_sign", session), {"text": "Tolerated well."})
    assert response.status_code == 302
    session = DosingSession.objects.get(pk=session.pk)
    assert session.state == State.NOTE_SIGNED and session.note.text == "Tolerated well."
    for url in (_url("note", session), _url("note_sign", session)):
        response = client.post(url, {"text": "Rewritten"})
        assert response.status_code == 409, url
        assert any(
            "the note is signed; add an amendment instead" in m.lower() for m in _messages(response)
        )
    session.note.refresh_from_db()
    assert session.note.text == "Tolerated well."
    response = client.post(
        _url("note_amend", session), {"text": "BP at 60 min 128/80.", "reason": ""}
    )
    assert response.status_code == 400 and _said(response, "Reason: ")
    response = client.post(
        _url("note_amend", session),
        {"text": "BP at 60 min 128/80.", "reason": "Late entry"},
        follow=True,
    )
    page = response.content.decode()
    assert (
        "Tolerated well." in page
        and "BP at 60 min 128/80." in page
        and "reason: Late entry" in page
    )
    assert models.NoteAmendment.objects.get().author == users[Role.PRESCRIBER]


def test_a_bare_step_to_note_signed_is_refused(session, users, client_for):
    session = run_to(session, users, State.DISCHARGED)
    client = client_for(users[Role.NURSE])
    client.post(_url("note", session), {"text": "Written"})
    response = client.post(_url("transition", session), {"to": "note_signed"})
    assert response.status_code == 409 and _said(response, "Sign the session note", anywhere=True)
    session.refresh_from_db()
    assert session.state == State.DISCHARGED


# --- esketamine ------------------------------------------------------------------------------


def test_esketamine_device_buttons_and_rems_link(dosing_session_for, users, client_for):
    session = run_to(dosing_session_for("esketamine"), users, State.DOSE_ORDERED)
    client = client_for(users[Role.NURSE])
    page = client.get(_url("session", session)).content.decode()
    assert "REMS monitoring record (PDF)" in page and _url("rems_pdf", session) in page
    assert "2 devices" in page
    device = scenario.draw(session, timezone.now(), users[Role.PRESCRIBER]).container_id
    assert client.post(_url("start_dosing", session), {"container_id": device}).status_code == 302
    page = client.get(_url("session", session)).content.decode()
    assert "Device 1 used</button>" in page and "Device 2 used</button>" not in page
    assert client.post(_url("device", session)).status_code == 302
    session = DosingSession.objects.get(pk=session.pk)
    assert session.administration.devices.count() == 1


def test_rems_pdf(dosing_session_for, users, client_for):
    pytest.importorskip("kapcare.dosing.rems", reason="kapcare.dosing.rems is not written yet")
    session = run_to(dosing_session_for("esketamine"), users, State.DISCHARGED)
    response = client_for(users[Role.NURSE]).get(_url("rems_pdf", session))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditEntry.objects.filter(
        what="REMS monitoring record PDF", patient_id=session.patient_id
    ).exists()


def test_rems_pdf_only_for_esketamine(session, users, client_for):
    pytest.importorskip("kapcare.dosing.rems", reason="kapcare.dosing.rems is not written yet")
    assert client_for(users[Role.NURSE]).get(_url("rems_pdf", session)).status_code == 404


# --- policy and query bound ------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PATIENT, Role.CLINIC_ADMIN])
def test_non_clinical_roles_get_403_on_every_dosing_route(session, users, client_for, role):
    session = run_to(session, users, State.DOSING, critical_bp_at_min=0)
    alert = VitalAlert.objects.get(session=session, level="critical")
    client = client_for(users[role])
    readings = VitalReading.objects.filter(session=session).count()
    for pattern in urlpatterns:
        kwargs = {
            name: (alert.pk if name == "vital_alert_id" else session.pk)
            for name in pattern.pattern.regex.groupindex
        }
        url = reverse(f"dosing:{pattern.name}", kwargs=kwargs)
        for method in (client.get, client.post):
            response = method(
                url, {"systolic": 120, "diastolic": 80, "to": "cancelled", "reason": "x"}
            )
            assert response.status_code == 403, (role, url)
    session.refresh_from_db()
    assert session.state == State.DOSING
    assert VitalReading.objects.filter(session=session).count() == readings


def _add_readings(session: DosingSession, nurse: Any, count: int) -> None:
    now = timezone.now()
    services.record_vitals(
        Actor.for_user(nurse),
        session,
        [
            # Every third reading high, so alerts come with them.
            reading(now - timedelta(seconds=30 * i), 170 if i % 3 == 0 else 124)
            for i in range(count)
        ],
    )


def test_page_queries_do_not_grow_with_the_readings(
    cleared_patient, plan_course_for, users, client_for, django_assert_max_num_queries
):
    course = plan_course_for(cleared_patient)
    first, second = course.dosing_sessions.order_by("appointment__starts_at")[:2]
    few = run_to(first, users, State.RECOVERY, critical_bp_at_min=10)
    many = run_to(second, users, State.RECOVERY, critical_bp_at_min=10)
    _add_readings(few, users[Role.NURSE], 5)
    _add_readings(many, users[Role.NURSE], 50)
    client = client_for(users[Role.NURSE])
    client.get(_url("session", few))  # warm the PK curve cache and the session
    with CaptureQueriesContext(connection) as few_queries:
        assert client.get(_url("session", few)).status_code == 200
    assert VitalReading.objects.filter(session=many).count() >= 50
    bound = len(few_queries.captured_queries)
    client.get(_url("session", many))
    with django_assert_max_num_queries(bound):
        assert client.get(_url("session", many)).status_code == 200
