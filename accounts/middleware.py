"""Session lifetime, immediate revocation and mandatory MFA, enforced on every request.

Order in ``MIDDLEWARE`` (after ``AuthenticationMiddleware``): lifetime, then access, then
MFA, so an expired or revoked session is ended before anything else looks at it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache

from allauth.usersessions.models import UserSession
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
# Set on a request whose last-seen stamp moved on (SessionActivityMiddleware reads it).
SEEN_MOVED_ATTR = "_istv_session_seen_moved"
# The session key whose "signed-in sessions" row this session has written.
SESSION_TRACKED_KEY = "_istv_tracked_session"


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
                start_session_clock(request, user)
                setattr(request, SEEN_MOVED_ATTR, True)
            elif now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
                return end_session(request, "absolute_timeout")
            elif now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                return end_session(request, "idle_timeout")
            elif now - last_seen >= LAST_SEEN_GRANULARITY:
                request.session[SESSION_LAST_SEEN] = now.isoformat()
                setattr(request, SEEN_MOVED_ATTR, True)
        return self.get_response(request)


class SessionActivityMiddleware:
    """Keeps the "Signed-in sessions" page's last-seen time, address and browser current,
    at the idle clock's granularity (in place of allauth's ``UserSessionsMiddleware``).

    allauth's middleware reads and rewrites the session's row in a transaction of its own
    on every request, four round trips and a commit before any page starts. Here it is
    written on a session's first request (the session remembers which key it recorded: a
    sign-in outside allauth's views has no row yet, and a sign-in changes the key) and
    then only when ``SessionLifetimeMiddleware`` moved the last-seen stamp (about once a
    minute per session), so a changed address shows within a minute.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if (
            settings.USERSESSIONS_TRACK_ACTIVITY
            and request.user.is_authenticated
            and (
                getattr(request, SEEN_MOVED_ATTR, False)
                or session.get(SESSION_TRACKED_KEY) != session.session_key
            )
        ):
            UserSession.objects.create_from_request(request)
            session[SESSION_TRACKED_KEY] = session.session_key
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


API_PREFIX = "/api/"


@lru_cache(maxsize=1)
def open_prefixes() -> tuple[str, ...]:
    """Paths any signed-in session may use, verified or not: sign-out and what needs no
    sign-in at all. Resolved from URL names, so a moved mount point cannot open a gap."""
    return (reverse("account_logout"), reverse("healthz"), settings.STATIC_URL)


@lru_cache(maxsize=1)
def enrolment_prefixes() -> tuple[str, ...]:
    """What someone with no second factor yet may also use: allauth's MFA pages (all under
    ``mfa_index``) and the password re-entry allauth asks for before enrolment."""
    return (reverse("mfa_index"), reverse("account_reauthenticate"))


class RequireMFAMiddleware:
    """A signed-in user without MFA reaches only the MFA set-up pages and sign-out.

    Someone who has an authenticator but whose session did not pass it (a session made
    by any path other than allauth's two-step sign-in) is signed out wherever they go,
    the MFA pages included, and must sign in again with both factors. The API answers
    for itself (``accounts.permissions.IsVerifiedUser``).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        path = request.path
        if (
            user.is_authenticated
            and not path.startswith((API_PREFIX, *open_prefixes()))
            and not session_passed_mfa(request)
        ):
            if user_has_mfa(user):
                return end_session(request, "mfa_not_passed")
            if not path.startswith(enrolment_prefixes()):
                return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
