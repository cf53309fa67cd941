"""Session lifetime, immediate revocation and mandatory MFA, enforced on every request.

Order in ``MIDDLEWARE`` (after ``AuthenticationMiddleware``): lifetime, then access, then
MFA, so an expired or revoked session is ended before anything else looks at it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import Action
from accounts.auth_events import (
    END_REASON_ATTR,
    OUTCOME_REFUSED,
    SESSION_ACCESS_EPOCH,
    SESSION_LAST_SEEN,
    SESSION_STARTED,
    record_auth_event,
    start_session_clock,
)
from accounts.mfa import session_passed_mfa, user_has_mfa
from accounts.models import User

Handler = Callable[[HttpRequest], HttpResponse]
# Writing the last-seen stamp on every request would save the session every time; a
# minute's granularity is plenty for a 30-minute idle timeout.
LAST_SEEN_GRANULARITY = timedelta(seconds=60)


def end_session(request: HttpRequest, reason: str) -> HttpResponse:
    """Sign the session out by policy (audited as such) and send the browser to sign-in."""
    setattr(request, END_REASON_ATTR, reason)
    logout(request)
    return redirect(f"{reverse('account_login')}?ended={reason}")


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class SessionLifetimeMiddleware:
    """Ends a session after the idle timeout or the absolute lifetime, whichever comes first."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = timezone.now()
            started = _parse(request.session.get(SESSION_STARTED))
            last_seen = _parse(request.session.get(SESSION_LAST_SEEN))
            if started is None or last_seen is None:
                # A session signed in without our login receiver: its clock starts now.
                start_session_clock(request, user)  # type: ignore[arg-type]
            elif now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
                return end_session(request, "absolute_timeout")
            elif now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                return end_session(request, "idle_timeout")
            elif now - last_seen >= LAST_SEEN_GRANULARITY:
                request.session[SESSION_LAST_SEEN] = now.isoformat()
        return self.get_response(request)


class ActiveAccessMiddleware:
    """A session started before the user's access shrank is ended on its next request.

    Revoking a grant or deactivating a person bumps ``User.access_epoch``; the user row
    is read afresh on every request (``AuthenticationMiddleware``), so nothing cached
    survives the change.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated and SESSION_KEY in request.session:
            # Django resolves a deactivated (is_active=False) person to anonymous but
            # leaves the session in place; end it for good.
            return self._end_orphaned_session(request)
        if user.is_authenticated:
            user = cast(User, user)
            if not user.is_active or user.status == User.Status.DEACTIVATED:
                return end_session(request, "deactivated")
            epoch = request.session.get(SESSION_ACCESS_EPOCH)
            if epoch is None:
                request.session[SESSION_ACCESS_EPOCH] = user.access_epoch
            elif epoch != user.access_epoch:
                return end_session(request, "access_changed")
        return self.get_response(request)

    @staticmethod
    def _end_orphaned_session(request: HttpRequest) -> HttpResponse:
        owner = User.objects.filter(pk=str(request.session[SESSION_KEY])).first()
        request.session.flush()
        if owner is not None:
            record_auth_event(
                action=Action.SESSION_ENDED,
                outcome=OUTCOME_REFUSED,
                request=request,
                user=owner,
                details={"reason": "deactivated"},
            )
        return redirect(f"{reverse('account_login')}?ended=deactivated")


# Paths a signed-in person without a verified second factor may still use: enrolling
# (allauth's MFA pages, including re-authentication before enrolment), signing out, and
# what needs no sign-in at all. The API answers for itself (accounts.permissions).
MFA_EXEMPT_PREFIXES = (
    "/accounts/logout/",
    "/accounts/2fa/",
    "/accounts/reauthenticate/",
    "/static/",
    "/healthz",
)
API_PREFIX = "/api/"


class RequireMFAMiddleware:
    """A signed-in user without MFA reaches only the MFA set-up pages and sign-out.

    Someone who has an authenticator but whose session did not pass it (a session made
    by any path other than allauth's two-step sign-in) is signed out and must sign in
    again with both factors.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and not request.path.startswith(API_PREFIX)
            and not session_passed_mfa(request)
        ):
            if not user_has_mfa(user):
                return redirect(reverse("mfa_activate_totp"))
            return end_session(request, "mfa_not_passed")
        return self.get_response(request)
