"""The pages' one mapping of refusals: the status, the messages and where a form shows them."""

from __future__ import annotations

import pytest
from django import forms

from kapcare.errors import Conflict, FieldInvalid, FieldProblem, Forbidden, NotFound, Refused
from kapcare.web.errors import add_form_errors, page_messages, page_status


class _Booking(forms.Form):
    reason = forms.CharField(required=False)
    resource = forms.CharField(required=False)


def _bound() -> _Booking:
    form = _Booking({})
    assert form.is_valid()
    return form


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (FieldInvalid("reason", "required", "required"), 400),
        (Forbidden("only a prescriber"), 403),
        (NotFound("entry_id", "no such medication"), 404),
        (Conflict("already closed", field="status", rule="already_closed"), 409),
        (Refused("refused"), 400),
    ],
)
def test_each_refusal_has_its_page_status(error, status):
    assert page_status(error) == status


def test_each_invalid_field_is_named_in_the_messages():
    error = FieldInvalid.of(
        [FieldProblem("reason", "required", "required"), FieldProblem("day", "in_future", "no")]
    )
    assert page_messages(error) == ["Reason is required.", "Day: no."]
    assert page_messages(Conflict("The request is already closed.")) == [
        "The request is already closed."
    ]


def test_a_form_shows_each_problem_on_its_input_and_the_rest_on_the_whole_form():
    form = _bound()
    add_form_errors(
        form,
        FieldInvalid.of(
            [
                FieldProblem("reason", "required", "say why"),
                FieldProblem("owner", "one_of", "one owner"),
            ]
        ),
    )
    assert form.errors["reason"] == ["say why"]
    assert form.non_field_errors() == ["Owner: one owner."]


def test_a_conflict_goes_on_the_input_it_names_else_on_the_whole_form():
    form = _bound()
    add_form_errors(form, Conflict("Chair 1 is fully booked", field="resource", rule="full"))
    add_form_errors(form, Conflict("The alert is closed", field="status", rule="closed"))
    assert form.errors["resource"] == ["Chair 1 is fully booked"]
    assert form.non_field_errors() == ["The alert is closed"]
