"""Writes to consultation requests, each in a transaction with its audit entry, and the spam
protection of the public form (no external service: a honeypot, a signed render time and
rate limits per hashed client address and overall)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.consultations.conf import consultation_settings
from kapcare.consultations.models import (
    NOTE_MAX_LENGTH,
    CallbackAttempt,
    CallbackOutcome,
    ConsultationRequest,
    RequestStatus,
)
from kapcare.errors import Conflict, FieldInvalid, NotFound
from kapcare.patients.models import CareStatus, Patient
from kapcare.patients.services import create_patient

_TOKEN_SALT = "kapcare.consultations.form-rendered"
_ADDRESS_SALT = "kapcare.consultations.client-address"

# What the public form's submitter is called in the audit log. The address is deliberately
# left out: the clinic keeps only its keyed hash, for the rate limit.
PUBLIC_ACTOR = Actor(user_id=None, email="public consultation form", role="public")


class SubmissionRefused(Exception):
    """A submission refused as likely spam or over a rate limit. Nothing is stored."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AlreadyHandled(Conflict):
    """The request was converted or closed before: it can be handled only once (a conflict on
    ``status``, rule ``already_converted`` or ``already_closed``)."""

    def __init__(self, consultation: ConsultationRequest) -> None:
        super().__init__(
            f"Consultation request #{consultation.pk} is already "
            f"{consultation.get_status_display().lower()}.",
            field="status",
            rule=f"already_{consultation.status}",
        )
        self.consultation = consultation


# --- spam protection ------------------------------------------------------------------------


def issue_form_token(now: float | None = None) -> str:
    """A signed record of when the form was shown, sent back with the submission."""
    return signing.dumps(now if now is not None else time.time(), salt=_TOKEN_SALT)


def check_form_token(token: str, now: float | None = None) -> None:
    """Refuse a form sent back faster than a person could fill it in, or shown too long ago
    (or whose token was tampered with)."""
    config = consultation_settings()
    now = now if now is not None else time.time()
    try:
        rendered_at = float(signing.loads(token, salt=_TOKEN_SALT))
    except (signing.BadSignature, TypeError, ValueError) as bad:
        # SignatureExpired is never raised here: the age is checked below, against `now`.
        raise SubmissionRefused(
            "This form could not be checked. Please reload the page and send it again."
        ) from bad
    elapsed = now - rendered_at
    if elapsed > config.max_age_seconds:
        raise SubmissionRefused(
            "This form was opened too long ago. Please check your details and send it again."
        )
    if elapsed < config.min_seconds:
        raise SubmissionRefused(
            "The form was sent faster than a person can fill it in. "
            "Please wait a few seconds and send it again."
        )


def check_honeypot(value: str) -> None:
    if value.strip():
        raise SubmissionRefused(
            "Your request could not be accepted. Please leave the “leave empty” field blank, "
            "or call the clinic."
        )


def hash_client_address(address: str) -> str:
    """The keyed SHA-256 of a client address (HMAC with the secret key): the same address
    always gives the same hash, which cannot be turned back into the address."""
    return salted_hmac(_ADDRESS_SALT, address.strip(), algorithm="sha256").hexdigest()


def forget_old_client_hashes(since: datetime) -> int:
    """Blank the address hashes of requests sent before `since`: the rate limit needs them
    for an hour only, and the clinic keeps no trace of where requests came from."""
    return (
        ConsultationRequest.objects.filter(submitted_at__lt=since)
        .exclude(client_hash="")
        .update(client_hash="")
    )


def _check_rate_limits(client_hash: str, since: datetime) -> None:
    config = consultation_settings()
    recent = ConsultationRequest.objects.filter(submitted_at__gte=since)
    if recent.count() >= config.global_per_hour:
        raise SubmissionRefused(
            "We are receiving an unusually large number of requests. Please try again in an "
            "hour, or call the clinic.",
            status=429,
        )
    if client_hash and recent.filter(client_hash=client_hash).count() >= (
        config.per_address_per_hour
    ):
        raise SubmissionRefused(
            "Too many requests have been sent from your connection in the last hour. "
            "Please try again later, or call the clinic.",
            status=429,
        )


# --- access log ---------------------------------------------------------------------------


def record_reads(actor: Actor, consultations: Iterable[ConsultationRequest], where: str) -> None:
    """One access-log entry per request shown. Requests are not patients yet, so these are
    READ events without a patient id, each naming its request."""
    with transaction.atomic():
        for consultation in consultations:
            record_event(actor, Action.READ, f"consultation request #{consultation.pk} ({where})")


# --- writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    given_name: str
    family_name: str
    email: str
    phone: str
    preferred_contact: str
    reason: str


