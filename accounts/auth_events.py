"""Authentication events: one audit row and one structured log entry each.

Django and allauth announce sign-in, sign-out, failures and MFA changes through signals;
the receivers here turn each into exactly one ``audit_record`` and exactly one log line
on the ``istv.auth`` logger, carrying the UTC time, the user id, the client IP, the user
agent, the outcome and the request id. Neither ever carries a credential: no password,
code, session key or token, and no login name that was typed but matched nobody (it may
be a password typed into the wrong box).

The receivers are connected in ``AccountsConfig.ready()`` through :func:`connect`.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.auth import signals as auth_signals
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.mfa import mark_session_enrolled
from accounts.models import User

logger = logging.getLogger("istv.auth")

SESSION_STARTED = "istv_started_at"
SESSION_LAST_SEEN = "istv_last_seen_at"
SESSION_ACCESS_EPOCH = "istv_access_epoch"
# Set on a request by policy code (idle timeout, revocation) just before it calls
# ``logout``: the sign-out is then recorded as a policy end, not as a user's sign-out.
END_REASON_ATTR = "istv_session_end_reason"

OUTCOME_SUCCESS = "success"
OUTCOME_FAILURE = "failure"
OUTCOME_REFUSED = "refused"


def record_auth_event(
    *,
    action: Action,
    outcome: str,
    request: HttpRequest | None,
    user: User | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write the audit row and the matching log entry for one authentication event."""
    actor = user if user is not None and user.pk else None
    event = audit_record(
        action=action,
        actor=actor,
        object_type="accounts.user" if actor else "",
        object_id=actor.pk if actor else "",
        details={"outcome": outcome, **(details or {})},
        request=request,
    )
    logger.info(
        "auth %s %s",
        event.action,
        outcome,
        extra={
            "event": event.action,
            "outcome": outcome,
            "user_id": actor.pk if actor else None,
            "ip": event.ip_address,
            "user_agent": event.user_agent,
            "request_id": event.request_id,
            "occurred_at": event.occurred_at.isoformat(),
            **(details or {}),
        },
    )


def start_session_clock(request: HttpRequest, user: User) -> None:
    """Stamp a fresh session with its start time and the user's current access epoch."""
    now = timezone.now().isoformat()
    request.session[SESSION_STARTED] = now
    request.session[SESSION_LAST_SEEN] = now
    request.session[SESSION_ACCESS_EPOCH] = user.access_epoch


# --- Receivers --------------------------------------------------------------------------


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        start_session_clock(request, user)
    methods = []
    if request is not None and hasattr(request, "session"):
        methods = [
            m.get("method")
            for m in request.session.get("account_authentication_methods", [])
            if isinstance(m, dict)
        ]
    record_auth_event(
        action=Action.LOGIN_SUCCESS,
        outcome=OUTCOME_SUCCESS,
        request=request,
        user=user,
        details={"methods": sorted({str(m) for m in methods if m})},
    )


def on_user_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    login = str(credentials.get("email") or credentials.get("username") or "").strip()
    user = User.objects.filter(email__iexact=login).first() if login else None
    record_auth_event(
        action=Action.LOGIN_FAILURE,
        outcome=OUTCOME_FAILURE,
        request=request,
        user=user,
        details={"reason": "bad_credentials" if user else "unknown_account"},
    )


def on_user_logged_out(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if user is None:
        return  # Signing out a session that was never signed in: nothing happened.
    reason = getattr(request, END_REASON_ATTR, None) if request is not None else None
    if reason:
        record_auth_event(
            action=Action.SESSION_ENDED,
            outcome=OUTCOME_REFUSED,
            request=request,
            user=user,
            details={"reason": reason},
        )
    else:
        record_auth_event(action=Action.LOGOUT, outcome=OUTCOME_SUCCESS, request=request, user=user)


def record_lockout(request: HttpRequest | None, user: User | None, *, factor: str) -> None:
    """An attempt refused by the rate limit (allauth's ``login_failed``) without being tried."""
    record_auth_event(
        action=Action.LOCKOUT,
        outcome=OUTCOME_REFUSED,
        request=request,
        user=user,
        details={"factor": factor},
    )


def on_mfa_failed(
    sender: Any,
    request: HttpRequest | None,
    user: User,
    authenticator: Authenticator,
    reauthentication: bool = False,
    **kwargs: Any,
) -> None:
    record_auth_event(
        action=Action.MFA_FAILURE,
        outcome=OUTCOME_FAILURE,
        request=request,
        user=user,
        details={"type": str(authenticator.type), "reauthentication": bool(reauthentication)},
    )


def on_authenticator_added(
    sender: Any,
    request: HttpRequest | None,
    user: User,
    authenticator: Authenticator,
    **kwargs: Any,
) -> None:
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        action = Action.RECOVERY_CODES_GENERATED
    else:
        action = Action.MFA_ADDED
        if request is not None:
            mark_session_enrolled(request, user, authenticator)
    _record_mfa_change(action, request, user, authenticator)


def on_authenticator_removed(
    sender: Any,
    request: HttpRequest | None,
    user: User,
    authenticator: Authenticator,
    **kwargs: Any,
) -> None:
    _record_mfa_change(Action.MFA_REMOVED, request, user, authenticator)


def on_recovery_codes_reset(
    sender: Any,
    request: HttpRequest | None,
    user: User,
    authenticator: Authenticator,
    **kwargs: Any,
) -> None:
    _record_mfa_change(Action.RECOVERY_CODES_GENERATED, request, user, authenticator)


def _record_mfa_change(
    action: Action, request: HttpRequest | None, user: User, authenticator: Authenticator
) -> None:
    record_auth_event(
        action=action,
        outcome=OUTCOME_SUCCESS,
        request=request,
        user=user,
        details={"type": str(authenticator.type)},
    )


def on_password_changed(
    sender: Any, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    record_auth_event(
        action=Action.PASSWORD_CHANGED, outcome=OUTCOME_SUCCESS, request=request, user=user
    )


def on_password_reset(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    record_auth_event(
        action=Action.PASSWORD_RESET, outcome=OUTCOME_SUCCESS, request=request, user=user
    )


_UID = "istv.auth_events"


def connect() -> None:
    """Connect every receiver once (dispatch_uid makes repeated calls harmless)."""
    auth_signals.user_logged_in.connect(on_user_logged_in, dispatch_uid=f"{_UID}.in")
    auth_signals.user_login_failed.connect(on_user_login_failed, dispatch_uid=f"{_UID}.failed")
    auth_signals.user_logged_out.connect(on_user_logged_out, dispatch_uid=f"{_UID}.out")
    mfa_signals.authentication_failed.connect(on_mfa_failed, dispatch_uid=f"{_UID}.mfa_failed")
    mfa_signals.authenticator_added.connect(on_authenticator_added, dispatch_uid=f"{_UID}.added")
    mfa_signals.authenticator_removed.connect(
        on_authenticator_removed, dispatch_uid=f"{_UID}.removed"
    )
    mfa_signals.authenticator_reset.connect(on_recovery_codes_reset, dispatch_uid=f"{_UID}.reset")
    account_signals.password_changed.connect(on_password_changed, dispatch_uid=f"{_UID}.pw")
    account_signals.password_set.connect(on_password_changed, dispatch_uid=f"{_UID}.pw_set")
    account_signals.password_reset.connect(on_password_reset, dispatch_uid=f"{_UID}.pw_reset")
