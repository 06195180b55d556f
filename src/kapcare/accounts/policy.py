"""The access policy: which roles may use every HTML route and every API operation.

This is the one place access is decided. `AccessPolicyMiddleware` applies `HTML_ROUTES` to every
resolved URL; `kapcare.api.routing.endpoint` applies `API_OPERATIONS` to every API operation. A
route or operation missing from here is refused, and a test walks every URL pattern and every
API operation so that none can be added without a rule.

It also declares which routes and operations show patient data (`PATIENT_READS`, with what the
access log calls each read) and which do not (`NO_PATIENT_READS`); `kapcare.audit.reads` logs
the declared reads, and a test walks every route and operation against these two as well.
"""

from __future__ import annotations

from typing import Final

from kapcare.accounts.roles import ALL_ROLES, CLINICAL, STAFF, Role


class Public:
    """Marker: no sign-in needed (the login page, the public consultation form)."""

    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC: Final = Public()
Rule = frozenset[str] | Public

ADMIN_ONLY: Final = frozenset({Role.CLINIC_ADMIN})
PRESCRIBER_ONLY: Final = frozenset({Role.PRESCRIBER})
PATIENT_ONLY: Final = frozenset({Role.PATIENT})

# The routes that put a clinician's signature on a record. A POST to one asks for the signer's
# password again when they last gave it longer ago than KAPCARE_REAUTH_SIGN_MINUTES
# (kapcare.accounts.reauth).
SIGNING_ROUTES: Final = frozenset(
    {"dosing:order_sign", "dosing:note_sign", "integration:note_sign"}
)
# The controlled-substance ledger: therapists and the front desk have no access.
LEDGER_STAFF: Final = frozenset({Role.CLINIC_ADMIN, Role.NURSE, Role.PRESCRIBER})
FRONT_DESK_ONLY: Final = frozenset({Role.FRONT_DESK})

