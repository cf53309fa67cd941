"""allauth account adapter: invite-only sign-up and audited lockouts."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.mfa import is_rate_limited
from accounts.models import User


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """People join by invitation only (accounts.services); there is no public sign-up."""
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth's ``login_failed`` limit (10/m/ip, 5/5m/account) refuses the attempt
        before the password is checked; that refusal is the lockout, and it is audited."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            if is_rate_limited(exc):
                from accounts.auth_events import record_lockout

                login = str(credentials.get("email") or "").strip()
                user = User.objects.filter(email__iexact=login).first() if login else None
                record_lockout(request, user, factor="password")
            raise

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """A correct password rotates the session key at once, before the MFA step (Django
        rotates it again when the sign-in completes), so a key planted before sign-in is
        worthless at every stage."""
        user: AbstractBaseUser | None = super().authenticate(request, **credentials)
        if user is not None and hasattr(request, "session"):
            request.session.cycle_key()
        return user
