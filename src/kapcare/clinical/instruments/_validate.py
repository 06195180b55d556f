"""Input checks shared by every scale: count, integer type (bool rejected) and range."""

from __future__ import annotations

from collections.abc import Sequence

from kapcare.errors import FieldInvalid

from .model import Instrument


def item_field(number: int) -> str:
    """The field an item's answer is in: item ``n`` (1-based) is ``responses[n-1]``."""
    return f"responses[{number - 1}]"


def check_responses(instrument: Instrument, responses: Sequence[int]) -> tuple[int, ...]:
    """Return ``responses`` as a tuple after checking count, type and range.

    Raises ``FieldInvalid`` (a ``ValueError``): field ``responses`` (rules ``type``, ``count``)
    or the item's ``responses[n-1]`` (rules ``type``, ``out_of_range``), the message naming the
    scale, the 1-based item and the allowed values.
    Source: the item count and response range of the published form (see ``instrument.source``).
    """
    code = instrument.code
    n_items = len(instrument.items)
    if isinstance(responses, str | bytes) or not isinstance(responses, Sequence):
        raise FieldInvalid(
            "responses",
            "type",
            f"{code} responses must be a sequence of {n_items} integers, "
            f"got {type(responses).__name__}",
        )
    lo, hi = instrument.min_value, instrument.max_value
    allowed = f"{lo} or {hi}" if hi - lo == 1 else f"{lo}-{hi}"
    if len(responses) != n_items:
        raise FieldInvalid(
            "responses",
            "count",
            f"{code} expects {n_items} responses (items 1-{n_items}, each an integer "
            f"{allowed}), got {len(responses)}",
        )
    for number, value in enumerate(responses, start=1):
        integer = isinstance(value, int) and not isinstance(value, bool)
        if not integer or not lo <= value <= hi:
            raise FieldInvalid(
                item_field(number),
                "out_of_range" if integer else "type",
                f"{code} item {number} must be an integer {allowed}, got {value!r}",
            )
    return tuple(responses)


def check_total(instrument: Instrument, field: str, value: int) -> int:
    """Check that a stored total is an integer within the scale's possible range."""
    hi = instrument.max_total
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hi:
        raise FieldInvalid(
            field,
            "out_of_range",
            f"{instrument.code} total must be an integer 0-{hi}, got {value!r}",
        )
    return value
