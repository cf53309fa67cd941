"""Authentication events: exactly one structured log entry and one audit row each,
control characters escaped in log output, and no credential in any log line or audit row."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable

import pytest
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from accounts.models import User
from istv_portal.logging import JsonFormatter
from tests.factories import TEST_PASSWORD, login_verified
from tests.security.authflow import (
    USER_AGENT,
    browser,
    change_password,
    make_user,
    post_code,
    post_password,
    sign_in,
    totp_code,
)

pytestmark = pytest.mark.django_db

AUTH_LOGGER = "istv.auth"
REQUIRED_FIELDS = {"event", "outcome", "user_id", "ip", "user_agent", "request_id", "occurred_at"}
WRONG_PASSWORD = "not the right password at all"
NEW_PASSWORD = "another long passphrase for the portal"


def _wrong_code() -> str:
    return f"{(int(totp_code()) + 1) % 1_000_000:06d}"


def _login_success(user: User) -> None:
    sign_in(browser(), user)


def _login_failure(user: User) -> None:
    post_password(browser(), user.email, WRONG_PASSWORD)


def _lockout(user: User) -> None:
    for _ in range(5):
        post_password(browser(), user.email, WRONG_PASSWORD)
    post_password(browser(), user.email)  # refused: this is the lockout


def _mfa_failure(user: User) -> None:
    client = browser()
    post_password(client, user.email)
    post_code(client, _wrong_code())


def _logout(user: User) -> None:
    client = browser()
    login_verified(client, user)
    client.post(reverse("account_logout"))


def _password_change(user: User) -> None:
    client = browser()
    login_verified(client, user)
    change_password(client, NEW_PASSWORD)


def _password_reset(user: User) -> None:
    client = browser()
    client.post(reverse("account_reset_password"), {"email": user.email})
    link = re.search(r"(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    assert link is not None
    response = client.get(link.group(1))
    client.post(response["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})


def _send_mfa_signal(signal, user: User, kind: str) -> None:
    """Some MFA changes are announced by allauth only once their transaction commits, or
    are reachable in the UI only with WebAuthn enabled; their receivers are exercised
    with allauth's own signal (the UI paths are covered in test_auth_login/test_auth_mfa)."""
    request = RequestFactory().post("/accounts/2fa/", REMOTE_ADDR="192.0.2.9")
    request.META["HTTP_USER_AGENT"] = USER_AGENT
    request.user = user
    request.session = Client().session
    if kind == Authenticator.Type.RECOVERY_CODES:
        authenticator = RecoveryCodes.activate(user).instance
    else:
        authenticator = Authenticator.objects.get(user=user, type=kind)
    signal.send(sender=Authenticator, request=request, user=user, authenticator=authenticator)


def _mfa_added(user: User) -> None:
    _send_mfa_signal(mfa_signals.authenticator_added, user, Authenticator.Type.TOTP)


def _mfa_removed(user: User) -> None:
    _send_mfa_signal(mfa_signals.authenticator_removed, user, Authenticator.Type.TOTP)


def _recovery_codes(user: User) -> None:
    _send_mfa_signal(mfa_signals.authenticator_reset, user, Authenticator.Type.RECOVERY_CODES)


