"""Personal API tokens (accounts.authentication): only a live token of an active person
whose access has not changed since it was issued authenticates, so revocation is immediate."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.authentication import ApiTokenAuthentication, new_token_key, token_digest
from accounts.models import ApiToken, User
from tests.factories import UserFactory
from tests.security.authflow import WhoAmI, api_call

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()


def _issue(user: User, *, days: int = 30) -> tuple[str, ApiToken]:
    key = new_token_key()
    token = ApiToken.objects.create(
        user=user,
        name="automation",
        prefix=key[:8],
        digest=token_digest(key),
        expires_at=timezone.now() + dt.timedelta(days=days),
        access_epoch=user.access_epoch,
    )
    return key, token


def test_a_live_token_authenticates_and_records_use() -> None:
    user = UserFactory()
    key, token = _issue(user)
    response = api_call(key)
    assert response.status_code == 200
    assert response.data == {"user": user.pk}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute() -> None:
    user = UserFactory()
    key, token = _issue(user)
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        assert api_call(key).status_code == 200
        clock.shift(dt.timedelta(seconds=59))
        assert api_call(key).status_code == 200
        token.refresh_from_db()
        assert token.last_used_at == start
        clock.shift(dt.timedelta(seconds=1))
        assert api_call(key).status_code == 200
        token.refresh_from_db()
        assert token.last_used_at == start + dt.timedelta(minutes=1)


def test_only_the_digest_is_stored() -> None:
    key, token = _issue(UserFactory())
    assert key not in (token.digest, token.prefix)
    assert not ApiToken.objects.filter(digest=key).exists()


def test_unknown_or_malformed_token_is_refused() -> None:
    _issue(UserFactory())
    assert api_call(new_token_key()).status_code == 401
    assert api_call(None, header="Token").status_code == 401
    assert api_call(None, header="Token a b").status_code == 401
    assert api_call(None).status_code == 401  # "Token None"
    assert api_call(None, header="").status_code == 401  # no credentials at all


def test_a_revoked_token_is_refused() -> None:
    key, token = _issue(UserFactory())
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert api_call(key).status_code == 401


def test_an_expired_token_is_refused() -> None:
    key, token = _issue(UserFactory())
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert api_call(key).status_code == 401


def test_a_deactivated_persons_token_is_refused() -> None:
    user = UserFactory()
    key, _ = _issue(user)
    User.objects.filter(pk=user.pk).update(status=User.Status.DEACTIVATED)
    assert api_call(key).status_code == 401
    User.objects.filter(pk=user.pk).update(status=User.Status.ACTIVE, is_active=False)
    assert api_call(key).status_code == 401


def test_a_token_issued_before_access_shrank_is_refused() -> None:
    user = UserFactory()
    key, _ = _issue(user)
    assert api_call(key).status_code == 200
    User.objects.filter(pk=user.pk).update(access_epoch=user.access_epoch + 1)
    assert api_call(key).status_code == 401


def test_authentication_class_says_why_without_naming_the_token() -> None:
    user = UserFactory()
    key, token = _issue(user)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    request = Request(factory.get("/api/whoami", HTTP_AUTHORIZATION=f"Token {key}"))
    with pytest.raises(exceptions.AuthenticationFailed) as excinfo:
        ApiTokenAuthentication().authenticate(request)
    assert key not in str(excinfo.value.detail)


def test_a_session_without_mfa_cannot_use_the_api() -> None:
    from django.test import Client

    user = UserFactory(with_mfa=False)
    client = Client()
    client.force_login(user)
    request = factory.get("/api/whoami")
    request.user = user
    request.session = client.session
    request._dont_enforce_csrf_checks = True
    response = WhoAmI.as_view()(request)
    assert response.status_code in (401, 403)
