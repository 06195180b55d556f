"""The measurement-based care API (a fixed contract): record and list assessments,
list alerts (suicide-risk answers, and critical vitals of dosing sessions) and acknowledge
suicide-risk alerts (a vitals alert is acknowledged through the dosing API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from kapcare.api.routing import endpoint
from kapcare.assessments import selectors, services
from kapcare.assessments.models import ACTION_TAKEN_MAX_LENGTH, Alert, Assessment, Source
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.dosing.models import VitalAlert
from kapcare.errors import NotFound
from kapcare.patients.models import Patient

router = Router(tags=["assessments"])


class AssessmentIn(Schema):
    instrument: str = Field(..., description="pcl5, phq9, gad7 or cssrs_screen", max_length=40)
    responses: list[Any] = Field(
        ...,
        description=(
            "Every item's score in form order (item n is responses[n-1]). cssrs_screen: 7 "
            "values, Q1-Q6 then 'Q6 within the past 3 months', each 0 or 1, and null for a "
            "question its skip logic did not ask: items 3-5 (responses[2..4]) when item 2 is 0, "
            "item 7 (responses[6]) when item 6 is 0. A 0 there is also accepted (the encoding "
            "before issue 14) and stored as null; a 1 there, or a null for a question that "
            "was asked, is a 422 naming the item (rules not_asked, required)."
        ),
    )


class AssessmentOut(Schema):
    id: int
    instrument: str
    total: int
    band: str
    flags: list[str]
    subscales: dict[str, int]
    provisional_diagnosis: bool | None
    administered_at: datetime
    responses: list[int | None] = Field(
        ...,
        description=(
            "Every item's score in form order (item n is responses[n-1]); null for a "
            "cssrs_screen question its skip logic did not ask (items 3-5 when item 2 is 0, "
            "item 7 when item 6 is 0), never 0"
        ),
    )
    source: str


class AssessmentListQuery(Schema):
    instrument: str | None = Field(None, max_length=40)


class AlertOut(Schema):
    id: int = Field(
        ...,
        description="The alert's id within its kind: a suicide-risk alert and a vitals alert "
        "may share an id",
    )
    kind: Literal["suicide_risk", "vitals"] = Field(
        ...,
        description="suicide_risk: a suicide-risk answer to a scale (acknowledge with "
        "POST /alerts/{id}/acknowledge); vitals: a critical vital sign recorded in a dosing "
        "session (acknowledge with POST /vital-alerts/{id}/acknowledgement)",
    )
    code: str = Field(
        ...,
        description="suicide_risk for a suicide-risk alert; the vitals rule's code for a "
        "vitals alert (e.g. bp_critical)",
    )
    patient_id: int
    patient_mrn: str
    session_id: int | None = Field(
        ..., description="The dosing session of a vitals alert; null for a suicide-risk alert"
    )
    assessment_id: int | None = Field(
        ..., description="The assessment of a suicide-risk alert; null for a vitals alert"
    )
    instrument: str | None = Field(
        ..., description="The scale of a suicide-risk alert; null for a vitals alert"
    )
    level: str = Field(..., description="suicide_risk: the alert's level; vitals: critical")
    reason: str = Field(..., description="Why it was raised (a vitals alert: the rule's message)")
    status: str = Field(..., description="open or acknowledged")
    assigned_to: str | None = Field(
        ...,
        description="suicide_risk: the assigned clinician (null: every prescriber); vitals: "
        "the prescriber on duty (signer of the current dose order, else the course's planner)",
    )
    created_at: datetime = Field(
        ..., description="When it was raised (a vitals alert: when its reading was stored)"
    )
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    action_taken: str


class AcknowledgeIn(Schema):
    action_taken: str = Field(..., max_length=ACTION_TAKEN_MAX_LENGTH)


def _alert_out(alert: Alert) -> AlertOut:
    return AlertOut(
        id=alert.pk,
        kind="suicide_risk",
        code="suicide_risk",
        patient_id=alert.patient_id,
        patient_mrn=alert.patient.mrn,
        session_id=None,
        assessment_id=alert.assessment_id,
        instrument=alert.assessment.instrument,
        level=alert.level,
        reason=alert.reason,
        status=alert.status,
        assigned_to=alert.assigned_to.email if alert.assigned_to else None,
        created_at=alert.created_at,
        acknowledged_by=alert.acknowledged_by.email if alert.acknowledged_by else None,
        acknowledged_at=alert.acknowledged_at,
        action_taken=alert.action_taken,
    )


def _vital_alert_out(alert: VitalAlert) -> AlertOut:
    session = alert.session
    return AlertOut(
        id=alert.pk,
        kind="vitals",
        code=alert.code,
        patient_id=session.patient_id,
        patient_mrn=session.patient.mrn,
        session_id=session.pk,
        assessment_id=None,
        instrument=None,
        level=alert.level,
        reason=alert.message,
        status="acknowledged" if alert.acknowledged_at else "open",
        assigned_to=selectors.on_duty(session).email,
        created_at=alert.reading.recorded_at,
        acknowledged_by=alert.acknowledged_by.email if alert.acknowledged_by else None,
        acknowledged_at=alert.acknowledged_at,
        action_taken=alert.action_taken,
    )


@endpoint(
    router,
    "POST",
    "/patients/{patient_id}/assessments",
    operation_id="record_assessment",
    response={201: AssessmentOut},
)
def record_assessment(
    request: HttpRequest, patient_id: int, payload: AssessmentIn
) -> Status[Assessment]:
    """Score a completed scale with the clinical core and store it with every item response.
    A suicide-risk answer raises an alert for the patient's primary clinician (email too).
    An unknown instrument or invalid responses: 422 naming the field (``instrument``,
    ``responses`` or the item's ``responses[n-1]``) with the core's message; nothing is
    stored."""
    patient = get_object_or_404(Patient.objects.select_related("primary_clinician"), pk=patient_id)
    assessment = services.record_assessment(
        Actor.from_request(request),
        patient,
        payload.instrument,
        payload.responses,
        source=Source.API,
        entered_by=request.user if getattr(request.user, "is_authenticated", False) else None,
    )
    return Status(201, assessment)


@reads_patient_data
@endpoint(
    router,
    "GET",
    "/patients/{patient_id}/assessments",
    operation_id="list_assessments",
    response=list[AssessmentOut],
)
def list_assessments(
    request: HttpRequest, patient_id: int, filters: Query[AssessmentListQuery]
) -> list[Assessment]:
    """A patient's assessments, oldest first; `?instrument=` keeps one scale."""
    if not Patient.objects.filter(pk=patient_id).exists():
        raise NotFound("patient_id", "No such patient.")
    if filters.instrument:
        services.check_instrument(filters.instrument)
    assessments = list(selectors.patient_assessments(patient_id, filters.instrument))
    return assessments


@reads_patient_data
@endpoint(router, "GET", "/alerts", operation_id="list_alerts", response=list[AlertOut])
def list_alerts(request: HttpRequest) -> list[AlertOut]:
    """The open alerts the caller may see, longest waiting first: suicide-risk answers
    (``kind`` suicide_risk) and critical vital signs of dosing sessions not yet acknowledged
    (``kind`` vitals, with their ``session_id``). A prescriber sees every alert; a nurse or
    therapist the suicide-risk alerts assigned to them and the vitals alerts of the sessions
    they are booked on."""
    alerts = list(selectors.visible_alerts(request.user))
    vital_alerts = selectors.open_vital_alerts(request.user)
    shown(request, [a.patient_id for a in alerts] + [a.session.patient_id for a in vital_alerts])
    out = [_alert_out(a) for a in alerts] + [_vital_alert_out(a) for a in vital_alerts]
    out.sort(key=lambda a: a.created_at)
    return out


@endpoint(
    router,
    "POST",
    "/alerts/{alert_id}/acknowledge",
    operation_id="acknowledge_alert",
    response=AlertOut,
)
def acknowledge_alert(request: HttpRequest, alert_id: int, payload: AcknowledgeIn) -> AlertOut:
    """Close an open alert, documenting the action taken (required, not blank: 422); an
    alert already acknowledged is a 409 (``status``, ``already_acknowledged``)."""
    alert = selectors.visible_alerts(request.user, status=None).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("alert_id", "No such alert for you.")
    services.acknowledge_alert(
        Actor.from_request(request), alert, cast(Any, request.user), payload.action_taken
    )
    alert = selectors.visible_alerts(request.user, status=None).get(pk=alert_id)
    return _alert_out(alert)
