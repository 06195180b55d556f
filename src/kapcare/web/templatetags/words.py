"""The ``words`` filter, built into every template (see TEMPLATES in settings)."""

from __future__ import annotations

from django import template

from kapcare.web.words import code_words

register = template.Library()


@register.filter
def words(code: object) -> str:
    """A stored code as words (``kapcare.web.words.code_words``): "bp_critical" -> "critical
    blood pressure", "needs_review" -> "needs review"."""
    return code_words(code)
