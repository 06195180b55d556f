"""The esketamine REMS record: one page (fpdf2, core fonts, nothing fetched) carrying the data of
the SPRAVATO REMS Patient Monitoring Form for one session (docs/clinical-reference.md §7.3).

It is the clinic's copy of the form's data, to be submitted through the REMS program; it is not
the program's form itself. ``rems_fields(session)`` gives the same data as labelled rows (for a
page or a test); ``build_rems_pdf(session)`` lays them out on one A4 page.

The fields:
- the treatment centre (``KAPCARE_CLINIC_NAME``, in Django settings or the environment);
- the patient (name, date of birth, MRN), the session date, and the prescriber who signed the
  dose order;
- the dose in mg, the number of devices and each device's time;
- the minutes from the first device to the end of monitoring (discharge);
- the blood pressure before dosing, at about 40 minutes after the first device and before
  discharge (SPRAVATO label; the 40-minute window is ``KAPCARE_ESKETAMINE_BP_WINDOW_MIN``);
- sedation (MOAA/S), dissociation (CADSS-6 or the 0-10 scale) and respiratory depression (side
  effects, and SpO2 or respiratory-rate alerts);
- whether the patient would have been ready to leave before 2 hours, and when;
- concomitant benzodiazepines, non-benzodiazepine hypnotics, psychostimulants and MAOIs (the
  patient's active medications, classed by ``kapcare.clinical.medications``);
- any serious adverse event (a severe side effect recorded in the session), and who completed
  the record (the clinician who signed the note).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from kapcare.clinical import medications
from kapcare.clinical.session import ESKETAMINE_BP_CHECK_MIN
from kapcare.dosing import conf
from kapcare.dosing.models import (
    DosingSession,
    ScoreScale,
    Severity,
    SideEffectKind,
    State,
    VitalPhase,
    VitalReading,
)
from kapcare.patients.models import MedicationEntry

TITLE = "SPRAVATO (esketamine) REMS - Patient Monitoring Form data"
NOTICE = (
    "The clinic's copy of the data of the SPRAVATO REMS Patient Monitoring Form for this "
    "session. Submit it through the SPRAVATO REMS program; this page is not the program's form."
)
DEFAULT_CLINIC_NAME = "kapcare clinic (set KAPCARE_CLINIC_NAME)"
OBSERVATION_MINIMUM_MIN = 120
"""SPRAVATO label: at least 2 hours' observation after dosing."""

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
RESPIRATORY_ALERTS = ("hypoxemia", "low_spo2", "bradypnea")


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[tuple[str, str]]


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


