"""Settings read the environment strictly; production refuses unsafe configurations."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import include, path

from istv_portal.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_int,
    env_list,
    env_str,
    tile_image_source,
)

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION = "istv_portal.settings.production"


def production_env(**overrides: str | None) -> dict[str, str]:
    """A complete, valid production environment, with some variables changed or removed."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SESSION_", "SECURE_", "MFA_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE=PRODUCTION,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="portal.example",
        DATABASE_URL="postgres://istv:placeholder@db.example:5432/istv",
        MFA_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter, as gunicorn or celery would at start-up."""
    code = (
        "import importlib, os\n"
        "importlib.import_module(os.environ['DJANGO_SETTINGS_MODULE'])\n"
        "print('loaded')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_load_with_a_complete_environment():
    result = load_settings(production_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded"


# Each case names the variable the error message must mention.
REFUSALS: dict[str, tuple[dict[str, str | None], str]] = {
    "no-secret": ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
    "short-secret": ({"DJANGO_SECRET_KEY": "x" * 49}, "DJANGO_SECRET_KEY"),
    "no-hosts": ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS"),
    "blank-hosts": ({"DJANGO_ALLOWED_HOSTS": " , "}, "DJANGO_ALLOWED_HOSTS"),
    "no-mfa-key": ({"MFA_ENCRYPTION_KEY": None}, "MFA_ENCRYPTION_KEY"),
    "no-database": ({"DATABASE_URL": None}, "DATABASE_URL"),
    "not-postgresql": ({"DATABASE_URL": "sqlite:///portal.db"}, "DATABASE_URL"),
    "idle-minutes-not-a-number": ({"SESSION_IDLE_MINUTES": "abc"}, "SESSION_IDLE_MINUTES"),
    "idle-minutes-zero": ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES"),
    "tls-not-a-boolean": ({"EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS"),
    "hsts-too-short": ({"SECURE_HSTS_SECONDS": "3600"}, "SECURE_HSTS_SECONDS"),
    "tile-url-not-http": ({"MAP_TILE_URL": "javascript:alert(1)"}, "MAP_TILE_URL"),
}


@pytest.fixture(scope="module")
def refusals() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every refusal case, each in its own interpreter, started side by side for speed."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case: pool.submit(load_settings, production_env(**overrides))
            for case, (overrides, _named) in REFUSALS.items()
        }
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_production_settings_refuse_to_load(refusals, case):
    result = refusals[case]
    named = REFUSALS[case][1]

    assert result.returncode != 0
    assert "ImproperlyConfiguredEnv" in result.stderr
    assert named in result.stderr


def test_the_secret_is_never_echoed_in_the_error():
    short_secret = "s3cr3t-" + secrets.token_hex(8)
    result = load_settings(production_env(DJANGO_SECRET_KEY=short_secret))

    assert result.returncode != 0
    assert short_secret not in result.stderr + result.stdout


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


# --- The strict readers themselves ------------------------------------------------------


def test_env_str_requires_a_value_without_default(monkeypatch):
    monkeypatch.delenv("ISTV_TEST_VALUE", raising=False)
    with pytest.raises(ImproperlyConfiguredEnv, match="ISTV_TEST_VALUE"):
        env_str("ISTV_TEST_VALUE")
    monkeypatch.setenv("ISTV_TEST_VALUE", "")
    assert env_str("ISTV_TEST_VALUE", "fallback") == "fallback"
    monkeypatch.setenv("ISTV_TEST_VALUE", "set")
    assert env_str("ISTV_TEST_VALUE", "fallback") == "set"


@pytest.mark.parametrize("raw", ["abc", "1.5", "ten", "3 0"])
def test_env_int_rejects_malformed_numbers(monkeypatch, raw):
    monkeypatch.setenv("ISTV_TEST_NUMBER", raw)
    with pytest.raises(ImproperlyConfiguredEnv, match="ISTV_TEST_NUMBER"):
        env_int("ISTV_TEST_NUMBER", 30)


def test_env_int_enforces_its_minimum_and_defaults_when_unset(monkeypatch):
    monkeypatch.setenv("ISTV_TEST_NUMBER", "-1")
    with pytest.raises(ImproperlyConfiguredEnv, match="at least 0"):
        env_int("ISTV_TEST_NUMBER", 30, minimum=0)
    monkeypatch.delenv("ISTV_TEST_NUMBER")
    assert env_int("ISTV_TEST_NUMBER", 30, minimum=0) == 30


@pytest.mark.parametrize(("raw", "expected"), [("yes", True), ("OFF", False), (" 1 ", True)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("ISTV_TEST_FLAG", raw)
    assert env_bool("ISTV_TEST_FLAG", not expected) is expected


def test_env_bool_rejects_anything_else(monkeypatch):
    monkeypatch.setenv("ISTV_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfiguredEnv, match="ISTV_TEST_FLAG"):
        env_bool("ISTV_TEST_FLAG", False)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("ISTV_TEST_LIST", " a.example, ,b.example ")
    assert env_list("ISTV_TEST_LIST") == ["a.example", "b.example"]


# --- Errors never show internals --------------------------------------------------------


class ForcedError(Exception):
    pass


def _explode(request):
    raise ForcedError("internal detail: SELECT secret_column FROM hidden_table")


urlpatterns = [
    path("ops-test/explode/", _explode),
    path("", include("istv_portal.urls")),
]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_forced_exception_returns_a_generic_500():
    client = Client(raise_request_exception=False)

    response = client.get("/ops-test/explode/")

    assert response.status_code == 500
    body = response.content.decode()
    for leak in ("Traceback", "ForcedError", "SELECT", "hidden_table", "_explode", ".py"):
        assert leak not in body
    # The request id lets an operator find the logged traceback without showing it.
    assert response["X-Request-ID"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", []),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", ["https://*.tile.example.org"]),
        (
            "https://tiles.example.gov.uk:8443/osm/{z}/{x}/{y}.png",
            ["https://tiles.example.gov.uk:8443"],
        ),
    ],
)
def test_a_tile_server_is_allowed_by_the_csp_without_a_second_setting(url, expected):
    assert tile_image_source(url) == expected


@pytest.mark.parametrize("url", ["javascript:alert(1)", "tiles/{z}/{x}/{y}.png", "https://{z}.x/"])
def test_a_malformed_tile_url_is_refused(url):
    with pytest.raises(ImproperlyConfiguredEnv, match="MAP_TILE_URL"):
        tile_image_source(url)


def test_production_csp_carries_the_tile_origin():
    code = (
        "import importlib, os, json\n"
        "s = importlib.import_module(os.environ['DJANGO_SETTINGS_MODULE'])\n"
        "print(json.dumps(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))\n"
    )
    env = production_env(MAP_TILE_URL="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "https://*.tile.example.org" in result.stdout
