"""Signing in: MFA enforced, throttling and lockout, no enumeration, password reset and
session-key rotation. All through allauth's real views."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from tests.factories import TEST_PASSWORD
from tests.security.authflow import (
    browser,
    make_user,
    post_code,
    post_password,
    session_user_id,
    sign_in,
    totp_code,
)
from tests.security.urlwalk import named_routes

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "not the right password at all"
TOO_MANY = b"Too many failed login attempts"


def _audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- Sign-in and mandatory MFA -------------------------------------------------------------


def test_sign_in_needs_password_then_totp() -> None:
    user = make_user()
    client = browser()
    response = post_password(client, user.email)
    assert response["Location"] == reverse("mfa_authenticate")
    assert session_user_id(client) is None  # not signed in between the two factors
    response = post_code(client, totp_code())
    assert response.status_code == 302
    assert session_user_id(client) == str(user.pk)
    assert client.get(reverse("home")).status_code == 200


def test_wrong_totp_code_does_not_sign_in() -> None:
    user = make_user()
    client = browser()
    post_password(client, user.email)
    wrong = f"{(int(totp_code()) + 1) % 1_000_000:06d}"
    response = post_code(client, wrong)
    assert response.status_code == 200
    assert session_user_id(client) is None
    assert Action.MFA_FAILURE in _audit_actions()


def test_password_only_user_reaches_only_mfa_setup() -> None:
    user = make_user(mfa=False, is_staff=True, is_superuser=True)
    client = Client(REMOTE_ADDR="192.0.2.20", raise_request_exception=False)
    response = post_password(client, user.email)
    assert session_user_id(client) == str(user.pk)  # signed in with the password only...
    enrol = reverse("mfa_activate_totp")
    for route in named_routes():
        if route.path.startswith(("/accounts/2fa/", "/accounts/reauthenticate/")):
            continue
        if route.name in {"account_logout", "healthz"}:
            continue
        response = client.get(route.path)
        if route.path.startswith("/api/"):
            assert response.status_code in (401, 403), route.name
            continue
        # ...but every other page, public or not, sends them to enrol a second factor.
        assert response.status_code == 302, (route.name, response.status_code)
        assert response["Location"] == enrol, (route.name, response["Location"])
    # The set-up pages themselves stay reachable (enrolment asks for the password again).
    response = client.get(enrol)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert client.get(reverse("mfa_index")).status_code == 200


@pytest.mark.django_db(transaction=True)  # allauth signals enrolment on commit, in-request
def test_enrolling_totp_completes_the_sign_in() -> None:
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    user = make_user(mfa=False)
    client = browser()
    post_password(client, user.email)
    # allauth asks for the password again before any MFA change.
    response = client.get(reverse("mfa_activate_totp"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    code = totp_code(client.session[SECRET_SESSION_KEY])
    key_before = client.session.session_key
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302
    assert client.session.session_key != key_before
    assert client.get(reverse("home")).status_code == 200
    actions = _audit_actions()
    assert Action.MFA_ADDED in actions
    assert Action.RECOVERY_CODES_GENERATED in actions


def test_enrolled_user_whose_session_skipped_mfa_must_sign_in_again() -> None:
    user = make_user()
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert session_user_id(client) is None


# --- Throttling and lockout ------------------------------------------------------------------


def test_five_failures_lock_the_account_even_with_the_right_password() -> None:
    user = make_user()
    for _ in range(5):
        response = post_password(browser(), user.email, WRONG_PASSWORD)
        assert response.status_code == 200
        assert TOO_MANY not in response.content
    client = browser()
    response = post_password(client, user.email)
    assert response.status_code == 200
    assert TOO_MANY in response.content
    assert session_user_id(client) is None
    assert client.session.get("account_login") is None
    actions = _audit_actions()
    assert actions.count(Action.LOGIN_FAILURE) == 5
    assert actions.count(Action.LOCKOUT) == 1
    lockout = AuditEvent.objects.get(action=Action.LOCKOUT)
    assert lockout.actor_id == user.pk
    assert lockout.details == {"outcome": "refused", "factor": "password"}


def test_the_lock_is_per_account() -> None:
    locked, other = make_user(), make_user()
    for _ in range(5):
        post_password(browser("198.51.100.1"), locked.email, WRONG_PASSWORD)
    response = post_password(browser("198.51.100.2"), other.email)
    assert response["Location"] == reverse("mfa_authenticate")


def test_more_than_ten_failures_from_one_ip_block_that_ip() -> None:
    user = make_user()
    ip = "203.0.113.7"
    for n in range(10):
        # Ten different unknown accounts: the per-account limit never triggers.
        response = post_password(browser(ip), f"nobody{n}@example.test", WRONG_PASSWORD)
        assert TOO_MANY not in response.content
    response = post_password(browser(ip), user.email)
    assert TOO_MANY in response.content
    response = post_password(browser("203.0.113.8"), user.email)
    assert response["Location"] == reverse("mfa_authenticate")


def test_failed_mfa_codes_are_throttled_too() -> None:
    user = make_user()
    client = browser()
    post_password(client, user.email)
    right = totp_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = post_code(client, wrong)
        assert TOO_MANY not in response.content
    response = post_code(client, right)
    assert response.status_code == 200
    assert TOO_MANY in response.content
    assert session_user_id(client) is None
    actions = _audit_actions()
    assert actions.count(Action.MFA_FAILURE) == 5
    lockout = AuditEvent.objects.get(action=Action.LOCKOUT)
    assert lockout.details["factor"] == "mfa"
    assert lockout.actor_id == user.pk


def test_limits_are_allauths_login_failed_rates() -> None:
    from allauth.account import app_settings

    assert app_settings.RATE_LIMITS["login_failed"] == "10/m/ip,5/5m/key"
    # Password re-entry goes through the same account limit, and has its own on top.
    assert app_settings.RATE_LIMITS["reauthenticate"] == "10/m/user"


# --- No account enumeration --------------------------------------------------------------------


def _normalise(html: bytes, *emails: str) -> str:
    text = html.decode()
    for email in emails:
        text = text.replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)


def test_unknown_account_and_wrong_password_look_the_same() -> None:
    user = make_user()
    unknown = "nobody-here@example.test"
    wrong = post_password(browser(), user.email, WRONG_PASSWORD)
    missing = post_password(browser(), unknown, WRONG_PASSWORD)
    assert wrong.status_code == missing.status_code == 200
    assert _normalise(wrong.content, user.email) == _normalise(missing.content, unknown)


def test_password_reset_answers_the_same_for_unknown_accounts() -> None:
    user = make_user()
    known = browser().post(reverse("account_reset_password"), {"email": user.email})
    unknown = browser().post(
        reverse("account_reset_password"), {"email": "nobody-here@example.test"}
    )
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")


def test_sign_up_is_closed_whoever_asks() -> None:
    user = make_user()
    data = {"password1": "a long enough password", "password2": "a long enough password"}
    existing = browser().post(reverse("account_signup"), {"email": user.email, **data})
    new = browser().post(reverse("account_signup"), {"email": "new@example.test", **data})
    assert existing.status_code == new.status_code
    assert _normalise(existing.content, user.email) == _normalise(new.content, "new@example.test")
    assert not type(user).objects.filter(email="new@example.test").exists()


# --- Password reset ----------------------------------------------------------------------------


def test_password_reset_does_not_sign_in_and_next_sign_in_asks_totp() -> None:
    user = make_user()
    client = browser()
    client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    assert link is not None
    response = client.get(link.group(1))
    assert response.status_code == 302  # allauth moves the key into the session
    new_password = "a brand new passphrase for the portal"
    response = client.post(
        response["Location"], {"password1": new_password, "password2": new_password}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    assert session_user_id(client) is None
    assert client.get(reverse("home")).status_code == 302
    assert Action.PASSWORD_RESET in _audit_actions()

    response = post_password(client, user.email, new_password)
    assert response["Location"] == reverse("mfa_authenticate")
    assert session_user_id(client) is None


# --- Session key rotation ----------------------------------------------------------------------


def test_session_key_changes_at_password_and_again_at_mfa() -> None:
    user = make_user()
    client = browser()
    client.get(reverse("account_login"))
    client.session.save()
    anonymous_key = client.session.session_key
    post_password(client, user.email)
    after_password = client.session.session_key
    post_code(client, totp_code())
    after_mfa = client.session.session_key
    assert session_user_id(client) == str(user.pk)
    assert len({anonymous_key, after_password, after_mfa}) == 3


def test_full_sign_in_helper_reaches_home() -> None:
    user = make_user()
    client = browser()
    sign_in(client, user)
    assert client.get(reverse("home")).status_code == 200


def test_a_session_that_skipped_mfa_cannot_use_the_mfa_pages_either() -> None:
    user = make_user()
    client = Client()
    client.force_login(user)  # has TOTP, but this session never passed it
    response = client.get(reverse("mfa_view_recovery_codes"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert session_user_id(client) is None
