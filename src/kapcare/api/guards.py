"""What every request must meet before a view reads it, on the API and on the pages alike.

- A body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413, before anything reads it (Django would raise
  RequestDataTooBig wherever the body is first read). JSON on the API (``body``,
  ``too_large``), a plain page elsewhere.
- A NUL character in a value: PostgreSQL cannot store or even compare one (a search for
  ``a\\x00b`` was a 500). On a page: 400 naming the parameter. On the API the operations check
  their parsed inputs (`find_nul`, applied by `kapcare.api.routing.endpoint`) after
  authentication: 422 naming the field. So with an integer beyond 64 bits, which no database
  column holds (`find_out_of_range`).
- On the API, a 4xx no operation answered (an unknown URL, a method not allowed) gets the
  API's error shape too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from pydantic import BaseModel

from kapcare.accounts.policy import API_NAMESPACE
from kapcare.api.errors import JSON_CONTENT_TYPE, error_response, status_field_rule

NUL = "\x00"
_PLAIN_TEXT = "text/plain; charset=utf-8"


# The databases' integers are 64-bit: a larger number names no record and fits no column (a
# staff id of 2**64 was a 500, SQLite's OverflowError).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _first_field(value: object, field: str, bad: Callable[[object], bool]) -> str | None:
    """The first field under ``value`` (a schema, a mapping, a list, a plain value) whose value
    is ``bad``, named as a client names it (``readings[3].note``), or None."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if bad(value):
        return field
    if isinstance(value, Mapping):
        parts = ((f"{field}.{name}" if field else str(name), item) for name, item in value.items())
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        parts = ((f"{field}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    return next((found for name, item in parts if (found := _first_field(item, name, bad))), None)


def find_nul(value: object, field: str) -> str | None:
    """The first field under ``value`` whose string holds a NUL, or None."""
    return _first_field(value, field, lambda item: isinstance(item, str) and NUL in item)


def find_out_of_range(value: object, field: str) -> str | None:
    """The first field under ``value`` holding an integer beyond 64 bits, or None."""

    def too_large(item: object) -> bool:
        return isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX

    return _first_field(value, field, too_large)


@cache
def _api_root() -> str:
    return reverse(f"{API_NAMESPACE}:api-root")


def _body_too_large(request: HttpRequest) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # as Django's request: a malformed length reads no body
    return limit is not None and length > limit


def _nul_parameter(request: HttpRequest) -> str | None:
    for values in (request.GET, request.POST):
        for name, items in values.lists():
            if any(NUL in item for item in items):
                return name
    return None


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        on_api = request.path_info.startswith(_api_root())
        if _body_too_large(request):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            detail = f"The request body is larger than the {limit} bytes allowed."
            if on_api:
                return error_response(413, detail, [{"field": "body", "rule": "too_large"}])
            return HttpResponse(detail, status=413, content_type=_PLAIN_TEXT)
        if not on_api:
            field = _nul_parameter(request)
            if field is not None:
                message = f"{field}: must not contain a NUL character."
                return HttpResponse(message, status=400, content_type=_PLAIN_TEXT)
        response = self.get_response(request)
        if on_api and 400 <= response.status_code < 500:
            _give_error_shape(response)
        return response


def _give_error_shape(response: HttpResponse) -> None:
    """Django's and ninja's own 4xx (an HTML 404, an empty 405) in the API's shape, in place so
    they keep their headers (a 405's Allow)."""
    if response.get("Content-Type", "").startswith("application/json"):
        return
    field, rule = status_field_rule(response.status_code)
    shaped = error_response(
        response.status_code, response.reason_phrase, [{"field": field, "rule": rule}]
    )
    response.content = shaped.content
    response["Content-Type"] = JSON_CONTENT_TYPE
    if response.has_header("Content-Length"):  # set by CommonMiddleware for the old content
        response["Content-Length"] = str(len(response.content))