# Keyed by Django view name ("namespace:name"); "namespace:*" covers a whole namespace.
HTML_ROUTES: Final[dict[str, Rule]] = {
    "web:login": PUBLIC,
    "web:favicon": PUBLIC,
    "web:logout": ALL_ROLES,
    "web:home": ALL_ROLES,
    "web:today": STAFF,
    # The patient's own start page: it shows only the record linked to the signed-in patient.
    "web:patient_home": PATIENT_ONLY,
    "web:patient_list": STAFF,
    "web:profile": ALL_ROLES,
    # Education and planning: staff explain routes and timing, patients learn what to expect.
    "web:pk_explorer": ALL_ROLES,
    "web:token_create": ALL_ROLES - {Role.PATIENT},
    # --- sign-in security (kapcare.accounts) ---
    # Everyone may set up a second factor (staff must, under KAPCARE_REQUIRE_MFA) and change
    # their password; SecondFactorMiddleware admits a session not yet past its second factor
    # to the factor's pages only.
    "accounts:second_factor": ALL_ROLES,
    "accounts:recovery_codes": ALL_ROLES,
    "accounts:verify": ALL_ROLES,
    "accounts:password_change": ALL_ROLES,
    "accounts:password_change_done": ALL_ROLES,
    # The logoff warning asks whether the session is still on: a signed-out answer too.
    "accounts:session_status": PUBLIC,
    # A forgotten password: the emailed link is the credential.
    "accounts:password_reset": PUBLIC,
    "accounts:password_reset_done": PUBLIC,
    "accounts:password_reset_confirm": PUBLIC,
    "accounts:password_reset_complete": PUBLIC,
    "web:token_revoke": ALL_ROLES - {Role.PATIENT},
    # Every user's API tokens, and revoking any of them: the clinic admin.
    "tokens:all": ADMIN_ONLY,
    "tokens:revoke": ADMIN_ONLY,
    # --- patient record and intake (kapcare.patients, kapcare.intake) ---
    # The chart holds the clinical record: clinical roles only. Demographics: all staff.
    "patients:chart": CLINICAL,
    "patients:chart_record": CLINICAL,
    "patients:details": STAFF,
    "patients:edit_contacts": STAFF,
    "patients:record_add": CLINICAL,
    "patients:medication_stop": CLINICAL,
    "patients:consent_sign": CLINICAL,
    # Registering a patient directly (not from a consultation request): the front desk, with
    # the clinic admin as back-up, as for converting a request.
    "patients:register": frozenset({Role.FRONT_DESK, Role.CLINIC_ADMIN}),
    "intake:intake_form": CLINICAL,
    "intake:review": PRESCRIBER_ONLY,
    # --- consultation requests (kapcare.consultations) ---
    # The public form and its thank-you page need no sign-in. The queue (and converting or
    # closing a request) is the front desk's work, with the clinic admin as back-up; clinicians
    # meet the person once they are a patient.
    "consultations:request": PUBLIC,
    "consultations:thanks": PUBLIC,
    "consultations:queue": frozenset({Role.FRONT_DESK, Role.CLINIC_ADMIN}),
    "consultations:convert": frozenset({Role.FRONT_DESK, Role.CLINIC_ADMIN}),
    "consultations:close": frozenset({Role.FRONT_DESK, Role.CLINIC_ADMIN}),
    "consultations:detail": frozenset({Role.FRONT_DESK, Role.CLINIC_ADMIN}),
    "consultations:callback": frozenset({Role.FRONT_DESK, Role.CLINIC_ADMIN}),
    # --- measurement-based care and alerts (kapcare.assessments) ---
    "assessments:patient_assessments": CLINICAL,
    "assessments:record": CLINICAL,
    "assessments:detail": CLINICAL,
    "assessments:trajectory": CLINICAL,
    "assessments:link_create": CLINICAL,
    "assessments:schedule_create": CLINICAL,
    "assessments:schedule_end": CLINICAL,
    "assessments:alerts": CLINICAL,
    "assessments:alert_acknowledge": CLINICAL,
    # A patient's single-use questionnaire link: the token is the credential.
    "assessments:home_link": PUBLIC,
    # --- protocols, courses, scheduling and calendar feeds (kapcare.courses) ---
    # Protocols hold no patient data: clinicians read them, the clinic admin changes them.
    "courses:protocols": CLINICAL | ADMIN_ONLY,
    "courses:protocol": CLINICAL | ADMIN_ONLY,
    "courses:protocol_create": ADMIN_ONLY,
    "courses:protocol_edit": ADMIN_ONLY,
    # Rooms and chairs are clinic settings.
    "courses:resources": ADMIN_ONLY,
    "courses:resource_edit": ADMIN_ONLY,
    # Planning a course (and adding boosters) is the prescriber's treatment plan; the course
    # page (snapshot, sessions, scores) is clinical.
    "courses:plan": PRESCRIBER_ONLY,
    "courses:add_booster": PRESCRIBER_ONLY,
    "courses:course": CLINICAL,
    # Bookings are the front desk's work as much as the clinicians': no clinical detail here.
    "courses:reschedule": CLINICAL | {Role.FRONT_DESK},
    "courses:patient_appointments": CLINICAL | {Role.FRONT_DESK},
    # Booking and each status move (arrived, did not attend, cancelled, done) are the front
    # desk's; clinicians see the appointments (the clinic admin keeps to settings here).
    "courses:appointment_book": FRONT_DESK_ONLY,
    "courses:appointment_arrive": FRONT_DESK_ONLY,
    "courses:appointment_no_show": FRONT_DESK_ONLY,
    "courses:appointment_cancel": FRONT_DESK_ONLY,
    "courses:appointment_done": FRONT_DESK_ONLY,
    "courses:patient_feed_create": CLINICAL | {Role.FRONT_DESK},
    # The day view: each staff role sees its own cut of the day.
    "courses:day": STAFF,
    # A staff member's own calendar feed; revoking also covers patients' feeds (checked in
    # the view: front desk and clinical roles only).
    "courses:my_calendar": STAFF,
    "courses:my_feed_create": STAFF,
    "courses:feed_revoke": STAFF,
    # The .ics address: calendar apps cannot sign in, the secret token is the credential.
    "courses:feed": PUBLIC,
    # --- dosing sessions (kapcare.dosing) ---
    # The session record is clinical: every step is open to clinical roles, and the services
    # enforce what only a prescriber may do (sign an order, override a requirement).
    "dosing:session": CLINICAL,
    "dosing:transition": CLINICAL,
    "dosing:checklist": CLINICAL,
    "dosing:centering": CLINICAL,
    "dosing:order_preview": CLINICAL,
    "dosing:order_sign": CLINICAL,
    "dosing:administration": CLINICAL,
    "dosing:start_dosing": CLINICAL,
    "dosing:stop_dosing": CLINICAL,
    "dosing:device": CLINICAL,
    "dosing:vitals": CLINICAL,
    "dosing:vitals_reminder": CLINICAL,
    "dosing:vital_alert_acknowledge": CLINICAL,
    "dosing:side_effect": CLINICAL,
    "dosing:intervention": CLINICAL,
    "dosing:score": CLINICAL,
    "dosing:discharge": CLINICAL,
    "dosing:reflection": CLINICAL,
    "dosing:note": CLINICAL,
    "dosing:note_sign": CLINICAL,
    "dosing:note_amend": CLINICAL,
    "dosing:rems_pdf": CLINICAL,
    # --- integration sessions and journal (kapcare.integration) ---
    # Integration notes, the journal and the timeline are the clinical record.
    "integration:timeline": CLINICAL,
    "integration:chart_timeline": CLINICAL,
    "integration:note_create": CLINICAL,
    "integration:note": CLINICAL,
    "integration:note_edit": CLINICAL,
    "integration:note_sign": CLINICAL,
    "integration:note_amend": CLINICAL,
    "integration:journal_create": CLINICAL,
    "integration:journal_entry": CLINICAL,
    # --- the controlled-substance ledger (kapcare.ledger) ---
    # The clinic admin manages stock, counts, losses and inventories; a prescriber also
    # resolves a discrepancy and reads the reports.
    "ledger:home": ADMIN_ONLY,
    "ledger:receipt": ADMIN_ONLY,
    "ledger:count": ADMIN_ONLY,
    "ledger:adjust": ADMIN_ONLY,
    "ledger:discrepancy_resolve": ADMIN_ONLY | PRESCRIBER_ONLY,
    "ledger:loss_filed": ADMIN_ONLY,
    "ledger:inventory_take": ADMIN_ONLY,
    "ledger:report": ADMIN_ONLY | PRESCRIBER_ONLY,
    # The registrant's set-up: registrations, storage locations, products.
    "ledger:setup": ADMIN_ONLY,
    "ledger:registration_add": ADMIN_ONLY,
    "ledger:registration_renew": ADMIN_ONLY,
    "ledger:location_add": ADMIN_ONLY,
    "ledger:location_serves": ADMIN_ONLY,
    "ledger:product_add": ADMIN_ONLY,
    "ledger:product_ndc": ADMIN_ONLY,
    # Django's admin is the clinic admin's tool for staff and settings.
    "admin:*": ADMIN_ONLY,
    # The API's description and docs hold no patient data; integrators read them unsigned.
    "api:openapi-json": PUBLIC,
    "api:openapi-view": PUBLIC,
    "api:api-root": PUBLIC,
}

