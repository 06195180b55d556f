"""The esketamine REMS record: one page (fpdf2, core fonts, nothing fetched) carrying the data of
the SPRAVATO REMS Patient Monitoring Form for one session (docs/clinical-reference.md §7.3).

It is the clinic's copy of the form's data, to be submitted through the REMS program; it is not
the program's form itself. ``rems_fields(session)`` gives the same data as labelled rows (for a
page or a test); ``build_rems_pdf(session)`` lays them out on one A4 page.

The fields:
- the treatment centre (``KAPCARE_CLINIC_NAME``, in Django settings or the environment);
- the patient (name, date of birth, MRN), the session date, and the prescriber who signed the
  dose order (the current one: a superseded order is not reported);
- the dose in mg, the number of devices and each device's time;
- the minutes from the first device to the end of monitoring (discharge);
- the blood pressure at the SPRAVATO label's three times: before dosing (the latest pre-dose
  reading before the first device), at about 40 minutes after the first device (the reading
  nearest 40 minutes, the earlier of two as near, within ``KAPCARE_ESKETAMINE_BP_WINDOW_MIN``
  either side) and before discharge (the latest recovery reading up to discharge);
- sedation (MOAA/S), dissociation (CADSS-6 or the 0-10 scale) and respiratory depression (side
  effects, and SpO2 or respiratory-rate alerts);
- whether the patient would have been ready to leave before 2 hours, and when;
- concomitant benzodiazepines, non-benzodiazepine hypnotics, psychostimulants and MAOIs (the
  patient's active medications, classed by ``kapcare.clinical.medications``);
- any serious adverse event (a severe side effect recorded in the session), and who completed
  the record (the clinician who signed the note).

"The first device" is where the session model starts an esketamine session's observation
(``kapcare.clinical.session.observation_start``: the first device's time, or the start of the
administration before any device). ``_load`` reads the session once, in a fixed number of
queries however many readings, scores or devices it has, into a frozen ``_Record``; each row's
value is one small function of it, and ``rems_fields`` puts the sections together.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from kapcare.clinical import medications
from kapcare.clinical import session as model
from kapcare.clinical.dosing import ESKETAMINE_MG_PER_DEVICE
from kapcare.clinical.session import ESKETAMINE_BP_CHECK_MIN
from kapcare.dosing import conf
from kapcare.dosing.models import (
    Administration,
    DeviceUse,
    DoseOrder,
    DosingSession,
    ScoreScale,
    SessionNote,
    SessionScore,
    Severity,
    SideEffect,
    SideEffectKind,
    State,
    VitalAlert,
    VitalPhase,
    VitalReading,
)
from kapcare.errors import Conflict
from kapcare.patients.models import MedicationEntry

TITLE = "SPRAVATO (esketamine) REMS - Patient Monitoring Form data"
NOTICE = (
    "The clinic's copy of the data of the SPRAVATO REMS Patient Monitoring Form for this "
    "session. Submit it through the SPRAVATO REMS program; this page is not the program's form."
)
DEFAULT_CLINIC_NAME = "kapcare clinic (set KAPCARE_CLINIC_NAME)"
OBSERVATION_MINIMUM_MIN = 120
"""SPRAVATO label: at least 2 hours' observation after dosing. The form asks whether the patient
was ready before it, so this is the label's number, not the protocol's (which may be longer)."""

# Non-benzodiazepine hypnotics the REMS form asks about: the "Z-drugs" and the orexin receptor
# antagonists (SPRAVATO REMS monitoring form; kapcare.clinical.medications files them among the
# CNS depressants, with the other sedatives).
NON_BENZODIAZEPINE_HYPNOTICS = frozenset(
    {
        "zolpidem",
        "zaleplon",
        "zopiclone",
        "eszopiclone",
        "suvorexant",
        "lemborexant",
        "daridorexant",
    }
)
REMS_MEDICATION_CLASSES = (
    ("benzodiazepine", "Benzodiazepines"),
    ("non_benzodiazepine_hypnotic", "Non-benzodiazepine hypnotics"),
    ("psychostimulant", "Psychostimulants"),
    ("maoi", "MAOIs"),
)
MEDICATION_ROW_MAX_CHARS = 110
"""A medication class's row is cut to this many characters (so the record stays one page)."""
RESPIRATORY_ALERTS = ("hypoxemia", "low_spo2", "bradypnea")
DISSOCIATION_SCALES = {ScoreScale.CADSS6: "CADSS-6", ScoreScale.DISSOCIATION_0_10: "0-10 scale"}
"""The dissociation scales the form reports, as named on the page."""

