"""The session page as a tablet and a phone use it, through the test client: what sits at the
top during dosing and recovery, which steps fold, the administration saved and dosing started
in one post, "Stopped now" in one post, the checklist a vitals post updates, today's C-SSRS
form coming back to the session (and only to a page of this site), the esketamine device
countdown, and the queries each answer costs."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kapcare.accounts.roles import Role
from kapcare.assessments.models import Assessment
from kapcare.audit.services import Actor
from kapcare.clinical.dosing import ESKETAMINE_DEVICE_SPACING_MIN
from kapcare.conftest import TEST_PASSWORD
from kapcare.dosing import scenario, services
from kapcare.dosing.models import Administration, DosingSession, State
from kapcare.dosing.tests.conftest import datetime_local, reading, run_to
from kapcare.ledger.models import Container, Entry

HTMX = {"HTTP_HX_REQUEST": "true"}
# What the page costs: the one read model (selectors.session_record, 24 queries whatever the
# number of readings); the live panel, the folds and the countdown add none.
PAGE_QUERIES = 24
# A vitals row posted through HTMX: the write, then the panel, the latest readings, the record,
# the next step and the checklist, all from one read model.
VITALS_POST_QUERIES = 32


def _url(name: str, session: DosingSession) -> str:
    return reverse(f"dosing:{name}", args=[session.pk])


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _open(html: str, section: str) -> bool:
    """Whether the page's ``<details id=section>`` is open."""
    found = re.search(rf'<details class="card step" id="{section}"( open)?>', html)
    assert found, f"no foldable section {section!r}"
    return found.group(1) is not None


def test_during_dosing_the_vitals_entry_comes_first_and_finished_steps_fold(
    session, users, client_for, django_assert_max_num_queries
):
    session = run_to(session, users, State.DOSING, minutes_ago=60)
    client = client_for(users[Role.NURSE])
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(_url("session", session))
    html = response.content.decode()
    # The live panel (entry row) comes before the next step and every other section.
    live, next_step = html.index('id="live"'), html.index('id="next-step"')
    assert live < html.index('id="vitals-form"') < next_step < html.index('id="checklist"')
    assert response.context["live"] and response.context["can_stop"]
    for section in ("checklist", "centering", "order"):
        assert not _open(html, section), section
    assert _open(html, "administration") and _open(html, "observations")
    # A folded order still says the dose and the pump rate in its summary line.
    order = re.search(r'id="order">\s*<summary>(.*?)</summary>', html, re.S)
    assert order and "35 mg" in order.group(1) and "150 mL/h" in order.group(1)
    # The education-only curve is behind its own disclosure, never open by default.
    assert '<details class="pk-details">' in html and 'pk-details" open' not in html
    assert "Stopped now</button>" in html


def test_before_dosing_the_vitals_stay_in_place_and_the_steps_are_open(session, users, client_for):
    session = run_to(session, users, State.DOSE_ORDERED, minutes_ago=30)
    html = client_for(users[Role.NURSE]).get(_url("session", session)).content.decode()
    assert 'id="live"' not in html
    assert html.index('id="administration"') < html.index('id="vitals-form"')
    assert _open(html, "order") and _open(html, "administration")
    assert not _open(html, "checklist")
    assert "Save and start dosing</button>" in html and "Stopped now" not in html


def test_administration_and_dosing_start_in_one_post(session, users, client_for):
    session = run_to(session, users, State.DOSE_ORDERED, minutes_ago=30)
    client = client_for(users[Role.NURSE])
    start = timezone.now() - timedelta(minutes=2)
    vial = Container.objects.get(pk=_vial(session, users))
    response = client.post(
        _url("start_dosing", session),
        {**_draw(vial.pk), "witness_email": users[Role.PRESCRIBER].email,
         "witness_password": TEST_PASSWORD, "started_at": datetime_local(start)},
    )  # fmt: skip
    assert response.status_code == 302
    session = DosingSession.objects.get(pk=session.pk)
    assert session.state == State.DOSING
    assert (session.administration.container, session.administration.lot_number) == (
        vial,
        vial.lot,
    )
    # The withdrawal is the ledger's, with the same administration, witnessed.
    entry = Entry.objects.get(administration=session.administration)
    assert (entry.delta_ml, entry.given_ml, entry.wasted_ml) == (
        Decimal("-1.00"),
        Decimal("0.70"),
        Decimal("0.30"),
    )
    assert entry.witness_id == users[Role.PRESCRIBER].pk and entry.manner
    vial.refresh_from_db()
    assert vial.balance_ml == Decimal("9.00")
    assert session.administration.stopped_at is None
    assert session.transitions.filter(to_state=State.DOSING).count() == 1


def test_a_refused_start_keeps_what_was_typed_beside_the_field(session, users, client_for):
    session = run_to(session, users, State.DOSE_ORDERED, minutes_ago=30)
    vial = _vial(session, users)
    # More given than drawn: refused by the ledger, in the same transaction as the rest.
    response = client_for(users[Role.NURSE]).post(
        _url("start_dosing", session), {**_draw(vial), "given_ml": "0.9"}
    )
    assert response.status_code == 400
    form = response.context["forms"]["administration"]
    assert form["given_ml"].value() == "0.9" and form["container_id"].value() == str(vial)
    assert form.errors["drawn_ml"]  # beside the field, as well as on top
    assert not Entry.objects.filter(session=session).exists()
    assert not Administration.objects.filter(session=session).exists()
    assert DosingSession.objects.get(pk=session.pk).state == State.DOSE_ORDERED