def rems_fields(session: DosingSession) -> list[Section]:
    """The monitoring form's data for one esketamine session, as labelled rows."""
    session = (
        DosingSession.objects.select_related(
            "patient", "course", "appointment", "administration", "note__signed_by"
        )
        .prefetch_related("orders__signed_by")
        .get(pk=session.pk)
    )
    if session.route != "esketamine":
        raise ValueError("session: the REMS record is for esketamine sessions only")
    patient = session.patient
    orders = [o for o in session.orders.all() if o.superseded_by_id is None]
    order = orders[-1] if orders else None
    administration = getattr(session, "administration", None)
    devices = list(administration.devices.order_by("number")) if administration else []
    first = (
        devices[0].used_at if devices else (administration.started_at if administration else None)
    )
    readings = list(session.vitals.order_by("taken_at", "id").prefetch_related("alerts"))
    with_bp = [r for r in readings if r.systolic is not None]
    effects = list(session.side_effects.order_by("noted_at", "id"))
    scores = list(session.scores.order_by("scored_at", "id"))
    note = getattr(session, "note", None)
    end = session.discharged_at

    # Blood pressure: before dosing, at about 40 minutes, before discharge.
    before = [
        r
        for r in with_bp
        if r.phase == VitalPhase.PRE_DOSE and (first is None or r.taken_at < first)
    ]
    at_40 = None
    if first is not None:
        target = first + timedelta(minutes=ESKETAMINE_BP_CHECK_MIN)
        window = timedelta(minutes=conf.esketamine_bp_window_min())
        near = [r for r in with_bp if abs(r.taken_at - target) <= window]
        at_40 = min(near, key=lambda r: (abs(r.taken_at - target), r.taken_at)) if near else None
    recovery = [
        r for r in with_bp if r.phase == VitalPhase.RECOVERY and (end is None or r.taken_at <= end)
    ]
    last_bp = recovery[-1] if recovery else None

    # Sedation, dissociation, respiratory depression.
    moaas = [s for s in scores if s.scale == ScoreScale.MOAAS]
    sedated = [s for s in moaas if s.value < 5]
    sedation_effects = [e for e in effects if e.kind == SideEffectKind.SEDATION]
    if sedated or sedation_effects:
        lowest = min(sedated, key=lambda s: (s.value, s.scored_at)) if sedated else None
        parts = [f"lowest MOAA/S {lowest.value} at {_time(lowest.scored_at)}"] if lowest else []
        parts += [
            f"excess sedation ({e.severity}) at {_time(e.noted_at)}" for e in sedation_effects
        ]
        if moaas:
            parts.append(f"MOAA/S {moaas[-1].value} at {_time(moaas[-1].scored_at)}")
        sedation = "Yes - " + "; ".join(parts)
    elif moaas:
        sedation = f"No - MOAA/S 5 throughout ({len(moaas)} score{'s' if len(moaas) != 1 else ''})"
    else:
        sedation = "Not recorded (no MOAA/S score)"
    dissociation_scores = [
        s for s in scores if s.scale in (ScoreScale.CADSS6, ScoreScale.DISSOCIATION_0_10)
    ]
    distress = [e for e in effects if e.kind == SideEffectKind.DISSOCIATION_DISTRESS]
    scale_names = {ScoreScale.CADSS6: "CADSS-6", ScoreScale.DISSOCIATION_0_10: "0-10 scale"}
    resolved = (session.discharge_inputs or {}).get("dissociation_resolved")
    resolved_text = (
        "" if resolved is None else f"; resolved at discharge: {'yes' if resolved else 'no'}"
    )
    if any(s.value > 0 for s in dissociation_scores) or distress:
        highest = max(dissociation_scores, key=lambda s: s.value) if dissociation_scores else None
        parts = (
            [
                f"highest {scale_names[ScoreScale(highest.scale)]} {highest.value} "
                f"at {_time(highest.scored_at)}"
            ]
            if highest
            else []
        )
        parts += [f"distressing dissociation ({e.severity})" for e in distress]
        dissociation = "Yes - " + "; ".join(parts) + resolved_text
    elif dissociation_scores:
        dissociation = "No - every dissociation score was 0" + resolved_text
    else:
        dissociation = "Not scored (no CADSS-6 or 0-10 rating)" + resolved_text
    respiratory_effects = [e for e in effects if e.kind == SideEffectKind.RESPIRATORY_DEPRESSION]
    respiratory_alerts = [
        (r, a) for r in readings for a in r.alerts.all() if a.code in RESPIRATORY_ALERTS
    ]
    spo2 = [r.spo2 for r in readings if r.spo2 is not None]
    rates = [r.resp_rate for r in readings if r.resp_rate is not None]
    lows = ", ".join(
        part
        for part in (
            f"lowest SpO2 {min(spo2)}%" if spo2 else "",
            f"lowest respiratory rate {min(rates)}/min" if rates else "",
        )
        if part
    )
    if respiratory_effects or any(a.level == "critical" for _, a in respiratory_alerts):
        parts = [
            f"{e.get_severity_display().lower()} respiratory depression at {_time(e.noted_at)}"
            for e in respiratory_effects
        ]
        parts += [f"{a.code} at {_time(r.taken_at)}" for r, a in respiratory_alerts]
        respiratory = "Yes - " + "; ".join(parts) + (f" ({lows})" if lows else "")
    elif respiratory_alerts:
        respiratory = (
            "No - SpO2 warning only: "
            + "; ".join(f"{a.code} at {_time(r.taken_at)}" for r, a in respiratory_alerts)
            + (f" ({lows})" if lows else "")
        )
    else:
        respiratory = f"No ({lows})" if lows else "No (no pulse oximetry recorded)"

    # Ready to leave before the 2-hour minimum?
    ready_at = session.ready_without_minimum_at
    if ready_at is None or first is None:
        ready = "Not recorded"
    else:
        after = _minutes(first, ready_at)
        ready = (
            f"Yes - ready at {_time(ready_at)} ({after} min after the first device)"
            if after < OBSERVATION_MINIMUM_MIN
            else f"No - ready at {_time(ready_at)} ({after} min after the first device)"
        )

    # Concomitant medications.
    found = rems_medication_classes(
        list(MedicationEntry.objects.filter(patient=patient, active=True))
    )
    medication_rows = [
        (label, ("Yes - " + ", ".join(found[code]))[:110] if found[code] else "No")
        for code, label in REMS_MEDICATION_CLASSES
    ]

    severe = [e for e in effects if e.severity == Severity.SEVERE]
    serious = (
        "Review for reporting - severe: "
        + "; ".join(f"{e.get_kind_display().lower()} at {_time(e.noted_at)}" for e in severe)
        if severe
        else "None recorded"
    )
    day = first or session.checked_in_at or session.appointment.starts_at
    devices_text = (
        "; ".join(f"device {d.number} at {_time(d.used_at)}" for d in devices) or "none recorded"
    )
    monitoring = (
        f"{_minutes(first, end)} minutes "
        f"(first device {_time(first)}, end of monitoring {_time(end)})"
        if first and end
        else f"not ended (session {State(session.state).label.lower()})"
    )
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
        Section(
            "Treatment session",
            [
                ("Session date", _date(day)),
                (
                    "Prescriber (signed the order)",
                    f"{_person(order.signed_by)}, signed {_when(order.signed_at)}"
                    if order
                    else "no signed order",
                ),
                ("Dose", f"{format(order.dose_mg.normalize(), 'f')} mg" if order else "-"),
                (
                    "Devices used",
                    f"{len(devices)} of {order.devices if order else '-'} ordered (28 mg each)",
                ),
                ("Device times", devices_text),
                ("Monitoring", monitoring),
            ],
        ),
        Section(
            "Blood pressure",
            [
                (
                    "Before dosing",
                    _bp(before[-1] if before else None, None, "before the first device"),
                ),
                (
                    "At about 40 minutes",
                    _bp(at_40, first, f"within {conf.esketamine_bp_window_min()} min of 40 min"),
                ),
                ("Before discharge", _bp(last_bp, first, "in recovery")),
            ],
        ),
        Section(
            "During the session",
            [
                ("Sedation (MOAA/S)", sedation),
                ("Dissociation", dissociation),
                ("Respiratory depression", respiratory),
                ("Ready to leave before 2 hours?", ready),
            ],
        ),
        Section("Concomitant medications (active)", medication_rows),
        Section(
            "Safety and sign-off",
            [
                ("Serious adverse event", serious),
                (
                    "Completed by",
                    f"{_person(note.signed_by)}, note signed {_when(note.signed_at)}"
                    if note is not None and note.signed_at
                    else "not signed yet (session note unsigned)",
                ),
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
        raise ValueError("session: the REMS record does not fit on one page")
    return bytes(pdf.output())
