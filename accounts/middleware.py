"""Session lifetime, immediate revocation and mandatory MFA, enforced on every request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from accounts.mfa import session_passed_mfa, user_has_mfa

Handler = Callable[[HttpRequest], HttpResponse]
SESSION_STARTED = "istv_started_at"
SESSION_LAST_SEEN = "istv_last_seen_at"
SESSION_ACCESS_EPOCH = "istv_access_epoch"


class SessionLifetimeMiddleware:
    """Ends a session after the idle timeout or the absolute lifetime, whichever first."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now()
            started = request.session.get(SESSION_STARTED)
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if started is None:
                request.session[SESSION_STARTED] = now.isoformat()
            elif (
                now - datetime.fromisoformat(started) > settings.SESSION_ABSOLUTE_TIMEOUT
                or (
                    last_seen is not None
                    and now - datetime.fromisoformat(last_seen) > settings.SESSION_IDLE_TIMEOUT
                )
            ):
                logout(request)
                return redirect(f"{reverse('account_login')}?expired=1")
            request.session[SESSION_LAST_SEEN] = now.isoformat()
        return self.get_response(request)


class ActiveAccessMiddleware:
    """A session started before the user's access shrank is ended on its next request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            epoch = request.session.get(SESSION_ACCESS_EPOCH)
            if epoch is None:
                request.session[SESSION_ACCESS_EPOCH] = user.access_epoch
            elif epoch != user.access_epoch or user.status == user.Status.DEACTIVATED:
                logout(request)
                return redirect(reverse("account_login"))
        return self.get_response(request)


MFA_EXEMPT_PREFIXES = (
    "/accounts/logout/",
    "/accounts/2fa/",
    "/accounts/reauthenticate/",
    "/static/",
    "/healthz",
)


class RequireMFAMiddleware:
    """A signed-in user without MFA reaches only the MFA set-up pages and sign-out."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and not request.path.startswith("/api/")
        ):
            if not user_has_mfa(user):
                return redirect(reverse("mfa_activate_totp"))
            if not session_passed_mfa(request):
                logout(request)
                return redirect(reverse("account_login"))
        return self.get_response(request)