CASES: dict[str, tuple[Callable[[User], None], Action, str]] = {
    "login_success": (_login_success, Action.LOGIN_SUCCESS, "success"),
    "login_failure": (_login_failure, Action.LOGIN_FAILURE, "failure"),
    "lockout": (_lockout, Action.LOCKOUT, "refused"),
    "mfa_failure": (_mfa_failure, Action.MFA_FAILURE, "failure"),
    "logout": (_logout, Action.LOGOUT, "success"),
    "password_change": (_password_change, Action.PASSWORD_CHANGED, "success"),
    "password_reset": (_password_reset, Action.PASSWORD_RESET, "success"),
    "mfa_added": (_mfa_added, Action.MFA_ADDED, "success"),
    "mfa_removed": (_mfa_removed, Action.MFA_REMOVED, "success"),
    "recovery_codes_generated": (_recovery_codes, Action.RECOVERY_CODES_GENERATED, "success"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_auth_event_is_one_structured_log_entry(case: str, caplog) -> None:
    trigger, action, outcome = CASES[case]
    user = make_user()
    caplog.set_level(logging.INFO, logger=AUTH_LOGGER)
    trigger(user)
    auth_records = [r for r in caplog.records if r.name == AUTH_LOGGER]
    records = [r for r in auth_records if r.event == action]
    assert len(records) == 1, [r.getMessage() for r in auth_records]
    entry = json.loads(JsonFormatter().format(records[0]))
    assert set(entry) >= REQUIRED_FIELDS
    assert entry["outcome"] == outcome
    assert entry["user_id"] == user.pk
    assert entry["ip"]
    assert entry["user_agent"] == USER_AGENT
    assert re.fullmatch(r"[0-9a-f]{32}|-", entry["request_id"])
    occurred = dt.datetime.fromisoformat(entry["occurred_at"])
    assert occurred.utcoffset() == dt.timedelta(0)
    assert dt.datetime.fromisoformat(entry["time"]).utcoffset() == dt.timedelta(0)
    assert AuditEvent.objects.filter(action=action).count() == 1


def test_failure_for_an_unknown_account_names_nobody(caplog) -> None:
    caplog.set_level(logging.INFO, logger=AUTH_LOGGER)
    post_password(browser(), "nobody-here@example.test", WRONG_PASSWORD)
    (record,) = [r for r in caplog.records if r.name == AUTH_LOGGER]
    assert record.event == Action.LOGIN_FAILURE
    assert record.user_id is None
    assert "nobody-here" not in JsonFormatter().format(record)
    event = AuditEvent.objects.get(action=Action.LOGIN_FAILURE)
    assert event.actor_id is None
    assert event.details == {"outcome": "failure", "reason": "unknown_account"}


# --- Control characters ------------------------------------------------------------------------

FORGED = 'Mozilla\r\n{"level": "CRITICAL", "message": "forged"}\x1b[31mred\x1b[0m\x07'


def test_control_characters_from_the_client_are_escaped_in_log_output(caplog) -> None:
    caplog.set_level(logging.INFO, logger=AUTH_LOGGER)
    user = make_user()
    client = Client(REMOTE_ADDR="192.0.2.60", HTTP_USER_AGENT=FORGED)
    client.post(reverse("account_login"), {"login": user.email, "password": "x\x1b[2J\r\n"})
    (record,) = [r for r in caplog.records if r.name == AUTH_LOGGER]
    line = JsonFormatter().format(record)
    assert not re.search(r"[\x00-\x1f\x7f]", line)
    entry = json.loads(line)
    assert not re.search(r"[\x00-\x1f\x7f]", entry["user_agent"])
    assert "\\x0d\\x0a" in entry["user_agent"]
    assert "\\x1b[31m" in entry["user_agent"]


def test_a_nul_byte_in_the_user_agent_does_not_break_sign_in() -> None:
    user = make_user()
    client = Client(
        REMOTE_ADDR="192.0.2.63", HTTP_USER_AGENT="agent\x00", raise_request_exception=False
    )
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")


def test_nested_values_and_messages_are_escaped_too() -> None:
    record = logging.makeLogRecord(
        {
            "name": "istv.test",
            "levelname": "INFO",
            "msg": "filter %s",
            "args": ("borough\nE09000022",),
            "filter": {"org\r": ["a\x1b[0m", "b"]},
        }
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "filter borough\\x0aE09000022"
    assert entry["filter"] == {"org\\x0d": ["a\\x1b[0m", "b"]}


# --- No credentials in logs or audit rows -----------------------------------------------------


def test_no_secret_reaches_logs_or_audit_rows(caplog) -> None:
    formatter = JsonFormatter()
    user = make_user()
    recovery_codes = RecoveryCodes.activate(user).get_unused_codes()
    caplog.set_level(logging.DEBUG)  # everything from here on, every logger
    caplog.clear()
    secrets: list[str] = [TEST_PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, *recovery_codes[:2]]

    client = browser()
    client.get(reverse("account_login"))
    secrets.append(client.cookies["csrftoken"].value)
    post_password(client, user.email, WRONG_PASSWORD)
    code = totp_code()
    secrets.append(code)
    sign_in(client, user)
    secrets.append(client.cookies["sessionid"].value)
    client.post(reverse("account_logout"))

    other = browser("192.0.2.61")
    post_password(other, user.email)
    post_code(other, recovery_codes[0])
    secrets.append(other.cookies["sessionid"].value)
    other.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    change_password(other, NEW_PASSWORD)
    third = browser("192.0.2.62")
    post_password(third, user.email, NEW_PASSWORD)
    post_code(third, recovery_codes[1])

    logged = "\n".join(
        [formatter.format(r) for r in caplog.records] + [repr(vars(r)) for r in caplog.records]
    )
    audited = "\n".join(json.dumps(row, default=str) for row in AuditEvent.objects.values())
    assert AuditEvent.objects.filter(action=Action.LOGIN_SUCCESS).count() == 3
    for secret in secrets:
        assert secret not in logged, "a credential reached the logs"
        assert secret not in audited, "a credential reached the audit log"
