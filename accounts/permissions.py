"""Who may call the API and who may use the Django admin.

DRF denies by default: a caller needs a live personal API token (checked in
``accounts.authentication``) or a session that passed MFA. The Django admin is wrapped
the same way, so it is no way around the second factor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account.decorators import secure_admin_login
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.mfa import session_passed_mfa, user_has_mfa
from accounts.models import ApiToken, User


def is_verified_session(request: HttpRequest) -> bool:
    """A signed-in, active person whose session passed their second factor."""
    user = getattr(request, "user", None)
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and getattr(user, "status", None) != User.Status.DEACTIVATED
        and user_has_mfa(user)
        and session_passed_mfa(request)
    )


class IsVerifiedUser(BasePermission):
    """An active user who came in with an API token or a session that passed MFA."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user.is_active:
            return False
        if isinstance(request.auth, ApiToken):
            return True
        return is_verified_session(request._request)


def harden_admin_site(site: AdminSite) -> None:
    """Route the admin's sign-in through allauth and require MFA for every admin page.

    allauth's ``secure_admin_login`` replaces the admin's own password form (which knows
    nothing of MFA or throttling) with a redirect to the portal's sign-in; staff who are
    signed in but have not passed MFA get no admin page at all.
    """
    base_has_permission = site.has_permission
    # allauth is untyped; the wrapped view keeps the admin login's own signature.
    base_login: Callable[[HttpRequest, dict[str, Any] | None], HttpResponse] = secure_admin_login(
        site.login
    )

    def has_permission(request: HttpRequest) -> bool:
        return base_has_permission(request) and is_verified_session(request)

    def login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Never show the admin's own password form, not even to a signed-in person.
        if request.user.is_authenticated and not has_permission(request):
            raise PermissionDenied
        return base_login(request, extra_context)

    site.has_permission = has_permission  # type: ignore[method-assign]
    site.login = login  # type: ignore[method-assign]
