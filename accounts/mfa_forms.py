"""allauth's MFA code forms, with refusals by the rate limit audited as lockouts.

Named in ``MFA_FORMS``. Apart from ``accounts.mfa`` (the MFA policy) because the audit
trail of sign-in events (``accounts.auth_events``) itself builds on that policy.
"""

from __future__ import annotations

from allauth.core import context
from allauth.mfa.base import forms as mfa_forms
from django.core.exceptions import ValidationError

from accounts.auth_events import record_lockout
from accounts.mfa import is_rate_limited


class _LockoutAuditMixin(mfa_forms.BaseAuthenticateForm):
    """Audits an MFA code refused by the rate limit; allauth itself emits no signal then."""

    def clean_code(self) -> str:
        try:
            code: str = super().clean_code()
            return code
        except ValidationError as exc:
            if is_rate_limited(exc):
                record_lockout(context.request, self.user, factor="mfa")
            raise


class AuthenticateForm(_LockoutAuditMixin, mfa_forms.AuthenticateForm):
    """The sign-in MFA step (``MFA_FORMS["authenticate"]``)."""


class ReauthenticateForm(_LockoutAuditMixin, mfa_forms.ReauthenticateForm):
    """Re-entering a code before a sensitive change (``MFA_FORMS["reauthenticate"]``)."""
