"""Security headers on every response, and no inline script without a nonce."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Membership
from tests.factories import MembershipFactory, login_verified

REQUIRED_CSP = (
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)


def csp_directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip() for part in header.split(";") if part.strip()
    }


def assert_security_headers(response) -> None:
    directives = csp_directives(response)
    for required in REQUIRED_CSP:
        assert directives.get(required.split(" ", 1)[0]) == required, response[
            "Content-Security-Policy"
        ]
    # Scripts only from our origin or with this response's nonce; never unsafe-inline.
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in {
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    }


@pytest.mark.django_db
def test_sign_in_page_headers(client: Client) -> None:
    assert_security_headers(client.get(reverse("account_login")))


@pytest.mark.django_db
def test_home_headers(client: Client) -> None:
    membership = MembershipFactory(role=Membership.Role.ANALYST)
    login_verified(client, membership.user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
def test_not_found_headers(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_security_headers(response)


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls", DEBUG=False)
def test_server_error_headers() -> None:
    response = Client(raise_request_exception=False).get("/x/crash/")
    assert response.status_code == 500
    assert_security_headers(response)


@pytest.mark.django_db
@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
@pytest.mark.parametrize("path", ["css/portal.css", "js/portal.js", "govuk/govuk-frontend.min.css"])
def test_static_file_headers(path: str) -> None:
    # A fresh client builds its middleware (WhiteNoise included) under these settings.
    response = Client().get(f"{settings.STATIC_URL}{path}")
    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.ui.urls")
def test_inline_script_runs_only_with_this_responses_nonce(client: Client) -> None:
    first = client.get("/x/nonce/")
    second = client.get("/x/nonce/")
    nonces = []
    for response in (first, second):
        script_src = csp_directives(response)["script-src"]
        nonce = re.search(r'nonce="([^"]+)"', response.content.decode()).group(1)
        assert f"'nonce-{nonce}'" in script_src.split()
        nonces.append(nonce)
    assert nonces[0] != nonces[1], "a nonce must never be reused"
    # Pages that use no nonce get none, and never the invalid placeholder "'nonce'".
    plain = csp_directives(client.get(reverse("account_login")))["script-src"]
    assert plain == "script-src 'self'"


def production_security_settings() -> dict[str, object]:
    """The HSTS settings the production settings module actually produces."""
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ("
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT')}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "istv_portal.settings.production",
        "DJANGO_SECRET_KEY": "x" * 64,
        "DJANGO_ALLOWED_HOSTS": "portal.example.test",
        "MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    env.pop("SECURE_HSTS_SECONDS", None)
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=settings.BASE_DIR,
    )
    assert out.returncode == 0, f"production settings did not load:\n{out.stderr[-2000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_hsts_under_production_settings(client: Client) -> None:
    production = production_security_settings()
    assert production["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_SSL_REDIRECT"] is True
    with override_settings(**production):
        response = client.get(reverse("account_login"), secure=True)
        plain = client.get(reverse("account_login"))
    hsts = response["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 31_536_000
    assert "includeSubDomains" in hsts
    assert_security_headers(response)
    # Plain HTTP is redirected to HTTPS rather than served.
    assert plain.status_code == 301 and plain["Location"].startswith("https://")


def template_files() -> list[Path]:
    return sorted(Path(settings.BASE_DIR, "templates").rglob("*.html"))


def test_templates_have_no_inline_script_without_nonce() -> None:
    """Any inline <script> must carry this response's nonce; external files need none."""
    offenders = []
    for path in template_files():
        for match in SCRIPT_TAG.finditer(path.read_text(encoding="utf-8")):
            attributes = match.group(1)
            if "src=" in attributes:
                continue
            if 'nonce="{{ request.csp_nonce }}"' not in attributes:
                offenders.append(f"{path.relative_to(settings.BASE_DIR)}: <script{attributes}>")
    assert template_files(), "no templates found"
    assert not offenders, "inline scripts without a nonce:\n" + "\n".join(offenders)


# Documents rendered to files and downloaded as attachments, never served as portal pages:
# they carry their own stylesheet because they are opened outside the portal.
STANDALONE_DOCUMENTS = {"templates/incidents/monitoring_report.html"}


def test_templates_have_no_inline_styles_or_handlers() -> None:
    """style-src 'self' blocks style attributes, and inline event handlers need unsafe-inline."""
    offenders = []
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\sstyle=\"", r"<style\b", r"\son[a-z]+=\"", r"javascript:"):
            relative = str(path.relative_to(settings.BASE_DIR))
            if pattern == r"<style\b" and relative in STANDALONE_DOCUMENTS:
                continue
            if re.search(pattern, text, re.I):
                offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {pattern}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.django_db
def test_rendered_pages_load_scripts_only_from_files(client: Client) -> None:
    membership = MembershipFactory(role=Membership.Role.ANALYST)
    for url in (reverse("account_login"), reverse("home")):
        if url == reverse("home"):
            login_verified(client, membership.user)
        response = client.get(url)
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
        for attributes in SCRIPT_TAG.findall(response.content.decode()):
            assert 'src="/static/' in attributes or (
                nonce and f'nonce="{nonce.group(1)}"' in attributes
            ), attributes
