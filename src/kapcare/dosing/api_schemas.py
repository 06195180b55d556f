"""The dosing-session API's request and response bodies. Units are in the field names; the
services check the values and the API-wide handler turns a refusal into ``{detail, errors}``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from kapcare.clinical.dosing import WEIGHT_RANGE_KG
from kapcare.dosing.services import MAX_READINGS


class RequirementOut(Schema):
    code: str
    message: str
    overridable: bool = Field(..., description="A prescriber may override it with a reason")


class ChecklistItemOut(Schema):
    code: str
    label: str
    ok: bool
    detail: str


class ChecklistFieldsOut(Schema):
    fasting_hours: float | None
    driver_name: str
    driver_phone: str
    medication_holds_confirmed: bool
    medication_holds_note: str
    pregnancy_test: str
    weight_kg: float | None
    intention: str
    updated_by: str
    updated_at: datetime


class ChecklistOut(Schema):
    fields: ChecklistFieldsOut | None
    items: list[ChecklistItemOut]


class OrderOut(Schema):
    id: int
    route: str
    weight_kg: float | None
    weight_basis: str
    dosing_weight_kg: float | None
    mg_per_kg: float | None
    dose_mg: float
    duration_min: int | None
    volume_ml: int | None
    rate_ml_per_h: float | None
    rate_mg_per_min: float | None
    concentration_mg_per_ml: float | None
    devices: int | None
    deviation: str
    deviation_reason: str
    source: str
    signed_by: str
    signed_at: datetime
    superseded_by_id: int | None


class DeviceOut(Schema):
    number: int
    used_at: datetime
    container_id: int | None = Field(None, description="The ledger's device (empty before it)")


class AdministrationOut(Schema):
    order_id: int
    lot_number: str = Field(..., description="The lot of the container drawn from")
    container_id: int | None = Field(
        None, description="The ledger's vial or first device; empty on rows from before it"
    )
    legacy_vial_label: str = Field(
        "", description="The free-text vial id typed before the ledger (older rows only)"
    )
    started_at: datetime
    stopped_at: datetime | None
    devices: list[DeviceOut]


class VitalAlertOut(Schema):
    id: int
    reading_id: int
    code: str
    level: str
    message: str
    source: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    action_taken: str


class VitalReadingOut(Schema):
    id: int
    taken_at: datetime
    phase: str
    systolic: int | None
    diastolic: int | None
    heart_rate: int | None
    spo2: int | None
    resp_rate: int | None
    alerts: list[VitalAlertOut]


class ReminderOut(Schema):
    due_at: datetime
    overdue_min: int
    interval_min: int


class SideEffectOut(Schema):
    id: int
    kind: str
    severity: str
    noted_at: datetime
    note: str


class InterventionOut(Schema):
    id: int
    drug: str
    dose: str
    given_at: datetime
    reason: str


class ScoreOut(Schema):
    id: int
    scale: str
    value: int
    items: list[int]
    scored_at: datetime


class DischargeOut(Schema):
    inputs: dict[str, Any]
    unmet: list[str] = Field(
        ...,
        description="Unmet criteria codes at the last assessment; once discharged, every "
        "requirement the discharge overrode (criteria and, for esketamine, the label's BPs)",
    )
    escort_name: str
    discharged_at: datetime | None
    ready_without_minimum_at: datetime | None


class AmendmentOut(Schema):
    id: int
    text: str
    reason: str
    author: str
    at: datetime


class NoteOut(Schema):
    text: str
    author: str
    signed_by: str | None
    signed_at: datetime | None
    amendments: list[AmendmentOut]


class TransitionOut(Schema):
    from_state: str
    to_state: str
    by: str
    at: datetime
    reason: str
    overridden: list[str]


class PatientRefOut(Schema):
    id: int
    mrn: str
    name: str
    is_synthetic: bool


class SessionOut(Schema):
    id: int
    state: str
    allowed_next: list[str]
    next_step: str | None = Field(..., description="The next forward state, if any")
    unmet: list[RequirementOut] = Field(..., description="What the next forward step needs")
    route: str
    protocol: str
    protocol_name: str
    course_id: int
    appointment_id: int
    scheduled_for: datetime
    patient: PatientRefOut
    checked_in_at: datetime | None
    centering_kind: str
    centering_minutes: int | None
    checklist: ChecklistOut
    order: OrderOut | None
    superseded_orders: list[OrderOut]
    administration: AdministrationOut | None
    vitals: list[VitalReadingOut] = Field(
        ..., description="The latest 200 readings, oldest first, each with its alerts"
    )
    vitals_total: int = Field(..., description="Readings in the session in all")
    vitals_cursor: str | None = Field(
        ...,
        description="After the newest reading stored: GET .../vitals?after=CURSOR returns the "
        "readings stored since; GET .../vitals without a cursor pages from the first reading",
    )
    open_critical_alerts: list[VitalAlertOut]
    vitals_reminder: ReminderOut | None
    side_effects: list[SideEffectOut]
    interventions: list[InterventionOut]
    scores: list[ScoreOut]
    discharge: DischargeOut
    reflection: str
    note: NoteOut | None
    transitions: list[TransitionOut]


class SessionStateOut(Schema):
    id: int
    state: str
    allowed_next: list[str]
    next_step: str | None
    unmet: list[RequirementOut]
    transition: TransitionOut


class ReadingIn(BaseModel):
    """One reading. Values are checked by the service (``kapcare.clinical.vitals.Reading``), so
    every problem is reported as ``readings[i].<field>`` (a plain pydantic model: ninja's Schema
    would hide unknown keys, and a misspelt field must be refused, not dropped)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"required": ["taken_at"], "additionalProperties": False}
    )

    taken_at: Any = Field(
        None,
        description="ISO 8601 date-time; not in the future",
        json_schema_extra={"type": "string", "format": "date-time"},
    )
    systolic: Any = Field(None, json_schema_extra={"type": "integer"}, description="mmHg")
    diastolic: Any = Field(None, json_schema_extra={"type": "integer"}, description="mmHg")
    heart_rate: Any = Field(None, json_schema_extra={"type": "integer"}, description="beats/min")
    spo2: Any = Field(None, json_schema_extra={"type": "integer"}, description="%")
    resp_rate: Any = Field(None, json_schema_extra={"type": "integer"}, description="breaths/min")


class VitalsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    readings: list[ReadingIn] = Field(..., max_length=MAX_READINGS)


class VitalsAlertOut(Schema):
    reading_index: int
    code: str
    level: str
    message: str
    id: int


class VitalsOut(Schema):
    stored: int
    reading_ids: list[int]
    alerts: list[VitalsAlertOut]


class TransitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(..., max_length=20, description="The state to move to")
    reason: str = Field(
        "", max_length=2000, description="Required to cancel, and for a prescriber's override"
    )


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., max_length=20000)


class AmendmentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., max_length=20000)
    reason: str = Field(..., max_length=300)


class ChecklistIn(Schema):
    """Only the fields sent change; a field sent as null clears it."""

    model_config = ConfigDict(extra="forbid")

    fasting_hours: Decimal | None = Field(None, description="Hours since the last meal")
    driver_name: str | None = Field(None, max_length=120)
    driver_phone: str | None = Field(None, max_length=40)
    medication_holds_confirmed: bool | None = None
    medication_holds_note: str | None = Field(None, max_length=300)
    pregnancy_test: Literal["", "not_applicable", "negative", "positive", "not_done"] | None = None
    weight_kg: Decimal | None = Field(
        None, description=f"Today's weight in kg ({WEIGHT_RANGE_KG[0]}-{WEIGHT_RANGE_KG[1]})"
    )
    intention: str | None = Field(None, max_length=2000)


class CenteringIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["meditation", "breathing", "vr", "none"]
    minutes: int | None = Field(None, description="1-120; none for kind 'none'")


class CenteringOut(Schema):
    kind: str
    minutes: int | None


class OrderIn(Schema):
    """The prescriber states the dose: ``mg_per_kg`` for a weight-based protocol, ``dose_mg``
    for a fixed-dose one (esketamine 28, 56 or 84). A dose outside the protocol's range needs a
    ``deviation_reason``."""

    model_config = ConfigDict(extra="forbid")

    mg_per_kg: Decimal | None = Field(None, description="Weight-based protocols")
    dose_mg: Decimal | None = Field(None, description="Fixed-dose protocols")
    deviation_reason: str = Field("", max_length=2000)


class AdministrationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    container_id: int | None = Field(
        None,
        description="The ledger's vial or (esketamine) first device drawn from, needed the "
        "first time; its lot is the administration's",
    )
    drawn_ml: Decimal | None = Field(None, description="Vial: mL drawn, to 0.01")
    given_ml: Decimal | None = Field(None, description="Vial: mL given, to 0.01")
    wasted_ml: Decimal | None = Field(
        None,
        description="Vial: mL wasted, to 0.01 (drawn = given + wasted); more than 0 needs "
        "waste_manner and the X-Witness-Authorization header",
    )
    waste_manner: str = Field("", max_length=200)
    started_at: datetime
    stopped_at: datetime | None = None


class DeviceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    used_at: datetime | None = Field(None, description="Default: now")
    container_id: int | None = Field(
        None, description="The ledger's device; default: the next full one of the lot"
    )


class SideEffectIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(..., max_length=30, description="nausea, vomiting, headache, ... or other")
    severity: Literal["mild", "moderate", "severe"]
    noted_at: datetime | None = Field(None, description="Default: now")
    note: str = Field("", max_length=300)


class InterventionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    drug: str = Field(..., max_length=80)
    dose: str = Field(..., max_length=40, description="With its unit, e.g. '4 mg IV'")
    given_at: datetime | None = Field(None, description="Default: now")
    reason: str = Field("", max_length=200)


class ScoreIn(Schema):
    """CADSS-6 gives its six ``items`` (each 0-4); the 0-10 scale and MOAA/S (0-5) a
    ``value``."""

    model_config = ConfigDict(extra="forbid")

    scale: Literal["cadss6", "dissociation_0_10", "moaas"]
    value: int | None = None
    items: list[int] = Field(default_factory=list, max_length=6)
    scored_at: datetime | None = Field(None, description="Default: now")


class DischargeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    escort_name: str = Field(..., max_length=120)
    sedation_moaas: int = Field(..., description="MOAA/S 0-5; 5 is fully alert")
    dissociation_resolved: bool
    nausea_controlled: bool
    ambulating_steadily: bool
    ready_without_minimum_at: datetime | None = Field(
        None, description="Esketamine REMS: when the patient would have been ready before 2 h"
    )


class DischargeAssessmentOut(Schema):
    unmet: list[RequirementOut] = Field(..., description="Criteria not met now")


class ReflectionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reflection: str = Field(..., max_length=20000)


class ReflectionOut(Schema):
    reflection: str


class AcknowledgeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    action_taken: str = Field(..., max_length=2000)


class VitalsPageOut(Schema):
    readings: list[VitalReadingOut]
    next_cursor: str | None = Field(
        ..., description="Pass as ?after= for the next page (or, at the end, for newer readings)"
    )
    has_more: bool
