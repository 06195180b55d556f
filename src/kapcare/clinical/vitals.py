"""Vital-sign alerts during a ketamine session, and discharge criteria.

- ``Reading``: one set of vital signs, range-checked on construction.
- ``assess(reading, phase)``: alerts for the phase ("pre_dose", "dosing" or "recovery").
- ``discharge_check(...)``: whether the patient may leave, and which criteria are unmet.

Thresholds: the pre-dose 140/90 line is from the esketamine label; the critical 180/110 line and
the other numbers are clinic policy defaults (not published guideline numbers), kept in
``VitalsThresholds`` so a clinic can change them. BP peaks about 40 minutes after the start of
an IV infusion (Yale chart review of 2,342 infusions, Gen Hosp Psychiatry 2024); Emory measures
BP every 10 minutes during and every 15 minutes after an infusion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from kapcare.errors import FieldInvalid

PHASES = ("pre_dose", "dosing", "recovery")
LEVELS = ("warning", "critical")

LABEL_BP = (
    "SPRAVATO prescribing information, section 2 and 5: assess BP before dosing; if above "
    "140/90 weigh the risk; re-assess at about 40 minutes and until stable"
)
POLICY = "clinic policy default"

RANGES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "systolic": (40, 300),
        "diastolic": (20, 200),
        "heart_rate": (20, 250),
        "spo2": (50, 100),
        "resp_rate": (4, 60),
    }
)
"""Plausible range of each vital sign; values outside are treated as entry errors."""


@dataclass(frozen=True)
class Reading:
    """One set of vital signs; any may be missing. Units: mmHg, beats/min, %, breaths/min.

    Raises ``ValueError`` on construction for a value outside ``RANGES``, a non-number (bool
    included) or a diastolic at or above the systolic.
    """

    systolic: float | None = None
    diastolic: float | None = None
    heart_rate: float | None = None
    spo2: float | None = None
    resp_rate: float | None = None

    def __post_init__(self) -> None:
        for name, (lo, hi) in RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or math.isnan(value)
                or not lo <= value <= hi
            ):
                raise FieldInvalid(
                    name,
                    "out_of_range",
                    f"must be a number {lo}-{hi} or None, got {value!r}",
                    low=lo,
                    high=hi,
                    entered=value,
                )
        if (
            self.systolic is not None
            and self.diastolic is not None
            and self.diastolic >= self.systolic
        ):
            raise FieldInvalid(
                "diastolic",
                "below_systolic",
                f"must be below systolic ({self.systolic}), got {self.diastolic}",
            )


@dataclass(frozen=True)
class Alert:
    """One alert: a stable ``code``, ``level`` ("warning" or "critical"), text and source."""

    code: str
    level: str
    message: str
    source: str = ""


@dataclass(frozen=True)
class VitalsThresholds:
    """Alert thresholds. Defaults are clinic policy except where ``sources`` names a label.

    "above" means strictly greater; "at_or_above" means greater or equal; "below" strictly less.
    """

    pre_dose_warning_systolic_above: float = 140
    pre_dose_warning_diastolic_above: float = 90
    critical_systolic_at_or_above: float = 180
    critical_diastolic_at_or_above: float = 110
    session_warning_systolic_above: float = 160
    session_warning_diastolic_above: float = 100
    tachycardia_above: float = 120
    bradycardia_below: float = 50
    hypoxemia_below: float = 92
    low_spo2_below: float = 95
    bradypnea_below: float = 10
    tachypnea_above: float = 24

    sources: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "pre_dose_warning_systolic_above": LABEL_BP,
            "pre_dose_warning_diastolic_above": LABEL_BP,
            "critical_systolic_at_or_above": (
                f"{POLICY} 180: a stop/hold line, not a published guideline number"
            ),
            "critical_diastolic_at_or_above": (
                f"{POLICY} 110: a stop/hold line, not a published guideline number"
            ),
            "session_warning_systolic_above": (
                f"{POLICY} 160: mean rise at 40 min is +16/+11 (Yale 2024), so 140/90 is "
                "expected during dosing"
            ),
            "session_warning_diastolic_above": f"{POLICY} 100 (see systolic)",
            "tachycardia_above": f"{POLICY} 120 beats/min",
            "bradycardia_below": f"{POLICY} 50 beats/min",
            "hypoxemia_below": f"{POLICY} 92%: pulse oximetry monitoring (SPRAVATO REMS)",
            "low_spo2_below": f"{POLICY} 95% (92-94% is a warning)",
            "bradypnea_below": f"{POLICY} 10 breaths/min: respiratory depression (REMS form)",
            "tachypnea_above": f"{POLICY} 24 breaths/min",
        }
    )


DEFAULT = VitalsThresholds()
"""The clinic policy default thresholds (see ``VitalsThresholds.sources``)."""


def _bp_alert(reading: Reading, phase: str, t: VitalsThresholds) -> Alert | None:
    sys_bp, dia_bp = reading.systolic, reading.diastolic
    if sys_bp is None and dia_bp is None:
        return None
    shown = f"{sys_bp if sys_bp is not None else '?'}/{dia_bp if dia_bp is not None else '?'}"
    src = VitalsThresholds.sources
    if (sys_bp is not None and sys_bp >= t.critical_systolic_at_or_above) or (
        dia_bp is not None and dia_bp >= t.critical_diastolic_at_or_above
    ):
        action = "do not start dosing" if phase == "pre_dose" else "stop or hold; call clinician"
        return Alert(
            "bp_critical",
            "critical",
            f"BP {shown} mmHg at or above {t.critical_systolic_at_or_above:g}/"
            f"{t.critical_diastolic_at_or_above:g}: {action}.",
            src["critical_systolic_at_or_above"],
        )
    if phase == "pre_dose":
        if (sys_bp is not None and sys_bp > t.pre_dose_warning_systolic_above) or (
            dia_bp is not None and dia_bp > t.pre_dose_warning_diastolic_above
        ):
            return Alert(
                "bp_elevated",
                "warning",
                f"BP {shown} mmHg above {t.pre_dose_warning_systolic_above:g}/"
                f"{t.pre_dose_warning_diastolic_above:g} before dosing: weigh the risk; "
                "consider re-measuring after rest.",
                LABEL_BP,
            )
        return None
    if (sys_bp is not None and sys_bp > t.session_warning_systolic_above) or (
        dia_bp is not None and dia_bp > t.session_warning_diastolic_above
    ):
        return Alert(
            "bp_high",
            "warning",
            f"BP {shown} mmHg above {t.session_warning_systolic_above:g}/"
            f"{t.session_warning_diastolic_above:g}: re-check in 5-10 minutes.",
            src["session_warning_systolic_above"],
        )
    return None


def assess(reading: Reading, phase: str, thresholds: VitalsThresholds = DEFAULT) -> list[Alert]:
    """Alerts for one reading in one phase ("pre_dose", "dosing" or "recovery").

    One alert per code, and only the worst BP alert. Default thresholds:
    pre_dose BP > 140/90 warning ``bp_elevated`` (esketamine label); any phase BP >= 180/110
    critical ``bp_critical``; dosing/recovery BP > 160/100 warning ``bp_high``; heart rate > 120
    ``tachycardia`` / < 50 ``bradycardia`` (warnings); SpO2 < 92 critical ``hypoxemia``, 92-94
    warning ``low_spo2``; respiratory rate < 10 critical ``bradypnea``, > 24 warning
    ``tachypnea``. Sources: SPRAVATO label (140/90); clinic policy (``VitalsThresholds``).
    """
    if not isinstance(reading, Reading):
        raise FieldInvalid("reading", "type", f"must be a Reading, got {type(reading).__name__}")
    if phase not in PHASES:
        raise FieldInvalid(
            "phase", "one_of", f"must be 'pre_dose', 'dosing' or 'recovery', got {phase!r}"
        )
    t, src = thresholds, VitalsThresholds.sources
    alerts: list[Alert] = []
    bp = _bp_alert(reading, phase, t)
    if bp is not None:
        alerts.append(bp)
    hr = reading.heart_rate
    if hr is not None and hr > t.tachycardia_above:
        alerts.append(
            Alert(
                "tachycardia",
                "warning",
                f"Heart rate {hr:g}/min above {t.tachycardia_above:g}.",
                src["tachycardia_above"],
            )
        )
    elif hr is not None and hr < t.bradycardia_below:
        alerts.append(
            Alert(
                "bradycardia",
                "warning",
                f"Heart rate {hr:g}/min below {t.bradycardia_below:g}.",
                src["bradycardia_below"],
            )
        )
    spo2 = reading.spo2
    if spo2 is not None and spo2 < t.hypoxemia_below:
        alerts.append(
            Alert(
                "hypoxemia",
                "critical",
                f"SpO2 {spo2:g}% below {t.hypoxemia_below:g}%: stimulate, airway, oxygen; "
                "call clinician.",
                src["hypoxemia_below"],
            )
        )
    elif spo2 is not None and spo2 < t.low_spo2_below:
        alerts.append(
            Alert(
                "low_spo2",
                "warning",
                f"SpO2 {spo2:g}% below {t.low_spo2_below:g}%: check probe, encourage deep breaths.",
                src["low_spo2_below"],
            )
        )
    rr = reading.resp_rate
    if rr is not None and rr < t.bradypnea_below:
        alerts.append(
            Alert(
                "bradypnea",
                "critical",
                f"Respiratory rate {rr:g}/min below {t.bradypnea_below:g}: respiratory "
                "depression; call clinician.",
                src["bradypnea_below"],
            )
        )
    elif rr is not None and rr > t.tachypnea_above:
        alerts.append(
            Alert(
                "tachypnea",
                "warning",
                f"Respiratory rate {rr:g}/min above {t.tachypnea_above:g}.",
                src["tachypnea_above"],
            )
        )
    return alerts


# --- discharge -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationSettings:
    """Minimum observation in minutes per route, counted from the end of administration (for
    esketamine, from the first device). Replace or extend per clinic.
    """

    minutes_by_route: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType(
            {"iv": 30, "im": 60, "intranasal": 60, "esketamine": 120}
        )
    )
    sources: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "iv": f"{POLICY} 30 min after the end of the infusion",
            "im": f"{POLICY} 60 min after the injection",
            "intranasal": f"{POLICY} 60 min after the last spray (compounded racemic ketamine)",
            "esketamine": (
                "SPRAVATO prescribing information and REMS: at least 2 hours from the first "
                "device, until clinically stable"
            ),
        }
    )


DEFAULT_OBSERVATION = ObservationSettings()
"""The default observation minutes per route (see ``ObservationSettings.sources``)."""

DISCHARGE_CRITERIA = (
    "observation_time",
    "vitals",
    "sedation",
    "dissociation",
    "nausea",
    "ambulation",
    "escort",
)
"""Discharge criterion codes, in the order they are reported when unmet."""

FULLY_ALERT_MOAAS = 5
"""MOAA/S 5: responds readily to name spoken in a normal tone (fully alert)."""


@dataclass(frozen=True)
class Discharge:
    """Result of ``discharge_check``: ``ready`` and the unmet criterion codes."""

    ready: bool
    unmet: list[str]
    minimum_minutes: int = 0


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise FieldInvalid(name, "type", f"must be True or False, got {value!r}")
    return value


def discharge_check(
    *,
    route: str,
    minutes_observed: int,
    latest: Reading,
    sedation_moaas: int,
    dissociation_resolved: bool,
    nausea_controlled: bool,
    ambulating_steadily: bool,
    escort_present: bool,
    thresholds: VitalsThresholds = DEFAULT,
    observation: ObservationSettings = DEFAULT_OBSERVATION,
) -> Discharge:
    """Decide whether a patient may leave after a dosing session.

    Unmet codes: ``observation_time`` (fewer minutes than the route's minimum: iv 30, im 60,
    intranasal 60, esketamine 120); ``vitals`` (``assess(latest, "recovery")`` gives any alert);
    ``sedation`` (MOAA/S below 5); ``dissociation``; ``nausea``; ``ambulation``; ``escort``.
    Sources: SPRAVATO label and REMS (2-hour observation, discharge when clinically stable, no
    driving until the next day); MOAA/S scale; clinic policy (``ObservationSettings``).
    """
    minutes_by_route = observation.minutes_by_route
    if route not in minutes_by_route:
        allowed = ", ".join(sorted(minutes_by_route))
        raise FieldInvalid("route", "one_of", f"must be one of {allowed}, got {route!r}")
    if (
        isinstance(minutes_observed, bool)
        or not isinstance(minutes_observed, int | float)
        or not minutes_observed >= 0
    ):
        raise FieldInvalid(
            "minutes_observed",
            "out_of_range",
            f"must be a number 0 or more, got {minutes_observed!r}",
            low=0,
            entered=minutes_observed,
        )
    if not isinstance(latest, Reading):
        raise FieldInvalid("latest", "type", f"must be a Reading, got {type(latest).__name__}")
    if (
        isinstance(sedation_moaas, bool)
        or not isinstance(sedation_moaas, int)
        or not 0 <= sedation_moaas <= 5
    ):
        raise FieldInvalid(
            "sedation_moaas", "out_of_range", f"must be an integer 0-5, got {sedation_moaas!r}"
        )
    minimum = minutes_by_route[route]
    met = {
        "observation_time": minutes_observed >= minimum,
        "vitals": not assess(latest, "recovery", thresholds),
        "sedation": sedation_moaas == FULLY_ALERT_MOAAS,
        "dissociation": _check_bool("dissociation_resolved", dissociation_resolved),
        "nausea": _check_bool("nausea_controlled", nausea_controlled),
        "ambulation": _check_bool("ambulating_steadily", ambulating_steadily),
        "escort": _check_bool("escort_present", escort_present),
    }
    unmet = [code for code in DISCHARGE_CRITERIA if not met[code]]
    return Discharge(ready=not unmet, unmet=unmet, minimum_minutes=minimum)
