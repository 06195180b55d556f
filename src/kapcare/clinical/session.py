"""A dosing session as pure data: its states, which entries are open in each, what each step
needs, and whether a step may go.

scheduled -> checked_in -> checklist_passed -> dose_ordered -> dosing -> recovery -> discharged
-> note_signed; a session that has not started dosing may be cancelled (with a reason).

Everything here is a function of a frozen ``SessionFacts`` (what has been recorded) and ``now``
(passed in; nothing reads a clock). The caller gathers the facts from its records; this module
decides:

- ``allowed_next(state)``, ``next_step(state)``: the legal moves (``FORWARD``, ``CANCELLABLE``).
- ``OPEN_IN``, ``step_open(step, facts)``, ``step_refusal(step, facts)``: which entries (the
  checklist, vitals, the note, ...) may be made in the session's state.
- ``checklist_items(facts)``: each pre-session checklist item, whether it passes, and why not.
- ``consent_code(route)``: which consent template (by code) a route needs; its current version,
  signed, is a checklist item and a requirement no override lifts (``ConsentFacts``).
- ``discharge_unmet(facts, now)``: the discharge criteria still unmet (``vitals.discharge_check``).
- ``unmet(facts, to, now)``: what the move to ``to`` still needs. A requirement marked
  ``overridable`` may be overridden by a prescriber with a reason (for example, dosing despite a
  checklist item); the others (a signed order, the administration times, acknowledging a
  critical alert, the signed treatment consent) may not.
- ``decide(facts, to, now, by_prescriber=..., reason=...)``: the whole transition rule, as a
  ``Decision``.

Which role may make an entry (only a prescriber signs a dose order) is the caller's rule, not a
fact of the session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar

from kapcare.clinical import vitals
from kapcare.errors import FieldInvalid

# --- states ----------------------------------------------------------------------------------


class State(StrEnum):
    """The session's state (the same values as the dosing app stores)."""

    SCHEDULED = "scheduled"
    CHECKED_IN = "checked_in"
    CHECKLIST_PASSED = "checklist_passed"
    DOSE_ORDERED = "dose_ordered"
    DOSING = "dosing"
    RECOVERY = "recovery"
    DISCHARGED = "discharged"
    NOTE_SIGNED = "note_signed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The state as a person reads it: "Checked in"."""
        return STATE_LABELS[self]


STATE_LABELS: Mapping[State, str] = MappingProxyType(
    {
        State.SCHEDULED: "Scheduled",
        State.CHECKED_IN: "Checked in",
        State.CHECKLIST_PASSED: "Checklist passed",
        State.DOSE_ORDERED: "Dose ordered",
        State.DOSING: "Dosing",
        State.RECOVERY: "Recovery",
        State.DISCHARGED: "Discharged",
        State.NOTE_SIGNED: "Note signed",
        State.CANCELLED: "Cancelled",
    }
)

FORWARD: Mapping[State, State] = MappingProxyType(
    {
        State.SCHEDULED: State.CHECKED_IN,
        State.CHECKED_IN: State.CHECKLIST_PASSED,
        State.CHECKLIST_PASSED: State.DOSE_ORDERED,
        State.DOSE_ORDERED: State.DOSING,
        State.DOSING: State.RECOVERY,
        State.RECOVERY: State.DISCHARGED,
        State.DISCHARGED: State.NOTE_SIGNED,
    }
)
"""Each state's one forward step."""

CANCELLABLE: frozenset[State] = frozenset(
    {State.SCHEDULED, State.CHECKED_IN, State.CHECKLIST_PASSED, State.DOSE_ORDERED}
)
"""A session may be cancelled (with a reason) until dosing starts."""

MOVE_LABELS: Mapping[State, str] = MappingProxyType(
    {
        State.SCHEDULED: "Return to scheduled",
        State.CHECKED_IN: "Check in",
        State.CHECKLIST_PASSED: "Pass the checklist",
        State.DOSE_ORDERED: "Sign the dose order",
        State.DOSING: "Start dosing",
        State.RECOVERY: "Start recovery",
        State.DISCHARGED: "Discharge",
        State.NOTE_SIGNED: "Sign the note",
        State.CANCELLED: "Cancel the session",
    }
)
"""What the move into each state is called (the button a person presses)."""


