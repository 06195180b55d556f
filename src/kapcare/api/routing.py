"""`endpoint` declares an API operation together with its access rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ninja import Router

from kapcare.api.security import RoleBearer


def endpoint(
    router: Router, method: str, path: str, *, operation_id: str, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an operation whose roles come from `policy.API_OPERATIONS[operation_id]`."""
    return router.api_operation(
        [method],
        path,
        operation_id=operation_id,
        url_name=operation_id,
        auth=RoleBearer(operation_id),
        **kwargs,
    )
