"""GET /api/v1/aggregates/: scope, disclosure control per grant, SECURITY 19 property test
(aggregates, map and export counts for random grants, exact or protected)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.models import AccessGrant, ApiToken
from accounts.services import api_token_create
from hospitals.models import Submission
from incidents.disclosure import SUPPRESSED, DisclosurePolicy, protect_groups
from tests.factories import (
    AccessGrantFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    login_verified,
)
from tests.workspace_api.conftest import COUNTS
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
URL = "/api/v1/aggregates/"
CAMDEN = "E09000007"


def test_record_user_gets_exact_counts(world, api_as, mps_analyst) -> None:
    body = api_as(mps_analyst).get(URL, {"group_by": "borough"}).json()
    assert {r["borough"]: r["count"] for r in body["results"]} == COUNTS
    assert body["disclosure_control"]["applied"] is False
    assert body["total"] == sum(COUNTS.values())


def test_aggregate_user_gets_disclosure_control(world, api_as, aggregate_user, site_a) -> None:
    extra = submission_create(site_a, period=dt.date(2025, 2, 1))
    incidents_create(
        extra,
        [
            incident_row(SOUTHWARK, when=dt.datetime(2025, 2, 3, 12, tzinfo=LONDON))
            for _ in range(9)
        ],
    )
    response = api_as(aggregate_user).get(URL, {"group_by": "borough,month"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    counts = {(r["borough"], r["month"]): r["count"] for r in body["results"]}
    assert counts[(SOUTHWARK, "2025-02")] in (10, "*")  # 9 rounds to 10 unless a complement
    assert all(v == "*" or (isinstance(v, int) and (v == 0 or v % 5 == 0)) for v in counts.values())
    assert all(counts[k] == "*" for k in counts if k[1] == "2025-01")  # 2 or 3: suppressed
    control = body["disclosure_control"]
    assert control["applied"] is True and control["suppressed_up_to"] == 7
    assert "suppress" in control["note"].lower()


def test_group_by_is_validated(world, api_as, mps_analyst) -> None:
    client = api_as(mps_analyst)
    for value in ("", "colour", "borough,borough", "month,week,hour,borough"):
        assert client.get(URL, {"group_by": value}).status_code == 400


def test_every_dimension_works_in_one_query(
    world, api_as, mps_analyst, django_assert_max_num_queries
) -> None:
    client = api_as(mps_analyst)
    for dim in ("month", "week", "weekday", "hour", "borough", "ward", "lsoa", "hospital",
                "method", "location_type", "precision"):  # fmt: skip
        body = client.get(URL, {"group_by": dim}).json()
        assert sum(r["count"] for r in body["results"]) == sum(COUNTS.values()), dim
    with django_assert_max_num_queries(22):
        client.get(URL, {"group_by": "hospital,month"})


def test_tampered_borough_gives_nothing(world, api_as, southwark_analyst) -> None:
    body = (
        api_as(southwark_analyst).get(URL, {"group_by": "borough", "borough": "E09000022"}).json()
    )
    assert body["results"] == []


def test_liaison_and_outsider_refused(world, api_as, liaison_a, outsider) -> None:
    for user in (liaison_a, outsider):
        assert api_as(user).get(URL, {"group_by": "borough"}).status_code == 403


# --- SECURITY 19: counts equal the counts over permitted boroughs, for random grants -------

BOROUGH_POOL = sorted([*COUNTS, CAMDEN])
# ``world`` alone has only counts of 1-7, all "*" once protected; ``crowded`` adds published
# rows so protected outputs show rounded numbers too: Southwark 12 (shown as 10), Lambeth 13
# (15), Tower Hamlets 2 ("*"), Camden none. Its unpublished rows (6 in Southwark) would move
# Southwark to 18 (20) if they were counted.
PUBLISHED_COUNTS = {SOUTHWARK: 12, LAMBETH: 13, TOWER_HAMLETS: 2}


@pytest.fixture
def crowded(world, site_a, site_b) -> dict[str, int]:
    """``world`` plus the rows that bring it to PUBLISHED_COUNTS, and six unpublished."""
    extra = submission_create(site_a, period=dt.date(2025, 2, 1))
    when = dt.datetime(2025, 2, 4, 18, tzinfo=LONDON)
    incidents_create(
        extra,
        [
            incident_row(SOUTHWARK, when=when)
            for _ in range(PUBLISHED_COUNTS[SOUTHWARK] - COUNTS[SOUTHWARK])
        ]
        + [
            incident_row(LAMBETH, when=when)
            for _ in range(PUBLISHED_COUNTS[LAMBETH] - COUNTS[LAMBETH])
        ],
    )
    pending = submission_create(
        site_b, period=dt.date(2025, 2, 1), status=Submission.Status.READY_FOR_REVIEW
    )
    incidents_create(pending, [incident_row(SOUTHWARK, when=when) for _ in range(6)])
    assert PUBLISHED_COUNTS[TOWER_HAMLETS] == COUNTS[TOWER_HAMLETS]
    return PUBLISHED_COUNTS


def _rule(count: int) -> int | str:
    """The published rule written out (ISTV-DATASET.md section 6), independent of the code
    under test: 0 stays 0, 1-7 is "*", anything else the nearest multiple of 5."""
    if count == 0:
        return 0
    return SUPPRESSED if count <= 7 else 5 * ((count + 2) // 5)


def _protected_oracle(raw: dict[str, int]) -> tuple[dict[str, object], object]:
    """What an aggregate-level user must see for these true counts: the rule on every
    count, except the cells ``protect_groups`` (run on the known raw counts, not on
    anything queried) hides as complements, and the rule on the true total."""
    rows = [{"borough": b, "count": n} for b, n in sorted(raw.items())]
    protected = protect_groups(rows, ["borough"], policy=DisclosurePolicy(7, 5))
    hidden = {r["borough"] for r in protected.results if r["count"] == SUPPRESSED}
    published = {b: SUPPRESSED if b in hidden else _rule(n) for b, n in raw.items()}
    return published, _rule(sum(raw.values()))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pan_london=st.booleans(),
    boroughs=st.sets(st.sampled_from(BOROUGH_POOL), min_size=1),
    level=st.sampled_from([AccessGrant.Level.RECORD, AccessGrant.Level.AGGREGATE]),
    second=st.one_of(st.none(), st.sets(st.sampled_from(BOROUGH_POOL), min_size=1)),
)
def test_counts_cover_permitted_boroughs_only(crowded, pan_london, boroughs, level, second) -> None:
    cache.clear()  # one export per example; keep the export throttle out of it
    organisation = OrganisationFactory()
    user = UserFactory()
    MembershipFactory(user=user, organisation=organisation)
    AccessGrantFactory(
        organisation=organisation, pan_london=pan_london, boroughs=sorted(boroughs), level=level
    )
    if second is not None:  # a second, aggregate-only grant elsewhere
        AccessGrantFactory(
            organisation=organisation,
            pan_london=False,
            boroughs=sorted(second),
            level=AccessGrant.Level.AGGREGATE,
        )
    permitted = set(crowded) if pan_london else set(boroughs) | (second or set())
    record = (
        set(crowded)
        if pan_london and level == "record"
        else (set(boroughs) if level == "record" else set())
    )
    # Record level in every visible borough (a wider aggregate grant takes that away).
    exact = level == "record" and (pan_london or second is None or second <= boroughs)
    expected = {b: n for b, n in crowded.items() if b in permitted}
    published, published_total = _protected_oracle(expected)

    client = APIClient()
    token = api_token_create(actor=user, name="t", days=1).token
    client.force_authenticate(user=user, token=ApiToken.objects.get(pk=token.pk))

    body = client.get(URL, {"group_by": "borough"}).json()
    got = {r["borough"]: r["count"] for r in body["results"]}
    control = body["disclosure_control"]
    assert control["applied"] is not exact
    if exact:
        assert got == expected
        assert body["total"] == sum(expected.values())
    else:
        assert (control["suppressed_up_to"], control["rounded_to"]) == (7, 5)  # as in _rule
        assert got == published
        assert body["total"] == published_total

    response = client.get("/api/v1/exports/incidents.csv", {"purpose": "property test"})
    exported: list[dict[str, str]] = []
    if not record:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode()
        exported = list(csv.DictReader(io.StringIO(text)))
        assert len(exported) == sum(crowded[b] for b in record if b in crowded)
        assert {r["borough"] for r in exported} <= record

    # The map: choropleth over the same boroughs, protected as the aggregates are; its
    # density grid holds exactly the exported rows that have a location the user may see,
    # and nothing when not record level.
    pages = Client()
    login_verified(pages, user)
    mapped = pages.get(reverse("incidents:map_data"), {"level": "borough"}).json()
    assert mapped["areas"] == (expected if exact else published)
    if not record:
        assert mapped["grid"] is None
    else:
        assert sum(c["count"] for c in mapped["grid"]) == sum(1 for r in exported if r["lat"])
