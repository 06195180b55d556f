"""Shared test helpers: a valid public-form submission."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client

from kapcare.consultations.forms import HONEYPOT_FIELD, TOKEN_FIELD
from kapcare.consultations.services import issue_form_token

FORM_URL = "/consultation/"


def form_data(seconds_ago: float = 30, **overrides: Any) -> dict[str, Any]:
    """What a person would send, having opened the form `seconds_ago`."""
    data = {
        "given_name": "Robin",
        "family_name": "Example",
        "email": "robin@example.org",
        "phone": "+1 555 0100",
        "preferred_contact": "email",
        "reason": "I would like to learn about your programme.",
        HONEYPOT_FIELD: "",
        TOKEN_FIELD: issue_form_token(time.time() - seconds_ago),
    }
    data.update(overrides)
    return data


def submit(client: Client | None = None, address: str = "198.51.100.7", **overrides: Any):
    return (client or Client()).post(FORM_URL, form_data(**overrides), REMOTE_ADDR=address)
