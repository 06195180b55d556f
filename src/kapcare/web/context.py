"""Template context: the navigation a user's role may see, derived from the access policy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from kapcare.accounts.policy import role_may_view
from kapcare.accounts.roles import CLINICAL

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
