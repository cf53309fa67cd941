"""MFA policy helpers: allauth's MFA is opt-in, the portal makes it mandatory."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest

from accounts.models import User


def user_has_mfa(user: User) -> bool:
    return is_mfa_enabled(user, [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN])


def session_passed_mfa(request: HttpRequest) -> bool:
    """True when this session's sign-in included the second factor."""
    methods = request.session.get("account_authentication_methods", [])
    return any(m.get("method") == "mfa" for m in methods)