def allowed_next(state: State) -> tuple[State, ...]:
    """The states ``state`` may move to: its forward step, then cancelled where allowed."""
    forward = (FORWARD[state],) if state in FORWARD else ()
    return forward + ((State.CANCELLED,) if state in CANCELLABLE else ())


def next_step(state: State) -> State | None:
    """The forward step from ``state``; None once the record is complete or cancelled."""
    return FORWARD.get(state)


def _states_in_order(states: Iterable[State]) -> list[State]:
    wanted = set(states)
    return [s for s in State if s in wanted]


# --- the entries a person makes ----------------------------------------------------------------


class Step(StrEnum):
    """An entry a person makes in a session (other than moving it on)."""

    CHECKLIST = "checklist"
    CENTERING = "centering"
    ORDER = "order"
    ADMINISTRATION = "administration"
    DEVICE = "device"
    VITALS = "vitals"
    OBSERVE = "observe"  # side effects, interventions, dissociation and sedation scores
    DISCHARGE_ASSESSMENT = "discharge_assessment"
    REFLECTION = "reflection"
    NOTE = "note"  # write or rewrite the draft note
    SIGN_NOTE = "sign_note"
    AMEND_NOTE = "amend_note"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        """The entry as a person reads it: "Discharge assessment"."""
        return STEP_LABELS[self]


STEP_LABELS: Mapping[Step, str] = MappingProxyType(
    {
        Step.CHECKLIST: "Checklist",
        Step.CENTERING: "Centering",
        Step.ORDER: "Dose order",
        Step.ADMINISTRATION: "Administration",
        Step.DEVICE: "Device",
        Step.VITALS: "Vitals",
        Step.OBSERVE: "Side effects, interventions and scores",
        Step.DISCHARGE_ASSESSMENT: "Discharge assessment",
        Step.REFLECTION: "Reflection",
        Step.NOTE: "Note",
        Step.SIGN_NOTE: "Signing the note",
        Step.AMEND_NOTE: "Amending the note",
        Step.CANCEL: "Cancelling",
    }
)

MONITORED: frozenset[State] = frozenset(
    {State.CHECKED_IN, State.CHECKLIST_PASSED, State.DOSE_ORDERED, State.DOSING, State.RECOVERY}
)
"""States in which vitals may be recorded."""

OPEN_IN: Mapping[Step, frozenset[State]] = MappingProxyType(
    {
        Step.CHECKLIST: frozenset({State.CHECKED_IN}),
        Step.CENTERING: frozenset({State.CHECKED_IN, State.CHECKLIST_PASSED, State.DOSE_ORDERED}),
        Step.ORDER: frozenset({State.CHECKLIST_PASSED, State.DOSE_ORDERED}),
        Step.ADMINISTRATION: frozenset({State.DOSE_ORDERED, State.DOSING}),
        Step.DEVICE: frozenset({State.DOSING}),  # and only for esketamine
        Step.VITALS: MONITORED,
        Step.OBSERVE: frozenset({State.DOSE_ORDERED, State.DOSING, State.RECOVERY}),
        Step.DISCHARGE_ASSESSMENT: frozenset({State.RECOVERY}),
        Step.REFLECTION: frozenset({State.RECOVERY, State.DISCHARGED}),
        Step.NOTE: frozenset({State.RECOVERY, State.DISCHARGED}),  # and only while unsigned
        Step.SIGN_NOTE: frozenset({State.DISCHARGED}),  # and only while unsigned
        Step.AMEND_NOTE: frozenset(State),  # once the note is signed
        Step.CANCEL: CANCELLABLE,
    }
)
"""The states in which each entry is open. ``step_open`` adds the conditions that are not
states: a device only for esketamine, the draft note and signing only while the note is
unsigned, an amendment only once it is signed."""


# --- facts -----------------------------------------------------------------------------------

POLICY = vitals.POLICY
ESKETAMINE = "esketamine"
LABEL_BP = vitals.LABEL_BP

ESKETAMINE_BP_CHECK_MIN = 40
"""SPRAVATO label: re-assess blood pressure at about 40 minutes after dosing (``LABEL_BP``)."""