# The namespace of the JSON API; its operations are ruled by API_OPERATIONS, the rest of it
# (schema and docs) by HTML_ROUTES.
API_NAMESPACE: Final = "api"

# Keyed by the API operation_id.
API_OPERATIONS: Final[dict[str, frozenset[str]]] = {
    "whoami": ALL_ROLES,
    # --- patient record and intake (kapcare.patients, kapcare.intake) ---
    "list_patients": STAFF,
    "create_patient": STAFF,
    # Demographics and contacts: the front desk too.
    "get_patient": STAFF,
    "screen_patient": CLINICAL,
    # Accepting or overriding an eligibility verdict is a prescriber's decision.
    "review_screening": PRESCRIBER_ONLY,
    # --- consultation requests (kapcare.consultations) ---
    "list_consultation_requests": frozenset({Role.FRONT_DESK, Role.CLINIC_ADMIN}),
    # --- measurement-based care and alerts (kapcare.assessments) ---
    "record_assessment": CLINICAL,
    "list_assessments": CLINICAL,
    "list_alerts": CLINICAL,
    "acknowledge_alert": CLINICAL,
    # --- protocols, courses and scheduling (kapcare.courses) ---
    # Planning a course is the prescriber's treatment plan.
    "plan_course": PRESCRIBER_ONLY,
    "list_courses": CLINICAL,
    # Protocols hold no patient data; the front desk schedules from them.
    "list_protocols": STAFF,
    # Booking and the status moves: the front desk's, as on the pages.
    "book_appointment": FRONT_DESK_ONLY,
    "cancel_appointment": FRONT_DESK_ONLY,
    "mark_appointment_arrived": FRONT_DESK_ONLY,
    "mark_appointment_no_show": FRONT_DESK_ONLY,
    # --- dosing sessions (kapcare.dosing) ---
    # The session record is clinical; the services enforce what only a prescriber may do
    # (sign an order, override a requirement).
    "get_session": CLINICAL,
    "list_session_vitals": CLINICAL,
    "record_session_vitals": CLINICAL,
    "acknowledge_vital_alert": CLINICAL,
    "transition_session": CLINICAL,
    "save_session_checklist": CLINICAL,
    "save_session_centering": CLINICAL,
    "sign_session_order": CLINICAL,
    "record_session_administration": CLINICAL,
    "record_session_device": CLINICAL,
    "add_session_side_effect": CLINICAL,
    "add_session_intervention": CLINICAL,
    "add_session_score": CLINICAL,
    "assess_session_discharge": CLINICAL,
    "save_session_reflection": CLINICAL,
    "save_session_note": CLINICAL,
    "sign_session_note": CLINICAL,
    "amend_session_note": CLINICAL,
    # --- the controlled-substance ledger (kapcare.ledger) ---
    # The clinic admin manages receipts and stock; nurses and prescribers draw, give, waste
    # and witness (the services say which adjustment each role may make).
    "record_ledger_receipt": ADMIN_ONLY,
    "list_ledger_containers": LEDGER_STAFF,
    "record_ledger_withdrawal": frozenset({Role.NURSE, Role.PRESCRIBER}),
    "record_ledger_adjustment": LEDGER_STAFF,
    "list_ledger_products": LEDGER_STAFF,
    "list_ledger_entries": LEDGER_STAFF,
}

