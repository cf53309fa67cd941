"""Every attendance counts: incidents without a mappable place, for every persona and path.

The rule (incidents/selectors.py, docs/workspace.md): a pan-London grant sees every
published incident, placed or not; a borough grant sees the incidents placed in its
boroughs and, only with ``include_unlocated``, the unlocated ones treated at EDs sited in
those boroughs; rows awaiting geocoding are in nobody's rows.

The world: ``world``'s 7 placed incidents at site A (St Thomas', sited in Lambeth), plus
one unlocated incident of every class at site A, two at home at site B (Royal London,
sited in Tower Hamlets), and one row at site A still awaiting geocoding.

Each persona is checked against each location class and against every path that shows
incidents: the API list, aggregates, exports, the map, the explore and charts pages, a
saved query and the monitoring report. Totals must agree across all of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.access import effective_access
from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant, ApiToken
from accounts.services import api_token_create
from hospitals.models import HospitalSite
from incidents.aggregates import GEO_CLASSES, NOT_LOCATED
from incidents.models import Incident, SavedQuery
from incidents.monitoring import build_tables
from tests.disclosure import cellkey_oracle
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
    release_create,
    submission_create,
)

pytestmark = pytest.mark.django_db

UNLOCATED_CLASSES = [c for c in GEO_CLASSES if c not in ("place", "awaiting")]
WHEN = dt.datetime(2025, 1, 20, 19, 0, tzinfo=LONDON)


def unlocated_row(geo_class: str) -> dict[str, Any]:
    row = incident_row(LAMBETH, when=WHEN, located=False, geo_class=geo_class)
    row.update(
        borough_code="", ward_code="", lsoa_code="", location_description=f"{geo_class} text"
    )
    return row


@pytest.fixture
def unlocated_world(world, site_a: HospitalSite, site_b: HospitalSite) -> dict[str, Any]:
    at_a = submission_create(site_a, period=dt.date(2025, 1, 1), version=2)
    incidents_create(at_a, [unlocated_row(c) for c in UNLOCATED_CLASSES])
    at_b = submission_create(site_b, period=dt.date(2025, 1, 1), version=2)
    incidents_create(at_b, [unlocated_row("home"), unlocated_row("home")])
    pending = unlocated_row("home")
    pending.update(geocode_status=Incident.GeocodeStatus.PENDING, geo_class="")
    incidents_create(at_a, [pending])
    return {"at_a": at_a, "at_b": at_b, "placed": world.published}


@pytest.fixture
def lambeth_with_unlocated(grant_lambeth: AccessGrant) -> AccessGrant:
    grant_lambeth.include_unlocated = True
    grant_lambeth.save(update_fields=["include_unlocated"])
    return grant_lambeth


PLACED = {"place": sum(COUNTS.values())}
AT_A = dict.fromkeys(UNLOCATED_CLASSES, 1)
EVERYTHING = {**PLACED, **{c: 1 + (2 if c == "home" else 0) for c in UNLOCATED_CLASSES}}


def expected_classes(persona: str, lambeth_option: bool) -> dict[str, int] | None:
    """What the written rule says each persona sees, class by class (None: no data access)."""
    if persona in ("mps_analyst", "mopac_analyst", "data_manager", "aggregate_user"):
        return EVERYTHING
    if persona in ("southwark_analyst", "org_lead"):
        return {"place": COUNTS[SOUTHWARK]}  # Southwark hosts neither site: no unlocated
    if persona == "lambeth_analyst":
        return {"place": COUNTS[LAMBETH], **(AT_A if lambeth_option else {})}
    return None


PERSONAS = [
    "mps_analyst",
    "mopac_analyst",
    "data_manager",
    "aggregate_user",
    "southwark_analyst",
    "org_lead",
    "lambeth_analyst",
    "liaison_a",
    "outsider",
]


def _api_rows(client, **params: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url: str | None = "/api/v1/incidents/?" + "&".join(
        f"{k}={v}" for k, v in {"page_size": "5", **params}.items()
    )
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    return rows


@pytest.mark.parametrize("lambeth_option", [False, True], ids=["option-off", "option-on"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_persona_by_location_class(
    persona, lambeth_option, unlocated_world, api_as, request, grant_lambeth
) -> None:
    if lambeth_option:
        request.getfixturevalue("lambeth_with_unlocated")
    user = request.getfixturevalue(persona)
    expected = expected_classes(persona, lambeth_option)
    client = api_as(user)
    by_class = client.get("/api/v1/aggregates/", {"group_by": "geo_class"})
    if expected is None:
        assert by_class.status_code == 403
        assert client.get("/api/v1/incidents/").status_code == 403
        return
    access = effective_access(user)
    total = sum(expected.values())
    # What a protected answer must be: the cell-key rule on the true counts and record
    # keys of the rows this persona may count (every settled published row here).
    visible = Incident.objects.filter(submission__status="published").exclude(
        geocode_status=Incident.GeocodeStatus.PENDING
    )
    true = cellkey_oracle.truth(visible, "geo_class")
    if access.record_level:
        body = by_class.json()
        assert {r["geo_class"]: r["count"] for r in body["results"]} == expected
        assert body["total"] == total
    else:
        assert sum(n for n, _ in true.values()) == total
        published, published_total, refused = cellkey_oracle.expected(
            [c for c in GEO_CLASSES if c != "awaiting"], true
        )
        if refused:  # 15 incidents over 7 classes: too sparse to publish
            assert by_class.status_code == 400
        else:
            body = by_class.json()
            assert {r["geo_class"]: r["count"] for r in body["results"]} == published
            assert body["total"] == published_total
    # Each class alone, as a filter: the same figure as its cell, for every class.
    for geo_class in GEO_CLASSES:
        one = client.get("/api/v1/aggregates/", {"group_by": "month", "geo_class": geo_class})
        assert one.status_code == 200
        want = expected.get(geo_class, 0)
        shown = one.json()["total"]
        if access.record_level:
            assert shown == want, geo_class
        else:
            assert shown == cellkey_oracle.publish(*true.get(geo_class, (0, 0))), geo_class

    # Rows: the list, and the CSV export where downloads are allowed, hold exactly the
    # visible incidents (never the row awaiting geocoding, never another borough's).
    if access.record_level:
        rows = _api_rows(client)
        assert len(rows) == total
        assert {r["geo_class"] for r in rows} == set(expected)
        unplaced = [r for r in rows if r["geo_class"] != "place"]
        assert all(r["borough"] is None and r["lat"] is None for r in unplaced)
        export = client.get("/api/v1/exports/incidents.csv", {"purpose": "scope test"})
        if access.download_allowed:
            assert export.status_code == 200
            text = b"".join(export.streaming_content).decode()
            assert len(list(csv.DictReader(io.StringIO(text)))) == total
        else:
            assert export.status_code == 403

    # The map: areas plus the "not located" count add up to the map's total.
    pages = Client()
    login_verified(pages, user)
    mapped = pages.get(reverse("incidents:map_data"), {"level": "borough"}).json()
    not_located = total - expected.get("place", 0)
    if access.record_level:
        assert mapped["total"] == total
        assert sum(mapped["areas"].values()) + mapped["notLocated"]["count"] == total
        assert mapped["notLocated"]["count"] == not_located
        assert mapped["notLocated"]["byClass"] == {
            c: n for c, n in expected.items() if c != "place"
        }
    elif mapped.get("refused"):  # 34 groups for 15 incidents: too sparse to shade
        assert mapped["areas"] == {} and mapped["notLocated"] is None
    else:
        bucket = cellkey_oracle.truth(visible.filter(borough_code=""), "borough_code")
        assert mapped["notLocated"]["count"] == cellkey_oracle.publish(*bucket[""])
    assert NOT_LOCATED not in mapped["areas"]
    page = pages.get(reverse("incidents:map"))
    assert page.status_code == 200
    if mapped.get("refused"):
        assert "Too few incidents" in page.content.decode()
    elif not_located:
        assert "Not on the map" in page.content.decode()


def _listed_total(html: str) -> int:
    """The explore page's "N incidents" figure."""
    match = re.search(r'id="result-count"><strong>([\d,]+)</strong> incidents?\b', html)
    assert match, "the explore page states how many incidents match"
    return int(match.group(1).replace(",", ""))


