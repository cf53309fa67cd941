"""Counts from the incident rollups are the counts from the rows (incidents/rollup.py).

The world: three hospital sites (sited in Lambeth, Tower Hamlets and Southwark), four
months of published submissions with placed incidents in three boroughs, unlocated ones
of several classes and a few rows awaiting geocoding; release 1 cut; then two site-months
corrected by a second version published through the real publishing service (the first
versions superseded, release 2 cut with the second); a version still ready for review;
and, after the releases, rows changed in place the ways the submission journey changes
them (sent back to geocoding, geocoded again, deleted).

For random filters, groupings, grants (record and aggregate level, pan-London and borough
subsets with and without unlocated incidents) and releases (none, a pinned one from
before and after the correction), the answer from the rollups equals the answer from the
rows, with the cell-key method (every published cell, the total and the note) and
without; and the rollups equal a fresh count of the rows after every kind of change.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.access import effective_access
from accounts.models import AccessGrant, Organisation, User
from hospitals.models import HospitalSite, Submission
from incidents.aggregates import GridScope, aggregate_counts, needs_protection
from incidents.filters import IncidentFilterSet
from incidents.models import Incident, IncidentCount, IncidentMonthCount
from incidents.rollup import ROLLUPS, question_of, rollup_for, rollups_fill
from ingest import loader
from ingest.services.publish import release_create, submission_publish
from tests.factories import AccessGrantFactory, MembershipFactory, OrganisationFactory, UserFactory
from tests.workspace_api.factories import (
    LAMBETH,
    LONDON,
    SOUTHWARK,
    TOWER_HAMLETS,
    incident_row,
    incidents_create,
    submission_create,
)

pytestmark = pytest.mark.django_db

MONTHS = [dt.date(2025, m, 1) for m in range(1, 5)]
METHODS = ["knife", "body_part", "blunt_object"]
LOCATION_TYPES = ["street", "dwelling", "licensed_premises"]
UNLOCATED = ["home", "vague", "unknown", "abroad"]
SITE_CODES = ["RJ122", "R1H12", "RJ299"]
BOROUGHS = [SOUTHWARK, LAMBETH, TOWER_HAMLETS]
COVERED_DIMENSIONS = ["month", "borough", "hospital", "method", "location_type", "geo_class"]
# (level, pan-London, boroughs, include unlocated)
GRANTS = [
    (AccessGrant.Level.RECORD, True, [], False),
    (AccessGrant.Level.AGGREGATE, True, [], False),
    (AccessGrant.Level.RECORD, False, [SOUTHWARK, LAMBETH], True),
    (AccessGrant.Level.AGGREGATE, False, [LAMBETH], True),
    (AccessGrant.Level.RECORD, False, [TOWER_HAMLETS], False),
    (AccessGrant.Level.AGGREGATE, False, [SOUTHWARK, TOWER_HAMLETS], True),
]


def _row(rng: random.Random, month: dt.date) -> dict[str, Any]:
    day = rng.choice([1, 2, 9, 15, 16, 22, 27, 28])
    when = dt.datetime(month.year, month.month, day, rng.randrange(24), 10, tzinfo=LONDON)
    borough = rng.choice([*BOROUGHS, ""])
    row = incident_row(
        borough or LAMBETH,
        when=when,
        method=rng.choice(METHODS),
        location_type=rng.choice(LOCATION_TYPES),
        located=bool(borough),
    )
    if not borough:
        row.update(borough_code="", ward_code="", lsoa_code="", geo_class=rng.choice(UNLOCATED))
        if rng.random() < 0.1:
            row.update(geocode_status=Incident.GeocodeStatus.PENDING, geo_class="")
    return row


def _rollup_snapshot() -> dict[str, set[tuple[Any, ...]]]:
    """Each rollup's cells, and the same cells counted afresh from the rows."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for model, columns in ROLLUPS:
            cols = ", ".join(columns)
            cursor.execute(
                f"SELECT {cols}, incident_count, record_key_sum FROM {model._meta.db_table}"  # noqa: S608
            )
            out[model.__name__] = set(cursor.fetchall())
            cursor.execute(
                f"SELECT {cols}, count(*), sum(record_key) FROM incidents_incident GROUP BY {cols}"  # noqa: S608
            )
            out[model.__name__ + " from rows"] = set(cursor.fetchall())
    return out


def assert_rollups_match_rows(after: str) -> None:
    snapshot = _rollup_snapshot()
    for model in (IncidentCount, IncidentMonthCount):
        assert snapshot[model.__name__] == snapshot[model.__name__ + " from rows"], after
        assert snapshot[model.__name__], "the rollup is empty: nothing was compared"


