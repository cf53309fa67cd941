"""Production cookies, CSRF (the POST half) and the production settings
guard for the MFA encryption key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import Client, override_settings
from django.urls import resolve, reverse

from tests.factories import login_verified
from tests.security.authflow import make_user, post_password, totp_code
from tests.security.urlwalk import named_routes

pytestmark = pytest.mark.django_db

COOKIE_SETTINGS = (
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_PATH",
    "SESSION_COOKIE_DOMAIN",
    "CSRF_COOKIE_NAME",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "CSRF_COOKIE_PATH",
    "CSRF_COOKIE_DOMAIN",
)
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "p" * 64,
    "DJANGO_ALLOWED_HOSTS": "portal.example.org",
    "MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
}


def _load_production_settings(**env_changes: str | None) -> subprocess.CompletedProcess[str]:
    """Import the production settings module in a fresh interpreter, as a deployment would."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(PRODUCTION_ENV)
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL", "postgres://localhost/istv")
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["DJANGO_SETTINGS_MODULE"] = "istv_portal.settings.production"
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{k: getattr(settings, k) for k in {list(COOKIE_SETTINGS)!r}}}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def production_cookie_settings() -> dict[str, object]:
    result = _load_production_settings()
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_session_cookie_settings(production_cookie_settings) -> None:
    prod = production_cookie_settings
    assert prod["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert prod["SESSION_COOKIE_SECURE"] is True
    assert prod["SESSION_COOKIE_HTTPONLY"] is True
    assert prod["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert prod["SESSION_COOKIE_PATH"] == "/"
    assert prod["SESSION_COOKIE_DOMAIN"] is None


def test_the_session_cookie_sent_at_sign_in_has_every_attribute(
    production_cookie_settings,
) -> None:
    user = make_user()
    with override_settings(**production_cookie_settings):
        client = Client(REMOTE_ADDR="192.0.2.70")
        post_password(client, user.email)
        response = client.post(reverse("mfa_authenticate"), {"code": totp_code()}, secure=True)
    name = production_cookie_settings["SESSION_COOKIE_NAME"]
    header = response.cookies[name].output()  # the Set-Cookie header as sent
    morsel = SimpleCookie(header.removeprefix("Set-Cookie: "))[name]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"] == production_cookie_settings["SESSION_COOKIE_SAMESITE"]
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""
    assert "Domain=" not in header


def test_production_csrf_cookie_is_secure(production_cookie_settings) -> None:
    prod = production_cookie_settings
    assert prod["CSRF_COOKIE_SECURE"] is True
    assert prod["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert prod["CSRF_COOKIE_PATH"] == "/"
    assert prod["CSRF_COOKIE_DOMAIN"] is None


def test_production_settings_refuse_to_start_without_an_mfa_key() -> None:
    result = _load_production_settings(MFA_ENCRYPTION_KEY=None)
    assert result.returncode != 0
    assert "MFA_ENCRYPTION_KEY" in result.stderr


def test_post_without_csrf_token_is_refused_everywhere() -> None:
    """Every named route refuses a state-changing POST without a token from a signed-in,
    MFA-verified administrator (grant/revoke, tokens, MFA, sign-out, sessions...)."""
    staff = make_user(is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    login_verified(client, staff)
    not_refused = []
    for route in named_routes():
        response = client.post(route.path, {"confirm": "1"})
        refused = {403}
        if getattr(resolve(route.path).func, "csrf_exempt", False):
            # Views that check the token themselves (the upload, after installing its size
            # limit) first answer 404 to anyone outside their scope; their own tests prove a
            # token-less POST from someone in scope gets 403.
            refused.add(404)
        if response.status_code not in refused:
            not_refused.append((route.name, response.status_code))
    assert not_refused == []
    assert client.get(reverse("home")).status_code == 200  # still signed in: nothing changed


def test_anonymous_sign_in_post_without_csrf_token_is_refused() -> None:
    user = make_user()
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_the_same_post_with_a_token_works() -> None:
    user = make_user()
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("account_login"))
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": "correct horse battery staple"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