def submit_request(
    submission: Submission, *, client_address: str, is_synthetic: bool = False
) -> ConsultationRequest:
    """Store a request from the public form, unless a rate limit refuses it (then nothing is
    stored). The caller has already checked the honeypot and the form token."""
    client_hash = hash_client_address(client_address) if client_address else ""
    with transaction.atomic():
        # Counting and inserting in one transaction: on SQLite (IMMEDIATE transactions) and
        # under PostgreSQL's row writes the limit holds to within a request or two.
        since = timezone.now() - timedelta(hours=1)
        _check_rate_limits(client_hash, since)
        forget_old_client_hashes(since)
        consultation = ConsultationRequest.objects.create(
            given_name=submission.given_name.strip(),
            family_name=submission.family_name.strip(),
            email=submission.email.strip().lower(),
            phone=submission.phone.strip(),
            preferred_contact=submission.preferred_contact,
            reason=submission.reason.strip(),
            client_hash=client_hash,
            is_synthetic=is_synthetic,
        )
        record_event(
            PUBLIC_ACTOR, Action.CREATE, f"consultation request #{consultation.pk} submitted"
        )
    return consultation


def _open_for_update(consultation_id: int) -> ConsultationRequest:
    """The request, locked; AlreadyHandled when it is no longer open.
    ConsultationRequest.DoesNotExist when there is none."""
    consultation = ConsultationRequest.objects.select_for_update().get(pk=consultation_id)
    if not consultation.is_open:
        raise AlreadyHandled(consultation)
    return consultation


def convert_request(
    actor: Actor,
    consultation_id: int,
    *,
    given_name: str,
    family_name: str,
    birth_date: date,
    sex_at_birth: str,
    email: str = "",
    phone: str = "",
    care_status: str = CareStatus.INQUIRY,
) -> Patient:
    """Create the patient a request is about and link the two. Once only: AlreadyHandled
    after. FieldInvalid (``create_patient``'s) for a name or a birth date the record refuses;
    nothing is written then."""
    with transaction.atomic():
        consultation = _open_for_update(consultation_id)
        patient = create_patient(
            actor,
            given_name=given_name,
            family_name=family_name,
            birth_date=birth_date,
            sex_at_birth=sex_at_birth,
            email=email,
            phone=phone,
            preferred_contact=consultation.preferred_contact,
            care_status=care_status,
            is_synthetic=consultation.is_synthetic,
        )
        consultation.status = RequestStatus.CONVERTED
        consultation.patient = patient
        consultation.handled_at = timezone.now()
        consultation.handled_by_id = actor.user_id
        consultation.save()
        record_event(
            actor,
            Action.UPDATE,
            f"consultation request #{consultation.pk} converted to patient {patient.mrn}",
            patient_id=patient.pk,
        )
    return patient


def close_request(actor: Actor, consultation_id: int, *, reason: str) -> ConsultationRequest:
    """Close a request without a patient, with the reason why (FieldInvalid ``required``
    without one). Once only: AlreadyHandled after."""
    reason = reason.strip()
    if not reason:
        raise FieldInvalid("reason", "required", "say why the request is closed.")
    with transaction.atomic():
        consultation = _open_for_update(consultation_id)
        consultation.status = RequestStatus.CLOSED
        consultation.close_reason = reason[:500]
        consultation.handled_at = timezone.now()
        consultation.handled_by_id = actor.user_id
        consultation.save()
        record_event(actor, Action.UPDATE, f"consultation request #{consultation.pk} closed")
    return consultation


# A callback logged a little ahead of the clock (a device's time) is kept; further ahead it is
# a typing mistake.
CALLBACK_FUTURE_TOLERANCE = timedelta(minutes=5)


def log_callback(
    actor: Actor,
    consultation_id: int,
    *,
    outcome: str,
    attempted_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> CallbackAttempt:
    """Log one attempt to call the person back (any request, open or handled: the log is its
    history). FieldInvalid for an unknown ``outcome``, an ``attempted_at`` in the future or a
    ``note`` over NOTE_MAX_LENGTH characters; NotFound (``consultation_id``) for no such
    request."""
    now = now or timezone.now()
    attempted_at = attempted_at or now
    if outcome not in CallbackOutcome.values:
        raise FieldInvalid(
            "outcome", "one_of", f"must be one of {', '.join(CallbackOutcome.values)}"
        )
    if attempted_at > now + CALLBACK_FUTURE_TOLERANCE:
        raise FieldInvalid("attempted_at", "in_future", "must not be in the future")
    note = note.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise FieldInvalid(
            "note", "too_long", f"must be at most {NOTE_MAX_LENGTH} characters (has {len(note)})"
        )
    with transaction.atomic():
        consultation = (
            ConsultationRequest.objects.select_for_update().filter(pk=consultation_id).first()
        )
        if consultation is None:
            raise NotFound("consultation_id", f"No consultation request #{consultation_id}.")
        attempt = CallbackAttempt.objects.create(
            consultation=consultation,
            attempted_at=attempted_at,
            by_id=actor.person_id,
            outcome=outcome,
            note=note,
        )
        record_event(
            actor,
            Action.CREATE,
            f"consultation request #{consultation.pk} callback: {attempt.get_outcome_display()}",
            patient_id=consultation.patient_id,
        )
    return attempt
