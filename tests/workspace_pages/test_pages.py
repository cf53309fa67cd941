"""The workspace pages: scope, masking, disclosure, pagination, audit and caching."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.models import User
from incidents.models import Incident, SavedQuery
from tests.factories import login_verified
from tests.personas import LAMBETH, SOUTHWARK

from .conftest import TOWER_HAMLETS

pytestmark = pytest.mark.django_db


def _get(client: Client, user: User, name: str, **params: Any) -> Any:
    login_verified(client, user)
    return client.get(reverse(name), params)


def _viewed(user: User) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(actor=user, action="data.viewed").order_by("id"))


# --- explore --------------------------------------------------------------------------------


def test_explore_lists_only_published_rows_in_the_analysts_borough(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    response = _get(client, southwark_analyst, "incidents:explore")
    assert response.status_code == 200
    body = response.content.decode()
    # 12 last month + 10 a year before; the unpublished submission's 5 are not counted.
    assert response.context["total"] == 22
    assert len(response.context["page"].rows) == 22
    assert {r["borough"] for r in response.context["page"].rows} == {SOUTHWARK}
    assert "no-store" in response["Cache-Control"]
    assert 'id="results"' in body


def test_explore_masks_points_to_the_grant_precision(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    rows = _get(client, southwark_analyst, "incidents:explore").context["page"].rows
    exact = {(i.lat, i.lon) for i in Incident.objects.filter(borough_code=SOUTHWARK)}
    assert all(r["precision"] in ("snapped", "lsoa_centroid") for r in rows)
    assert not {(r["lat"], r["lon"]) for r in rows} & exact


def test_explore_hides_free_text_where_the_grant_does_not_allow_it(
    client: Client, lambeth_analyst: User, seeded: dict[str, Any]
) -> None:
    response = _get(client, lambeth_analyst, "incidents:explore")
    assert response.context["total"] == 9
    assert "outside the station" not in response.content.decode()
    assert 'name="q"' not in response.content.decode()
    assert _get(client, lambeth_analyst, "incidents:explore", q="station").status_code == 400


def test_aggregate_user_sees_suppressed_counts_and_never_rows(
    client: Client, aggregate_user: User, seeded: dict[str, Any]
) -> None:
    # The three boroughs with data: a grid of every borough would be too sparse to publish.
    response = _get(
        client, aggregate_user, "incidents:explore", borough=[SOUTHWARK, LAMBETH, TOWER_HAMLETS]
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "page" not in response.context or response.context.get("records") is None
    assert 'id="results"' not in body
    counts = {r.key: r.count for r in response.context["borough_counts"].rows}
    assert counts[TOWER_HAMLETS] == "*"  # 3 incidents
    assert "Disclosure control" in body
    assert "outside the station" not in body
    assert "51.4" not in body  # no coordinates anywhere


def test_keyset_pagination_walks_forward_and_back(
    client: Client, mps_analyst: User, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("incidents.workspace.pagination.PAGE_SIZE", 10)
    login_verified(client, mps_analyst)
    url = reverse("incidents:explore")
    seen: list[int] = []
    response = client.get(url, {"sort": "-date"})
    pages = [response.context["page"]]
    while pages[-1].next_cursor:
        seen += [r["id"] for r in pages[-1].rows]
        pages.append(
            client.get(url, {"sort": "-date", "after": pages[-1].next_cursor}).context["page"]
        )
    seen += [r["id"] for r in pages[-1].rows]
    expected = list(
        Incident.objects.filter(submission__status="published")
        .order_by("-assault_at", "-id")
        .values_list("id", flat=True)
    )
    assert seen == expected and len(pages) == 4
    back = client.get(url, {"sort": "-date", "before": pages[-1].previous_cursor}).context["page"]
    assert [r["id"] for r in back.rows] == [r["id"] for r in pages[-2].rows]


def test_sorting_is_limited_to_the_allow_list(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    by_borough = _get(client, mps_analyst, "incidents:explore", sort="borough").context["page"]
    boroughs = [r["borough"] for r in by_borough.rows]
    assert boroughs == sorted(boroughs)
    unknown = client.get(reverse("incidents:explore"), {"sort": "location_description"})
    assert unknown.context["sort"].value == "-date"


def test_filters_in_the_url_narrow_the_result(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    response = _get(
        client, mps_analyst, "incidents:explore", borough=[LAMBETH, TOWER_HAMLETS], method="body"
    )
    assert response.context["total"] == 9
    assert 'value="E09000022" checked' in response.content.decode()


def test_page_links_carry_only_filter_values(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    """Filter URLs carry no tokens or identifiers beyond filter values, even
    when someone pasted such a parameter into the address."""
    from urllib.parse import parse_qsl, urlsplit

    from incidents.filters import IncidentFilterSet
    from incidents.views.common import PAGE_PARAMETERS

    allowed = set(IncidentFilterSet.base_filters) | set(PAGE_PARAMETERS)
    for name in ("incidents:explore", "incidents:charts", "incidents:map"):
        response = _get(
            client, mps_analyst, name, borough=LAMBETH, sort="borough",
            token="leaked-token-value", sessionid="leaked-session",
        )  # fmt: skip
        assert response.status_code == 200
        body = response.content.decode()
        assert "leaked-token-value" not in body and "leaked-session" not in body
        urls = re.findall(r'(?:href|action)="([^"]*\?[^"]*)"', body)
        urls += re.findall(r'"dataUrl": "([^"]*)"', body)
        carried = {
            key
            for url in urls
            if urlsplit(url.replace("&amp;", "&")).path.startswith(("/data/", "/api/"))
            for key, _ in parse_qsl(urlsplit(url.replace("&amp;", "&")).query)
        }
        assert carried, f"{name}: no filter links found to check"
        assert carried <= allowed, f"{name} carries {carried - allowed}"


def test_a_borough_outside_scope_in_the_filter_returns_nothing(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    assert (
        _get(client, southwark_analyst, "incidents:explore", borough=LAMBETH).context["total"] == 0
    )


def test_pinned_release_reproduces_its_numbers(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    release = seeded["release"]
    first = _get(client, mps_analyst, "incidents:explore", release=release.number)
    assert first.context["total"] == 34
    release.submissions.remove(release.submissions.filter(site__site_code="R1H12").first())
    again = client.get(reverse("incidents:explore"), {"release": release.number})
    assert again.context["total"] == 31


def test_each_explore_view_is_audited_once_with_filter_and_rows(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    _get(client, southwark_analyst, "incidents:explore", method="knife")
    events = _viewed(southwark_analyst)
    assert len(events) == 1
    assert events[0].details["filter"] == {"method": ["knife"]}
    assert events[0].details["rows"] == 22
    assert events[0].details["endpoint"] == "pages/explore"


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("incidents:explore", 30),
        ("incidents:dashboard", 30),
        ("incidents:charts", 40),
        ("incidents:map_data", 25),
        ("incidents:saved_query_list", 20),
    ],
)
def test_page_query_count_is_bounded(
    client: Client,
    mps_analyst: User,
    seeded: dict[str, Any],
    django_assert_max_num_queries: Any,
    name: str,
    limit: int,
) -> None:
    """However many incidents match, a page costs a fixed number of queries (no N+1)."""
    login_verified(client, mps_analyst)
    client.get(reverse(name))  # warm the geography cache
    with django_assert_max_num_queries(limit):
        assert client.get(reverse(name), {"method": "knife"}).status_code == 200


# --- record detail ------------------------------------------------------------------------------


def test_record_detail_shows_lineage_and_geocode(
    client: Client, southwark_analyst: User, incident_in: Any
) -> None:
    incident = incident_in(SOUTHWARK)
    login_verified(client, southwark_analyst)
    response = client.get(reverse("incidents:incident_detail", args=[incident.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"{incident.source_row}" in body and "date_parsed" in body
    assert str(incident.lat) not in body  # snapped, never the stored point
    assert "no-store" in response["Cache-Control"]
    event = _viewed(southwark_analyst)[-1]
    assert event.details["filter"] == {"id": [str(incident.pk)], "hospital": ["RJ122"]}


@pytest.mark.parametrize(
    "persona", ["southwark_analyst", "aggregate_user", "liaison_a", "outsider"]
)
def test_record_detail_out_of_scope_is_404(
    client: Client, persona: str, request: pytest.FixtureRequest, incident_in: Any
) -> None:
    incident = incident_in(LAMBETH)
    login_verified(client, request.getfixturevalue(persona))
    assert client.get(reverse("incidents:incident_detail", args=[incident.pk])).status_code == 404


def test_unpublished_record_is_404(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    hidden = Incident.objects.filter(submission=seeded["hidden"]).first()
    login_verified(client, mps_analyst)
    assert client.get(reverse("incidents:incident_detail", args=[hidden.pk])).status_code == 404


# --- dashboard and charts -----------------------------------------------------------------------


def test_dashboard_compares_last_month_with_a_year_before(
    client: Client, southwark_analyst: User, seeded: dict[str, Any], site_b: Any
) -> None:
    from .conftest import make_submission

    # Both hospitals' files for the year-before month are in (site B's had no incidents),
    # so the comparison is like with like (tests/workspace_pages/test_completeness.py).
    make_submission(site_b, seeded["year_before"])
    response = _get(client, southwark_analyst, "incidents:dashboard")
    board = response.context["board"]
    assert (board.month_count, board.year_before_count, board.change) == (12, 10, 20.0)
    assert "+20.0% year on year" in response.content.decode()
    assert len(board.trend.rows) == 24
    assert [r.key for r in board.top_boroughs.rows] == [SOUTHWARK]
    assert {r["site_code"] for r in board.freshness} == {"RJ122", "R1H12"}
    assert "trend-chart-data" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert len(_viewed(southwark_analyst)) == 1


def test_dashboard_mixes_methods_and_location_types_over_the_last_year(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    board = _get(client, mps_analyst, "incidents:dashboard").context["board"]
    # Last month: 12 + 3 knife and 9 body; the year-before month is outside the 12 months.
    assert {r.key: r.count for r in board.methods.rows} == {"knife": 15, "body": 9}
    assert [r.key for r in board.methods.rows] == ["knife", "body"]  # largest first
    assert {r.key: r.count for r in board.location_types.rows} == {"street": 24}


def test_dashboard_for_aggregate_user_is_protected(
    client: Client, aggregate_user: User, seeded: dict[str, Any]
) -> None:
    board = _get(client, aggregate_user, "incidents:dashboard").context["board"]
    counts = {r.key: r.count for r in board.top_boroughs.rows}
    assert counts[SOUTHWARK] in (10, 15)  # 12, perturbed by up to 4 (at least 8), rounded
    # Every other borough (3 in Tower Hamlets, or none at all) looks the same: "*".
    assert all(v == "*" for k, v in counts.items() if k not in (SOUTHWARK, LAMBETH))
    assert board.note


def test_charts_page_has_data_and_tables(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    response = _get(client, mps_analyst, "incidents:charts")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="chart-data"' in body and 'id="heat-map"' in body
    assert response.context["total"] == 34
    assert len(_viewed(mps_analyst)) == 1
    # Every cell of the hour x weekday heat map is the count of its published rows.
    expected = Counter(
        Incident.objects.filter(submission__status="published").values_list(
            "assault_hour", "assault_weekday"
        )
    )
    weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    shown = {
        (int(row["hour"][:2]), weekdays.index(cell["weekday"]) + 1): cell["count"]
        for row in response.context["heat"].rows
        for cell in row["cells"]
    }
    assert len(shown) == 24 * 7
    assert {k: v for k, v in shown.items() if v} == dict(expected)


# --- map ----------------------------------------------------------------------------------------


def test_the_map_draws_tiles_only_when_a_tile_server_is_set(
    client: Client, southwark_analyst: User, seeded: dict[str, Any], settings: Any
) -> None:
    """No tile server by default (boundaries come from the gazetteer); the setting adds one."""

    def config() -> dict[str, Any]:
        body = client.get(reverse("incidents:map")).content.decode()
        found = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', body)
        assert found, "map configuration missing"
        return dict(json.loads(found.group(1)))

    login_verified(client, southwark_analyst)
    settings.MAP_TILE_URL = ""
    assert config()["tileUrl"] == ""
    settings.MAP_TILE_URL = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    assert config()["tileUrl"] == "https://{s}.tile.example.org/{z}/{x}/{y}.png"


def test_map_data_gives_record_users_a_masked_grid(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, southwark_analyst)
    assert client.get(reverse("incidents:map")).status_code == 200
    data = client.get(reverse("incidents:map_data")).json()
    assert data["areas"] == {SOUTHWARK: 22}
    assert sum(c["count"] for c in data["grid"]) == 22
    assert len(_viewed(southwark_analyst)) == 1


def test_map_data_for_aggregate_users_has_no_points(
    client: Client, aggregate_user: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, aggregate_user)
    response = client.get(reverse("incidents:map_data"), {"level": "lsoa"})
    data = response.json()
    assert data["grid"] is None
    assert data["areas"][f"E01{TOWER_HAMLETS[-6:]}"] == "*"
    assert data["disclosure"]
    assert "no-store" in response["Cache-Control"]


def test_boundaries_are_simplified_geojson_within_scope(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, southwark_analyst)
    geo = client.get(reverse("incidents:map_boundaries"), {"level": "borough"}).json()
    assert [f["properties"]["code"] for f in geo["features"]] == [SOUTHWARK]
    lsoa = client.get(reverse("incidents:map_boundaries"), {"level": "lsoa"}).json()
    assert [f["properties"]["code"] for f in lsoa["features"]] == [f"E01{SOUTHWARK[-6:]}"]


# --- saved queries ------------------------------------------------------------------------------


def test_save_list_and_open_a_query_pinned_to_its_release(
    client: Client, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, southwark_analyst)
    url = reverse("incidents:saved_query_list") + "?method=knife"
    response = client.post(url, {"name": "Knives", "shared": "on"})
    assert response.status_code == 302
    saved = SavedQuery.objects.get()
    assert saved.params == {"method": ["knife"]} and saved.release == seeded["release"]
    listing = client.get(reverse("incidents:saved_query_list"))
    assert "Knives" in listing.content.decode()
    opened = client.get(reverse("incidents:saved_query_open", args=[saved.pk]))
    assert opened.status_code == 302
    assert "method=knife" in opened["Location"] and "release=1" in opened["Location"]


def test_shared_query_opens_with_the_viewers_narrower_access(
    client: Client, org_lead: User, southwark_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, southwark_analyst)
    client.post(reverse("incidents:saved_query_list"), {"name": "All", "shared": "on"})
    saved = SavedQuery.objects.get()
    login_verified(client, org_lead)
    opened = client.get(reverse("incidents:saved_query_open", args=[saved.pk]), follow=True)
    assert opened.context["total"] == 22


def test_another_organisations_saved_query_is_404(
    client: Client, southwark_analyst: User, lambeth_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, southwark_analyst)
    client.post(reverse("incidents:saved_query_list"), {"name": "Mine", "shared": "on"})
    saved = SavedQuery.objects.get()
    login_verified(client, lambeth_analyst)
    assert client.get(reverse("incidents:saved_query_open", args=[saved.pk])).status_code == 404
    assert "Mine" not in client.get(reverse("incidents:saved_query_list")).content.decode()


# --- downloads ----------------------------------------------------------------------------------


def test_record_download_needs_a_purpose_then_hands_off_to_the_export(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, mps_analyst)
    url = reverse("incidents:download") + f"?borough={SOUTHWARK}"
    refused = client.post(url, {"format": "csv", "purpose": ""})
    assert refused.status_code == 400
    response = client.post(url, {"format": "csv", "purpose": "Hotspot review"})
    assert response.status_code == 303
    target = response["Location"]
    assert target.startswith("/api/v1/exports/incidents.csv?")
    assert "purpose=Hotspot+review" in target and f"borough={SOUTHWARK}" in target
    export = client.get(target)
    assert export.status_code == 200
    # The page's download is the package: data, data dictionary and manifest.
    with zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content))) as package:
        assert package.namelist() == ["incidents.csv", "data-dictionary.csv", "manifest.json"]
        data = package.read("incidents.csv")
        text = data.decode()
        manifest = json.loads(package.read("manifest.json"))
        dictionary = package.read("data-dictionary.csv").decode()
    assert len(text.strip().splitlines()) == 23  # header + 22
    assert "'=HYPERLINK(x)" in text
    assert manifest["row_count"] == 22 and manifest["query"]["borough"] == [SOUTHWARK]
    assert manifest["data_file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["purpose"] == "Hotspot review"
    assert dictionary.startswith("field,label,type,description")
    assert AuditEvent.objects.filter(actor=mps_analyst, action="data.downloaded").exists()


def test_aggregate_user_gets_aggregate_downloads_only(
    client: Client, aggregate_user: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, aggregate_user)
    page = client.get(reverse("incidents:download"))
    assert page.status_code == 200 and "geojson" not in page.content.decode()
    # The three boroughs with data: a grid of every borough would be too sparse to publish.
    boroughs = f"?borough={SOUTHWARK}&borough={LAMBETH}&borough={TOWER_HAMLETS}"
    response = client.post(
        reverse("incidents:download") + boroughs, {"format": "csv", "group_by": "borough"}
    )
    assert response.status_code == 303
    assert response["Location"].startswith("/api/v1/exports/aggregates.csv?")
    export = client.get(response["Location"])
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content))) as package:
        counts = package.read("aggregates.csv").decode()
        manifest = json.loads(package.read("manifest.json"))
    # The disclosure note travels inside the file, not only in a response header.
    assert manifest["disclosure_control"] and "*" in counts


def test_no_download_right_means_403_and_no_option(
    client: Client, mopac_analyst: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, mopac_analyst)
    assert client.get(reverse("incidents:download")).status_code == 403
    body = client.get(reverse("incidents:explore")).content.decode()
    assert reverse("incidents:download") not in body


# --- transparency -------------------------------------------------------------------------------


def test_liaison_sees_which_organisations_used_their_data(
    client: Client, liaison_a: User, mps_analyst: User, liaison_b: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, mps_analyst)
    client.get(reverse("incidents:explore"))  # all hospitals: covers site A
    client.get(reverse("incidents:explore"), {"hospital": "R1H12"})  # site B only
    client.post(
        reverse("incidents:download") + "?hospital=RJ122",
        {"format": "csv", "purpose": "Ward review"},
    )
    client.get(
        reverse("api:export-incidents", kwargs={"fmt": "csv"}),
        {"hospital": "RJ122", "purpose": "Ward review"},
    )
    login_verified(client, liaison_a)
    response = client.get(reverse("incidents:transparency"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert row.organisation == "Metropolitan Police Service"
    assert (row.views, row.downloads) == (1, 1)
    assert row.purposes == ["Ward review"]
    assert "Mps Analyst" not in response.content.decode()
    login_verified(client, liaison_b)
    other = client.get(reverse("incidents:transparency")).context["rows"]
    assert [(r.views, r.downloads) for r in other] == [(2, 0)]


def test_transparency_is_404_for_non_liaisons(client: Client, mps_analyst: User) -> None:
    login_verified(client, mps_analyst)
    assert client.get(reverse("incidents:transparency")).status_code == 404


def test_no_data_access_is_404_everywhere(client: Client, liaison_a: User, outsider: User) -> None:
    for user in (liaison_a, outsider):
        login_verified(client, user)
        for name in (
            "incidents:dashboard",
            "incidents:explore",
            "incidents:charts",
            "incidents:map",
            "incidents:map_data",
            "incidents:saved_query_list",
            "incidents:download",
        ):
            assert client.get(reverse(name)).status_code == 404, name


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("incidents:explore"))
    assert response.status_code == 302 and re.search(r"/accounts/login/", response["Location"])


# --- caching and query shape --------------------------------------------------------------------


def test_cached_dashboard_changes_when_data_is_published(
    client: Client, southwark_analyst: User, seeded: dict[str, Any], site_a: Any
) -> None:
    from .conftest import make_incidents, make_submission

    first = _get(client, southwark_analyst, "incidents:dashboard").context["board"]
    assert first.month_count == 12
    extra = make_submission(site_a, seeded["month"], version=2)
    make_incidents(extra, SOUTHWARK, seeded["month"], 8, start_row=900)
    again = client.get(reverse("incidents:dashboard")).context["board"]
    assert again.month_count == 20


def test_cached_charts_are_keyed_by_access(
    client: Client, southwark_analyst: User, lambeth_analyst: User, seeded: dict[str, Any]
) -> None:
    assert _get(client, southwark_analyst, "incidents:charts").context["total"] == 22
    assert _get(client, lambeth_analyst, "incidents:charts").context["total"] == 9


def test_page_queries_carry_no_distinct(
    client: Client, mps_analyst: User, seeded: dict[str, Any]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login_verified(client, mps_analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("incidents:explore"), {"borough": [SOUTHWARK, LAMBETH]})
    assert response.context["total"] == 31
    incident_sql = [q["sql"] for q in queries.captured_queries if "incidents_incident" in q["sql"]]
    assert incident_sql and not any("DISTINCT" in sql for sql in incident_sql)
