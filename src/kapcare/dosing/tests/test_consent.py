"""The treatment consent on the pre-session checklist (issue 14): the current version of the
route's consent template, signed, is needed to pass the checklist and to start dosing, and no
prescriber's override lifts it (service, page, and the fact's one query)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kapcare.accounts.roles import Role
from kapcare.audit.services import Actor
from kapcare.clinical import session as model
from kapcare.dosing import rules, scenario, services
from kapcare.dosing.models import State
from kapcare.dosing.tests.conftest import run_to, short_fast
from kapcare.errors import Conflict
from kapcare.patients.models import ConsentSignature, ConsentTemplate
from kapcare.patients.services import sign_consent

REASON = "Consented verbally; the form will follow"


def _unsign(patient, code: str = model.TREATMENT_CONSENT) -> None:
    ConsentSignature.objects.filter(patient=patient, template__code=code).delete()


def _new_version(code: str = model.TREATMENT_CONSENT) -> ConsentTemplate:
    last = ConsentTemplate.objects.filter(code=code).order_by("-version")[0]
    return ConsentTemplate.objects.create(
        code=code, version=last.version + 1, title=last.title, body=last.body + " (reworded)"
    )


def _codes(refused: pytest.ExceptionInfo[Conflict]) -> list[str]:
    return [r.code for r in refused.value.unmet]


def test_the_checklist_cannot_pass_without_the_consent_even_for_a_prescriber(session, users):
    _unsign(session.patient)
    session = short_fast(run_to(session, users, State.CHECKED_IN), users)
    prescriber = Actor.for_user(users[Role.PRESCRIBER])
    with pytest.raises(Conflict) as refused:
        services.transition(prescriber, session, State.CHECKLIST_PASSED, reason=REASON)
    assert _codes(refused) == ["consent", "fasting"]
    assert "Treatment consent: not signed: Consent to ketamine treatment (synthetic) version 1" in (
        str(refused.value)
    )
    session.refresh_from_db()
    assert session.state == State.CHECKED_IN and not session.transitions.filter(
        to_state=State.CHECKLIST_PASSED
    )

    scenario.sign_treatment_consent(users[Role.NURSE], session.patient, session.route)
    session = services.transition(prescriber, session, State.CHECKLIST_PASSED, reason=REASON)
    assert session.state == State.CHECKLIST_PASSED
    assert session.transitions.last().overridden == ["fasting"]


def test_an_old_version_does_not_count_once_a_new_version_exists(session, users):
    session = short_fast(run_to(session, users, State.CHECKED_IN), users)
    new = _new_version()
    facts = rules.consent_facts(session.patient_id, session.route)
    assert (facts.version, facts.signed_current_version, facts.signed_version) == (2, False, 1)
    prescriber = Actor.for_user(users[Role.PRESCRIBER])
    with pytest.raises(Conflict) as refused:
        services.transition(prescriber, session, State.CHECKLIST_PASSED, reason=REASON)
    assert "consent" in _codes(refused)
    assert "version 2 (version 1 was signed; a newer version replaced it)" in str(refused.value)

    sign_consent(prescriber, session.patient, new, typed_name=session.patient.full_name)
    assert services.transition(
        prescriber, session, State.CHECKLIST_PASSED, reason=REASON
    ).state == (State.CHECKLIST_PASSED)


def test_a_withdrawn_newest_version_leaves_the_one_before_current(session, users):
    new = _new_version()
    new.active = False
    new.save()
    facts = rules.consent_facts(session.patient_id, session.route)
    assert (facts.version, facts.signed_current_version) == (1, True)


def test_dosing_is_refused_when_a_new_version_appears_after_the_checklist(session, users):
    session = run_to(session, users, State.DOSE_ORDERED)
    _new_version()
    administration_at = session.orders.last().signed_at
    services.record_administration(
        Actor.for_user(users[Role.NURSE]), session,
        draw=scenario.draw(session, administration_at, users[Role.PRESCRIBER]),
        started_at=administration_at, now=administration_at,
    )  # fmt: skip
    with pytest.raises(Conflict) as refused:
        services.transition(
            Actor.for_user(users[Role.PRESCRIBER]), session, State.DOSING, reason=REASON
        )
    assert _codes(refused) == ["consent"] and not refused.value.unmet[0].overridable


def test_an_esketamine_session_needs_the_esketamine_consent(dosing_session_for, users):
    session = dosing_session_for("esketamine")
    _unsign(session.patient, model.ESKETAMINE_CONSENT)  # the racemic one stays signed
    session = short_fast(run_to(session, users, State.CHECKED_IN), users)
    with pytest.raises(Conflict) as refused:
        services.transition(
            Actor.for_user(users[Role.PRESCRIBER]), session, State.CHECKLIST_PASSED, reason=REASON
        )
    assert "consent" in _codes(refused)
    assert "Consent to esketamine (SPRAVATO) treatment (synthetic) version 1" in str(refused.value)


def test_the_consent_fact_is_one_query(session, django_assert_num_queries):
    _new_version()
    with django_assert_num_queries(1):
        facts = rules.consent_facts(session.patient_id, session.route)
    assert facts.code == "ketamine-treatment" and facts.version == 2


def test_the_page_names_the_missing_consent_and_refuses_the_prescribers_override(
    session, users, client_for
):
    _unsign(session.patient)
    session = short_fast(run_to(session, users, State.CHECKED_IN), users)
    client = client_for(users[Role.PRESCRIBER])
    url = reverse("dosing:session", args=[session.pk])
    page = client.get(url).content.decode()
    assert "Treatment consent</strong>" in page
    assert "not signed: Consent to ketamine treatment (synthetic) version 1" in page
    assert reverse("patients:chart", args=[session.patient_id]) in page
    response = client.post(
        reverse("dosing:transition", args=[session.pk]),
        {"to": "checklist_passed", "reason": REASON},
    )
    assert response.status_code == 409
    messages = [str(m) for m in response.context["messages"]]
    assert any("Treatment consent: not signed" in m for m in messages), messages
    session.refresh_from_db()
    assert session.state == State.CHECKED_IN
