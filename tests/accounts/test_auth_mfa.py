"""MFA: TOTP replay, recovery codes once each and secrets encrypted at rest, fresh
re-authentication before MFA or e-mail changes."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from accounts.audit.models import Action, AuditEvent
from accounts.mfa_adapter import EncryptingMFAAdapter, reencrypt_authenticators
from tests.factories import DEMO_TOTP_SECRET, TEST_PASSWORD, login_verified
from tests.security.authflow import (
    browser,
    make_user,
    post_code,
    post_password,
    session_user_id,
    totp_code,
)

pytestmark = pytest.mark.django_db

# Redis database 1 is this test suite's own; nothing else is stored there.
REDIS_TEST_URL = "redis://127.0.0.1:6379/1"
REDIS_CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_TEST_URL,
        "KEY_PREFIX": "istv-auth-tests",
    }
}
# The middle of a TOTP period, so the whole test runs inside one period.
MID_PERIOD = dt.datetime(2026, 3, 2, 10, 0, 15, tzinfo=dt.UTC)


# --- TOTP replay ----------------------------------------------------------------------------


def _password_then_code(ip: str, email: str, code: str) -> str | None:
    client = browser(ip)
    response = post_password(client, email)
    assert response["Location"] == reverse("mfa_authenticate")
    post_code(client, code)
    return session_user_id(client)


def test_a_totp_code_works_once() -> None:
    user = make_user()
    with time_machine.travel(MID_PERIOD, tick=False):
        code = totp_code()
        assert _password_then_code("192.0.2.31", user.email, code) == str(user.pk)
        assert _password_then_code("192.0.2.32", user.email, code) is None
    assert AuditEvent.objects.filter(action=Action.MFA_FAILURE, actor=user).count() == 1


@pytest.fixture
def shared_redis_cache():
    """The real Redis as Django's cache, emptied before and after (our DB number only)."""
    raw = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        raw.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running")
    raw.flushdb()
    with override_settings(CACHES=REDIS_CACHES):
        yield raw
    raw.flushdb()


def test_replay_is_refused_by_another_worker_through_redis(shared_redis_cache) -> None:
    user = make_user()
    with time_machine.travel(MID_PERIOD, tick=False):
        code = totp_code()
        assert _password_then_code("192.0.2.33", user.email, code) == str(user.pk)
        # The "used" mark lives in Redis, not in this process: a second worker with an
        # empty memory of its own sees it there.
        used = list(shared_redis_cache.scan_iter("*allauth.mfa.totp.used*"))
        assert len(used) == 1
        cache.close()  # drop this process's connection: the next request reconnects
        assert _password_then_code("192.0.2.34", user.email, code) is None


def test_replay_guard_is_the_shared_cache_not_process_memory() -> None:
    from django.conf import settings

    assert "LocMemCache" not in settings.CACHES["default"]["BACKEND"]


# --- Recovery codes and secrets at rest -----------------------------------------------------


def test_each_recovery_code_works_exactly_once() -> None:
    user = make_user()
    codes = RecoveryCodes.activate(user).get_unused_codes()
    assert len(codes) == 10
    assert _password_then_code("192.0.2.41", user.email, codes[0]) == str(user.pk)
    assert _password_then_code("192.0.2.42", user.email, codes[0]) is None
    assert _password_then_code("192.0.2.43", user.email, codes[1]) == str(user.pk)
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    assert RecoveryCodes(stored).get_unused_codes() == codes[2:]


def _authenticator_table_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT data::text FROM mfa_authenticator")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_database_holds_no_plaintext_totp_secret_or_recovery_seed() -> None:
    user = make_user()
    recovery = RecoveryCodes.activate(user)
    codes = recovery.get_unused_codes()
    seed = EncryptingMFAAdapter().decrypt(recovery.instance.data["seed"])
    stored = _authenticator_table_text()
    assert DEMO_TOTP_SECRET not in stored
    assert DEMO_TOTP_SECRET.lower() not in stored.lower()
    assert seed not in stored
    assert not any(code in stored for code in codes)
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert totp.data["secret"].startswith("gAAAAA")  # a Fernet token
    assert EncryptingMFAAdapter().decrypt(totp.data["secret"]) == DEMO_TOTP_SECRET


def test_a_secret_under_another_key_never_validates() -> None:
    user = make_user()
    totp = TOTP(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP))
    with (
        override_settings(MFA_ENCRYPTION_KEY=Fernet.generate_key().decode()),
        pytest.raises(ImproperlyConfigured),
    ):
        totp.validate_code(totp_code())


def test_keys_rotate_without_locking_anyone_out() -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(MFA_ENCRYPTION_KEY=old_key):
        user = make_user()
    with override_settings(MFA_ENCRYPTION_KEY=f"{new_key},{old_key}"):
        assert reencrypt_authenticators() == 1
    with override_settings(MFA_ENCRYPTION_KEY=new_key):
        stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
        assert EncryptingMFAAdapter().decrypt(stored.data["secret"]) == DEMO_TOTP_SECRET


def test_malformed_encryption_key_stops_with_a_clear_message() -> None:
    with (
        override_settings(MFA_ENCRYPTION_KEY="not-a-fernet-key"),
        pytest.raises(ImproperlyConfigured, match="MFA_ENCRYPTION_KEY"),
    ):
        EncryptingMFAAdapter().encrypt("x")


# --- Fresh re-authentication before changes ---------------------------------------------------


def _verified_client(user):
    client = browser()
    login_verified(client, user)
    return client


def test_changing_mfa_needs_fresh_reauthentication() -> None:
    user = make_user()
    client = _verified_client(user)
    for name in ("mfa_deactivate_totp", "mfa_generate_recovery_codes"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("account_reauthenticate")), name
    response = client.post(reverse("mfa_generate_recovery_codes"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not Authenticator.objects.filter(
        user=user, type=Authenticator.Type.RECOVERY_CODES
    ).exists()


def test_changing_email_needs_fresh_reauthentication() -> None:
    user = make_user()
    second = user.emailaddress_set.create(email="second@example.test", verified=True)
    client = _verified_client(user)
    for action in ("action_primary", "action_remove"):
        response = client.post(reverse("account_email"), {action: "", "email": second.email})
        assert response.status_code == 302, action
        assert response["Location"].startswith(reverse("account_reauthenticate")), action
    second.refresh_from_db()
    assert not second.primary
    # With MFA on, allauth refuses to add an address at all (no unverified takeover).
    response = client.post(
        reverse("account_email"), {"action_add": "", "email": "another@example.test"}
    )
    assert response.status_code in (200, 302)
    assert not user.emailaddress_set.filter(email="another@example.test").exists()


def test_reauthentication_is_fresh_only_for_a_few_minutes() -> None:
    user = make_user()
    client = _verified_client(user)
    response = client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("mfa_generate_recovery_codes")).status_code == 200
    with time_machine.travel(dt.timedelta(minutes=6)):
        response = client.get(reverse("mfa_generate_recovery_codes"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_the_last_authenticator_cannot_be_removed() -> None:
    user = make_user()
    client = _verified_client(user)
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 200  # the form refuses
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert not AuditEvent.objects.filter(action=Action.MFA_REMOVED).exists()


def test_regenerating_recovery_codes_is_audited(django_capture_on_commit_callbacks) -> None:
    user = make_user()
    client = _verified_client(user)
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_generate_recovery_codes"))
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=Action.RECOVERY_CODES_GENERATED)
    assert event.actor_id == user.pk
    assert event.details == {"outcome": "success", "type": "recovery_codes"}
