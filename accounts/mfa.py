"""MFA policy: allauth's MFA is opt-in, the portal makes it mandatory.

A signed-in session counts as verified only when this session's sign-in included the
second factor (allauth records each step in ``account_authentication_methods``), or the
person has just enrolled an authenticator in it, which also proves possession.
"""

from __future__ import annotations

from allauth.account.internal.flows.login import (
    get_authentication_records,
    record_authentication,
)
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest

# The second factors that count; recovery codes alone are a fallback, not a factor.
PRIMARY_MFA_TYPES = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
# allauth's error codes when its ``login_failed`` rate limit refuses an attempt.
RATE_LIMIT_ERROR_CODES = frozenset({"too_many_login_attempts", "rate_limited"})


def user_has_mfa(user: AbstractBaseUser) -> bool:
    enabled: bool = is_mfa_enabled(user, PRIMARY_MFA_TYPES)  # allauth is untyped
    return enabled


def session_passed_mfa(request: HttpRequest) -> bool:
    """True when this session's sign-in included the second factor.

    allauth's records are tied to the user they were made for, so a record left in a
    session by someone else never counts.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    return any(isinstance(m, dict) and m.get("method") == "mfa" for m in records)


def mark_session_enrolled(
    request: HttpRequest, user: AbstractBaseUser, authenticator: Authenticator
) -> None:
    """After a person enrols an authenticator (which means entering a code from it), the
    session counts as MFA-verified; its key is rotated as at any privilege change."""
    if not hasattr(request, "session") or getattr(request.user, "pk", None) != user.pk:
        return
    record_authentication(
        request, user, "mfa", id=authenticator.pk, type=str(authenticator.type), enrolled=True
    )
    request.session.cycle_key()


def is_rate_limited(exc: ValidationError) -> bool:
    return any(getattr(e, "code", None) in RATE_LIMIT_ERROR_CODES for e in exc.error_list)
