"""The dosing records' notion of "now". Live use is the real clock; the demo loader documents
past sessions by setting the clock to the session's own times (``at``), so every rule (the
observation minutes, "a C-SSRS today", "not in the future") judges them as they happened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_FIXED: ContextVar[datetime | None] = ContextVar("kapcare_dosing_clock", default=None)


def now() -> datetime:
    return _FIXED.get() or timezone.now()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    token = _FIXED.set(moment)
    try:
        yield
    finally:
        _FIXED.reset(token)
