"""Thin views of sign-in security: the second factor (enrol, verify, recovery codes), the
session's logoff status, and Django's password change and reset with audit entries. Access is
decided by the policy middleware; `SecondFactorMiddleware` lets a session that has not passed
its second factor reach only the factor's own pages."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from kapcare.accounts import idle, mfa
from kapcare.accounts.forms import CodeForm
from kapcare.accounts.models import User
from kapcare.accounts.signin import page_after_sign_in
from kapcare.assessments.conf import base_url
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.errors import Refused
from kapcare.web.errors import add_form_errors, page_status


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _next(request: HttpRequest) -> str:
    return request.POST.get("next") or request.GET.get("next") or ""


def _passed(request: HttpRequest, device: Any) -> None:
    """The session has passed its second factor: a new session key, so one taken before the
    second step is worth nothing after it."""
    request.session.cycle_key()
    otp_login(request, device)
    request.session[mfa.HAS_FACTOR_SESSION_KEY] = True


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app (scan the code, confirm with the code it shows; the
    recovery codes are then shown once), or, once set up, what is set up."""
    user = _user(request)
    enrolled = mfa.app_device(user)
    if enrolled is not None:
        context = {"device": enrolled, "codes_left": mfa.recovery_codes_left(user)}
        return render(request, "registration/second_factor.html", context)
    form = CodeForm(request.POST or None)
    status = 200
    if form.is_valid():
        try:
            device, codes = mfa.confirm_enrolment(
                Actor.from_request(request), user, form.cleaned_data["code"]
            )
        except Refused as error:
            add_form_errors(form, error)
            status = page_status(error)
        else:
            _passed(request, device)
            context = {"codes": codes, "next": page_after_sign_in(request, _next(request))}
            return render(request, "registration/recovery_codes.html", context, status=201)
    elif request.method == "POST":
        status = 400
    pending = mfa.start_enrolment(user)
    context = {
        "form": form,
        "qr": mfa.enrolment_qr_data_uri(pending),
        "secret": mfa.base32_secret(pending),
        "required": mfa.must_enrol(user),
        "next": _next(request),
    }
    return render(request, "registration/second_factor.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or a recovery code."""
    user = _user(request)
    if getattr(user, "otp_device", None) is not None:
        return redirect(page_after_sign_in(request, _next(request)))
    if mfa.app_device(user) is None and mfa.recovery_codes_left(user) == 0:
        # Reset by the clinic admin since this session signed in: nothing to verify.
        request.session[mfa.HAS_FACTOR_SESSION_KEY] = False
        return redirect(page_after_sign_in(request, _next(request)))
    form = CodeForm(request.POST or None)
    status = 200
    if form.is_valid():
        try:
            device = mfa.verify_second_factor(
                Actor.from_request(request), user, form.cleaned_data["code"]
            )
        except Refused as error:
            add_form_errors(form, error)
            status = page_status(error)
        else:
            _passed(request, device)
            if mfa.recovery_codes_left(user) <= 2:
                messages.warning(
                    request,
                    "You have few recovery codes left: make new ones on the second factor page.",
                )
            return redirect(page_after_sign_in(request, _next(request)))
    elif request.method == "POST":
        status = 400
    context = {"form": form, "next": _next(request)}
    return render(request, "registration/verify.html", context, status=status)


@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once; the old ones stop working."""
    try:
        codes = mfa.regenerate_recovery_codes(Actor.from_request(request), _user(request))
    except Refused as error:
        messages.error(request, error.message)
        return redirect("accounts:second_factor")
    context = {"codes": codes, "next": page_after_sign_in(request, "")}
    return render(request, "registration/recovery_codes.html", context, status=201)


@never_cache
@require_GET
def session_status(request: HttpRequest) -> JsonResponse:
    """For the logoff warning (kapcare/idle.js): whether the session is on and how long it has
    left. Asked in the background it keeps nothing alive; asked plainly ("Stay signed in"), it
    is activity like any page."""
    signed_in = bool(request.user.is_authenticated)
    left = idle.seconds_left(request) if signed_in else 0
    return JsonResponse({"signed_in": signed_in, "seconds_left": left})


# --- passwords: Django's views, with kapcare's templates and an audit entry each -------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)  # saves, and keeps this session signed in
            record_event(Actor.from_request(self.request), Action.PASSWORD, "password changed")
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"


class AuditedPasswordResetForm(PasswordResetForm):
    """Django's form; each link sent is an audit entry of the user it is for."""

    def send_mail(self, *args: Any, **kwargs: Any) -> None:
        super().send_mail(*args, **kwargs)
        user = args[2]["user"]  # the context Django's save() passes
        record_event(Actor.for_user(user), Action.PASSWORD, "password reset link sent")


class PasswordResetView(auth_views.PasswordResetView):
    """The link goes to KAPCARE_BASE_URL, never to the Host the request named (an attacker's
    request could otherwise send a user a link to the attacker's site)."""

    form_class = AuditedPasswordResetForm
    template_name = "registration/password_forgotten.html"
    email_template_name = "registration/password_reset_link.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"base_url": base_url()}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_forgotten_sent.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        hours = max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)
        return {**super().get_context_data(**kwargs), "timeout_hours": hours}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_new.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            actor = Actor.for_user(form.user, self.request)
            record_event(actor, Action.PASSWORD, "password reset with an emailed link")
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_new_done.html"
