"""The general per-user API throttle (``API_THROTTLE_RATE``, DRF's ``user`` rate).

DRF reads the rate table once, when ``SimpleRateThrottle`` is defined
(``THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES``), and each throttle instance
reads its rate from that table in ``get_rate``. ``override_settings`` would therefore not
reach it; the test patches the entry of that very table, which ``monkeypatch`` restores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from accounts.models import User
from tests.workspace_api.conftest import COUNTS, World

pytestmark = pytest.mark.django_db
RATE = 3


def _history_key(user: User) -> str:
    return UserRateThrottle.cache_format % {"scope": UserRateThrottle.scope, "ident": user.pk}


@pytest.fixture
def tiny_user_rate(
    monkeypatch: pytest.MonkeyPatch, mps_analyst: User, lambeth_analyst: User
) -> Iterator[Callable[[], None]]:
    """The ``user`` rate set to RATE a minute; yields a function that forgets the two
    users' request histories, which also runs afterwards so no later test starts with
    calls already counted against it."""
    # The table patched is the one the settings configure (no copy was made on the way).
    assert UserRateThrottle.THROTTLE_RATES is settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", f"{RATE}/minute")

    def forget() -> None:
        cache.delete_many([_history_key(mps_analyst), _history_key(lambeth_analyst)])

    forget()
    yield forget
    forget()


def test_the_configured_rate_is_the_one_in_force() -> None:
    configured = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"]
    assert UserRateThrottle().rate == configured
    classes = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]
    assert "rest_framework.throttling.UserRateThrottle" in classes


def test_calls_beyond_the_rate_get_429_per_user(
    world: World,
    api_as: Callable[[User], APIClient],
    mps_analyst: User,
    lambeth_analyst: User,
    tiny_user_rate: Callable[[], None],
) -> None:
    busy = api_as(mps_analyst)
    # The rate counts every workspace endpoint together, not each one separately.
    allowed = [
        busy.get("/api/v1/incidents/"),
        busy.get("/api/v1/aggregates/", {"group_by": "borough"}),
        busy.get("/api/v1/releases/"),
    ]
    assert [r.status_code for r in allowed] == [200] * RATE
    assert len(allowed[0].json()["results"]) == sum(COUNTS.values())

    refused = busy.get("/api/v1/incidents/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused["Cache-Control"] == "no-store"
    assert "results" not in refused.json()  # no data in a refusal
    assert busy.get("/api/v1/hospitals/").status_code == 429

    # Another user has an allowance of their own.
    other = api_as(lambeth_analyst)
    assert [other.get("/api/v1/incidents/").status_code for _ in range(RATE)] == [200] * RATE
    assert other.get("/api/v1/incidents/").status_code == 429

    # A second token of the throttled user shares that user's history: it is per user.
    assert api_as(mps_analyst).get("/api/v1/incidents/").status_code == 429

    # Forgetting the histories (as the fixture does afterwards) lets the user in again.
    tiny_user_rate()
    assert busy.get("/api/v1/incidents/").status_code == 200