@dataclass(frozen=True, kw_only=True)
class SessionPolicy:
    """The clinic's settings for a session, and the protocol's observation minimum and vitals
    thresholds. Units are in the names; ``sources`` says where each default comes from."""

    min_observation_min: int
    """The protocol's minimum observation before discharge, in minutes (no default: each
    protocol sets it; see ``vitals.ObservationSettings.sources`` for the usual values)."""
    thresholds: vitals.VitalsThresholds = vitals.DEFAULT
    fasting_min_hours: float = 4.0
    pregnancy_test_max_age_years: int = 55
    esketamine_bp_window_min: int = 10
    pre_discharge_bp_min: int = 30

    sources: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "min_observation_min": "the course protocol (see vitals.ObservationSettings.sources)",
            "thresholds": "the course protocol; defaults in vitals.VitalsThresholds.sources",
            "fasting_min_hours": (
                f"{POLICY} 4 h: ketamine causes nausea and vomiting; no published number"
            ),
            "pregnancy_test_max_age_years": (
                f"{POLICY} 55: pregnancy is a relative contraindication (Sanacora et al. 2017)"
            ),
            "esketamine_bp_window_min": (
                f"{POLICY} 10 min either side of the label's 'about 40 minutes' ({LABEL_BP})"
            ),
            "pre_discharge_bp_min": f"{POLICY} 30 min: what counts as a BP 'before discharge'",
        }
    )

    def __post_init__(self) -> None:
        for name in (
            "min_observation_min",
            "fasting_min_hours",
            "pregnancy_test_max_age_years",
            "esketamine_bp_window_min",
            "pre_discharge_bp_min",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise FieldInvalid(
                    name, "out_of_range", f"must be a number 0 or more, got {value!r}"
                )


@dataclass(frozen=True, kw_only=True)
class ChecklistFacts:
    """The pre-session checklist as recorded. ``pregnancy_test`` is "" (not recorded),
    "negative", "positive", "not_done" or "not_applicable"; only "negative" passes."""

    fasting_hours: float | None = None
    driver_name: str = ""
    driver_phone: str = ""
    medication_holds_confirmed: bool = False
    medication_holds_note: str = ""
    pregnancy_test: str = ""
    weight_kg: float | None = None
    intention: str = ""


TREATMENT_CONSENT = "ketamine-treatment"
"""The consent template (its ``code``) for racemic ketamine: IV, IM, intranasal, any route but
esketamine."""
ESKETAMINE_CONSENT = "esketamine-treatment"
"""The consent template for esketamine (SPRAVATO): an approved product with its own label and
REMS, so its own consent rather than the racemic ketamine one."""


def consent_code(route: str) -> str:
    """The code of the consent template a session on ``route`` needs: ``ESKETAMINE_CONSENT``
    for esketamine, ``TREATMENT_CONSENT`` for every other route (all racemic ketamine)."""
    return ESKETAMINE_CONSENT if route == ESKETAMINE else TREATMENT_CONSENT


@dataclass(frozen=True, kw_only=True)
class ConsentFacts:
    """The treatment consent the session's route needs (``consent_code(route)``).

    - ``code``: the template's code; ``title`` and ``version``: its current version (the
      highest version not withdrawn); ``version`` is None when there is no current version.
    - ``signed_current_version``: the patient signed that version. A signature of an older
      version does not count once a newer one exists.
    - ``signed_version``: the newest version of this template the patient signed (None: none).
    - ``template_id``: the current version's record, for a link to sign it (None: none).
    """

    code: str
    title: str = ""
    version: int | None = None
    signed_current_version: bool = False
    signed_version: int | None = None
    template_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class CssrsFacts:
    """Today's C-SSRS screener: its risk band and whether it flagged suicide risk."""

    band: str
    suicide_risk: bool


@dataclass(frozen=True, kw_only=True)
class AdministrationFacts:
    """The administration record. ``follows_current_order``: it was recorded against the
    current (not superseded) signed order. ``first_device_at``: when the first esketamine
    device was used (None before any)."""

    started_at: datetime
    follows_current_order: bool
    stopped_at: datetime | None = None
    devices_used: int = 0
    first_device_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class DischargeInputs:
    """The stored discharge assessment (the inputs of ``vitals.discharge_check``). MOAA/S is
    0-5; 5 is fully alert."""

    escort_name: str
    sedation_moaas: int
    dissociation_resolved: bool
    nausea_controlled: bool
    ambulating_steadily: bool

    def __post_init__(self) -> None:
        moaas = self.sedation_moaas
        if isinstance(moaas, bool) or not isinstance(moaas, int) or not 0 <= moaas <= 5:
            raise FieldInvalid(
                "sedation_moaas", "out_of_range", f"must be an integer 0-5, got {moaas!r}"
            )


@dataclass(frozen=True, kw_only=True)
class NoteFacts:
    """The session note: whether it has any text, and whether it is signed."""

    has_text: bool
    signed: bool


@dataclass(frozen=True, kw_only=True)
class SessionFacts:
    """Everything the rules look at, as recorded at one moment.

    - ``route``: "iv", "im", "intranasal", "esketamine", ...
    - ``age_years``: today's age; None if unknown (a pregnancy test then applies by sex alone).
    - ``baseline``: the latest pre-dose reading; ``has_pre_dose_bp``: any pre-dose reading has
      a BP.
    - ``has_current_order``, ``current_order_devices``: a current signed order, and its number
      of esketamine devices.
    - ``bp_taken``: (taken_at, phase) of each reading that has a BP; phase is "pre_dose",
      "dosing" or "recovery". Only the esketamine rules use it.
    - ``latest_recovery``: the latest recovery-phase reading.
    - ``open_critical_alerts``: critical vitals alerts not yet acknowledged.
    - ``consent``: the treatment consent the route needs; None when nothing is known of it,
      which counts as not signed.
    """

    state: State
    route: str
    policy: SessionPolicy
    sex_at_birth: str = ""
    age_years: int | None = None
    checklist: ChecklistFacts | None = None
    cssrs_today: CssrsFacts | None = None
    baseline: vitals.Reading | None = None
    has_pre_dose_bp: bool = False
    has_current_order: bool = False
    current_order_devices: int | None = None
    administration: AdministrationFacts | None = None
    bp_taken: tuple[tuple[datetime, str], ...] = ()
    latest_recovery: vitals.Reading | None = None
    discharge: DischargeInputs | None = None
    note: NoteFacts | None = None
    open_critical_alerts: int = 0
    consent: ConsentFacts | None = None


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """Something a move still needs: a stable ``code``, a sentence for a person, and whether
    a prescriber may override it with a reason."""

    code: str
    message: str
    overridable: bool


@dataclass(frozen=True)
class ChecklistItem:
    """One pre-session checklist item: whether it passes (``ok``) and what was found."""

    code: str
    label: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Decision:
    """Whether a move may go.

    - ``allowed``: it may; ``overridden`` then names the overridable requirements it passes by
      a prescriber's override (recorded with the reason).
    - ``illegal``: the move is never possible from this state (or no such state).
    - ``unmet``: what the move still needs (for an allowed move, what was overridden).
    - ``message``: a sentence for a person.
    """

    allowed: bool
    illegal: bool
    unmet: tuple[Requirement, ...]
    overridden: tuple[str, ...]
    message: str


# --- which entries are open ------------------------------------------------------------------


def _note_signed(facts: SessionFacts) -> bool:
    return facts.note is not None and facts.note.signed


def _state_refusal(step: Step, state: State) -> str | None:
    states = OPEN_IN[step]
    if state in states:
        return None
    allowed = ", ".join(s.label.lower() for s in _states_in_order(states))
    return (
        f"{step.label}: not possible while the session is {state.label.lower()} "
        f"(only when {allowed})"
    )


def step_refusal(step: Step, facts: SessionFacts) -> str | None:
    """Why ``step`` cannot be entered now, as a sentence; None when it can."""
    if step in (Step.NOTE, Step.SIGN_NOTE) and _note_signed(facts):
        return f"{step.label}: the note is signed; add an amendment instead"
    if step == Step.AMEND_NOTE and not _note_signed(facts):
        return f"{step.label}: only a signed note is amended; edit the draft instead"
    refusal = _state_refusal(step, facts.state)
    if refusal is not None:
        return refusal
    if step == Step.DEVICE and facts.route != ESKETAMINE:
        return f"{step.label}: only esketamine sessions record devices"
    return None


def step_open(step: Step, facts: SessionFacts) -> bool:
    """Whether ``step`` may be entered now: its state is in ``OPEN_IN[step]`` and its other
    conditions hold (see ``OPEN_IN``)."""
    return step_refusal(step, facts) is None


# --- the checklist ---------------------------------------------------------------------------


def pregnancy_test_applies(facts: SessionFacts) -> bool:
    """A pregnancy test is needed for a patient whose sex at birth is female or intersex, up to
    ``policy.pregnancy_test_max_age_years`` (an unknown age counts as within it)."""
    return facts.sex_at_birth in ("female", "intersex") and (
        facts.age_years is None or facts.age_years <= facts.policy.pregnancy_test_max_age_years
    )


def _n(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _baseline_item(facts: SessionFacts) -> ChecklistItem:
    label = "Baseline vitals"
    baseline = facts.baseline
    if baseline is None or baseline.systolic is None or baseline.heart_rate is None:
        return ChecklistItem(
            "baseline_vitals", label, False, "BP and heart rate needed before dosing"
        )
    critical = [
        a
        for a in vitals.assess(baseline, "pre_dose", facts.policy.thresholds)
        if a.level == "critical"
    ]
    return ChecklistItem(
        "baseline_vitals",
        label,
        not critical,
        f"{_n(baseline.systolic)}/{_n(baseline.diastolic)} mmHg, HR {_n(baseline.heart_rate)}"
        + (f" - CRITICAL: {critical[0].message}" if critical else ""),
    )


CONSENT_LABEL = "Treatment consent"

NOT_OVERRIDABLE_ITEMS: frozenset[str] = frozenset({"consent"})
"""Checklist items no prescriber's override lifts: dosing without the patient's signed consent
to the current wording is never a clinical judgement call."""


def consent_check(route: str, consent: ConsentFacts | None) -> ChecklistItem:
    """The treatment consent item for a session on ``route``: the current version of the
    route's consent template (``consent_code``), signed by the patient. The course page shows
    the same item."""
    code = consent.code if consent is not None else consent_code(route)
    if consent is None:
        return ChecklistItem("consent", CONSENT_LABEL, False, f"not signed: the {code} consent")
    name = consent.title or code
    if consent.version is None:
        return ChecklistItem(
            "consent",
            CONSENT_LABEL,
            False,
            f"not signed: no current version of the {code} consent exists "
            "(a clinic administrator must publish one)",
        )
    if consent.signed_current_version:
        return ChecklistItem(
            "consent", CONSENT_LABEL, True, f"{name} version {consent.version}, signed"
        )
    older = (
        f" (version {consent.signed_version} was signed; a newer version replaced it)"
        if consent.signed_version is not None
        else ""
    )
    return ChecklistItem(
        "consent", CONSENT_LABEL, False, f"not signed: {name} version {consent.version}{older}"
    )


def consent_item(facts: SessionFacts) -> ChecklistItem:
    """The treatment consent item of the session (``consent_check``)."""
    return consent_check(facts.route, facts.consent)


def checklist_items(facts: SessionFacts) -> tuple[ChecklistItem, ...]:
    """Each pre-session checklist item, whether it passes, and why not: the treatment consent,
    fasting, designated driver, medication holds, pregnancy test, today's C-SSRS, baseline
    vitals, weight and intention."""
    checklist = facts.checklist
    items: list[ChecklistItem] = [consent_item(facts)]

    minimum = facts.policy.fasting_min_hours
    fasting = checklist.fasting_hours if checklist else None
    items.append(
        ChecklistItem(
            "fasting",
            "Fasting",
            fasting is not None and float(fasting) >= minimum,
            f"{fasting} h (at least {minimum:g} h, clinic policy)"
            if fasting is not None
            else "not recorded",
        )
    )
    has_driver = bool(
        checklist and checklist.driver_name.strip() and checklist.driver_phone.strip()
    )
    items.append(
        ChecklistItem(
            "driver",
            "Designated driver",
            has_driver,
            f"{checklist.driver_name}, {checklist.driver_phone}"
            if has_driver and checklist
            else "name and phone needed",
        )
    )
    holds = bool(checklist and checklist.medication_holds_confirmed)
    items.append(
        ChecklistItem(
            "medication_holds",
            "Medication holds",
            holds,
            (checklist.medication_holds_note or "confirmed")
            if holds and checklist
            else "not confirmed",
        )
    )
    if pregnancy_test_applies(facts):
        result = checklist.pregnancy_test if checklist else ""
        items.append(
            ChecklistItem(
                "pregnancy_test",
                "Pregnancy test",
                result == "negative",
                {"negative": "negative", "positive": "POSITIVE: do not dose"}.get(
                    result, "needed today"
                ),
            )
        )
    else:
        items.append(ChecklistItem("pregnancy_test", "Pregnancy test", True, "not applicable"))
    cssrs = facts.cssrs_today
    if cssrs is None:
        items.append(ChecklistItem("cssrs", "C-SSRS screener today", False, "not done today"))
    else:
        items.append(
            ChecklistItem(
                "cssrs",
                "C-SSRS screener today",
                not cssrs.suicide_risk,
                f"{cssrs.band} risk"
                + (": prescriber review before dosing" if cssrs.suicide_risk else ""),
            )
        )
    items.append(_baseline_item(facts))
    weight = checklist.weight_kg if checklist else None
    items.append(
        ChecklistItem(
            "weight",
            "Weight today",
            weight is not None,
            f"{weight} kg" if weight is not None else "not recorded",
        )
    )
    intention = checklist.intention.strip() if checklist else ""
    items.append(
        ChecklistItem(
            "intention", "Intention", bool(intention), intention[:80] if intention else "not set"
        )
    )
    return tuple(items)


# --- observation and discharge ---------------------------------------------------------------

DISCHARGE_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "observation_time": "Observation time: fewer minutes than the protocol's minimum",
        "vitals": "Vitals: the latest recovery reading is outside the thresholds",
        "sedation": "Sedation: MOAA/S must be 5 (fully alert)",
        "dissociation": "Dissociation has not resolved",
        "nausea": "Nausea is not controlled",
        "ambulation": "The patient does not walk steadily",
        "escort": "No escort: the patient must leave with a designated driver",
    }
)
"""The sentence for each unmet ``vitals.discharge_check`` criterion."""