def test_pages_saved_query_and_report_agree(unlocated_world, mps_analyst, api_as) -> None:
    """For a pan-London analyst: explore, charts, a saved query, the API and the monitoring
    report all count every published incident, placed or not (and nothing pending)."""
    published = Incident.objects.filter(submission__status="published").exclude(
        geocode_status=Incident.GeocodeStatus.PENDING
    )
    total = published.count()
    assert total == sum(EVERYTHING.values())
    pages = Client()
    login_verified(pages, mps_analyst)
    explore = pages.get(reverse("incidents:explore"))
    assert _listed_total(explore.content.decode()) == total
    charts = pages.get(reverse("incidents:charts"))
    assert charts.context["total"] == total
    pages.post(reverse("incidents:saved_query_list"), {"name": "Everything"})
    saved = SavedQuery.objects.get(name="Everything")
    opened = pages.get(reverse("incidents:saved_query_open", args=[saved.pk]), follow=True)
    assert opened.status_code == 200
    assert _listed_total(opened.content.decode()) == total
    by_borough = api_as(mps_analyst).get("/api/v1/aggregates/", {"group_by": "borough"}).json()
    cells = {r["borough"]: r["count"] for r in by_borough["results"]}
    assert cells[NOT_LOCATED] == total - PLACED["place"]
    assert sum(cells.values()) == total

    release = release_create(1, [unlocated_world[name] for name in ("placed", "at_a", "at_b")])
    tables = {t["spec"].slug: t for t in build_tables(release)}
    # The report is an aggregate output: its total is the cell-key rule applied to every
    # incident (the count and the sum of the rows' record keys).
    key_sum = published.aggregate(k=Sum("record_key"))["k"]
    assert tables["incidents_by_month"]["total"] == cellkey_oracle.publish(total, key_sum)
    classes = {r["geo_class"] for r in tables["incidents_by_location_class"]["rows"]}
    assert classes == set(EVERYTHING)
    boroughs = {r["borough"]: r for r in tables["incidents_by_borough"]["rows"]}
    assert boroughs[NOT_LOCATED]["borough_name"] == "Not located"


