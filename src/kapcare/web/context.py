"""Template context: the navigation a user's role may see, derived from the access policy, and
the clinic admin's reminder of an unfiled theft or loss on every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from kapcare.accounts.policy import role_may_view
from kapcare.accounts.roles import CLINICAL, Role
from kapcare.ledger.selectors import unfiled_losses

# (view name, label), in the order they appear.
NAVIGATION = [
    ("web:patient_home", "Home"),
    ("web:today", "Today"),
    ("web:patient_list", "Patients"),
    ("patients:register", "Register a patient"),
    ("assessments:alerts", "Alerts"),
    ("consultations:queue", "Requests"),
    ("courses:protocols", "Protocols"),
    ("courses:resources", "Rooms and chairs"),
    ("courses:my_calendar", "Calendar"),
    ("web:pk_explorer", "PK explorer"),
    ("tokens:all", "API tokens"),
    ("admin:index", "Administration"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    role = getattr(request.user, "role", None)
    items = [(name, label) for name, label in NAVIGATION if role_may_view(name, role)]
    return {"nav_items": items, "demo_mode": settings.DEMO, "clinical_roles": CLINICAL}


def ledger_reminder(request: HttpRequest) -> dict[str, Any]:
    """``unfiled``: the thefts and losses not yet filed on DEA Form 106 (due within one business
    day of discovery), which the base template shows on each of the clinic admin's pages until
    they are marked filed. One query, when a page is drawn, kept on the request; a view that
    has read them already passes its own ``unfiled``."""
    if getattr(request.user, "role", None) != Role.CLINIC_ADMIN:
        return {}

    def load() -> list[Any]:
        if not hasattr(request, "_kapcare_unfiled"):
            request._kapcare_unfiled = unfiled_losses()  # type: ignore[attr-defined]  # per request
        return request._kapcare_unfiled  # type: ignore[attr-defined, no-any-return]  # as above

    return {"unfiled": SimpleLazyObject(load)}
