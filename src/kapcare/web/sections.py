"""Chart sections that load after the chart (``web/_lazy_section.html``).

The chart page carries the clinical summary; slower sections arrive as fragments right after
it. Without HTMX (no JavaScript) the same URL answers with a page of its own around the
section, so nothing is reachable only by script.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kapcare.patients.models import Patient


def is_htmx(request: HttpRequest) -> bool:
    """Whether HTMX sent the request (it then swaps in a fragment, not a whole page)."""
    return request.headers.get("HX-Request") == "true"


def render_section(
    request: HttpRequest, patient: Patient, template: str, heading: str, context: dict[str, Any]
) -> HttpResponse:
    if is_htmx(request):
        return render(request, template, {"patient": patient, **context})
    page = {"patient": patient, "section_template": template, "section_heading": heading}
    return render(request, "web/section_page.html", {**page, **context})
