"""Synthetic open consultation requests for the demo clinic. Every person here is made up:
example.org addresses and 555 numbers."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.consultations.models import ConsultationRequest
from kapcare.patients.models import ContactMethod

# (given, family, preferred contact, reason, hours ago)
DEMO_REQUESTS = (
    (
        "Jordan",
        "Demo-Reyes",
        ContactMethod.EMAIL,
        "My therapist suggested I ask about ketamine therapy. I'd like to learn what a first "
        "appointment involves. (Synthetic demo request.)",
        52,
    ),
    (
        "Casey",
        "Demo-Okafor",
        ContactMethod.PHONE,
        "I would like to know whether you take my insurance and how long the wait is. "
        "(Synthetic demo request.)",
        27,
    ),
    (
        "Morgan",
        "Demo-Lindqvist",
        ContactMethod.SMS,
        "Asking for information about the intranasal option and evening appointments. "
        "(Synthetic demo request.)",
        5,
    ),
)


def load_demo() -> int:
    """Create the demo requests unless synthetic requests exist already. Returns how many."""
    if ConsultationRequest.objects.filter(is_synthetic=True).exists():
        return 0
    actor = Actor.system("kapcare demo loader")
    now = timezone.now()
    for index, (given, family, method, reason, hours_ago) in enumerate(DEMO_REQUESTS):
        consultation = ConsultationRequest.objects.create(
            given_name=given,
            family_name=family,
            email=f"{given}.{family}@example.org".lower(),
            phone=f"+1-555-02{index:02d}",
            preferred_contact=method,
            reason=reason,
            is_synthetic=True,
        )
        # auto_now_add set the time of sending to now; spread the demo requests over days.
        ConsultationRequest.objects.filter(pk=consultation.pk).update(
            submitted_at=now - timedelta(hours=hours_ago)
        )
        record_event(
            actor, Action.CREATE, f"consultation request #{consultation.pk} (synthetic demo)"
        )
    return len(DEMO_REQUESTS)
