"""DRF permissions: deny by default; session users must have passed MFA."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.mfa import session_passed_mfa, user_has_mfa
from accounts.models import ApiToken


class IsVerifiedUser(BasePermission):
    """An active user who came in with an API token or a session that passed MFA."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user.is_active:
            return False
        if isinstance(request.auth, ApiToken):
            return True
        return user_has_mfa(user) and session_passed_mfa(request._request)
