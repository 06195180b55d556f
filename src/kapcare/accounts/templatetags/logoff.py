"""``{% idle_logoff %}``: the automatic-logoff warning's script, for signed-in pages."""

from __future__ import annotations

from typing import Any

from django import template

from kapcare.accounts import idle

register = template.Library()


@register.inclusion_tag("registration/_idle_logoff.html", takes_context=True)
def idle_logoff(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return {"on": False}
    return {
        "on": True,
        "seconds_left": idle.seconds_left(request),
        "idle_seconds": idle.idle_logout_seconds(),
        "warning_seconds": idle.warning_seconds(),
        "background_header": idle.BACKGROUND_HEADER,
    }
