"""Errors the API modules raise, in the one shape the handlers in `main.py` render."""

from __future__ import annotations

from ninja.errors import ValidationError


def unprocessable(field: str, message: str) -> ValidationError:
    """A 422 naming the body field: ``{"detail", "errors": [{field, rule}]}``."""
    return ValidationError([{"loc": ["body", field], "msg": message}])


def split_field(message: str, default_field: str) -> tuple[str, str]:
    """The services' ``"field: rule"`` messages as (field, rule); a message without a field
    name goes on ``default_field``."""
    field, sep, rule = message.partition(": ")
    if not sep or " " in field:
        return default_field, message
    return field, rule