def first_device_at(facts: SessionFacts) -> datetime | None:
    """When the first esketamine device was used; the start of administration before any
    device; None without an administration."""
    administration = facts.administration
    if administration is None:
        return None
    if administration.first_device_at is not None:
        return administration.first_device_at
    return administration.started_at


def observation_start(facts: SessionFacts) -> datetime | None:
    """Observation is counted from the end of administration; for esketamine from the first
    device (SPRAVATO REMS). None before that time is known."""
    if facts.route == ESKETAMINE:
        return first_device_at(facts)
    return facts.administration.stopped_at if facts.administration else None


def minutes_observed(facts: SessionFacts, now: datetime) -> int:
    """Whole minutes from ``observation_start`` to ``now`` (0 before it or without it)."""
    start = observation_start(facts)
    if start is None:
        return 0
    return max(0, int((now - start).total_seconds() // 60))


def discharge_unmet(facts: SessionFacts, now: datetime) -> tuple[Requirement, ...]:
    """The discharge criteria unmet at ``now`` (all overridable), by ``vitals.discharge_check``
    with the protocol's observation minimum and thresholds; without a stored discharge
    assessment, only that (not overridable). No recovery reading at all counts as unmet vitals
    (the core alone would pass an empty reading)."""
    inputs = facts.discharge
    if inputs is None:
        return (
            Requirement("discharge_assessment", "Record the discharge assessment first", False),
        )
    observed = minutes_observed(facts, now)
    latest = facts.latest_recovery
    result = vitals.discharge_check(
        route=facts.route,
        minutes_observed=observed,
        latest=latest if latest is not None else vitals.Reading(),
        sedation_moaas=inputs.sedation_moaas,
        dissociation_resolved=inputs.dissociation_resolved,
        nausea_controlled=inputs.nausea_controlled,
        ambulating_steadily=inputs.ambulating_steadily,
        escort_present=bool(inputs.escort_name.strip()),
        thresholds=facts.policy.thresholds,
        observation=vitals.ObservationSettings(
            minutes_by_route={facts.route: facts.policy.min_observation_min}
        ),
    )
    found: list[Requirement] = []
    for code in result.unmet:
        message = DISCHARGE_MESSAGES[code]
        if code == "observation_time":
            message = f"Observation time: {observed} of {result.minimum_minutes} minutes"
        found.append(Requirement(code, message, True))
    if latest is None and "vitals" not in result.unmet:
        found.insert(0, Requirement("vitals", "Vitals: no reading since the dose", True))
    return tuple(found)


def esketamine_bp_unmet(facts: SessionFacts, now: datetime) -> tuple[Requirement, ...]:
    """SPRAVATO label: BP at about 40 minutes after the first device (within
    ``policy.esketamine_bp_window_min`` either side, any phase) and a recovery BP within
    ``policy.pre_discharge_bp_min`` before discharge at ``now``. Both overridable."""
    policy = facts.policy
    found: list[Requirement] = []
    first = first_device_at(facts)
    if first is not None:
        at_40 = first + timedelta(minutes=ESKETAMINE_BP_CHECK_MIN)
        window = timedelta(minutes=policy.esketamine_bp_window_min)
        if not any(at_40 - window <= at <= at_40 + window for at, _ in facts.bp_taken):
            found.append(
                Requirement(
                    "bp_40_min",
                    "Esketamine: a blood pressure at about 40 minutes after the first device "
                    "is required (SPRAVATO label)",
                    True,
                )
            )
    recent = now - timedelta(minutes=policy.pre_discharge_bp_min)
    if not any(phase == "recovery" and at >= recent for at, phase in facts.bp_taken):
        found.append(
            Requirement(
                "bp_before_discharge",
                f"Esketamine: a blood pressure within {policy.pre_discharge_bp_min} minutes "
                "before discharge is required (SPRAVATO label)",
                True,
            )
        )
    return tuple(found)


# --- what a move needs -----------------------------------------------------------------------


def _dosing_unmet(facts: SessionFacts) -> list[Requirement]:
    found: list[Requirement] = []
    consent = consent_item(facts)
    if not consent.ok:
        # Checked again at dosing: the checklist may have passed before a new version.
        found.append(Requirement("consent", f"{consent.label}: {consent.detail}", False))
    administration = facts.administration
    if administration is None:
        found.append(
            Requirement("administration", "Record the lot, vial and start time first", False)
        )
    elif not (facts.has_current_order and administration.follows_current_order):
        found.append(
            Requirement(
                "administration", "The administration must follow the current signed order", False
            )
        )
    if facts.route == ESKETAMINE and not facts.has_pre_dose_bp:
        found.append(
            Requirement(
                "bp_before_dosing",
                "Esketamine: blood pressure before dosing is required (SPRAVATO label)",
                False,
            )
        )
    baseline = _baseline_item(facts)
    if not baseline.ok:
        found.append(Requirement("baseline_vitals", f"Baseline vitals: {baseline.detail}", True))
    return found


def _recovery_unmet(facts: SessionFacts) -> list[Requirement]:
    administration = facts.administration
    if facts.route == ESKETAMINE:
        used = administration.devices_used if administration else 0
        ordered = facts.current_order_devices or 0
        if facts.has_current_order and used < ordered:
            return [
                Requirement("devices", f"Record each device's time ({used} of {ordered})", False)
            ]
        return []
    if administration is None or administration.stopped_at is None:
        return [Requirement("administration_stop", "Record when the administration stopped", False)]
    return []


def unmet(facts: SessionFacts, to: State, now: datetime) -> tuple[Requirement, ...]:
    """What the move from ``facts.state`` to ``to`` still needs at ``now`` (empty: it may go).
    It does not ask whether the move is legal (``allowed_next``); ``decide`` does."""
    found: list[Requirement] = []
    if to == State.CHECKLIST_PASSED:
        if facts.checklist is None:
            found.append(
                Requirement("checklist", "Complete the pre-session checklist first", False)
            )
        found.extend(
            Requirement(
                item.code, f"{item.label}: {item.detail}", item.code not in NOT_OVERRIDABLE_ITEMS
            )
            for item in checklist_items(facts)
            if not item.ok
        )
    elif to == State.DOSE_ORDERED:
        if not facts.has_current_order:
            found.append(Requirement("dose_order", "A prescriber must sign a dose order", False))
    elif to == State.DOSING:
        found.extend(_dosing_unmet(facts))
    elif to == State.RECOVERY:
        found.extend(_recovery_unmet(facts))
    elif to == State.DISCHARGED:
        found.extend(discharge_unmet(facts, now))
        if facts.route == ESKETAMINE:
            found.extend(esketamine_bp_unmet(facts, now))
    elif to == State.NOTE_SIGNED:
        if facts.note is None or not facts.note.has_text:
            found.append(Requirement("note", "Write the session note before signing", False))
        elif not facts.note.signed:
            # The note is signed first, then the session moves: a bare move would mark the
            # record complete with a note nobody signed.
            found.append(Requirement("note_unsigned", "Sign the session note", False))
    if to != State.CANCELLED and facts.open_critical_alerts:
        found.append(
            Requirement(
                "critical_alert",
                "Acknowledge each critical vitals alert with the action taken",
                False,
            )
        )
    return tuple(found)


# --- the decision ----------------------------------------------------------------------------


def _sentence(parts: Iterable[str]) -> str:
    text = "; ".join(p.rstrip(". ") for p in parts)
    return text + "."


def _illegal(state: State, to: State) -> Decision:
    nexts = allowed_next(state)
    if nexts:
        then = "next: " + " or ".join(MOVE_LABELS[s].lower() for s in nexts)
    elif state == State.CANCELLED:
        then = "the session is cancelled"
    else:
        then = "the record is complete"
    return Decision(
        allowed=False,
        illegal=True,
        unmet=(),
        overridden=(),
        message=f"{MOVE_LABELS[to]}: not possible while the session is "
        f"{state.label.lower()} ({then}).",
    )


def decide(
    facts: SessionFacts, to: State | str, now: datetime, *, by_prescriber: bool, reason: str
) -> Decision:
    """Whether the session may move to ``to`` at ``now``, and what the move overrides.

    In order: a target that is not a state or not in ``allowed_next`` is refused as illegal;
    cancelling needs a reason (code "reason"); any unmet requirement that is not overridable
    refuses; unmet overridable requirements pass only for a prescriber (``by_prescriber``) with
    a reason, and are then listed in ``overridden``.
    """
    reason = reason.strip()
    try:
        target = State(to)
    except ValueError:
        return Decision(
            allowed=False,
            illegal=True,
            unmet=(),
            overridden=(),
            message=f"There is no session state {str(to)!r}.",
        )
    if target not in allowed_next(facts.state):
        return _illegal(facts.state, target)
    move = MOVE_LABELS[target]
    if target == State.CANCELLED and not reason:
        need = Requirement("reason", "Give a reason for cancelling", False)
        return Decision(
            allowed=False,
            illegal=False,
            unmet=(need,),
            overridden=(),
            message=f"{move} needs: {_sentence([need.message])}",
        )
    found = unmet(facts, target, now)
    blocking = [r for r in found if not r.overridable]
    overridable = [r for r in found if r.overridable]
    if not blocking and (not overridable or (by_prescriber and reason)):
        return Decision(
            allowed=True,
            illegal=False,
            unmet=found,
            overridden=tuple(r.code for r in overridable),
            message=f"{move}: allowed, overriding: {_sentence(r.message for r in overridable)}"
            if overridable
            else f"{move}: allowed.",
        )
    if blocking:
        message = f"{move} needs: {_sentence(r.message for r in blocking)}"
    else:
        message = (
            f"{move} needs: {_sentence(r.message for r in overridable)[:-1]} "
            "(or a prescriber's override with a reason)."
        )
    return Decision(allowed=False, illegal=False, unmet=found, overridden=(), message=message)
