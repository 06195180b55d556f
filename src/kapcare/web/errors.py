"""The one mapping of refusals (``kapcare.errors``) to HTTP for pages: bad input is 400 (the
form is shown again with the field named), not this role 403, not now 409, unknown 404."""

from __future__ import annotations

from django import forms

from kapcare.errors import Conflict, FieldInvalid, Forbidden, NotFound, Refused
from kapcare.web.words import say, say_beside


def page_status(error: Refused) -> int:
    if isinstance(error, FieldInvalid):
        return 400
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 400


def page_messages(error: Refused) -> list[str]:
    """What the page says: each invalid field in words (its label, the rule, the unit and what
    was entered), or the refusal's sentence (a conflict's sentence already lists what is
    unmet)."""
    if isinstance(error, FieldInvalid):
        return [say(p) for p in error.problems]
    return [error.message]


def add_form_errors(form: forms.BaseForm, error: Refused) -> None:
    """Show a refusal on the form it answers: each invalid field's message on that input, and
    a conflict on the input it names (a chair or a staff member fully booked); what the form
    has no input for goes on the whole form, named as `page_messages` names it."""
    if isinstance(error, FieldInvalid):
        for problem in error.problems:
            if problem.field in form.fields:
                form.add_error(problem.field, say_beside(problem))
            else:
                form.add_error(None, say(problem))
    elif isinstance(error, Conflict) and error.field in form.fields:
        form.add_error(error.field, error.message)
    else:
        form.add_error(None, error.message)