def test_stopped_now_is_one_post(session, users, client_for):
    session = run_to(session, users, State.DOSING, minutes_ago=60)
    client = client_for(users[Role.NURSE])
    before = timezone.now()
    response = client.post(_url("stop_dosing", session), follow=True)
    administration = Administration.objects.get(session=session)
    assert administration.stopped_at is not None and administration.stopped_at >= before
    assert administration.container is not None
    assert administration.lot_number == administration.container.lot  # the rest as it was
    stopped = timezone.localtime(administration.stopped_at)
    assert f"Administration stopped at {stopped:%H:%M}." in _messages(response)
    # The dose has stopped: the next step, recovery, may be taken.
    assert response.context["can_step"] and response.context["next_state"] == State.RECOVERY
    assert "Stopped now</button>" not in response.content.decode()


def test_a_vitals_post_updates_the_checklist_out_of_band(
    session, users, client_for, django_assert_max_num_queries
):
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    client = client_for(users[Role.NURSE])
    page = client.get(_url("session", session)).content.decode()
    assert re.search(r'class="not-ok">[^<]*<span[^>]*>✗</span> <strong>Baseline vitals', page)
    row = reading("", 124, 80)
    with django_assert_max_num_queries(VITALS_POST_QUERIES):
        response = client.post(_url("vitals", session), row, **HTMX)
    assert response.status_code == 201
    html = response.content.decode()
    items = html[html.index('<ul class="checklist-items" id="checklist-items" hx-swap-oob') :]
    assert re.search(r'class="ok">[^<]*<span[^>]*>✓</span> <strong>Baseline vitals', items)


def test_the_cssrs_link_returns_to_the_session(session, users, client_for):
    session = run_to(session, users, State.CHECKED_IN, minutes_ago=5)
    client = client_for(users[Role.NURSE])
    response = client.get(_url("session", session))
    link = response.context["cssrs_url"]
    back = _url("session", session) + "#checklist"
    answers = {"item_1": "0", "item_2": "0", "item_6": "0"}
    response = client.post(link, answers)
    assert response.status_code == 302 and response["Location"] == back
    assert Assessment.objects.filter(patient=session.patient, instrument="cssrs_screen").exists()


@pytest.mark.parametrize("elsewhere", ["https://evil.example/", "//evil.example/x", "x/y"])
def test_the_cssrs_form_goes_back_only_to_a_page_of_this_site(
    session, users, client_for, elsewhere
):
    client = client_for(users[Role.NURSE])
    record = reverse(
        "assessments:record",
        kwargs={"patient_id": session.patient_id, "instrument": "cssrs_screen"},
    )
    response = client.post(
        f"{record}?next={elsewhere}", {"item_1": "0", "item_2": "0", "item_6": "0"}
    )
    assessment = Assessment.objects.get(patient=session.patient, instrument="cssrs_screen")
    assert response.status_code == 302
    assert response["Location"] == reverse("assessments:detail", args=[assessment.pk])


def test_the_esketamine_countdown_to_the_next_device(dosing_session_for, users, client_for):
    session = run_to(dosing_session_for("esketamine"), users, State.DOSE_ORDERED, minutes_ago=30)
    client = client_for(users[Role.NURSE])
    device = _vial(session, users)
    assert client.post(_url("start_dosing", session), {"container_id": device}).status_code == 302
    assert client.post(_url("device", session)).status_code == 302
    device = DosingSession.objects.get(pk=session.pk).administration.devices.get()
    ready = timezone.localtime(device.used_at + timedelta(minutes=ESKETAMINE_DEVICE_SPACING_MIN))
    response = client.get(_url("session", session))
    html = response.content.decode()
    wait = response.context["device_wait"]
    assert wait["number"] == 2 and wait["ready_at"] == device.used_at + timedelta(minutes=5)
    # The time it may be given, in the clinic's time zone, and the moment the page was drawn.
    assert f">{ready:%H:%M:%S}</time>" in html
    assert f'data-ready-at="{ready.isoformat()}"' in html
    assert "Device 2 used</button>" in html and "data-wait-button" in html
    # A second device sooner is refused with the time to wait, and nothing is stored.
    response = client.post(_url("device", session))
    assert response.status_code == 400
    assert any("wait about" in m for m in _messages(response))
    assert DosingSession.objects.get(pk=session.pk).administration.devices.count() == 1


def test_no_countdown_once_the_spacing_has_passed(dosing_session_for, users, client_for):
    session = run_to(dosing_session_for("esketamine"), users, State.DOSE_ORDERED, minutes_ago=30)
    nurse, now = Actor.for_user(users[Role.NURSE]), timezone.now()
    started = now - timedelta(minutes=6)
    draw = scenario.draw(session, started, users[Role.PRESCRIBER])
    services.start_dosing(nurse, session, draw=draw, started_at=started, now=started)
    services.record_device(nurse, session, used_at=started, now=now)
    response = client_for(users[Role.NURSE]).get(_url("session", session))
    assert response.context["device_wait"] is None
    assert "Device 2 used</button>" in response.content.decode()


def _vial(session, users):
    """A usable container of the session's route (received when there is none)."""
    return scenario.draw(session, timezone.now(), users[Role.PRESCRIBER]).container_id


def _draw(container_id):
    """The start form's draw: 1 mL drawn, 0.7 mL given, 0.3 mL wasted."""
    return {
        "container_id": container_id, "drawn_ml": "1.00", "given_ml": "0.70",
        "wasted_ml": "0.30", "waste_manner": "Expelled into a drug-disposal container",
    }  # fmt: skip