# --- reads of patient data ---------------------------------------------------------------------
# Every HTML route (view name) and API operation (operation id) is in one of the two below.
# A name ending in "*" covers every name it starts; the longest declaration that covers a name
# wins. The routes and operations in PATIENT_READS log each patient their answer shows
# (kapcare.audit.reads); the value is what the access log calls the read, with the route's URL
# parameters filled in ("{day}").
PATIENT_READS: Final[dict[str, str]] = {
    "web:today": "today page",
    "web:patient_list": "patient list",
    "web:patient_home": "patient home",
    "patients:chart": "patient chart",
    "patients:chart_record": "patient record",
    "patients:details": "patient demographics",
    "patients:edit_contacts": "patient contacts form",
    "patients:consent_sign": "consent form {template_id}",
    "intake:intake_form": "intake form",
    "assessments:patient_assessments": "assessments page",
    "assessments:record": "assessment form {instrument}",
    "assessments:detail": "assessment detail",
    "assessments:trajectory": "trajectory chart",
    # Creating a link or a schedule answers with the assessments page (the link shown once,
    # or the form again with its errors).
    "assessments:link_create": "assessments page",
    "assessments:schedule_create": "assessments page",
    "assessments:alerts": "alert inbox",
    "assessments:alert_acknowledge": "alert",
    "assessments:home_link": "home link questionnaire opened",
    "courses:plan": "course planning",
    "courses:course": "treatment course",
    "courses:add_booster": "treatment course",
    "courses:reschedule": "appointment",
    "courses:patient_appointments": "patient appointments",
    "courses:patient_feed_create": "patient appointments",
    # A refused booking answers with the appointments page and the form again.
    "courses:appointment_book": "patient appointments",
    "courses:day": "day view {day}",
    "courses:feed": "calendar feed",
    # Each step of a dosing session answers a refused or invalid entry with the session page.
    "dosing:*": "dosing session page",
    "dosing:order_preview": "dose order preview",
    "dosing:vitals": "dosing session vitals",
    "dosing:vital_alert_acknowledge": "dosing session vitals",
    "dosing:vitals_reminder": "vitals reminder",
    "dosing:rems_pdf": "REMS monitoring record PDF",
    "integration:timeline": "patient timeline",
    "integration:chart_timeline": "patient chart timeline",
    "integration:note_create": "integration note form",
    "integration:note": "integration note",
    # Editing a signed note is refused with the note's page; amending answers a refusal with
    # the note's page too.
    "integration:note_edit": "integration note form",
    "integration:note_amend": "integration note",
    "integration:journal_create": "journal entry form",
    "integration:journal_entry": "journal entry",
    # Ledger entries name the patient each withdrawal was for.
    "list_ledger_entries": "API ledger entries",
    "ledger:report": "ledger report",
    # Django's admin pages of patients, of converted consultation requests and of patients'
    # sign-ins (kapcare.audit.reads.PatientReadsAdmin).
    "admin:patients_patient_*": "admin patient record",
    "admin:consultations_consultationrequest_*": "admin consultation request",
    "admin:accounts_user_*": "admin user account",
    # --- API operations ---
    "list_patients": "API patient list",
    "get_patient": "API patient demographics",
    "list_assessments": "API assessments list",
    "list_alerts": "API alert list",
    "list_courses": "API treatment courses",
    "get_session": "API dosing session",
    "list_session_vitals": "API dosing session vitals",
}

