"""How many queries the main workspace pages and API calls make, for a record-level and an
aggregate-only user.

Under load every query is a round trip that queues behind the others, so the budgets
below are the counts of a warm page (its cached answers in place), and the things a page
used to repeat are checked by name: the viewer's effective access is read once per
request (page, audit row and header navigation share it), and the harmonised codes once
(filter choices, filter tags and the table's words share them). Every data view still
writes its audit row.

Transaction bookkeeping (savepoints), the session's save when its idle clock moves on,
and the database cache's own queries (when no Redis is configured) are not counted: they
depend on how the test wraps the request, on the time and on the cache backend, not on
the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.audit.models import AuditEvent
from accounts.models import User
from tests.factories import login_verified
from tests.personas import SOUTHWARK

from .conftest import BOROUGHS_WITH_DATA

pytestmark = pytest.mark.django_db

DASHBOARD = "/data/dashboard/"
EXPLORE = f"/data/explore/?borough={SOUTHWARK}&sort=-date"
CHARTS = f"/data/explore/charts/?{BOROUGHS_WITH_DATA}"
API_INCIDENTS = f"/api/v1/incidents/?borough={SOUTHWARK}&page_size=50"
API_AGGREGATES = f"/api/v1/aggregates/?group_by=borough&{BOROUGHS_WITH_DATA}"

# (persona, url): the most queries a warm request may make. A record-level analyst sees
# the rows of the table; an aggregate-only user sees counts (and the query-pattern check
# that disclosure control adds), and has no record list in the API.
BUDGETS = {
    ("southwark_analyst", DASHBOARD): 11,
    ("southwark_analyst", EXPLORE): 14,
    ("southwark_analyst", CHARTS): 15,
    ("southwark_analyst", API_INCIDENTS): 7,
    ("southwark_analyst", API_AGGREGATES): 8,
    ("aggregate_user", DASHBOARD): 13,
    ("aggregate_user", EXPLORE): 19,
    ("aggregate_user", CHARTS): 15,
    ("aggregate_user", API_AGGREGATES): 10,
}


def _cache_table() -> str | None:
    cache = settings.CACHES["default"]
    return str(cache["LOCATION"]) if str(cache["BACKEND"]).endswith("DatabaseCache") else None


def _counted(ctx: CaptureQueriesContext) -> list[str]:
    """The page's own queries: no savepoints, no database-cache reads and writes."""
    cache_table = _cache_table()
    out = []
    for query in ctx.captured_queries:
        sql = query["sql"]
        if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            continue
        if sql.startswith(('UPDATE "django_session"', 'INSERT INTO "django_session"')):
            continue  # the idle clock's refresh, once a minute whatever the page
        if cache_table and f'"{cache_table}"' in sql:
            continue
        out.append(sql)
    return out


def _touching(queries: list[str], table: str) -> int:
    return sum(1 for sql in queries if f'FROM "{table}"' in sql)


@pytest.fixture
def fetch(
    client: Client, api_as: Callable[[User], Any], seeded: dict[str, Any]
) -> Callable[[User, str], tuple[int, list[str]]]:
    """``fetch(user, url)``: (status, counted queries) of a warm request: the same request
    made once before, so cached dashboards, charts and geography are in place."""
    clients: dict[int, Any] = {}

    def _fetch(user: User, url: str) -> tuple[int, list[str]]:
        if user.pk not in clients:
            if url.startswith("/api/"):
                clients[user.pk] = api_as(user)
            else:
                login_verified(client, user)
                clients[user.pk] = client
        http = clients[user.pk]
        warm = http.get(url)
        assert warm.status_code == 200, warm.content[:300]
        with CaptureQueriesContext(connection) as ctx:
            response = http.get(url)
        return response.status_code, _counted(ctx)

    return _fetch


@pytest.mark.parametrize(("persona", "url"), sorted(BUDGETS))
def test_warm_page_stays_within_its_query_budget(
    request: pytest.FixtureRequest,
    fetch: Callable[[User, str], tuple[int, list[str]]],
    persona: str,
    url: str,
) -> None:
    user = request.getfixturevalue(persona)
    status, queries = fetch(user, url)
    assert status == 200
    budget = BUDGETS[(persona, url)]
    assert len(queries) <= budget, "\n".join([f"{len(queries)} > {budget}:", *queries])


@pytest.mark.parametrize("persona", ["southwark_analyst", "aggregate_user"])
@pytest.mark.parametrize("url", [DASHBOARD, EXPLORE, CHARTS])
def test_pages_read_access_and_codes_once_and_audit_every_view(
    request: pytest.FixtureRequest,
    fetch: Callable[[User, str], tuple[int, list[str]]],
    persona: str,
    url: str,
) -> None:
    user = request.getfixturevalue(persona)
    before = AuditEvent.objects.filter(actor=user, action="data.viewed").count()
    _, queries = fetch(user, url)
    # The grants behind the viewer's access: read for the page, reused by its audit row
    # and by the header's navigation.
    assert _touching(queries, "accounts_accessgrant") == 1, queries
    assert _touching(queries, "incidents_harmonisedcode") <= 1, queries
    # Both requests (the warming one and the counted one) were audited, each in one
    # statement (the chain's lock, head, hash and insert are all inside it).
    assert AuditEvent.objects.filter(actor=user, action="data.viewed").count() == before + 2
    assert sum("audit_append(" in sql for sql in queries) == 1, queries
    # The signed-in sessions list is refreshed with the idle clock, not on every request.
    assert _touching(queries, "usersessions_usersession") == 0, queries


@pytest.mark.parametrize("url", [API_INCIDENTS, API_AGGREGATES])
def test_api_reads_access_once_and_audits_every_call(
    southwark_analyst: User,
    fetch: Callable[[User, str], tuple[int, list[str]]],
    url: str,
) -> None:
    before = AuditEvent.objects.filter(actor=southwark_analyst).count()
    _, queries = fetch(southwark_analyst, url)
    assert _touching(queries, "accounts_accessgrant") == 1, queries
    assert sum("audit_append(" in sql for sql in queries) == 1, queries
    # The token's "last used" was written by the warming call, a moment ago.
    assert not any(sql.startswith('UPDATE "accounts_apitoken"') for sql in queries), queries
    # One audit row per call (and the token sign-in is not a data view).
    assert AuditEvent.objects.filter(actor=southwark_analyst, action="api.called").count() >= 2
    assert AuditEvent.objects.filter(actor=southwark_analyst).count() > before


def test_navigation_shows_the_data_links_without_reading_access_again(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    """The header's Explore and Dashboard links (which need data access) still show on a
    data page that has already read the viewer's access."""
    login_verified(client, southwark_analyst)
    client.get(EXPLORE)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(EXPLORE)
    labels = [link.label for link in response.context["nav_links"]]
    assert "Explore" in labels and "Dashboard" in labels
    assert _touching(_counted(ctx), "accounts_accessgrant") == 1
