"""Reads of patient data are logged here, in one way for every page, API operation and admin
page. ``kapcare.audit.services.record_access`` stays the low-level appender this writes with.

1. Declare. ``kapcare.accounts.policy.PATIENT_READS`` names every HTML route (Django view
   name) and API operation (operation id) whose answer shows patient data, with what the access
   log calls the read; ``policy.NO_PATIENT_READS`` names all the others. A test walks every
   route and operation: one declared in neither fails it, and every declared read is requested
   with demo data and fails it when it leaves no access-log entry for the patient it showed.

2. Decorate the view, or the API operation's function, with ``@reads_patient_data`` (for the
   API, above ``@endpoint``: it wraps what the operation calls). When the view has answered
   with the record (a page, a form shown again with its errors, API data), one access-log entry
   per patient shown is written, in one append for the request. A redirect, a "not found" or
   "gone" page and an exception (a 404 raised, a refused API call) log nothing.

3. Say which patients. A ``patient_id`` URL or path parameter is taken as shown. Any other
   patient the answer shows, the view hands over with ``shown(request, patient_ids)``: the
   patients of a list, or the patient of an object found by its own id (a note, an assessment,
   a dosing session). ``shown`` raises in a view that is not decorated, so that no read is
   handed over to nothing.

Django's admin: a ModelAdmin based on ``PatientReadsAdmin`` does 2 and 3 for each of its pages
that the policy declares as a read (list, change, history, delete): the patients are those of
the objects the page shows (``patient_ids``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.http import HttpRequest
from django.urls import URLPattern

from kapcare.accounts.policy import patient_read, read_declaration
from kapcare.audit.services import Actor, record_access

View = TypeVar("View", bound=Callable[..., Any])

_READS_ATTRIBUTE = "_kapcare_patient_reads"
# Answers that show no record, besides redirects: "not found", "gone", a method not allowed.
_NOTHING_SHOWN = frozenset({404, 405, 410})


@dataclass
class _Reads:
    """What one request has shown so far."""

    patient_ids: list[int] = field(default_factory=list)
    detail: str = ""
    actor: Actor | None = None


def shown(
    request: HttpRequest,
    patient_ids: Iterable[int],
    *,
    detail: str = "",
    actor: Actor | None = None,
) -> None:
    """Hand over patients this request's answer shows (a ``patient_id`` URL parameter need not
    be). ``detail`` is added to what the log calls the read (e.g. the search); ``actor`` is who
    read when it is not the signed-in user (a calendar feed)."""
    reads = getattr(request, _READS_ATTRIBUTE, None)
    if reads is None:
        raise ImproperlyConfigured(
            "shown(): the view is not decorated with @reads_patient_data, so these patients' "
            "read would not be logged"
        )
    reads.patient_ids.extend(patient_ids)
    if detail:
        reads.detail = detail
    if actor is not None:
        reads.actor = actor


def _showed_the_record(answer: Any) -> bool:
    status = getattr(answer, "status_code", 200)  # API data returned as it is: a 200
    return status < 300 or (400 <= status < 500 and status not in _NOTHING_SHOWN)


def _write(request: HttpRequest, name: str, reads: _Reads, kwargs: dict[str, Any]) -> None:
    declared = patient_read(name).format_map(kwargs)
    what = f"{declared} {reads.detail}" if reads.detail else declared
    from_url = [kwargs["patient_id"]] if "patient_id" in kwargs else []
    actor = reads.actor or Actor.from_request(request)
    record_access(actor, [*from_url, *reads.patient_ids], what)


def _logging(view: View, name_of: Callable[[HttpRequest], str]) -> View:
    @wraps(view)
    def logged(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        reads = _Reads()
        setattr(request, _READS_ATTRIBUTE, reads)
        answer = view(request, *args, **kwargs)
        if _showed_the_record(answer):
            _write(request, name_of(request), reads, kwargs)
        return answer

    return cast(View, logged)


def _view_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.view_name if match is not None else ""


def reads_patient_data(view: View) -> View:
    """Log the patients that ``view``'s answer shows (the module's docstring says how)."""
    # Above ``@endpoint``, the function is an API operation's: wrap what the operation calls,
    # leaving ninja the function it read the parameters from.
    operation = getattr(view, "_ninja_operation", None)
    if operation is None:
        return _logging(view, _view_name)
    operation_id = operation.operation_id
    patient_read(operation_id)  # an operation not declared as a read fails at import
    operation.view_func = _logging(operation.view_func, lambda request: operation_id)
    return view


class PatientReadsAdmin(admin.ModelAdmin):
    """A ModelAdmin whose pages log the patients they show: every page the policy declares as
    a read (``PATIENT_READS``, e.g. ``"admin:patients_patient_*"``)."""

    def patient_ids(self, objects: Sequence[Model]) -> list[int]:
        """The patients these objects are or belong to: by default their ``patient_id``."""
        ids = (getattr(obj, "patient_id", None) for obj in objects)
        return [patient_id for patient_id in ids if patient_id is not None]

    def log_shown(self, request: HttpRequest, objects: Sequence[Model]) -> None:
        """Hand over what a page shows (an admin may log more, as consultations do)."""
        shown(request, self.patient_ids(objects))

    def _objects_on(
        self, request: HttpRequest, answer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> list[Model]:
        """The objects an admin page shows: the one its address names (a change, history,
        delete or password page, however it is rendered), or the rows of a changelist or of
        an action asking to confirm."""
        # simple-history's past-version page passes the object's id unnamed, first.
        object_id = kwargs.get("object_id", kwargs.get("id", args[0] if args else None))
        if object_id is not None:
            return list(self.get_queryset(request).filter(pk=unquote(object_id)))
        context = getattr(answer, "context_data", None) or {}
        if "cl" in context:
            return list(context["cl"].result_list)
        return list(context.get("queryset", ()))

    def _logged_page(self, view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def reporting(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            answer = view(request, *args, **kwargs)
            if _showed_the_record(answer):
                self.log_shown(request, self._objects_on(request, answer, args, kwargs))
            return answer

        return reads_patient_data(reporting)

    def get_urls(self) -> list[URLPattern]:
        urls = super().get_urls()
        for url in urls:
            if url.name and read_declaration(f"{self.admin_site.name}:{url.name}") is not None:
                url.callback = self._logged_page(url.callback)
        return urls