def test_membership_narrowing_drops_pan_london_unlocated(
    unlocated_world, mps_analyst, api_as
) -> None:
    """A member narrowed to boroughs on a pan-London grant is a borough user: unlocated
    incidents only if the grant says so for its boroughs (never wider than the grant)."""
    membership = mps_analyst.memberships.get()
    membership.narrowed_boroughs = [TOWER_HAMLETS]
    membership.save()
    rows = _api_rows(api_as(mps_analyst))
    assert {r["geo_class"] for r in rows} == {"place"}
    assert len(rows) == COUNTS[TOWER_HAMLETS]


def test_unlocated_rows_follow_free_text_and_download_rights(
    unlocated_world, api_as, lambeth_analyst, lambeth_with_unlocated
) -> None:
    """The Lambeth grant hides free text: so it stays hidden on the unlocated rows it adds."""
    rows = _api_rows(api_as(lambeth_analyst))
    assert len(rows) == COUNTS[LAMBETH] + len(UNLOCATED_CLASSES)
    assert all(r.get("location_description") is None for r in rows)
    refused = api_as(lambeth_analyst).get("/api/v1/incidents/", {"q": "home"})
    assert refused.status_code == 400


def test_record_page_of_an_unlocated_incident(unlocated_world, mps_analyst, southwark_analyst):
    home = Incident.objects.filter(geo_class="home", submission=unlocated_world["at_b"]).first()
    assert home is not None
    mps, southwark = Client(), Client()
    login_verified(mps, mps_analyst)
    login_verified(southwark, southwark_analyst)
    url = reverse("incidents:incident_detail", args=[home.pk])
    shown = mps.get(url)
    assert shown.status_code == 200
    assert shown.context["row"]["lat"] is None
    assert southwark.get(url).status_code == 404


# --- The totals property, with unlocated rows and borough grants with and without the
# option: for random grants, aggregate counts by borough equal the oracle's (the rule
# written out here, independent of the code), the export holds exactly the visible rows,
# and the map's areas plus its not-located count make its total. -----------------------

POOL = [SOUTHWARK, LAMBETH, TOWER_HAMLETS]