Row = tuple[str, str]


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[Row]


def clinic_name() -> str:
    value = getattr(settings, "KAPCARE_CLINIC_NAME", None) or os.environ.get("KAPCARE_CLINIC_NAME")
    return str(value or DEFAULT_CLINIC_NAME)


def _time(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%H:%M") if moment else "-"


def _date(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d")


def _when(moment: datetime) -> str:
    return f"{_date(moment)} {_time(moment)}"


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def _person(user: object | None) -> str:
    if user is None:
        return "-"
    name = getattr(user, "full_name", "") or getattr(user, "email", "")
    role = getattr(user, "get_role_display", lambda: "")()
    return f"{name} ({role})" if role else str(name)


def _yes(parts: list[str]) -> str:
    return "Yes - " + "; ".join(parts)


def _bp(reading: VitalReading | None, first: datetime | None, what: str) -> str:
    if reading is None:
        return f"not recorded ({what})"
    after = f", {_minutes(first, reading.taken_at)} min after the first device" if first else ""
    return f"{reading.systolic}/{reading.diastolic} mmHg at {_time(reading.taken_at)}{after}"


def _hypnotic(name: str) -> bool:
    text = f" {medications.normalize(name)} "
    aliases = {b for b, g in medications.BRAND_ALIASES.items() if g in NON_BENZODIAZEPINE_HYPNOTICS}
    return any(f" {known} " in text for known in NON_BENZODIAZEPINE_HYPNOTICS | aliases)


def rems_medication_classes(entries: list[MedicationEntry]) -> dict[str, list[str]]:
    """The REMS form's medication classes, each with the active medications in it."""
    found: dict[str, list[str]] = {code: [] for code, _ in REMS_MEDICATION_CLASSES}
    for entry in entries:
        classes = set(medications.classify_all(entry.generic_name))
        if entry.drug_class:
            classes.add(entry.drug_class)
        if _hypnotic(entry.generic_name):
            classes.add("non_benzodiazepine_hypnotic")
        shown = f"{entry.generic_name} {entry.dose}".strip()
        for code in found:
            if code in classes:
                found[code].append(shown)
    return found


# --- the session, read once ---------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    """What the form reads of one esketamine session, each list in time order (devices by
    number, alerts prefetched on the readings)."""

    session: DosingSession
    order: DoseOrder | None
    """The current signed order (not superseded); None before any."""
    devices: tuple[DeviceUse, ...]
    first: datetime | None
    """The start of observation (``observation_start``); None without an administration."""
    readings: tuple[VitalReading, ...]
    effects: tuple[SideEffect, ...]
    scores: tuple[SessionScore, ...]
    note: SessionNote | None
    medications: tuple[MedicationEntry, ...]
    """The patient's active medications."""

    @property
    def end(self) -> datetime | None:
        """The end of monitoring: discharge."""
        return self.session.discharged_at

    def with_bp(self) -> list[VitalReading]:
        return [r for r in self.readings if r.systolic is not None]

    def effects_of(self, kind: str) -> list[SideEffect]:
        return [e for e in self.effects if e.kind == kind]

    def scores_on(self, *scales: str) -> list[SessionScore]:
        return [s for s in self.scores if s.scale in scales]


def _observation_start(
    session: DosingSession,
    administration: Administration | None,
    devices: tuple[DeviceUse, ...],
    order: DoseOrder | None,
) -> datetime | None:
    """The session model's start of observation, from the administration and its devices."""
    if administration is None:
        return None
    facts = model.SessionFacts(
        state=model.State(session.state),
        route=session.route,
        policy=model.SessionPolicy(min_observation_min=0),  # observation_start reads no policy
        administration=model.AdministrationFacts(
            started_at=administration.started_at,
            stopped_at=administration.stopped_at,
            follows_current_order=order is not None and administration.order_id == order.pk,
            devices_used=len(devices),
            first_device_at=devices[0].used_at if devices else None,
        ),
    )
    return model.observation_start(facts)


def _read(pk: int) -> DosingSession:
    """The session with everything the form reads, in 7 queries however many entries it has:
    the session with its course, patient, appointment, administration and note; the orders
    with their signers; the devices; the readings; their alerts; the side effects; the scores."""
    return (
        DosingSession.objects.select_related(
            "patient", "course", "appointment", "administration", "note__signed_by"
        )
        .prefetch_related(
            Prefetch(
                "orders", DoseOrder.objects.select_related("signed_by").order_by("signed_at", "id")
            ),
            Prefetch("administration__devices", DeviceUse.objects.order_by("number")),
            Prefetch(
                "vitals",
                VitalReading.objects.order_by("taken_at", "id").prefetch_related(
                    Prefetch("alerts", VitalAlert.objects.order_by("id"))
                ),
            ),
            Prefetch("side_effects", SideEffect.objects.order_by("noted_at", "id")),
            Prefetch("scores", SessionScore.objects.order_by("scored_at", "id")),
        )
        .get(pk=pk)
    )


def _load(session: DosingSession) -> _Record:
    """An esketamine session as the form reads it: ``_read`` and the patient's active
    medications, 8 queries in all."""
    session = _read(session.pk)
    if session.route != model.ESKETAMINE:
        raise Conflict(
            "The REMS record is for esketamine sessions only.",
            field="session",
            rule="not_esketamine",
        )
    current = [o for o in session.orders.all() if o.superseded_by_id is None]
    order = current[-1] if current else None
    administration = getattr(session, "administration", None)
    devices = tuple(administration.devices.all()) if administration else ()
    return _Record(
        session=session,
        order=order,
        devices=devices,
        first=_observation_start(session, administration, devices, order),
        readings=tuple(session.vitals.all()),
        effects=tuple(session.side_effects.all()),
        scores=tuple(session.scores.all()),
        note=getattr(session, "note", None),
        medications=tuple(MedicationEntry.objects.filter(patient=session.patient, active=True)),
    )


# --- the treatment session ---------------------------------------------------------------


def _prescriber(order: DoseOrder | None) -> str:
    if order is None:
        return "no signed order"
    return f"{_person(order.signed_by)}, signed {_when(order.signed_at)}"


def _dose(order: DoseOrder | None) -> str:
    return f"{format(order.dose_mg.normalize(), 'f')} mg" if order else "-"


def _devices_used(record: _Record) -> str:
    ordered = record.order.devices if record.order else "-"
    return f"{len(record.devices)} of {ordered} ordered ({ESKETAMINE_MG_PER_DEVICE} mg each)"


def _device_times(devices: tuple[DeviceUse, ...]) -> str:
    return "; ".join(f"device {d.number} at {_time(d.used_at)}" for d in devices) or "none recorded"


def _monitoring(record: _Record) -> str:
    first, end = record.first, record.end
    if first and end:
        return (
            f"{_minutes(first, end)} minutes "
            f"(first device {_time(first)}, end of monitoring {_time(end)})"
        )
    return f"not ended (session {State(record.session.state).label.lower()})"


def _treatment_session_rows(record: _Record) -> list[Row]:
    session = record.session
    day = record.first or session.checked_in_at or session.appointment.starts_at
    return [
        ("Session date", _date(day)),
        ("Prescriber (signed the order)", _prescriber(record.order)),
        ("Dose", _dose(record.order)),
        ("Devices used", _devices_used(record)),
        ("Device times", _device_times(record.devices)),
        ("Monitoring", _monitoring(record)),
    ]


# --- blood pressure ------------------------------------------------------------------------


def _bp_before_dosing(record: _Record) -> VitalReading | None:
    first = record.first
    before = [
        r
        for r in record.with_bp()
        if r.phase == VitalPhase.PRE_DOSE and (first is None or r.taken_at < first)
    ]
    return before[-1] if before else None


def _bp_at_40(record: _Record, window_min: int) -> VitalReading | None:
    """The BP nearest ``ESKETAMINE_BP_CHECK_MIN`` after the first device, within ``window_min``
    either side (any phase); the earlier of two as near."""
    if record.first is None:
        return None
    target = record.first + timedelta(minutes=ESKETAMINE_BP_CHECK_MIN)
    near = [
        r for r in record.with_bp() if abs(r.taken_at - target) <= timedelta(minutes=window_min)
    ]
    return min(near, key=lambda r: (abs(r.taken_at - target), r.taken_at), default=None)


def _bp_before_discharge(record: _Record) -> VitalReading | None:
    end = record.end
    recovery = [
        r
        for r in record.with_bp()
        if r.phase == VitalPhase.RECOVERY and (end is None or r.taken_at <= end)
    ]
    return recovery[-1] if recovery else None


def _blood_pressure_rows(record: _Record) -> list[Row]:
    window = conf.esketamine_bp_window_min()
    return [
        ("Before dosing", _bp(_bp_before_dosing(record), None, "before the first device")),
        (
            "At about 40 minutes",
            _bp(_bp_at_40(record, window), record.first, f"within {window} min of 40 min"),
        ),
        ("Before discharge", _bp(_bp_before_discharge(record), record.first, "in recovery")),
    ]


# --- during the session --------------------------------------------------------------------


def _sedation(record: _Record) -> str:
    moaas = record.scores_on(ScoreScale.MOAAS)
    sedated = [s for s in moaas if s.value < 5]
    effects = record.effects_of(SideEffectKind.SEDATION)
    if not sedated and not effects:
        if moaas:
            plural = "s" if len(moaas) != 1 else ""
            return f"No - MOAA/S 5 throughout ({len(moaas)} score{plural})"
        return "Not recorded (no MOAA/S score)"
    parts = []
    if sedated:
        lowest = min(sedated, key=lambda s: (s.value, s.scored_at))
        parts.append(f"lowest MOAA/S {lowest.value} at {_time(lowest.scored_at)}")
    parts += [f"excess sedation ({e.severity}) at {_time(e.noted_at)}" for e in effects]
    if moaas:
        parts.append(f"MOAA/S {moaas[-1].value} at {_time(moaas[-1].scored_at)}")
    return _yes(parts)


def _resolved_at_discharge(session: DosingSession) -> str:
    resolved = (session.discharge_inputs or {}).get("dissociation_resolved")
    return "" if resolved is None else f"; resolved at discharge: {'yes' if resolved else 'no'}"


def _dissociation(record: _Record) -> str:
    scores = record.scores_on(*DISSOCIATION_SCALES)
    distress = record.effects_of(SideEffectKind.DISSOCIATION_DISTRESS)
    resolved = _resolved_at_discharge(record.session)
    if not distress and not any(s.value > 0 for s in scores):
        if scores:
            return "No - every dissociation score was 0" + resolved
        return "Not scored (no CADSS-6 or 0-10 rating)" + resolved
    parts = []
    if scores:
        highest = max(scores, key=lambda s: s.value)
        scale = DISSOCIATION_SCALES[ScoreScale(highest.scale)]
        parts.append(f"highest {scale} {highest.value} at {_time(highest.scored_at)}")
    parts += [f"distressing dissociation ({e.severity})" for e in distress]
    return _yes(parts) + resolved


def _respiratory_alerts(record: _Record) -> list[tuple[VitalReading, VitalAlert]]:
    return [(r, a) for r in record.readings for a in r.alerts.all() if a.code in RESPIRATORY_ALERTS]


def _lowest_oxygenation(record: _Record) -> str:
    """ "lowest SpO2 n%, lowest respiratory rate n/min", as far as recorded; "" without either."""
    spo2 = [r.spo2 for r in record.readings if r.spo2 is not None]
    rates = [r.resp_rate for r in record.readings if r.resp_rate is not None]
    parts = [f"lowest SpO2 {min(spo2)}%"] if spo2 else []
    parts += [f"lowest respiratory rate {min(rates)}/min"] if rates else []
    return ", ".join(parts)


def _respiratory_depression(record: _Record) -> str:
    effects = record.effects_of(SideEffectKind.RESPIRATORY_DEPRESSION)
    alerts = _respiratory_alerts(record)
    lows = _lowest_oxygenation(record)
    if not alerts and not effects:
        return f"No ({lows})" if lows else "No (no pulse oximetry recorded)"
    found = [f"{a.code} at {_time(r.taken_at)}" for r, a in alerts]
    lowest = f" ({lows})" if lows else ""
    if not effects and all(a.level != "critical" for _, a in alerts):
        return "No - SpO2 warning only: " + "; ".join(found) + lowest
    depressed = [
        f"{e.get_severity_display().lower()} respiratory depression at {_time(e.noted_at)}"
        for e in effects
    ]
    return _yes(depressed + found) + lowest


def _ready_before_two_hours(record: _Record) -> str:
    ready_at = record.session.ready_without_minimum_at
    if ready_at is None or record.first is None:
        return "Not recorded"
    after = _minutes(record.first, ready_at)
    answer = "Yes" if after < OBSERVATION_MINIMUM_MIN else "No"
    return f"{answer} - ready at {_time(ready_at)} ({after} min after the first device)"


def _during_the_session_rows(record: _Record) -> list[Row]:
    return [
        ("Sedation (MOAA/S)", _sedation(record)),
        ("Dissociation", _dissociation(record)),
        ("Respiratory depression", _respiratory_depression(record)),
        ("Ready to leave before 2 hours?", _ready_before_two_hours(record)),
    ]


# --- medications, safety and sign-off --------------------------------------------------------


def _concomitant_medications(record: _Record) -> list[Row]:
    found = rems_medication_classes(list(record.medications))
    return [
        (
            label,
            ("Yes - " + ", ".join(found[code]))[:MEDICATION_ROW_MAX_CHARS] if found[code] else "No",
        )
        for code, label in REMS_MEDICATION_CLASSES
    ]


def _serious_adverse_event(record: _Record) -> str:
    severe = [e for e in record.effects if e.severity == Severity.SEVERE]
    if not severe:
        return "None recorded"
    return "Review for reporting - severe: " + "; ".join(
        f"{e.get_kind_display().lower()} at {_time(e.noted_at)}" for e in severe
    )


def _completed_by(note: SessionNote | None) -> str:
    if note is None or not note.signed_at:
        return "not signed yet (session note unsigned)"
    return f"{_person(note.signed_by)}, note signed {_when(note.signed_at)}"


def rems_fields(session: DosingSession) -> list[Section]:
    """The monitoring form's data for one esketamine session, as labelled rows."""
    record = _load(session)
    patient = record.session.patient
    return [
        Section("Treatment centre", [("Healthcare setting", clinic_name())]),
        Section(
            "Patient",
            [
                ("Name", patient.full_name),
                ("Date of birth", patient.birth_date.isoformat()),
                ("MRN", patient.mrn),
            ],
        ),
        Section("Treatment session", _treatment_session_rows(record)),
        Section("Blood pressure", _blood_pressure_rows(record)),
        Section("During the session", _during_the_session_rows(record)),
        Section("Concomitant medications (active)", _concomitant_medications(record)),
        Section(
            "Safety and sign-off",
            [
                ("Serious adverse event", _serious_adverse_event(record)),
                ("Completed by", _completed_by(record.note)),
            ],
        ),
    ]


_LATIN1 = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2265": ">=",
        "\u2264": "<=",
        "\u2082": "2",
        "\u00a0": " ",
    }
)


