"""Dosing-session settings (clinic policy, each with its labelled default).

Set them in Django settings or the environment:
- ``KAPCARE_FASTING_HOURS``: minimum fasting before dosing. Default 4 hours (clinic policy;
  ketamine causes nausea and vomiting; no published number, docs/clinical-reference.md §6.1).
- ``KAPCARE_PREGNANCY_TEST_MAX_AGE``: a pregnancy test is required for patients whose sex at
  birth is female or intersex, up to this age. Default 55 (clinic policy; pregnancy is a relative
  contraindication, Sanacora et al. 2017).
- ``KAPCARE_DISSOCIATION_SCALE``: ``cadss6`` (clinician-rated, Bremner 1998) or
  ``dissociation_0_10`` (patient-rated). Default ``cadss6``.
- ``KAPCARE_ESKETAMINE_BP_WINDOW_MIN``: how far from 40 minutes after the first device the "about
  40 minutes" BP may be. Default 10 minutes (SPRAVATO label: re-assess at about 40 minutes).
- ``KAPCARE_PRE_DISCHARGE_BP_MIN``: a "before discharge" BP is one taken within this many minutes
  of discharge. Default 30 (clinic policy).
- ``KAPCARE_VITALS_BEFORE_CHECK_IN_MIN``: how long before the check-in a reading may have been
  taken (a baseline taken in the waiting room). Default 30 minutes (clinic policy); earlier
  readings, and readings in the future, are refused.
"""

from __future__ import annotations

import os

from django.conf import settings


def _setting(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return str(value)


def fasting_hours() -> float:
    return float(_setting("KAPCARE_FASTING_HOURS", "4"))


def pregnancy_test_max_age() -> int:
    return int(_setting("KAPCARE_PREGNANCY_TEST_MAX_AGE", "55"))


def dissociation_scale() -> str:
    return _setting("KAPCARE_DISSOCIATION_SCALE", "cadss6")


def esketamine_bp_window_min() -> int:
    return int(_setting("KAPCARE_ESKETAMINE_BP_WINDOW_MIN", "10"))


def pre_discharge_bp_min() -> int:
    return int(_setting("KAPCARE_PRE_DISCHARGE_BP_MIN", "30"))


def vitals_before_check_in_min() -> int:
    return int(_setting("KAPCARE_VITALS_BEFORE_CHECK_IN_MIN", "30"))


FUTURE_TOLERANCE_MIN = 2
"""A time up to this many minutes ahead of the server's clock is accepted as "now": a tablet's
clock drifts a little."""
