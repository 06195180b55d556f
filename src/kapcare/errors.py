"""The errors a use case raises when it refuses. Services and the clinical core raise them; the
API maps them to HTTP in one place (``kapcare.api.main``) and the pages in one place
(``kapcare.web.errors``). Nothing parses a message back: the field, the rule and the unmet
requirements are attributes.

Pure Python (no Django), so the clinical core may raise them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Refused(Exception):
    """A use case that refused. A refused call has changed nothing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input: the field as the caller named it, a short machine-readable rule
    (``required``, ``out_of_range``, ``in_future``, ...) and a sentence for a person. A range
    rule carries its limits and what was entered, so a page can say it in words with the
    field's label and unit (``kapcare.web.words``)."""

    field: str
    rule: str
    message: str
    low: float | None = None
    high: float | None = None
    entered: object = None
    # How a page names the field when its code alone cannot (the API's ``value`` of a score
    # is "MOAA/S sedation score"); empty: the page's own words for the field.
    label: str = ""


class FieldInvalid(Refused, ValueError):
    """Bad input (HTTP 422 on the API, 400 on a page). Carries one or more problems. It is a
    ValueError too, as a bad argument to a pure function is."""

    def __init__(
        self,
        field: str,
        rule: str,
        message: str = "",
        *,
        low: float | None = None,
        high: float | None = None,
        entered: object = None,
        label: str = "",
    ) -> None:
        message = message or rule
        super().__init__(f"{field}: {message}")
        self.problems: list[FieldProblem] = [
            FieldProblem(field, rule, message, low=low, high=high, entered=entered, label=label)
        ]

    @property
    def field(self) -> str:
        return self.problems[0].field

    @property
    def rule(self) -> str:
        return self.problems[0].rule

    @classmethod
    def of(cls, problems: Sequence[FieldProblem]) -> FieldInvalid:
        """Several problems at once (for example every field of a form)."""
        if not problems:
            raise ValueError("FieldInvalid.of needs at least one problem")
        error = cls(problems[0].field, problems[0].rule, problems[0].message)
        error.problems = list(problems)
        error.message = "; ".join(f"{p.field}: {p.message}" for p in problems)
        error.args = (error.message,)
        return error


@dataclass(frozen=True)
class Unmet:
    """A requirement a step still needs. ``overridable``: a prescriber may override it with a
    reason."""

    code: str
    message: str
    overridable: bool = False


class Requirement(Protocol):
    """Anything that names an unmet requirement (``Unmet``, the session model's own)."""

    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def overridable(self) -> bool: ...


class Conflict(Refused):
    """Not possible now, in this state (HTTP 409). ``unmet`` lists what the step needs;
    ``field`` names what the caller asked for (``to`` for a transition, ``state`` for a write
    the state does not allow)."""

    def __init__(
        self,
        message: str,
        unmet: Sequence[Requirement] = (),
        *,
        field: str = "state",
        rule: str = "",
    ) -> None:
        super().__init__(message)
        self.unmet = list(unmet)
        self.field = field
        self.rule = rule or (self.unmet[0].code if len(self.unmet) == 1 else "conflict")


class Forbidden(Refused):
    """This actor may not do this (HTTP 403): for example, only a prescriber signs an order."""

    def __init__(self, message: str, *, rule: str = "role") -> None:
        super().__init__(message)
        self.rule = rule


class NotFound(Refused):
    """The record named does not exist (HTTP 404)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