NO_PATIENT_READS: Final[frozenset[str]] = frozenset(
    {
        # No patient data.
        "web:login",
        "web:favicon",
        "web:logout",
        "web:home",
        "web:profile",
        "web:pk_explorer",
        "web:token_create",
        "web:token_revoke",
        "tokens:all",
        "tokens:revoke",
        "accounts:*",
        "courses:protocols",
        "courses:protocol",
        "courses:protocol_create",
        "courses:protocol_edit",
        "courses:resources",
        "courses:resource_edit",
        "courses:my_calendar",
        "courses:my_feed_create",
        "api:openapi-json",
        "api:openapi-view",
        "api:api-root",
        "whoami",
        "list_protocols",
        # Django's admin beyond the pages above: staff, tokens, groups, the audit trail itself,
        # sign-in attempts; the empty forms that add a patient or a user; and the pages the
        # consultation requests' admin refuses (it is read-only).
        "admin:*",
        "admin:patients_patient_add",
        "admin:accounts_user_add",
        "admin:consultations_consultationrequest_add",
        "admin:consultations_consultationrequest_delete",
        # Writes that answer with a redirect: the write's own audit entry names the patient.
        "patients:record_add",
        "patients:medication_stop",
        "intake:review",
        "assessments:schedule_end",
        "courses:feed_revoke",
        "courses:appointment_arrive",
        "courses:appointment_no_show",
        "courses:appointment_cancel",
        "courses:appointment_done",
        # The empty registration form; saving it answers with a redirect.
        "patients:register",
        "integration:note_sign",
        # API writes: they answer with the record as written, and the write's own audit entry
        # (create or update, with the patient) logs it.
        "create_patient",
        "screen_patient",
        "review_screening",
        "record_assessment",
        "acknowledge_alert",
        "plan_course",
        "book_appointment",
        "cancel_appointment",
        "mark_appointment_arrived",
        "mark_appointment_no_show",
        "transition_session",
        "save_session_checklist",
        "save_session_centering",
        "sign_session_order",
        "record_session_administration",
        "record_session_device",
        "record_session_vitals",
        "acknowledge_vital_alert",
        "add_session_side_effect",
        "add_session_intervention",
        "add_session_score",
        "assess_session_discharge",
        "save_session_reflection",
        "save_session_note",
        "sign_session_note",
        "amend_session_note",
        # The ledger: no patient data (stock), or writes whose audit entry names the patient.
        "record_ledger_receipt",
        "list_ledger_containers",
        "record_ledger_withdrawal",
        "record_ledger_adjustment",
        "list_ledger_products",
        "ledger:home",
        "ledger:receipt",
        "ledger:count",
        "ledger:adjust",
        "ledger:discrepancy_resolve",
        "ledger:loss_filed",
        "ledger:inventory_take",
        "ledger:setup",
        "ledger:registration_add",
        "ledger:registration_renew",
        "ledger:location_add",
        "ledger:location_serves",
        "ledger:product_add",
        "ledger:product_ndc",
        # Consultation requests are no patients yet: each request shown is logged by
        # kapcare.consultations.services.record_reads.
        "consultations:*",
        "list_consultation_requests",
    }
)