def _text(value: str) -> str:
    """Core PDF fonts are Latin-1: map the usual typography and replace the rest."""
    return value.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def build_rems_pdf(session: DosingSession) -> bytes:
    """The one-page REMS record of an esketamine session, as PDF bytes."""
    sections = rems_fields(session)
    session = DosingSession.objects.select_related("patient").get(pk=session.pk)
    patient = session.patient
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(14, 12, 14)
    pdf.set_title(_text(TITLE))
    pdf.set_creator("kapcare")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    if patient.is_synthetic:
        pdf.set_fill_color(255, 235, 150)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(
            width,
            7,
            "SYNTHETIC DEMO DATA - not a real patient",
            border=1,
            fill=True,
            align="C",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(2)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(width, 7, _text(TITLE), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 8.5)
    pdf.multi_cell(width, 4.2, _text(NOTICE), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    label_width = 58
    for section in sections:
        pdf.ln(1.5)
        pdf.set_font("Helvetica", "B", 10)
        pdf.set_fill_color(230, 236, 242)
        pdf.cell(width, 6, _text(section.title), fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for label, value in section.rows:
            y = pdf.get_y()
            pdf.set_font("Helvetica", "B", 9)
            pdf.multi_cell(label_width, 5, _text(label + ":"), new_x=XPos.RIGHT, new_y=YPos.TOP)
            pdf.set_xy(pdf.l_margin + label_width, y)
            pdf.set_font("Helvetica", "", 9)
            pdf.multi_cell(
                width - label_width, 5, _text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            pdf.set_y(max(pdf.get_y(), y + 5))
    pdf.ln(3)
    pdf.set_font("Helvetica", "I", 7.5)
    generated = timezone.localtime(timezone.now())
    pdf.multi_cell(
        width,
        3.8,
        _text(
            f"Times in {timezone.get_current_timezone_name()}. Generated by kapcare on "
            f"{generated:%Y-%m-%d %H:%M} from session #{session.pk} (state: {session.state}). "
            "Blood pressure times per the SPRAVATO label: before dosing, at about 40 minutes "
            "and before discharge; observation at least 2 hours. Medication classes from the "
            "patient's active medication list (kapcare.clinical.medications)."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if pdf.page != 1 or pdf.get_y() > pdf.h - 8:
        # A layout fault of this module, not a refusal of the caller's input.
        raise RuntimeError("The REMS record does not fit on one page.")
    return bytes(pdf.output())
