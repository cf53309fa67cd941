"""Shared fixtures. Personas and the permission matrix live here (see tests/accounts)."""

from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import api_token_create
from tests.worker import celery_worker_proc  # noqa: F401  (a real Celery worker)

# Named personas (liaison_a, southwark_analyst, access_admin, outsider, ...): tests/personas.py
pytest_plugins = ["tests.personas"]


@pytest.fixture(autouse=True)
def _fresh_login_rate_limits() -> Iterator[None]:
    """Each test starts with allauth's login rate limits at zero, and no TOTP code marked
    used.

    The per-IP limit counts every failed sign-in from 127.0.0.1, so without this, tests
    that fail sign-ins on purpose would throttle whichever test runs next. The replay
    guard marks a code used for one TOTP period per user id; a later test's user can get
    the same id (the database is flushed between tests) and sign in within that period.
    Only these keys go: the Redis database may also hold a running worker's broker state.
    """
    # Without Redis the cache is a table in the test database, which each test's rollback
    # (or flush) already empties.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("allauth:rl:*")
        cache.delete_pattern("allauth.mfa.totp.used*")
    yield


@pytest.fixture
def api_as() -> Callable[[User], APIClient]:
    """``api_as(user)``: an API client authenticated with a fresh personal token."""

    def _client(user: User) -> APIClient:
        client = APIClient()
        key = api_token_create(actor=user, name="tests", days=5).key
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return _client
