"""Settings of the public consultation form's spam protection, with their defaults.

Each value is read from Django settings when it is needed, so a deployment (or a test) can
change it without a restart of this module:

=====================================  =======  ===============================================
Django setting                         default  meaning
=====================================  =======  ===============================================
KAPCARE_CONSULTATION_MIN_SECONDS       3        a form sent sooner after it was shown is refused
KAPCARE_CONSULTATION_MAX_AGE_SECONDS   86400    a form shown longer ago than this is refused
KAPCARE_CONSULTATION_PER_ADDRESS_HOUR  5        requests per client address per hour
KAPCARE_CONSULTATION_GLOBAL_HOUR       100      requests from everyone together per hour
=====================================  =======  ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

DEFAULT_MIN_SECONDS = 3
DEFAULT_MAX_AGE_SECONDS = 24 * 3600
DEFAULT_PER_ADDRESS_PER_HOUR = 5
DEFAULT_GLOBAL_PER_HOUR = 100


@dataclass(frozen=True)
class ConsultationSettings:
    min_seconds: float = DEFAULT_MIN_SECONDS
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS
    per_address_per_hour: int = DEFAULT_PER_ADDRESS_PER_HOUR
    global_per_hour: int = DEFAULT_GLOBAL_PER_HOUR


def consultation_settings() -> ConsultationSettings:
    """The current values: Django settings where given, else the defaults above."""
    return ConsultationSettings(
        min_seconds=float(
            getattr(settings, "KAPCARE_CONSULTATION_MIN_SECONDS", DEFAULT_MIN_SECONDS)
        ),
        max_age_seconds=int(
            getattr(settings, "KAPCARE_CONSULTATION_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS)
        ),
        per_address_per_hour=int(
            getattr(settings, "KAPCARE_CONSULTATION_PER_ADDRESS_HOUR", DEFAULT_PER_ADDRESS_PER_HOUR)
        ),
        global_per_hour=int(
            getattr(settings, "KAPCARE_CONSULTATION_GLOBAL_HOUR", DEFAULT_GLOBAL_PER_HOUR)
        ),
    )
