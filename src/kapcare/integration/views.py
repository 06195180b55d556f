"""Thin HTML views of integration notes, the journal and the patient's timeline (clinical
roles, as the access policy says). Writes go through ``integration.services``; every page that
shows patient data logs the access (``kapcare.audit.reads``)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapcare.accounts.models import User
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.errors import Refused
from kapcare.integration import selectors, services
from kapcare.integration.forms import AmendmentForm, IntegrationNoteForm, JournalEntryForm
from kapcare.integration.models import IntegrationNote, JournalEntry
from kapcare.patients.models import Patient
from kapcare.web.errors import add_form_errors, page_messages, page_status
from kapcare.web.sections import render_section


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@reads_patient_data
@require_GET
def timeline(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    items = selectors.patient_timeline(patient.pk)
    return render(request, "integration/timeline.html", {"patient": patient, "items": items})


@reads_patient_data
@require_GET
def chart_timeline(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The chart's timeline section: the newest items and the patient's courses."""
    patient = get_object_or_404(Patient.objects.for_header(), pk=patient_id)
    context = selectors.chart_timeline_context(patient.pk)
    template = "integration/_chart_section.html"
    return render_section(request, patient, template, "Treatment timeline", context)


@reads_patient_data
@require_http_methods(["GET", "POST"])
def note_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    actor = Actor.from_request(request)
    status = 200
    if request.method == "POST":
        form = IntegrationNoteForm(request.POST, patient_id=patient.pk)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                note = services.write_note(
                    actor,
                    patient,
                    author=_user(request),
                    dosing_session=data["dosing_session"],
                    held_on=data["held_on"],
                    insights=data["insights"],
                    practices=data["practices"],
                    homework=data["homework"],
                )
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(request, "Integration note saved.")
                return redirect("integration:note", note_id=note.pk)
    else:
        # The course page links here with ?session= for the dosing session just followed.
        session = request.GET.get("session", "")
        initial = {"dosing_session": int(session)} if session.isdigit() else {}
        form = IntegrationNoteForm(initial=initial, patient_id=patient.pk)
    return render(
        request, "integration/note_form.html", {"patient": patient, "form": form}, status=status
    )


def _note(note_id: int) -> IntegrationNote:
    return get_object_or_404(
        IntegrationNote.objects.select_related(
            "patient", "author", "signed_by", "dosing_session__appointment", "appointment"
        ),
        pk=note_id,
    )


def _note_page(
    request: HttpRequest,
    note: IntegrationNote,
    *,
    amend_form: AmendmentForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    shown(request, [note.patient_id])
    labels = dict(selectors.PRACTICE_LABELS)
    context = {
        "note": note,
        "patient": note.patient,
        "practices": [labels.get(p, p) for p in note.practices],
        "amendments": list(note.amendments.select_related("author")),
        "amend_form": amend_form or AmendmentForm(),
        "error": error,
    }
    return render(request, "integration/note.html", context, status=status)


@reads_patient_data
@require_GET
def note_detail(request: HttpRequest, note_id: int) -> HttpResponse:
    return _note_page(request, _note(note_id))


@reads_patient_data
@require_http_methods(["GET", "POST"])
def note_edit(request: HttpRequest, note_id: int) -> HttpResponse:
    """Edit a draft note. A signed note is refused (409) with its page, offering an amendment."""
    note = _note(note_id)
    if note.signed_at is not None:
        return _note_page(request, note, error=services.SIGNED, status=409)
    patient = note.patient
    status = 200
    if request.method == "POST":
        form = IntegrationNoteForm(request.POST, patient_id=patient.pk)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.edit_note(
                    Actor.from_request(request),
                    note,
                    dosing_session=data["dosing_session"],
                    held_on=data["held_on"],
                    insights=data["insights"],
                    practices=data["practices"],
                    homework=data["homework"],
                )
            except Refused as error:
                if page_status(error) == 409:
                    return _note_page(request, _note(note_id), error=error.message, status=409)
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(request, "Integration note saved.")
                return redirect("integration:note", note_id=note.pk)
    else:
        initial = {
            "dosing_session": note.dosing_session_id,
            "held_on": note.held_on,
            "insights": note.insights,
            "practices": note.practices,
            "homework": note.homework,
        }
        form = IntegrationNoteForm(initial=initial, patient_id=patient.pk)
    context = {"patient": patient, "form": form, "note": note}
    shown(request, [patient.pk])
    return render(request, "integration/note_form.html", context, status=status)


@require_POST
def note_sign(request: HttpRequest, note_id: int) -> HttpResponse:
    """Sign and lock the note; the answer is a redirect to the note's page either way (a
    refusal is said there), so the write's own audit entry names the patient."""
    note = get_object_or_404(IntegrationNote, pk=note_id)
    try:
        services.sign_note(Actor.from_request(request), note, signer=_user(request))
    except Refused as error:
        messages.error(request, "Not signed: " + "; ".join(page_messages(error)))
    else:
        messages.success(request, "Integration note signed; later changes are amendments.")
    return redirect("integration:note", note_id=note.pk)


@reads_patient_data
@require_POST
def note_amend(request: HttpRequest, note_id: int) -> HttpResponse:
    note = _note(note_id)
    shown(request, [note.patient_id])  # as a dosing step does: the write reads the note
    form = AmendmentForm(request.POST)
    if form.is_valid():
        try:
            services.amend_note(
                Actor.from_request(request),
                note,
                author=_user(request),
                text=form.cleaned_data["text"],
                reason=form.cleaned_data["reason"],
            )
        except Refused as error:
            add_form_errors(form, error)
            return _note_page(request, note, amend_form=form, status=page_status(error))
        messages.success(request, "Amendment added.")
        return redirect("integration:note", note_id=note.pk)
    return _note_page(request, note, amend_form=form, status=400)


@reads_patient_data
@require_http_methods(["GET", "POST"])
def journal_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    actor = Actor.from_request(request)
    status = 200
    form = JournalEntryForm(request.POST or None)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                entry = services.add_journal_entry(
                    actor,
                    patient,
                    entered_by=_user(request),
                    written_on=form.cleaned_data["written_on"],
                    text=form.cleaned_data["text"],
                )
            except Refused as error:
                add_form_errors(form, error)
                status = page_status(error)
            else:
                messages.success(request, "Journal entry saved.")
                return redirect("integration:journal_entry", entry_id=entry.pk)
    return render(
        request, "integration/journal_form.html", {"patient": patient, "form": form}, status=status
    )


@reads_patient_data
@require_GET
def journal_detail(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(
        JournalEntry.objects.select_related("patient", "entered_by"), pk=entry_id
    )
    shown(request, [entry.patient_id])
    return render(request, "integration/journal.html", {"entry": entry, "patient": entry.patient})
