from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from ninja import Router, Schema

from kapcare.accounts.models import User
from kapcare.api.routing import endpoint

router = Router(tags=["accounts"])


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    role: str


@endpoint(router, "GET", "/me", operation_id="whoami", response=MeOut)
def whoami(request: HttpRequest) -> MeOut:
    """The signed-in user: who the token belongs to, and their role."""
    user = cast(User, request.user)
    return MeOut(id=user.pk, email=user.email, full_name=user.full_name, role=user.role)
