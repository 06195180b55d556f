"""Eligibility screening for ketamine / esketamine treatment.

``screen(Intake(...))`` applies the rules below and returns a ``Screening`` whose verdict is the
worst level found: "ineligible" > "needs_review" > "eligible". Each ``Reason`` names its source
and the intake field it is about.

Rules (the numbers that are clinic policy live in ``EligibilitySettings``; every rule with its
source and kind, published or policy, in docs/clinical-reference.md §2):

ineligible
  age under 18; pregnant; ketamine/esketamine hypersensitivity; aneurysmal vascular disease;
  arteriovenous malformation; history of intracerebral haemorrhage; BP at or above 180 systolic
  or 110 diastolic.
needs_review
  history of psychosis; current mania; active substance use disorder; BP above 140/90 but below
  the ineligible line; unstable cardiovascular disease; breastfeeding; severe hepatic
  impairment; elevated intracranial or intraocular pressure; an MAOI; C-SSRS risk high
  (``suicide_risk_high``, urgent); an item not recorded (``not_recorded``).
note
  a benzodiazepine or lamotrigine (may blunt the response); a psychostimulant (blood
  pressure); another CNS depressant (sedation); C-SSRS risk moderate; a medication the matcher
  does not know (human review).

A missing answer is not a "no" (kapcare safety default). Every item in ``ITEM_LABELS`` is
tri-state: a value, or None for "not recorded", which is every field's default. Each item not
recorded gives one ``not_recorded`` reason naming its field, so only a complete intake can come
out eligible; an ineligible finding stays ineligible whatever else is missing. The medication
list is recorded once it is a tuple: ``()`` says "takes none".

Pregnancy and breastfeeding are needed unless the record says the patient is male at birth:
for female and intersex patients, and for those whose sex at birth is unknown or not given (a
sex nobody recorded must not excuse a pregnancy status nobody asked). No age limit: the
screening asks once, and an older patient's "no" is quick to record (the dosing checklist's
pregnancy test has its own age limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal, get_args

from kapcare.errors import FieldInvalid

from . import medications

RULESET_VERSION = "2026.1"
"""Version of this rule set. Store it with each screening; bump it whenever a rule changes.
2026.1: an item not recorded needs review (2025.1 read it as "no")."""

LEVELS = ("note", "needs_review", "ineligible")
"""Reason levels from least to most severe."""

CssrsRisk = Literal["none", "low", "moderate", "high"]
CSSRS_RISKS: tuple[str, ...] = get_args(CssrsRisk)

SexAtBirth = Literal["female", "male", "intersex", "unknown"]
SEXES_AT_BIRTH: tuple[str, ...] = get_args(SexAtBirth)

RECORD_FIELDS = ("age_years", "sex_at_birth")
"""Intake fields the patient's record supplies (birth date, demographics): the intake form and
the API do not ask for them."""

PREGNANCY_FIELDS = ("pregnant", "breastfeeding")
"""Needed only when ``pregnancy_applies``."""

LABEL = "SPRAVATO (esketamine) prescribing information, section 4 (contraindications)"
APA = "APA consensus statement, Sanacora et al. 2017, JAMA Psychiatry 74:399-405"
LABEL_BP = "SPRAVATO prescribing information, section 5 (increase in blood pressure)"
LABEL_INTERACTIONS = "SPRAVATO prescribing information, section 7 (drug interactions)"
CSSRS_SOURCE = "C-SSRS screener triage, Columbia Lighthouse Project (Posner et al. 2008)"
NOT_RECORDED_SOURCE = "kapcare safety default: a missing answer is not a no"


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
    """One finding of a screening: a stable ``code``, its ``level``, text, source and the
    intake ``field`` it is about (for a BP finding, the first reading over the line)."""

    code: str
    level: str
    message: str
    source: str
    field: str


@dataclass(frozen=True)
class Screening:
    """Result of ``screen``: the verdict (worst level) and every reason found."""

    verdict: str
    reasons: list[Reason]
    ruleset_version: str = RULESET_VERSION


@dataclass(frozen=True, kw_only=True)
class Intake:
    """What the intake form and the record tell the screening. Every field is a keyword whose
    default, None, means "not recorded"."""

    age_years: int | None = None
    sex_at_birth: SexAtBirth | None = None
    systolic_bp: int | None = None
    diastolic_bp: int | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    history_of_psychosis: bool | None = None
    current_mania: bool | None = None
    aneurysmal_vascular_disease: bool | None = None
    arteriovenous_malformation: bool | None = None
    intracerebral_hemorrhage_history: bool | None = None
    unstable_cardiovascular_disease: bool | None = None
    active_substance_use_disorder: bool | None = None
    ketamine_hypersensitivity: bool | None = None
    severe_hepatic_impairment: bool | None = None
    elevated_intracranial_or_intraocular_pressure: bool | None = None
    medications: tuple[str, ...] | None = None
    cssrs_risk: CssrsRisk | None = None

    def __post_init__(self) -> None:
        _check_int("age_years", self.age_years, 0, 130)
        _check_int("systolic_bp", self.systolic_bp, 40, 300)
        _check_int("diastolic_bp", self.diastolic_bp, 20, 200)
        _check_choice("sex_at_birth", self.sex_at_birth, SEXES_AT_BIRTH)
        _check_choice("cssrs_risk", self.cssrs_risk, CSSRS_RISKS)
        for rule in CONDITION_RULES:
            value = getattr(self, rule.field)
            if value is not None and not isinstance(value, bool):
                raise FieldInvalid(
                    rule.field, "not_yes_no", f"must be True, False or None, got {value!r}"
                )
        meds: object = self.medications
        if meds is None:
            return
        if isinstance(meds, str | bytes) or not isinstance(meds, tuple | list):
            raise FieldInvalid(
                "medications",
                "not_a_list",
                f"must be a tuple of generic names or None, got {type(meds).__name__}",
            )
        object.__setattr__(self, "medications", tuple(meds))  # a list is accepted and frozen
        for number, name in enumerate(meds, start=1):
            if not isinstance(name, str) or not name.strip():
                raise FieldInvalid(
                    "medications",
                    "blank_name",
                    f"item {number} must be a non-empty generic name, got {name!r}",
                )


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise FieldInvalid(
            name,
            "out_of_range",
            f"must be an integer {lo}-{hi} or None, got {value!r}",
            low=lo,
            high=hi,
            entered=value,
        )


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise FieldInvalid(
            name, "not_a_choice", f"must be one of {', '.join(choices)} or None, got {value!r}"
        )


@dataclass(frozen=True)
class ConditionRule:
    """A yes/no intake finding that produces a reason when true. ``label`` names the item on
    the form and in its ``not_recorded`` reason."""

    field: str
    code: str
    level: str
    message: str
    source: str
    label: str


CONDITION_RULES: tuple[ConditionRule, ...] = (
    ConditionRule(
        "pregnant", "pregnant", "ineligible",
        "Pregnant: ketamine treatment is not offered during pregnancy.",
        f"{APA} (pregnancy); SPRAVATO label section 8.1 (embryo-fetal toxicity)",
        label="Pregnancy",
    ),
    ConditionRule(
        "ketamine_hypersensitivity", "ketamine_hypersensitivity", "ineligible",
        "Known hypersensitivity to ketamine or esketamine.", LABEL,
        label="Ketamine or esketamine hypersensitivity",
    ),
    ConditionRule(
        "aneurysmal_vascular_disease", "aneurysmal_vascular_disease", "ineligible",
        "Aneurysmal vascular disease (thoracic or abdominal aorta, intracranial or peripheral "
        "arteries): blood-pressure rises during dosing are dangerous.", LABEL,
        label="Aneurysmal vascular disease",
    ),
    ConditionRule(
        "arteriovenous_malformation", "arteriovenous_malformation", "ineligible",
        "Arteriovenous malformation.", LABEL,
        label="Arteriovenous malformation",
    ),
    ConditionRule(
        "intracerebral_hemorrhage_history", "intracerebral_hemorrhage_history", "ineligible",
        "History of intracerebral haemorrhage.", LABEL,
        label="Intracerebral haemorrhage history",
    ),
    ConditionRule(
        "history_of_psychosis", "history_of_psychosis", "needs_review",
        "History of psychosis: relative contraindication; a psychiatrist must review.",
        f"{APA} (relative contraindication)",
        label="Psychosis history",
    ),
    ConditionRule(
        "current_mania", "current_mania", "needs_review",
        "Current mania or hypomania: review before treatment.",
        f"{APA} (current mania; psychiatric stability)",
        label="Current mania or hypomania",
    ),
    ConditionRule(
        "active_substance_use_disorder", "active_substance_use_disorder", "needs_review",
        "Active substance use disorder: relative contraindication; consider urine toxicology.",
        f"{APA} (relative contraindication; urine toxicology when substance use is suspected); "
        "SPRAVATO label section 5 (abuse and misuse)",
        label="Active substance use disorder",
    ),
    ConditionRule(
        "unstable_cardiovascular_disease", "unstable_cardiovascular_disease", "needs_review",
        "Unstable cardiovascular disease: cardiology input before treatment.",
        f"{APA} (relative contraindication); SPRAVATO label section 5",
        label="Unstable cardiovascular disease",
    ),
    ConditionRule(
        "breastfeeding", "breastfeeding", "needs_review",
        "Breastfeeding: not recommended; discuss risks and alternatives.",
        "SPRAVATO prescribing information, section 8.2 (lactation)",
        label="Breastfeeding",
    ),
    ConditionRule(
        "severe_hepatic_impairment", "severe_hepatic_impairment", "needs_review",
        "Severe hepatic impairment: not studied; longer monitoring may be needed.",
        "SPRAVATO prescribing information, section 8.7 (hepatic impairment)",
        label="Severe hepatic impairment",
    ),
    ConditionRule(
        "elevated_intracranial_or_intraocular_pressure",
        "elevated_intracranial_or_intraocular_pressure", "needs_review",
        "Raised intracranial or intraocular pressure: ketamine can raise both; review risk.",
        "Ketamine hydrochloride injection prescribing information (warnings); SPRAVATO label "
        "section 5 (conditions where a rise in BP or intracranial pressure is a concern)",
        label="Raised intracranial or intraocular pressure",
    ),
)  # fmt: skip
"""Yes/no intake findings, in the order they are reported (each one yes, no or None)."""

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

ITEM_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "age_years": "Age",
        "systolic_bp": "Systolic BP",
        "diastolic_bp": "Diastolic BP",
        **{rule.field: rule.label for rule in CONDITION_RULES},
        "medications": "Medication list",
        "cssrs_risk": "C-SSRS screener risk",
    }
)
"""Every item the screening needs, with its label, in the order missing ones are reported."""


def pregnancy_applies(sex_at_birth: str | None) -> bool:
    """Whether the screening needs pregnancy and breastfeeding status: unless the record says
    male at birth (see the module docstring)."""
    return sex_at_birth != "male"


def items_not_recorded(intake: Intake) -> list[str]:
    """The fields of the items the screening needs that ``intake`` leaves as None."""
    applies = pregnancy_applies(intake.sex_at_birth)
    return [
        field
        for field in ITEM_LABELS
        if getattr(intake, field) is None and (applies or field not in PREGNANCY_FIELDS)
    ]


def _not_recorded_reasons(intake: Intake) -> list[Reason]:
    return [
        Reason(
            "not_recorded",
            "needs_review",
            f"{ITEM_LABELS[field]}: not recorded",
            NOT_RECORDED_SOURCE,
            field,
        )
        for field in items_not_recorded(intake)
    ]


def _age_reasons(intake: Intake, settings: EligibilitySettings) -> list[Reason]:
    if intake.age_years is not None and intake.age_years < settings.min_age_years:
        return [
            Reason(
                "age_under_18",
                "ineligible",
                f"Age {intake.age_years}: under {settings.min_age_years}; the clinic treats "
                "adults only.",
                EligibilitySettings.sources["min_age_years"],
                "age_years",
            )
        ]
    return []


def _bp_reasons(intake: Intake, settings: EligibilitySettings) -> list[Reason]:
    sys_bp, dia_bp = intake.systolic_bp, intake.diastolic_bp
    shown = f"{sys_bp if sys_bp is not None else '?'}/{dia_bp if dia_bp is not None else '?'}"
    sys_too_high = sys_bp is not None and sys_bp >= settings.bp_ineligible_systolic
    if sys_too_high or (dia_bp is not None and dia_bp >= settings.bp_ineligible_diastolic):
        return [
            Reason(
                "bp_too_high",
                "ineligible",
                f"BP {shown} mmHg is at or above {settings.bp_ineligible_systolic}/"
                f"{settings.bp_ineligible_diastolic}: treat hypertension first.",
                EligibilitySettings.sources["bp_ineligible_systolic"],
                "systolic_bp" if sys_too_high else "diastolic_bp",
            )
        ]
    sys_elevated = sys_bp is not None and sys_bp > settings.bp_review_systolic_above
    if sys_elevated or (dia_bp is not None and dia_bp > settings.bp_review_diastolic_above):
        return [
            Reason(
                "bp_elevated",
                "needs_review",
                f"BP {shown} mmHg is above {settings.bp_review_systolic_above}/"
                f"{settings.bp_review_diastolic_above}: weigh the risk of a further rise.",
                LABEL_BP,
                "systolic_bp" if sys_elevated else "diastolic_bp",
            )
        ]
    return []


def _medication_reasons(intake: Intake) -> list[Reason]:
    reasons = []
    for name in intake.medications or ():
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
                    "medications",
                )
            )
            continue
        for cls in classes:
            level, template, source = MEDICATION_RULES[cls]
            reasons.append(
                Reason(
                    f"medication_{cls}", level, template.format(name=name), source, "medications"
                )
            )
    return reasons


def _cssrs_reasons(intake: Intake) -> list[Reason]:
    if intake.cssrs_risk == "high":
        return [
            Reason(
                "suicide_risk_high",
                "needs_review",
                "URGENT: C-SSRS screen high risk. Same-day clinician assessment and safety plan "
                "before any treatment decision.",
                CSSRS_SOURCE,
                "cssrs_risk",
            )
        ]
    if intake.cssrs_risk == "moderate":
        return [
            Reason(
                "suicide_risk_moderate",
                "note",
                "C-SSRS screen moderate risk: clinician to assess and document a safety plan.",
                CSSRS_SOURCE,
                "cssrs_risk",
            )
        ]
    return []


def screen(intake: Intake, settings: EligibilitySettings = DEFAULT_SETTINGS) -> Screening:
    """Screen an intake for ketamine/esketamine treatment.

    Returns the verdict (the worst reason level: any "ineligible" -> "ineligible", else any
    "needs_review", including an item not recorded -> "needs_review", else "eligible"; notes
    never change the verdict) and every reason. Sources: SPRAVATO prescribing information
    (contraindications, warnings, interactions); APA consensus, Sanacora et al. 2017; C-SSRS
    screener triage; clinic policy in ``EligibilitySettings``; kapcare's safety default for an
    item not recorded.
    """
    if not isinstance(intake, Intake):
        raise FieldInvalid("intake", "type", f"must be an Intake, got {type(intake).__name__}")
    reasons = _age_reasons(intake, settings)
    reasons += [
        Reason(rule.code, rule.level, rule.message, rule.source, rule.field)
        for rule in CONDITION_RULES
        if getattr(intake, rule.field)
    ]
    reasons += _bp_reasons(intake, settings)
    reasons += _medication_reasons(intake)
    reasons += _cssrs_reasons(intake)
    reasons += _not_recorded_reasons(intake)
    reasons.sort(key=lambda r: -LEVELS.index(r.level))  # stable: worst first
    worst = reasons[0].level if reasons else "note"
    verdict = worst if worst != "note" else "eligible"
    return Screening(verdict=verdict, reasons=reasons)