def rows_grouped(queries: CaptureQueriesContext) -> bool:
    """Whether a captured query grouped incident rows (the time axis's two end points,
    ``months_on_record``, read the incident table's index too, but group nothing)."""
    return any(
        '"incidents_incident"' in q["sql"] and "GROUP BY" in q["sql"]
        for q in queries.captured_queries
    )


@pytest.fixture
def rollup_world(
    site_a: HospitalSite, site_b: HospitalSite, trust_a: Organisation
) -> dict[str, Any]:
    rng = random.Random(20261204)
    site_c = HospitalSite.objects.create(
        site_code="RJ299",
        name="Southwark ED",
        trust_code="RJ2",
        trust_name="Trust C",
        organisation=trust_a,
        borough_code=SOUTHWARK,
    )
    first: dict[tuple[int, dt.date], Submission] = {}
    for site in (site_a, site_b, site_c):
        for month in MONTHS:
            submission = submission_create(site, period=month)
            incidents_create(submission, [_row(rng, month) for _ in range(rng.randint(15, 45))])
            first[(site.pk, month)] = submission
    release_1 = release_create(actor=None, label="2025-04")
    # Corrections: second versions published through the service, superseding the first.
    for site, month in ((site_a, MONTHS[1]), (site_c, MONTHS[3])):
        again = submission_create(
            site, period=month, version=2, status=Submission.Status.READY_FOR_REVIEW
        )
        incidents_create(again, [_row(rng, month) for _ in range(rng.randint(20, 50))])
        submission_publish(actor=None, submission=again, system=True, cut_release=False)
    release_2 = release_create(actor=None, label="2025-05")
    waiting = submission_create(site_b, period=MONTHS[0], version=2, status="ready_for_review")
    incidents_create(waiting, [_row(rng, MONTHS[0]) for _ in range(30)])
    superseded = Submission.objects.filter(status=Submission.Status.SUPERSEDED)
    assert superseded.count() == 2
    return {
        "release_1": release_1,
        "release_2": release_2,
        "waiting": waiting,
        "first": first,
        "users": [_user(*grant) for grant in GRANTS],
    }


def _user(level: str, pan_london: bool, boroughs: list[str], unlocated: bool) -> User:
    organisation = OrganisationFactory()
    AccessGrantFactory(
        organisation=organisation,
        level=level,
        pan_london=pan_london,
        boroughs=boroughs,
        include_unlocated=unlocated,
    )
    user = UserFactory(with_mfa=False)
    MembershipFactory(user=user, organisation=organisation)
    assert effective_access(user).has_data_access
    return user


