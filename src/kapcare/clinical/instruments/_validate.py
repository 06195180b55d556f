"""Input checks shared by every scale: count, integer type (bool rejected) and range."""

from __future__ import annotations

from collections.abc import Sequence

from .model import Instrument


def check_responses(instrument: Instrument, responses: Sequence[int]) -> tuple[int, ...]:
    """Return ``responses`` as a tuple after checking count, type and range.

    Raises ``ValueError`` naming the scale, the 1-based item and the allowed values.
    Source: the item count and response range of the published form (see ``instrument.source``).
    """
    code = instrument.code
    n_items = len(instrument.items)
    if isinstance(responses, str | bytes) or not isinstance(responses, Sequence):
        raise ValueError(
            f"{code}: responses must be a sequence of {n_items} integers, "
            f"got {type(responses).__name__}"
        )
    lo, hi = instrument.min_value, instrument.max_value
    allowed = f"{lo} or {hi}" if hi - lo == 1 else f"{lo}-{hi}"
    if len(responses) != n_items:
        raise ValueError(
            f"{code}: expected {n_items} responses (items 1-{n_items}, each an integer "
            f"{allowed}), got {len(responses)}"
        )
    for number, value in enumerate(responses, start=1):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{code} item {number}: must be an integer {allowed}, got {value!r}")
    return tuple(responses)


def check_total(instrument: Instrument, field: str, value: int) -> int:
    """Check that a stored total is an integer within the scale's possible range."""
    hi = instrument.max_total
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hi:
        raise ValueError(f"{instrument.code} {field}: must be an integer 0-{hi}, got {value!r}")
    return value