def _oracle(
    pan_london: bool, grants: list[tuple[frozenset[str], bool]], placed: dict[str, int]
) -> dict[str, int]:
    """True counts by borough (and ``not_located``) that the grants reach."""
    at_a = len(UNLOCATED_CLASSES)  # unlocated at site A (Lambeth-sited)
    at_b = 2  # unlocated at site B (Tower Hamlets-sited)
    if pan_london:
        counts = dict(placed)
        counts[NOT_LOCATED] = at_a + at_b
        return counts
    boroughs = frozenset().union(*(b for b, _ in grants))
    eds = frozenset().union(*(b for b, option in grants if option))
    counts = {b: n for b, n in placed.items() if b in boroughs}
    unlocated = (at_a if LAMBETH in eds else 0) + (at_b if TOWER_HAMLETS in eds else 0)
    if unlocated:
        counts[NOT_LOCATED] = unlocated
    return counts


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pan_london=st.booleans(),
    boroughs=st.frozensets(st.sampled_from(POOL), min_size=1),
    option=st.booleans(),
    level=st.sampled_from([AccessGrant.Level.RECORD, AccessGrant.Level.AGGREGATE]),
    second=st.one_of(
        st.none(), st.tuples(st.frozensets(st.sampled_from(POOL), min_size=1), st.booleans())
    ),
)
def test_totals_agree_for_random_grants(
    unlocated_world, pan_london, boroughs, option, level, second
) -> None:
    cache.clear()
    organisation = OrganisationFactory()
    user = UserFactory()
    MembershipFactory(user=user, organisation=organisation)
    AccessGrantFactory(
        organisation=organisation,
        pan_london=pan_london,
        boroughs=[] if pan_london else sorted(boroughs),
        include_unlocated=option and not pan_london,
        level=level,
    )
    grants = [(boroughs, option)]
    if second is not None:  # a second, aggregate-only borough grant
        AccessGrantFactory(
            organisation=organisation,
            pan_london=False,
            boroughs=sorted(second[0]),
            include_unlocated=second[1],
            level=AccessGrant.Level.AGGREGATE,
        )
        grants.append(second)
    expected = _oracle(pan_london, grants, dict(COUNTS))
    # Disclosure control applies unless the record-level grant covers the whole scope:
    # every visible borough, and the EDs of every visible unlocated incident.
    record_grants = [(frozenset(COUNTS) if pan_london else boroughs, option or pan_london)]
    record_rows = _oracle(pan_london, record_grants, dict(COUNTS)) if level == "record" else {}
    wider = (
        second is not None
        and not pan_london
        and (not second[0] <= boroughs or (second[1] and not (option and second[0] <= boroughs)))
    )
    exact = level == "record" and not wider

    client = APIClient()
    token = api_token_create(actor=user, name="t", days=1).token
    client.force_authenticate(user=user, token=ApiToken.objects.get(pk=token.pk))
    answer = client.get("/api/v1/aggregates/", {"group_by": "borough"})
    total = sum(expected.values())
    refused = False
    if exact:
        body = answer.json()
        got = {r["borough"]: r["count"] for r in body["results"]}
        assert got == expected
        assert body["total"] == total
    else:
        # The oracle: the rows the rule says this user counts, picked by the test itself,
        # then the cell-key rule over the full grid of the boroughs they can see.
        visible_boroughs = (
            set(LONDON_BOROUGHS) if pan_london else set().union(*(b for b, _ in grants))
        )
        eds = set().union(*(b for b, on in grants if on)) if not pan_london else set()
        settled = Incident.objects.filter(submission__status="published").exclude(
            geocode_status=Incident.GeocodeStatus.PENDING
        )
        placed = cellkey_oracle.truth(
            settled.filter(borough_code__in=visible_boroughs), "borough_code"
        )
        unplaced = settled.filter(borough_code="")
        if not pan_london:
            unplaced = unplaced.filter(site__borough_code__in=eds)
        true = dict(placed)
        if unplaced.exists():
            true[NOT_LOCATED] = cellkey_oracle.truth(unplaced, "borough_code")[""]
        assert {b: n for b, (n, _) in true.items()} == expected
        sees_unlocated = pan_london or bool(eds)
        grid = sorted(visible_boroughs) + ([NOT_LOCATED] if sees_unlocated else [])
        published, published_total, refused = cellkey_oracle.expected(grid, true)
        if refused:
            assert answer.status_code == 400
        else:
            body = answer.json()
            got = {r["borough"]: r["count"] for r in body["results"]}
            assert got == published
            assert body["total"] == published_total

    response = client.get("/api/v1/exports/incidents.csv", {"purpose": "property test"})
    if level != "record":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode()
        exported = list(csv.DictReader(io.StringIO(text)))
        assert len(exported) == sum(record_rows.values())
        assert {r["borough"] or NOT_LOCATED for r in exported} == set(record_rows)

    pages = Client()
    login_verified(pages, user)
    mapped = pages.get(reverse("incidents:map_data"), {"level": "borough"}).json()
    if exact:
        assert mapped["total"] == total
        assert sum(mapped["areas"].values()) + mapped["notLocated"]["count"] == total
        assert mapped["notLocated"]["count"] == got.get(NOT_LOCATED, 0)
    elif refused:
        assert mapped["refused"] and mapped["areas"] == {}
    else:
        # No "not located" group for a user who cannot see unlocated incidents: 0.
        assert mapped["notLocated"]["count"] == published.get(NOT_LOCATED, 0)
