"""Navigation shown to each person: only what their role allows."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.access import user_roles


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_roles": set()}
    cached = getattr(request, "_nav_roles", None)
    if cached is None:
        cached = user_roles(user)
        request._nav_roles = cached  # type: ignore[attr-defined]
    return {"nav_roles": cached}