def _changes_in_place(world: dict[str, Any]) -> Iterator[str]:
    """Change rows the ways the submission journey does, yielding after each."""
    published_ids = list(
        loader.incidents_of_submissions([s.pk for s in world["first"].values()])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    loader.incidents_geocode_requeue(published_ids[::7])
    yield "sent back to geocoding"
    loader.incidents_pending_geocode().filter(pk__in=published_ids[::14]).update(
        geocode_status=Incident.GeocodeStatus.DONE, geo_class="home"
    )
    yield "geocoded again, unlocated"
    loader.incidents_pending_geocode().filter(pk__in=published_ids[7::14]).update(
        geocode_status=Incident.GeocodeStatus.DONE, geo_class="place", borough_code=SOUTHWARK
    )
    yield "geocoded again, placed"
    loader.incidents_of_submissions([world["waiting"].pk]).delete()
    yield "a version's rows deleted"


def test_the_rollups_follow_every_change_of_the_rows(rollup_world: dict[str, Any]) -> None:
    assert_rollups_match_rows("the load and the publishing")
    for change in _changes_in_place(rollup_world):
        assert_rollups_match_rows(change)
    before = _rollup_snapshot()
    rollups_fill()
    assert _rollup_snapshot() == before


def _answer(fs_params: dict[str, Any], user: User, group_by: list[str], protect: bool) -> Any:
    """The answer as the API gives it (or the refusal), for one way of counting."""
    access = effective_access(user)
    fs = IncidentFilterSet(fs_params, user=user, access=access)
    assert fs.is_valid(), fs.errors
    try:
        result = aggregate_counts(fs.qs, group_by, protect=protect, scope=GridScope.of(fs))
    except Exception as exc:  # a refusal must be the same refusal
        return (type(exc).__name__, str(exc))
    return (result.results, result.total, result.disclosure_control)


def _month_edge(month: int, *, end: bool, inside: bool) -> str:
    start = dt.date(2025, month, 1)
    if not end:
        return (start + dt.timedelta(days=14 if inside else 0)).isoformat()
    last = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return (last - dt.timedelta(days=10 if inside else 0)).isoformat()


@st.composite
def questions(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, values in (
        ("borough", BOROUGHS),
        ("hospital", SITE_CODES),
        ("method", METHODS),
        ("location_type", LOCATION_TYPES),
        ("geo_class", ["place", *UNLOCATED]),
    ):
        if draw(st.booleans()):
            params[name] = sorted(draw(st.sets(st.sampled_from(values), min_size=1)))
    if draw(st.booleans()):
        low = draw(st.integers(1, 4))
        params["assault_date_from"] = _month_edge(low, end=False, inside=draw(st.booleans()))
        if draw(st.booleans()):
            high = draw(st.integers(low, 4))
            params["assault_date_to"] = _month_edge(high, end=True, inside=draw(st.booleans()))
    return params


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=questions(),
    who=st.integers(0, len(GRANTS) - 1),
    release=st.sampled_from([None, "release_1", "release_2"]),
    group_by=st.lists(st.sampled_from(COVERED_DIMENSIONS), min_size=1, max_size=3, unique=True),
    changed=st.booleans(),
)
def test_rollup_answers_equal_row_answers(
    rollup_world: dict[str, Any],
    params: dict[str, Any],
    who: int,
    release: str | None,
    group_by: list[str],
    changed: bool,
) -> None:
    if changed and not rollup_world.get("changed"):
        for _ in _changes_in_place(rollup_world):
            pass
        rollup_world["changed"] = True
    user = rollup_world["users"][who]
    if release is not None:
        params = {**params, "release": str(rollup_world[release].number)}
    fs = IncidentFilterSet(params, user=user)
    assert fs.is_valid(), fs.errors
    model = rollup_for(question_of(fs.qs), group_by)
    inside = any(
        name in params and dt.date.fromisoformat(params[name]).day not in (1, 28, 30, 31)
        for name in ("assault_date_from", "assault_date_to")
    )
    assert (model is None) == inside
    for protect in (needs_protection(effective_access(user)), True, False):
        with override_settings(INCIDENT_COUNTS_FROM_ROLLUP=False):
            from_rows = _answer(params, user, group_by, protect)
        with CaptureQueriesContext(connection) as queries:
            from_rollup = _answer(params, user, group_by, protect)
        assert from_rollup == from_rows
        if model is not None and from_rows[0] != "SparseGroupingError":
            table = model._meta.db_table
            assert any(table in q["sql"] for q in queries.captured_queries)
            assert not rows_grouped(queries)


@pytest.mark.parametrize(
    ("params", "group_by"),
    [
        ({"assault_date_from": "2025-01-15"}, ["borough"]),
        ({"assault_date_to": "2025-02-27"}, ["month"]),
        ({"ward": ["E05011095"]}, ["borough"]),
        ({"weekday": ["1", "2"]}, ["month"]),
        ({"hour_from": "20"}, ["borough"]),
        ({"precision": ["venue"]}, ["month"]),
        ({}, ["week"]),
        ({}, ["lsoa"]),
        ({}, ["hour", "borough"]),
    ],
)
def test_questions_the_rollups_cannot_answer_are_counted_from_the_rows(
    rollup_world: dict[str, Any], params: dict[str, Any], group_by: list[str]
) -> None:
    user = rollup_world["users"][0]
    fs = IncidentFilterSet(params, user=user)
    assert fs.is_valid(), fs.errors
    assert rollup_for(question_of(fs.qs), group_by) is None
    with CaptureQueriesContext(connection) as queries:
        aggregate_counts(fs.qs, group_by, protect=False)
    assert rows_grouped(queries)


def test_a_narrowed_queryset_is_counted_from_the_rows(rollup_world: dict[str, Any]) -> None:
    """A caller that filters the filter set's rows further gets a new queryset without the
    question, so its count can only come from the rows it narrowed."""
    user = rollup_world["users"][0]
    fs = IncidentFilterSet({}, user=user)
    assert fs.is_valid()
    assert rollup_for(question_of(fs.qs), ["borough"]) is IncidentMonthCount
    narrowed = fs.qs.filter(assault_hour__gte=20)
    assert question_of(narrowed) is None
    expected = sum(1 for _ in narrowed.values_list("pk"))
    assert aggregate_counts(narrowed, ["borough"], protect=False).total == expected


def test_the_setting_turns_the_rollups_off(rollup_world: dict[str, Any]) -> None:
    fs = IncidentFilterSet({}, user=rollup_world["users"][0])
    assert fs.is_valid()
    assert rollup_for(question_of(fs.qs), ["borough", "method"]) is IncidentCount
    with override_settings(INCIDENT_COUNTS_FROM_ROLLUP=False):
        assert rollup_for(question_of(fs.qs), ["borough", "method"]) is None
