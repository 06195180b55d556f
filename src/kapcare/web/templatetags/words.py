"""The ``words`` filter, built into every template (see TEMPLATES in settings)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def words(code: object) -> str:
    """A stored code as words: "needs_review" -> "needs review", "below_cutoff" -> "below
    cutoff"."""
    return str(code).replace("_", " ")