__all__ = [
    "ADMIN_ONLY",
    "API_NAMESPACE",
    "API_OPERATIONS",
    "CLINICAL",
    "HTML_ROUTES",
    "NO_PATIENT_READS",
    "PATIENT_READS",
    "PUBLIC",
    "Public",
    "Rule",
    "html_rule",
    "patient_read",
    "read_declaration",
    "role_may_view",
]


def html_rule(view_name: str) -> Rule | None:
    """The rule for a Django view name, or None when the policy has none (then: refuse)."""
    if view_name in HTML_ROUTES:
        return HTML_ROUTES[view_name]
    namespace, _, _ = view_name.rpartition(":")
    if namespace:
        return HTML_ROUTES.get(f"{namespace}:*")
    return None


def role_may_view(view_name: str, role: str | None) -> bool:
    """True when the policy lets `role` use the page `view_name` (public pages: anyone)."""
    rule = html_rule(view_name)
    if isinstance(rule, Public):
        return True
    return rule is not None and role in rule


def _declared_as(name: str) -> str:
    """The declaration (in PATIENT_READS or NO_PATIENT_READS) that covers `name`."""
    if name in PATIENT_READS or name in NO_PATIENT_READS:
        return name
    covering = [
        key
        for key in (*PATIENT_READS, *NO_PATIENT_READS)
        if key.endswith("*") and name.startswith(key[:-1])
    ]
    if not covering:
        raise KeyError(f"{name}: declare it in policy.PATIENT_READS or policy.NO_PATIENT_READS")
    return max(covering, key=len)


def read_declaration(name: str) -> str | None:
    """What the access log calls a read through `name` (a view name or an API operation id),
    or None when it shows no patient data. KeyError when it is declared in neither."""
    return PATIENT_READS.get(_declared_as(name))


def patient_read(name: str) -> str:
    """As `read_declaration`, for a route or operation that must be declared as a read."""
    what = read_declaration(name)
    if what is None:
        raise KeyError(f"{name}: logs patient reads but policy.PATIENT_READS does not name it")
    return what
