"""Every write to a dosing session, one module per part of the session. Each function is one
use case in one transaction (see ``_common``); callers import them from here."""

from kapcare.dosing.services.administration import (
    Draw,
    record_administration,
    record_device,
    record_stop,
    start_dosing,
)
from kapcare.dosing.services.checklist import (
    CENTERING_KINDS,
    CHECKLIST_FIELDS,
    save_centering,
    save_checklist,
)
from kapcare.dosing.services.discharge import assess_discharge, save_reflection
from kapcare.dosing.services.events import add_intervention, add_score, add_side_effect
from kapcare.dosing.services.note import amend_note, save_note, sign_note
from kapcare.dosing.services.order import OrderPlan, plan_order, sign_order
from kapcare.dosing.services.transitions import check_in, create_session, transition
from kapcare.dosing.services.vitals import (
    MAX_READINGS,
    VITAL_FIELDS,
    VitalsResult,
    acknowledge_vital_alert,
    record_vitals,
)

__all__ = [
    "CENTERING_KINDS",
    "CHECKLIST_FIELDS",
    "MAX_READINGS",
    "VITAL_FIELDS",
    "Draw",
    "OrderPlan",
    "VitalsResult",
    "acknowledge_vital_alert",
    "add_intervention",
    "add_score",
    "add_side_effect",
    "amend_note",
    "assess_discharge",
    "check_in",
    "create_session",
    "plan_order",
    "record_administration",
    "record_device",
    "record_stop",
    "record_vitals",
    "save_centering",
    "save_checklist",
    "save_note",
    "save_reflection",
    "sign_note",
    "sign_order",
    "start_dosing",
    "transition",
]
