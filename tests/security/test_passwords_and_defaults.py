"""Password policy and no default or shared accounts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from allauth.account.adapter import get_adapter
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import TEST_PASSWORD, login_verified
from tests.security.authflow import change_password, make_user

pytestmark = pytest.mark.django_db

# Lower-case letters only: accepted, because there are no composition rules.
TWELVE = "qzvkbwrtnmxp"
ELEVEN = TWELVE[:11]
SIXTY_FOUR = "a long passphrase made of plain words, spaces and nothing else!!"


def test_minimum_length_is_twelve() -> None:
    assert settings.PASSWORD_MIN_LENGTH == 12
    assert len(ELEVEN) == 11 and len(TWELVE) == 12 and len(SIXTY_FOUR) == 64


def test_eleven_characters_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least 12"):
        get_adapter().clean_password(ELEVEN)


@pytest.mark.parametrize("password", [TWELVE, SIXTY_FOUR, "12345678901x" + "🙂" * 3])
def test_twelve_and_sixty_four_characters_are_accepted(password: str) -> None:
    assert get_adapter().clean_password(password) == password


def test_common_passwords_are_refused() -> None:
    for common in ("password1234", "qwertyuiop123"):
        with pytest.raises(ValidationError, match="too common"):
            validate_password(common)


def test_no_composition_rules_are_configured() -> None:
    names = {v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert names <= {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
    }
    assert "NumericPasswordValidator" not in names


def test_the_change_password_page_enforces_the_policy() -> None:
    user = make_user()
    client = Client()
    login_verified(client, user)
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    assert change_password(client, ELEVEN).status_code == 200  # the form refuses
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert change_password(client, SIXTY_FOUR).status_code == 302
    user.refresh_from_db()
    assert user.check_password(SIXTY_FOUR)


def test_passwords_are_hashed_with_argon2_in_deployments() -> None:
    from istv_portal.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


# --- No default or shared accounts ------------------------------------------------------------

DEFAULT_NAMES = re.compile(r"\b(admin|root|test|guest|demo)@", re.IGNORECASE)
ACCOUNT_CREATION = re.compile(r"create_(super)?user|User\(|set_password", re.IGNORECASE)
APP_DIRS = ("accounts", "hospitals", "incidents", "istv_portal")


def test_migrations_leave_no_account_behind() -> None:
    assert User.objects.count() == 0


def test_no_migration_creates_an_account() -> None:
    base = Path(settings.BASE_DIR)
    offenders = [
        str(path.relative_to(base))
        for app in APP_DIRS
        for path in (base / app).rglob("migrations/*.py")
        if ACCOUNT_CREATION.search(path.read_text())
    ]
    assert offenders == []


def test_no_fixture_holds_a_user() -> None:
    base = Path(settings.BASE_DIR)
    offenders = []
    for app in APP_DIRS:
        for path in (base / app).rglob("fixtures/*"):
            text = path.read_text(errors="replace")
            if DEFAULT_NAMES.search(text) or '"accounts.user"' in text.lower():
                offenders.append(str(path.relative_to(base)))
            if path.suffix == ".json":
                models = {row.get("model") for row in json.loads(text)}
                if "accounts.user" in models:
                    offenders.append(str(path.relative_to(base)))
    assert offenders == []
