"""The page numbers of the API's paged lists: one cap for every list."""

from __future__ import annotations

from typing import Any

from pydantic import Field

MAX_PAGE = 100_000
"""Pages asked for beyond this are refused (422); a page past the last match is empty. Without
a cap a huge page number overflows the database's OFFSET (a 500, not a 422)."""


def page_number() -> Any:
    """The ``page`` query field of a paged list: 1 to `MAX_PAGE`."""
    return Field(
        1, ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE}; past the last match: no results"
    )
