"""Query auditing: a burst of narrow, overlapping aggregate queries by an aggregate-level
user raises one access-review flag (accounts/audit/patterns.py, docs/audit.md "Query
patterns"), shown to the access administrator; nothing is ever blocked.

The queries go through the real API and pages against PostgreSQL. The threshold is lowered
with ``settings`` so a burst stays far below the per-user API throttle.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.audit.models import Action, AuditEvent, QueryPatternFlag
from accounts.audit.patterns import AggregateQuestion, pattern_counts
from accounts.models import User
from accounts.services import api_token_create
from hospitals.models import HospitalSite
from incidents.masking import reset_geography_cache
from tests.factories import login_verified
from tests.workspace_api.factories import (
    LONDON,
    SOUTHWARK,
    geography_create,
    incident_row,
    incidents_create,
    submission_create,
)

pytestmark = pytest.mark.django_db
AGGREGATES = "/api/v1/aggregates/"
THRESHOLD = 6


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    # Throttle counters live in the cache; geography is cached per process.
    cache.clear()
    reset_geography_cache()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _low_threshold(settings: Any) -> None:
    settings.AGGREGATE_PATTERN_QUERIES = THRESHOLD
    settings.AGGREGATE_PATTERN_MINUTES = 15


@pytest.fixture
def january(site_a: HospitalSite) -> None:
    """Five published Southwark incidents a day, 1-28 January 2025: every question below
    has plenty of incidents per group, so none is refused as too sparse."""
    geography_create()
    submission = submission_create(site_a)
    incidents_create(
        submission,
        [
            incident_row(SOUTHWARK, when=dt.datetime(2025, 1, day, 2 + 4 * n, tzinfo=LONDON))
            for day in range(1, 29)
            for n in range(5)
        ],
    )


def api(user: User) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_create(actor=user, name='t', days=5).key}"
    )
    return client


def narrow(day: int) -> dict[str, str]:
    """One week of Southwark by month: narrow (a week, one borough); the next day's
    question overlaps it (same dimensions, other dates)."""
    return {
        "group_by": "month",
        "borough": SOUTHWARK,
        "assault_date_from": f"2025-01-{day:02d}",
        "assault_date_to": f"2025-01-{day + 6:02d}",
    }


def ask(client: APIClient, questions: list[dict[str, str]]) -> list[int]:
    return [client.get(AGGREGATES, q).status_code for q in questions]


def flags(user: User) -> list[QueryPatternFlag]:
    return list(QueryPatternFlag.objects.filter(user=user).order_by("raised_at"))


def flagged_events(user: User) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.QUERY_PATTERN_FLAGGED, actor=user))


# --- through the API -------------------------------------------------------------------


def test_a_burst_of_narrow_overlapping_queries_raises_one_flag_and_blocks_nothing(
    january: None, aggregate_user: User, org_vru: Any
) -> None:
    client = api(aggregate_user)
    assert ask(client, [narrow(day) for day in range(1, THRESHOLD)]) == [200] * (THRESHOLD - 1)
    assert flags(aggregate_user) == []  # one short of the threshold

    statuses = ask(client, [narrow(day) for day in range(THRESHOLD, THRESHOLD + 4)])
    assert statuses == [200] * 4  # never blocked, before or after the flag
    (flag,) = flags(aggregate_user)  # raised once, not again for the later queries
    assert flag.reviewed_at is None
    assert flag.organisation == org_vru
    assert (flag.queries, flag.narrow_overlapping, flag.window_minutes) == (
        THRESHOLD,
        THRESHOLD,
        15,
    )

    # Each answer's audit event carries the dimensions, the filter and the marker.
    answers = AuditEvent.objects.filter(actor=aggregate_user, action=Action.API_CALLED)
    assert answers.count() == THRESHOLD + 3
    first = answers.order_by("id").first()
    assert first is not None
    assert first.details["group_by"] == ["month"]
    assert first.details["filter"] == {
        "assault_date_from": ["2025-01-01"],
        "assault_date_to": ["2025-01-07"],
        "borough": [SOUTHWARK],
    }
    assert first.details["disclosure_control"] is True

    # The flag's own event: counts only, never a filter value.
    (event,) = flagged_events(aggregate_user)
    assert event.object_type == "audit.querypatternflag" and event.object_id == str(flag.pk)
    assert event.organisation == org_vru
    assert event.details == {
        "queries": THRESHOLD,
        "narrow_overlapping": THRESHOLD,
        "share_narrow_overlapping": 1.0,
        "window_minutes": 15,
        "threshold": THRESHOLD,
    }
    text = json.dumps(event.details)
    assert SOUTHWARK not in text and "2025" not in text


def test_the_same_queries_by_a_record_level_user_raise_no_flag(
    january: None, mps_analyst: User
) -> None:
    client = api(mps_analyst)
    assert ask(client, [narrow(day) for day in range(1, 2 * THRESHOLD)]) == [200] * (
        2 * THRESHOLD - 1
    )
    assert flags(mps_analyst) == [] and flagged_events(mps_analyst) == []
    answers = AuditEvent.objects.filter(actor=mps_analyst, action=Action.API_CALLED)
    assert {e.details["disclosure_control"] for e in answers} == {False}


def test_broad_queries_raise_no_flag(january: None, aggregate_user: User) -> None:
    client = api(aggregate_user)
    # A few broad questions, then more than the threshold: whole period, one dimension.
    broad = [
        {"group_by": name}
        for name in ("month", "week", "weekday", "hour", "geo_class", "hospital", "precision")
    ]
    assert ask(client, broad[:3]) == [200] * 3
    assert ask(client, broad[3:]) == [200] * 4
    assert len(broad) > THRESHOLD
    # The same broad question again counts once; still nothing to flag.
    assert ask(client, broad[:2]) == [200] * 2
    assert flags(aggregate_user) == []


def test_repeating_one_narrow_query_raises_no_flag(january: None, aggregate_user: User) -> None:
    """A reload gives no new information: the same question counts once."""
    assert ask(api(aggregate_user), [narrow(3)] * (THRESHOLD + 2)) == [200] * (THRESHOLD + 2)
    assert flags(aggregate_user) == []


def test_a_reviewed_flag_is_not_raised_again_for_the_same_window(
    january: None, aggregate_user: User, access_admin: User
) -> None:
    client = api(aggregate_user)
    ask(client, [narrow(day) for day in range(1, THRESHOLD + 1)])
    (flag,) = flags(aggregate_user)
    admin = Client()
    login_verified(admin, access_admin)
    review = admin.post(reverse("accounts:pattern_flag_review", args=[flag.pk]))
    assert review.status_code == 302

    # Only answers after the flag count towards the next one.
    ask(client, [narrow(day) for day in range(THRESHOLD + 1, 2 * THRESHOLD)])
    assert len(flags(aggregate_user)) == 1
    ask(client, [narrow(2 * THRESHOLD)])
    first, second = flags(aggregate_user)
    assert first.reviewed_at is not None and second.reviewed_at is None
    assert second.queries == THRESHOLD


def test_an_aggregate_export_counts_once_and_is_never_blocked(
    january: None, aggregate_user: User, settings: Any
) -> None:
    settings.AGGREGATE_PATTERN_QUERIES = 3  # the export throttle allows 10 a minute
    client = api(aggregate_user)
    url = reverse("api:export-aggregates", kwargs={"fmt": "csv"})
    for day in (1, 2, 3):
        response = client.get(url, narrow(day))
        assert response.status_code == 200
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
    (flag,) = flags(aggregate_user)
    # Six events (started and completed for each file), three answers.
    assert (
        AuditEvent.objects.filter(actor=aggregate_user, action=Action.DATA_DOWNLOADED).count() == 6
    )
    assert flag.queries == 3 and flag.narrow_overlapping == 3


# --- through the pages -----------------------------------------------------------------


def test_a_burst_on_the_explore_page_raises_a_flag(
    january: None, client: Client, aggregate_user: User
) -> None:
    login_verified(client, aggregate_user)
    for day in range(1, THRESHOLD + 2):
        params = {k: v for k, v in narrow(day).items() if k != "group_by"}
        assert client.get(reverse("incidents:explore"), params).status_code == 200
    (flag,) = flags(aggregate_user)
    assert flag.queries == THRESHOLD
    viewed = AuditEvent.objects.filter(actor=aggregate_user, action=Action.DATA_VIEWED)
    assert {e.details["disclosure_control"] for e in viewed} == {True}


def test_record_level_page_views_are_marked_and_not_counted(
    january: None, client: Client, mps_analyst: User
) -> None:
    login_verified(client, mps_analyst)
    for day in range(1, THRESHOLD + 2):
        params = {k: v for k, v in narrow(day).items() if k != "group_by"}
        assert client.get(reverse("incidents:explore"), params).status_code == 200
    viewed = AuditEvent.objects.filter(actor=mps_analyst, action=Action.DATA_VIEWED)
    assert viewed.count() == THRESHOLD + 1
    assert {e.details["disclosure_control"] for e in viewed} == {False}
    assert flags(mps_analyst) == []


# --- the access review page ------------------------------------------------------------


def test_the_access_administrator_sees_and_reviews_the_flag(
    january: None, aggregate_user: User, access_admin: User, data_manager: User
) -> None:
    ask(api(aggregate_user), [narrow(day) for day in range(1, THRESHOLD + 1)])
    (flag,) = flags(aggregate_user)
    admin = Client()
    login_verified(admin, access_admin)
    page = admin.get(reverse("accounts:access_review"))
    assert page.status_code == 200
    body = page.content.decode()
    section = body[body.index('id="query-patterns"') : body.index("Who can see what")]
    assert "Query patterns to review" in section
    assert "<caption" in section and 'scope="col"' in section and 'scope="row"' in section
    assert aggregate_user.email in section and "Violence Reduction Unit" in section
    assert f"{THRESHOLD} in 15 min" in section and f"{THRESHOLD} (100%)" in section
    audit_link = reverse("audit:event_list") + "?person=aggregate_user%40personas.test"
    assert audit_link in section
    # The link opens the audit log on that person's events.
    start = section.index(audit_link)
    href = section[start : section.index('"', start)].replace("&amp;", "&")
    events = admin.get(href)
    assert events.status_code == 200
    assert "Query pattern flagged for access review" in events.content.decode()

    # Nobody else sees the page or can close the flag.
    for other in (aggregate_user, data_manager):
        someone = Client()
        login_verified(someone, other)
        assert someone.get(reverse("accounts:access_review")).status_code == 404
        refused = someone.post(reverse("accounts:pattern_flag_review", args=[flag.pk]))
        assert refused.status_code == 403
    flag.refresh_from_db()
    assert flag.reviewed_at is None

    # Marked as reviewed: audited, and gone from the list.
    done = admin.post(reverse("accounts:pattern_flag_review", args=[flag.pk]))
    assert done.status_code == 302
    flag.refresh_from_db()
    assert flag.reviewed_at is not None and flag.reviewed_by == access_admin
    reviewed = AuditEvent.objects.get(action=Action.QUERY_PATTERN_REVIEWED)
    assert reviewed.actor == access_admin and reviewed.object_id == str(flag.pk)
    body = admin.get(reverse("accounts:access_review")).content.decode()
    section = body[body.index('id="query-patterns"') : body.index("Who can see what")]
    assert aggregate_user.email not in section and "None." in section


# --- the rule itself -------------------------------------------------------------------


def question(group_by: list[str] | None = None, **filters: list[str]) -> AggregateQuestion:
    details: dict[str, Any] = {"endpoint": "aggregates", "filter": filters}
    if group_by is not None:
        details["group_by"] = group_by
    return AggregateQuestion.from_details(details)


@pytest.mark.parametrize(
    ("q", "is_narrow"),
    [
        (
            question(["month"], assault_date_from=["2025-01-01"], assault_date_to=["2025-01-31"]),
            True,
        ),
        (
            question(["month"], assault_date_from=["2025-01-01"], assault_date_to=["2025-02-01"]),
            False,
        ),
        (
            question(["month"], arrival_date_from=["2025-03-01"], arrival_date_to=["2025-03-10"]),
            True,
        ),
        (question(["month"], assault_date_from=["2025-01-01"]), False),  # open-ended
        (question(["month"], borough=[SOUTHWARK]), True),
        (question(["month"], borough=[SOUTHWARK, "E09000022"]), False),
        (question(["month"], ward=["E05011095"]), True),
        (question(["month"], lsoa=["E01003968"]), True),
        (question(["borough", "month"]), True),
        (question(["borough"], method=["knife"]), False),
    ],
)
def test_what_counts_as_narrow(q: AggregateQuestion, is_narrow: bool) -> None:
    assert q.narrow is is_narrow


def test_what_counts_as_overlapping() -> None:
    week = {"assault_date_from": ["2025-01-01"], "assault_date_to": ["2025-01-07"]}
    other_week = {"assault_date_from": ["2025-01-02"], "assault_date_to": ["2025-01-08"]}
    # Same dimensions, other dates or areas: overlapping.
    counts = pattern_counts(
        [
            question(["month"], **week),
            question(["month"], **other_week),
            question(["month"], borough=[SOUTHWARK]),
            question(["month"], borough=["E09000022"]),
        ]
    )
    assert (counts.queries, counts.narrow_overlapping) == (4, 4)
    # Other dimensions, or a filter differing in something else: not overlapping.
    counts = pattern_counts(
        [
            question(["month"], **week),
            question(["week"], **other_week),
            question(["hour"], method=["knife"], **week),
            question(["hour"], method=["blunt"], **other_week),
        ]
    )
    assert (counts.queries, counts.narrow_overlapping) == (4, 0)


def test_an_export_and_an_api_call_with_the_same_dimensions_overlap() -> None:
    api_call = question(["month"], borough=[SOUTHWARK])
    export = AggregateQuestion.from_details(
        {
            "endpoint": "exports/aggregates.csv",
            "filter": {"borough": ["E09000022"], "group_by": ["month"]},
            "stage": "started",
        }
    )
    assert export.group_by == ("month",) and export.filter == (("borough", ("E09000022",)),)
    assert pattern_counts([api_call, export]).narrow_overlapping == 2


def test_pages_are_told_apart_by_page_and_map_level() -> None:
    explore = AggregateQuestion.from_details({"endpoint": "pages/explore", "filter": {}})
    ward_map = AggregateQuestion.from_details(
        {"endpoint": "pages/map", "filter": {}, "level": "ward"}
    )
    lsoa_map = AggregateQuestion.from_details(
        {"endpoint": "pages/map", "filter": {}, "level": "lsoa"}
    )
    assert len({explore.shape, ward_map.shape, lsoa_map.shape}) == 3
