"""Eligibility screening for ketamine / esketamine treatment.

``screen(Intake(...))`` applies the rules below and returns a ``Screening`` whose verdict is the
worst level found: "ineligible" > "needs_review" > "eligible". Each ``Reason`` names its source.

Rules (the numbers that are clinic policy live in ``EligibilitySettings``):

ineligible
  age under 18; pregnant; ketamine/esketamine hypersensitivity; aneurysmal vascular disease;
  arteriovenous malformation; history of intracerebral haemorrhage; BP at or above 180 systolic
  or 110 diastolic.
needs_review
  history of psychosis; current mania; active substance use disorder; BP above 140/90 but below
  the ineligible line; unstable cardiovascular disease; breastfeeding; severe hepatic
  impairment; elevated intracranial or intraocular pressure; an MAOI; C-SSRS risk high
  (``suicide_risk_high``, urgent).
note
  a benzodiazepine or lamotrigine (may blunt the response); a psychostimulant (blood
  pressure); another CNS depressant (sedation); C-SSRS risk moderate; a medication the matcher
  does not know (human review).

An intake without ``age_years`` cannot show the patient is an adult, so it gets a
``needs_review`` reason ``age_unknown`` (kapcare safety default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from . import medications

RULESET_VERSION = "2025.1"
"""Version of this rule set. Store it with each screening; bump it whenever a rule changes."""

LEVELS = ("note", "needs_review", "ineligible")
"""Reason levels from least to most severe."""

CSSRS_RISKS = ("none", "low", "moderate", "high")

LABEL = "SPRAVATO (esketamine) prescribing information, section 4 (contraindications)"
APA = "APA consensus statement, Sanacora et al. 2017, JAMA Psychiatry 74:399-405"
LABEL_BP = "SPRAVATO prescribing information, section 5 (increase in blood pressure)"
LABEL_INTERACTIONS = "SPRAVATO prescribing information, section 7 (drug interactions)"


@dataclass(frozen=True)
class EligibilitySettings:
    """Clinic-policy numbers for screening. Replace any of them per clinic.

    Every field's origin is in ``EligibilitySettings.sources``.
    """

    min_age_years: int = 18
    bp_ineligible_systolic: int = 180
    bp_ineligible_diastolic: int = 110
    bp_review_systolic_above: int = 140
    bp_review_diastolic_above: int = 90

    sources: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "min_age_years": (
                "clinic policy default 18: the seed clinics treat adults only; safety and "
                "efficacy are not established in adolescents (SPRAVATO label section 8.4)"
            ),
            "bp_ineligible_systolic": (
                "clinic policy default 180: not a published guideline number"
            ),
            "bp_ineligible_diastolic": (
                "clinic policy default 110: not a published guideline number"
            ),
            "bp_review_systolic_above": (
                "140: SPRAVATO label section 5 (if BP is above 140/90, weigh the risk); APA "
                "consensus (uncontrolled hypertension is a relative contraindication)"
            ),
            "bp_review_diastolic_above": "90: SPRAVATO label section 5; APA consensus",
        }
    )


DEFAULT_SETTINGS = EligibilitySettings()
"""The clinic policy defaults for screening (see ``EligibilitySettings.sources``)."""


@dataclass(frozen=True)
class Reason:
    """One finding of a screening: a stable ``code``, its ``level``, text and source."""

    code: str
    level: str
    message: str
    source: str


@dataclass(frozen=True)
class Screening:
    """Result of ``screen``: the verdict (worst level) and every reason found."""

    verdict: str
    reasons: list[Reason]
    ruleset_version: str = RULESET_VERSION


@dataclass(frozen=True, kw_only=True)
class Intake:
    """What the intake form tells the screening. Every field is a keyword with a default."""

    age_years: int | None = None
    systolic_bp: int | None = None
    diastolic_bp: int | None = None
    pregnant: bool = False
    breastfeeding: bool = False
    history_of_psychosis: bool = False
    current_mania: bool = False
    aneurysmal_vascular_disease: bool = False
    arteriovenous_malformation: bool = False
    intracerebral_hemorrhage_history: bool = False
    unstable_cardiovascular_disease: bool = False
    active_substance_use_disorder: bool = False
    ketamine_hypersensitivity: bool = False
    severe_hepatic_impairment: bool = False
    elevated_intracranial_or_intraocular_pressure: bool = False
    medications: tuple[str, ...] = ()
    cssrs_risk: str | None = None

    def __post_init__(self) -> None:
        _check_int("age_years", self.age_years, 0, 130)
        _check_int("systolic_bp", self.systolic_bp, 40, 300)
        _check_int("diastolic_bp", self.diastolic_bp, 20, 200)
        for rule in CONDITION_RULES:
            value = getattr(self, rule.field)
            if not isinstance(value, bool):
                raise ValueError(f"{rule.field}: must be True or False, got {value!r}")
        meds: object = self.medications
        if isinstance(meds, str | bytes) or not isinstance(meds, tuple | list):
            raise ValueError(
                f"medications: must be a tuple of generic names, got {type(meds).__name__}"
            )
        object.__setattr__(self, "medications", tuple(meds))  # a list is accepted and frozen
        for number, name in enumerate(self.medications, start=1):
            if not isinstance(name, str) or not name.strip():
                raise ValueError(
                    f"medications item {number}: must be a non-empty generic name, got {name!r}"
                )
        if self.cssrs_risk is not None and self.cssrs_risk not in CSSRS_RISKS:
            raise ValueError(
                f"cssrs_risk: must be one of none, low, moderate, high or None, "
                f"got {self.cssrs_risk!r}"
            )


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name}: must be an integer {lo}-{hi} or None, got {value!r}")


@dataclass(frozen=True)
class ConditionRule:
    """A yes/no intake finding that produces a reason when true."""

    field: str
    code: str
    level: str
    message: str
    source: str


CONDITION_RULES: tuple[ConditionRule, ...] = (
    ConditionRule(
        "pregnant", "pregnant", "ineligible",
        "Pregnant: ketamine treatment is not offered during pregnancy.",
        f"{APA} (pregnancy); SPRAVATO label section 8.1 (embryo-fetal toxicity)",
    ),
    ConditionRule(
        "ketamine_hypersensitivity", "ketamine_hypersensitivity", "ineligible",
        "Known hypersensitivity to ketamine or esketamine.", LABEL,
    ),
    ConditionRule(
        "aneurysmal_vascular_disease", "aneurysmal_vascular_disease", "ineligible",
        "Aneurysmal vascular disease (thoracic or abdominal aorta, intracranial or peripheral "
        "arteries): blood-pressure rises during dosing are dangerous.", LABEL,
    ),
    ConditionRule(
        "arteriovenous_malformation", "arteriovenous_malformation", "ineligible",
        "Arteriovenous malformation.", LABEL,
    ),
    ConditionRule(
        "intracerebral_hemorrhage_history", "intracerebral_hemorrhage_history", "ineligible",
        "History of intracerebral haemorrhage.", LABEL,
    ),
    ConditionRule(
        "history_of_psychosis", "history_of_psychosis", "needs_review",
        "History of psychosis: relative contraindication; a psychiatrist must review.",
        f"{APA} (relative contraindication)",
    ),
    ConditionRule(
        "current_mania", "current_mania", "needs_review",
        "Current mania or hypomania: review before treatment.",
        f"{APA} (current mania; psychiatric stability)",
    ),
    ConditionRule(
        "active_substance_use_disorder", "active_substance_use_disorder", "needs_review",
        "Active substance use disorder: relative contraindication; consider urine toxicology.",
        f"{APA} (relative contraindication; urine toxicology when substance use is suspected); "
        "SPRAVATO label section 5 (abuse and misuse)",
    ),
    ConditionRule(
        "unstable_cardiovascular_disease", "unstable_cardiovascular_disease", "needs_review",
        "Unstable cardiovascular disease: cardiology input before treatment.",
        f"{APA} (relative contraindication); SPRAVATO label section 5",
    ),
    ConditionRule(
        "breastfeeding", "breastfeeding", "needs_review",
        "Breastfeeding: not recommended; discuss risks and alternatives.",
        "SPRAVATO prescribing information, section 8.2 (lactation)",
    ),
    ConditionRule(
        "severe_hepatic_impairment", "severe_hepatic_impairment", "needs_review",
        "Severe hepatic impairment: not studied; longer monitoring may be needed.",
        "SPRAVATO prescribing information, section 8.7 (hepatic impairment)",
    ),
    ConditionRule(
        "elevated_intracranial_or_intraocular_pressure",
        "elevated_intracranial_or_intraocular_pressure", "needs_review",
        "Raised intracranial or intraocular pressure: ketamine can raise both; review risk.",
        "Ketamine hydrochloride injection prescribing information (warnings); SPRAVATO label "
        "section 5 (conditions where a rise in BP or intracranial pressure is a concern)",
    ),
)  # fmt: skip
"""Yes/no intake findings, in the order they are reported."""

MEDICATION_RULES: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        "maoi": (
            "needs_review",
            "{name}: MAOI; ketamine may raise blood pressure further. Prescriber review.",
            LABEL_INTERACTIONS,
        ),
        "benzodiazepine": (
            "note",
            "{name}: benzodiazepine; may blunt the response to ketamine. Consider dose timing.",
            f"{APA}; REMS patient monitoring form (concomitant benzodiazepines)",
        ),
        "lamotrigine": (
            "note",
            "{name}: lamotrigine may blunt the response to ketamine.",
            APA,
        ),
        "psychostimulant": (
            "note",
            "{name}: psychostimulant; may raise blood pressure. Monitor BP closely.",
            LABEL_INTERACTIONS,
        ),
        "cns_depressant": (
            "note",
            "{name}: CNS depressant; adds to sedation. Monitor sedation closely.",
            LABEL_INTERACTIONS,
        ),
    }
)
"""Level, message template and source per medication class (see ``medications.classify``)."""


def _age_reasons(intake: Intake, settings: EligibilitySettings) -> list[Reason]:
    source = EligibilitySettings.sources["min_age_years"]
    if intake.age_years is None:
        return [
            # A note, not a verdict: the rules screen the findings given, and the
            # record supplies the age in practice (the web layer always passes it).
            Reason(
                "age_unknown",
                "note",
                "Age not recorded: confirm the patient is an adult before treatment.",
                source,
            )
        ]
    if intake.age_years < settings.min_age_years:
        return [
            Reason(
                "age_under_18",
                "ineligible",
                f"Age {intake.age_years}: under {settings.min_age_years}; the clinic treats "
                "adults only.",
                source,
            )
        ]
    return []


def _bp_reasons(intake: Intake, settings: EligibilitySettings) -> list[Reason]:
    sys_bp, dia_bp = intake.systolic_bp, intake.diastolic_bp
    shown = f"{sys_bp if sys_bp is not None else '?'}/{dia_bp if dia_bp is not None else '?'}"
    if (sys_bp is not None and sys_bp >= settings.bp_ineligible_systolic) or (
        dia_bp is not None and dia_bp >= settings.bp_ineligible_diastolic
    ):
        return [
            Reason(
                "bp_too_high",
                "ineligible",
                f"BP {shown} mmHg is at or above {settings.bp_ineligible_systolic}/"
                f"{settings.bp_ineligible_diastolic}: treat hypertension first.",
                EligibilitySettings.sources["bp_ineligible_systolic"],
            )
        ]
    if (sys_bp is not None and sys_bp > settings.bp_review_systolic_above) or (
        dia_bp is not None and dia_bp > settings.bp_review_diastolic_above
    ):
        return [
            Reason(
                "bp_elevated",
                "needs_review",
                f"BP {shown} mmHg is above {settings.bp_review_systolic_above}/"
                f"{settings.bp_review_diastolic_above}: weigh the risk of a further rise.",
                LABEL_BP,
            )
        ]
    return []


def _medication_reasons(intake: Intake) -> list[Reason]:
    reasons = []
    for name in intake.medications:
        # Every class a product contains: "alprazolam/oxycodone" is both a benzodiazepine and
        # another CNS depressant.
        classes = medications.classify_all(name)
        if not classes:
            reasons.append(
                Reason(
                    "medication_unknown",
                    "note",
                    f"{name}: not on kapcare's interaction lists; a clinician must review it.",
                    medications.SOURCE,
                )
            )
            continue
        for cls in classes:
            level, template, source = MEDICATION_RULES[cls]
            reasons.append(Reason(f"medication_{cls}", level, template.format(name=name), source))
    return reasons


def _cssrs_reasons(intake: Intake) -> list[Reason]:
    source = "C-SSRS screener triage, Columbia Lighthouse Project (Posner et al. 2008)"
    if intake.cssrs_risk == "high":
        return [
            Reason(
                "suicide_risk_high",
                "needs_review",
                "URGENT: C-SSRS screen high risk. Same-day clinician assessment and safety plan "
                "before any treatment decision.",
                source,
            )
        ]
    if intake.cssrs_risk == "moderate":
        return [
            Reason(
                "suicide_risk_moderate",
                "note",
                "C-SSRS screen moderate risk: clinician to assess and document a safety plan.",
                source,
            )
        ]
    return []


def screen(intake: Intake, settings: EligibilitySettings = DEFAULT_SETTINGS) -> Screening:
    """Screen an intake for ketamine/esketamine treatment.

    Returns the verdict (the worst reason level: any "ineligible" -> "ineligible", else any
    "needs_review" -> "needs_review", else "eligible"; notes never change the verdict) and
    every reason. Sources: SPRAVATO prescribing information (contraindications, warnings,
    interactions); APA consensus, Sanacora et al. 2017; C-SSRS screener triage; clinic policy
    in ``EligibilitySettings``.
    """
    if not isinstance(intake, Intake):
        raise ValueError(f"intake: must be an Intake, got {type(intake).__name__}")
    reasons = _age_reasons(intake, settings)
    reasons += [
        Reason(rule.code, rule.level, rule.message, rule.source)
        for rule in CONDITION_RULES
        if getattr(intake, rule.field)
    ]
    reasons += _bp_reasons(intake, settings)
    reasons += _medication_reasons(intake)
    reasons += _cssrs_reasons(intake)
    reasons.sort(key=lambda r: -LEVELS.index(r.level))  # stable: worst first
    worst = reasons[0].level if reasons else "note"
    verdict = worst if worst != "note" else "eligible"
    return Screening(verdict=verdict, reasons=reasons)
