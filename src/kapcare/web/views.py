"""Thin HTML views: they call selectors and services and render templates. Access is
decided by the policy middleware before any view runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import RedirectView

from kapcare.accounts.models import User
from kapcare.accounts.roles import CLINICAL, Role
from kapcare.accounts.services import create_api_token, revoke_api_token
from kapcare.accounts.signin import landing_page, page_after_sign_in
from kapcare.audit.reads import reads_patient_data, shown
from kapcare.audit.services import Actor
from kapcare.courses.models import Appointment, AppointmentStatus
from kapcare.errors import NotFound, Refused
from kapcare.patients.models import Patient
from kapcare.patients.selectors import search_patients
from kapcare.pk_report import DISCLAIMER
from kapcare.web.errors import page_messages, page_status
from kapcare.web.pk_explorer import explore
from kapcare.web.sections import is_htmx
from kapcare.web.worklist import worklist

PATIENTS_PER_PAGE = 25
# A search counts at most this many matches: counting every match of a short search reads the
# whole patient table, and a search matching more than this is refined, not paged through.
SEARCH_MATCHES_COUNTED = 100


class CappedPaginator(Paginator):
    """Counts at most ``cap`` objects (``capped`` says there were more); pages past the cap
    are not offered."""

    def __init__(self, matches: QuerySet[Any], per_page: int, cap: int) -> None:
        super().__init__(matches, per_page)
        self.matches = matches
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        found = self.matches[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)


def _user(request: HttpRequest) -> User:
    # The policy middleware has already refused anonymous users on these pages.
    return cast(User, request.user)


class SignInView(LoginView):
    """Django's sign-in page. Each role lands on a page it may see: its own start page, or
    the ``?next=`` page when the policy lets the role see it (else it would land on a 403)."""

    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        return page_after_sign_in(self.request, self.get_redirect_url())


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect(landing_page(_user(request).role))


@reads_patient_data
@require_GET
def patient_home(request: HttpRequest) -> HttpResponse:
    """The patient's own start page: their upcoming appointments. It takes no patient id: it
    shows the record linked to the signed-in patient, and no other."""
    patient = Patient.objects.filter(user=_user(request)).first()
    appointments: list[Appointment] = []
    if patient is not None:
        appointments = list(
            Appointment.objects.filter(patient=patient, ends_at__gte=timezone.now())
            .exclude(status=AppointmentStatus.CANCELLED)
            .select_related("resource")
            .order_by("starts_at", "id")
        )
        shown(request, [patient.pk])
    context = {"patient": patient, "appointments": appointments}
    return render(request, "web/patient_home.html", context)


@reads_patient_data
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    from kapcare.assessments.selectors import today_context
    from kapcare.courses.views import day_context

    context: dict[str, object] = {"today": timezone.localdate()}
    if _user(request).role in CLINICAL:
        # Due and overdue scales, open alerts and the work list are clinical: not for the
        # front desk.
        mbc = today_context(_user(request))
        work = worklist(_user(request))
        context.update(mbc, worklist=work)
        shown(request, [*mbc["mbc_patient_ids"], *work.patient_ids])
    elif _user(request).role == Role.CLINIC_ADMIN:
        # The ledger's open discrepancies and unfiled losses (no patient data).
        context["worklist"] = worklist(_user(request))
    # The day's schedule as the user's role sees it (it hands over its patients itself).
    context.update(day_context(request, timezone.localdate()))
    return render(request, "web/today.html", context)


@dataclass(frozen=True)
class PatientRow:
    """One line of the patient list, formatted here once: per-row template tags and filters
    ({% url %}, |date, the role test) cost more than the rest of the page together."""

    patient: Patient
    href: str
    birth_date: str
    sex_at_birth: str


def _patient_href(view_name: str) -> Callable[[int], str]:
    """The URL of a per-patient view for any patient id, reversed once: every row of a page
    links to the same view, and a reverse() per row was a tenth of the list's time."""
    marker = str(2**62)  # no patient has this id, so it occurs once in the reversed URL
    before, after = reverse(view_name, kwargs={"patient_id": marker}).split(marker)
    return lambda patient_id: f"{before}{patient_id}{after}"


@reads_patient_data
@require_GET
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    patients = search_patients(query)
    paginator = (
        CappedPaginator(patients, PATIENTS_PER_PAGE, SEARCH_MATCHES_COUNTED)
        if query
        else Paginator(patients, PATIENTS_PER_PAGE)
    )
    page = paginator.get_page(request.GET.get("page"))
    on_page = list(page)
    shown(request, (patient.pk for patient in on_page), detail=f"q={query!r}")
    # Clinicians open the chart; the rest of the staff the demographics page.
    link = "patients:chart" if _user(request).role in CLINICAL else "patients:details"
    href = _patient_href(link)
    rows = [
        PatientRow(
            patient=patient,
            href=href(patient.pk),
            birth_date=patient.birth_date.isoformat(),
            sex_at_birth=patient.get_sex_at_birth_display(),
        )
        for patient in on_page
    ]
    context = {"page": page, "rows": rows, "query": query, "today": timezone.localdate()}
    # HTMX live search swaps only the results.
    template = "web/_patient_results.html" if is_htmx(request) else "web/patient_list.html"
    return render(request, template, context)


@require_GET
def pk_explorer(request: HttpRequest) -> HttpResponse:
    """Compare predicted concentration curves of regimens (education and planning only)."""
    exploration = explore(request.GET.dict())
    context = {"exploration": exploration, "disclaimer": DISCLAIMER}
    status = 200 if exploration.valid else 400
    return render(request, "web/pk_explorer.html", context, status=status)


def _profile(request: HttpRequest, new_token: str | None = None, status: int = 200) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "web/profile.html",
        {"tokens": user.api_tokens.all(), "new_token": new_token},
        status=status,
    )


@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    return _profile(request)


@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    try:
        _token, raw = create_api_token(
            Actor.from_request(request), _user(request), request.POST.get("name", "")
        )
    except Refused as error:
        for message in page_messages(error):
            messages.error(request, message)
        return _profile(request, status=page_status(error))
    # Rendered, not redirected: the secret is shown this once and never again.
    return _profile(request, new_token=raw, status=201)


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = revoke_api_token(Actor.from_request(request), _user(request), token_id)
    except NotFound as missing:
        raise Http404(missing.message) from missing
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("web:profile")


class Favicon(RedirectView):
    """/favicon.ico, asked for by browsers on every page: the static icon. Its address is found
    per request, since the hashed name exists only once the static files are collected."""

    permanent = True

    def get_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        return static("kapcare/favicon.svg")
