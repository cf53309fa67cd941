"""Hotspots (Getis-Ord Gi* with a false-discovery-rate correction): the statistic finds a
seeded cluster and nothing in uniform random data at the stated confidence, through the
real API on PostgreSQL; levels follow the viewer's location precision; aggregate users
get classes without small counts, z or p, and the shape of the answer says nothing;
totals agree with the aggregates endpoint; the page and the API agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.models import User
from hospitals.models import HospitalSite
from incidents.geocoding.models import Area
from incidents.spatial_stats import gi_star, grid_adjacency
from tests.factories import login_verified
from tests.workspace_api.factories import (
    BOXES,
    LAMBETH,
    LONDON,
    SOUTHWARK,
    geography_create,
    incident_row,
    incidents_create,
    submission_create,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/hotspots/"
JANUARY = {"assault_date_from": "2025-01-01", "assault_date_to": "2025-01-31"}
# A 500 m square inside the Southwark test box: four 250 m cells.
CLUSTER = (533500, 177000, 534000, 177500)


# --- The statistic alone ----------------------------------------------------------------


def _lattice(rows: int, cols: int) -> Any:
    """Queen contiguity on a rows x cols lattice (the grid the portal builds)."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    return grid_adjacency(c.astype(np.int64), r.astype(np.int64))


def _uniform(rng: np.random.Generator, cells: int, incidents: int) -> np.ndarray:
    return np.bincount(rng.integers(0, cells, incidents), minlength=cells).astype(float)


@pytest.mark.parametrize("density", [0.3, 1.0, 4.0])
def test_uniform_random_counts_give_no_hotspot_at_the_stated_confidence(density: float) -> None:
    """Under the null (incidents spread at random) the false-discovery-rate correction
    keeps the chance of any cell passing at 95% near 5%: over 40 seeded data sets of 1,600
    cells, at most 4 show any significant cell (the binomial 99th percentile is 6), and
    none at 99% in more than 2."""
    adjacency = _lattice(40, 40)
    any95 = any99 = 0
    for seed in range(40):
        y = _uniform(np.random.default_rng(seed), 1600, int(1600 * density))
        _, _, classes = gi_star(y, adjacency)
        any95 += any(c in ("hot99", "hot95", "cold95", "cold99") for c in classes)
        any99 += any(c in ("hot99", "cold99") for c in classes)
    assert any95 <= 4
    assert any99 <= 2


def test_the_normal_approximation_would_find_chance_hotspots_in_sparse_data() -> None:
    """Why the p-values are exact: on sparse counts (0.3 per cell) the normal curve's
    p-values make most random data sets show 'hot spots' after the same correction."""
    from esda import fdr
    from esda.getisord import G_Local
    from libpysal.graph import Graph

    adjacency = _lattice(80, 80)
    normal = exact = 0
    for seed in range(10):
        y = _uniform(np.random.default_rng(seed), 6400, 1900)
        g = G_Local(y, Graph.from_sparse(adjacency), transform="B", permutations=0, star=True)
        p_normal = 2 * g.p_norm
        cut = fdr(p_normal, 0.05)
        normal += bool(cut) and bool((p_normal <= cut).any())
        _, _, classes = gi_star(y, adjacency)
        exact += any(c != "none" and c[-2:] in ("95", "99") for c in classes)
    assert normal >= 5
    assert exact <= 1


def test_a_seeded_cluster_is_found_at_99_percent() -> None:
    rng = np.random.default_rng(7)
    y = _uniform(rng, 1600, 1600)
    cluster = [r * 40 + c for r in range(18, 20) for c in range(18, 20)]
    y[cluster] += 8
    z, p, classes = gi_star(y, _lattice(40, 40))
    assert all(classes[i] == "hot99" for i in cluster)
    hot = {i for i, c in enumerate(classes) if c.startswith("hot")}
    # Only the cluster and its ring of neighbours (whose neighbourhoods hold it) are hot.
    ring = {r * 40 + c for r in range(17, 21) for c in range(17, 21)}
    assert hot <= ring
    assert all(z[i] > 0 and p[i] < 0.001 for i in cluster)


def test_a_seeded_empty_area_in_dense_data_is_a_cold_spot() -> None:
    y = _uniform(np.random.default_rng(3), 1600, 16000)
    hole = [r * 40 + c for r in range(10, 14) for c in range(10, 14)]
    y[hole] = 0
    _, _, classes = gi_star(y, _lattice(40, 40))
    centre = [r * 40 + c for r in range(11, 13) for c in range(11, 13)]
    assert all(classes[i] == "cold99" for i in centre)
    assert not any(c.startswith("hot") for c in classes)


# --- Through the API on real rows -------------------------------------------------------


def _points(rng: np.random.Generator, box: tuple[int, int, int, int], n: int) -> list[Any]:
    e = rng.uniform(box[0] + 1, box[2] - 1, n)
    northing = rng.uniform(box[1] + 1, box[3] - 1, n)
    return list(zip(e.tolist(), northing.tolist(), strict=True))


def _rows(points: list[Any], borough: str = SOUTHWARK, **extra: Any) -> list[dict[str, Any]]:
    day = dt.datetime(2025, 1, 10, 21, 0, tzinfo=LONDON)
    return [
        incident_row(
            borough, when=day + dt.timedelta(hours=i % 200), easting=e, northing=n, **extra
        )
        for i, (e, n) in enumerate(points)
    ]


@pytest.fixture
def seeded_cluster(site_a: HospitalSite) -> dict[str, int]:
    """400 incidents spread at random over the Southwark box plus 48 in one 500 m square,
    60 at random over Lambeth, and 25 Southwark incidents placed only to an area."""
    geography_create()
    rng = np.random.default_rng(11)
    submission = submission_create(site_a)
    points = _points(rng, BOXES[SOUTHWARK], 400) + _points(rng, CLUSTER, 48)
    incidents_create(submission, _rows(points))
    incidents_create(submission, _rows(_points(rng, BOXES[LAMBETH], 60), LAMBETH))
    incidents_create(
        submission, _rows(_points(rng, BOXES[SOUTHWARK], 25), precision="postcode_district")
    )
    return {"southwark_points": 448, "southwark_area_only": 25}


@pytest.fixture
def uniform_only(site_a: HospitalSite) -> None:
    geography_create()
    submission = submission_create(site_a)
    incidents_create(submission, _rows(_points(np.random.default_rng(5), BOXES[SOUTHWARK], 450)))


def _in_box(result: dict[str, Any], box: tuple[int, int, int, int]) -> bool:
    _, e, n = result["cell"].split(":")
    return box[0] - 250 <= int(e) < box[2] and box[1] - 250 <= int(n) < box[3]


def test_the_api_finds_the_seeded_cluster_on_the_grid(
    api_as: Any, southwark_analyst: User, seeded_cluster: dict[str, int]
) -> None:
    body = api_as(southwark_analyst).get(URL, JANUARY).json()
    assert body["level"] == "grid" and body["cell"] == 250
    assert body["levels_allowed"] == ["grid", "lsoa"]
    hot = [r for r in body["results"] if r["class"].startswith("hot")]
    assert hot, body["notes"]
    assert all(
        _in_box(r, (CLUSTER[0] - 250, CLUSTER[1] - 250, CLUSTER[2] + 250, CLUSTER[3] + 250))
        for r in hot
    )
    cluster_cells = [
        r for r in body["results"] if _in_box(r, CLUSTER) and r["cell"].startswith("250m")
    ]
    assert {r["class"] for r in cluster_cells if r["count"] >= 10} <= {"hot99"}
    # Every Southwark incident is either in the test or counted as left out; no Lambeth one.
    assert body["analysed"] == seeded_cluster["southwark_points"]
    assert body["left_out"] == seeded_cluster["southwark_area_only"]
    assert sum(r.get("count", 0) for r in body["results"]) == body["analysed"]
    assert not any(
        _in_box(r, BOXES[LAMBETH]) and not _in_box(r, BOXES[SOUTHWARK]) for r in body["results"]
    )
    event = AuditEvent.objects.filter(actor=southwark_analyst, action="api.called").last()
    assert event is not None and event.details["endpoint"] == "hotspots"


def test_uniform_rows_give_no_hot_cell_through_the_api(
    api_as: Any, southwark_analyst: User, uniform_only: None
) -> None:
    body = api_as(southwark_analyst).get(URL, JANUARY).json()
    assert body["analysed"] == 450
    assert [r for r in body["results"] if r["class"] in ("hot99", "hot95")] == []


def test_analysed_and_left_out_add_up_to_the_aggregates_total(
    api_as: Any, mps_analyst: User, seeded_cluster: dict[str, int]
) -> None:
    client = api_as(mps_analyst)
    for params in ({}, {"level": "lsoa"}, {"cell": "1000"}):
        body = client.get(URL, {**JANUARY, **params}).json()
        total = client.get("/api/v1/aggregates/", {**JANUARY, "group_by": "month"}).json()
        assert body["analysed"] + body["left_out"] == sum(r["count"] for r in total["results"])


@pytest.mark.parametrize("cell", ["1000", "500"])
def test_coarser_cells_are_allowed(
    api_as: Any, southwark_analyst: User, seeded_cluster: Any, cell: str
) -> None:
    body = api_as(southwark_analyst).get(URL, {**JANUARY, "cell": cell}).json()
    assert body["cell"] == int(cell)
    assert all(r["cell"].startswith(f"{cell}m:") for r in body["results"])


@pytest.mark.parametrize(
    "params", [{"cell": "100"}, {"cell": "x"}, {"level": "ward"}, {"level": "lsoa", "cell": "250"}]
)
def test_bad_options_are_field_errors(
    api_as: Any, southwark_analyst: User, seeded_cluster: Any, params: dict[str, str]
) -> None:
    response = api_as(southwark_analyst).get(URL, {**JANUARY, **params})
    assert response.status_code == 400
    assert set(response.json()) <= {"cell", "level"}


def test_an_lsoa_precision_user_gets_the_lsoa_variant_only(
    api_as: Any, mopac_analyst: User, seeded_cluster: Any
) -> None:
    client = api_as(mopac_analyst)
    refused = client.get(URL, {**JANUARY, "level": "grid"})
    assert refused.status_code == 400 and "level" in refused.json()
    assert client.get(URL, {**JANUARY, "cell": "1000"}).status_code == 400
    body = client.get(URL, JANUARY).json()
    assert body["level"] == "lsoa" and body["levels_allowed"] == ["lsoa"]
    assert body["cell"] is None
    assert all(r["cell"].startswith("E01") for r in body["results"])
    assert all("z" in r for r in body["results"])  # record level: not disclosure-controlled


def _lsoa_lattice(borough: str, n: int = 6) -> list[str]:
    """Replace the borough's one test LSOA by an n x n lattice of LSOAs over its box."""
    from tests.workspace_api.factories import _box_geojson

    Area.objects.filter(kind=Area.Kind.LSOA, parent_code=borough).delete()
    e0, n0, e1, n1 = BOXES[borough]
    width, height = (e1 - e0) / n, (n1 - n0) / n
    codes = []
    for i in range(n):
        for j in range(n):
            code = f"E0109{i:02d}{j:02d}"[:9]
            box = (e0 + i * width, n0 + j * height, e0 + (i + 1) * width, n0 + (j + 1) * height)
            Area.objects.create(
                kind=Area.Kind.LSOA,
                code=code,
                name=f"Test {i}{j}",
                parent_code=borough,
                geometry=_box_geojson(tuple(int(v) for v in box)),  # type: ignore[arg-type]
            )
            codes.append(code)
    return codes


def _with_lsoas(codes: list[str], borough: str) -> None:
    """Give each Southwark incident the lattice LSOA its point lies in."""
    from incidents.models import Incident

    e0, n0, e1, n1 = BOXES[borough]
    n = 6
    for incident in Incident.objects.filter(borough_code=borough):
        i = min(n - 1, int((incident.easting - e0) / ((e1 - e0) / n)))
        j = min(n - 1, int((incident.northing - n0) / ((n1 - n0) / n)))
        Incident.objects.filter(pk=incident.pk).update(lsoa_code=codes[i * n + j])


def test_aggregate_users_get_classes_without_small_counts_z_or_p(
    api_as: Any, aggregate_user: User, seeded_cluster: Any, site_b: HospitalSite
) -> None:
    # On 36 LSOAs Gi* needs a cluster over several of them: 240 more incidents over a
    # block of 3 x 3 (a cluster inside one LSOA is an outlier, which Gi* does not flag).
    block = (533132, 176000, 534530, 179000)
    rng = np.random.default_rng(4)
    incidents_create(submission_create(site_b), _rows(_points(rng, block, 240)))
    codes = _lsoa_lattice(SOUTHWARK)
    _with_lsoas(codes, SOUTHWARK)
    client = api_as(aggregate_user)
    assert client.get(URL, {**JANUARY, "level": "grid"}).status_code == 400
    body = client.get(URL, {**JANUARY, "borough": SOUTHWARK}).json()
    assert body["level"] == "lsoa" and body["disclosure_control"]["applied"] is True
    # Every LSOA of the study area is a row, whatever its count.
    assert sorted(r["cell"] for r in body["results"]) == sorted(codes)
    assert all("z" not in r and "p" not in r for r in body["results"])
    policy_max = 7
    assert all(r.get("count", policy_max + 1) > policy_max for r in body["results"])
    assert all(r.get("count", 0) % 5 == 0 for r in body["results"])
    assert any(r["class"].startswith("hot") for r in body["results"]), body["results"]


def test_the_shape_of_an_aggregate_answer_does_not_depend_on_the_data(
    api_as: Any, aggregate_user: User, site_a: HospitalSite
) -> None:
    """Empty and busy studies answer the same rows and keys: only values differ."""
    geography_create()
    codes = _lsoa_lattice(SOUTHWARK)
    client = api_as(aggregate_user)
    empty = client.get(URL, {**JANUARY, "borough": SOUTHWARK}).json()
    submission = submission_create(site_a)
    incidents_create(submission, _rows(_points(np.random.default_rng(2), BOXES[SOUTHWARK], 3)))
    _with_lsoas(codes, SOUTHWARK)
    few = client.get(URL, {**JANUARY, "borough": SOUTHWARK}).json()
    assert [r["cell"] for r in empty["results"]] == [r["cell"] for r in few["results"]]
    assert [sorted(r) for r in empty["results"]] == [sorted(r) for r in few["results"]]
    assert empty["analysed"] is None and few["analysed"] is None


def test_a_borough_outside_scope_adds_nothing(
    api_as: Any, southwark_analyst: User, seeded_cluster: Any
) -> None:
    response = api_as(southwark_analyst).get(URL, {**JANUARY, "borough": LAMBETH})
    if response.status_code == 200:
        body = response.json()
        assert body["analysed"] == 0 and body["results"] == []
    else:
        assert response.status_code == 400


def test_the_page_shows_the_same_hot_cells_as_the_api(
    client: Client, api_as: Any, southwark_analyst: User, seeded_cluster: Any
) -> None:
    login_verified(client, southwark_analyst)
    page = client.get(reverse("incidents:hotspots"), {**JANUARY, "kde": "1"})
    assert page.status_code == 200
    body = page.content.decode()
    assert 'aria-current="page">Hotspots' in body
    assert "descriptive" in body
    api = api_as(southwark_analyst).get(URL, {**JANUARY, "kde": "1"}).json()
    api_hot = {r["cell"] for r in api["results"] if r["class"].startswith("hot")}
    page_hot = {c.cell for c in page.context["result"].hot_cells}
    assert page_hot == api_hot and page_hot
    config = page.context["map_config"]
    assert {c["id"] for c in config["cells"] if c["k"].startswith("hot")} == api_hot
    assert any(c["d"] > 0 for c in config["cells"])
    assert all("density" in r for r in api["results"])
    event = AuditEvent.objects.filter(actor=southwark_analyst, action="data.viewed").last()
    assert event is not None and event.details["endpoint"] == "pages/hotspots"


def test_the_page_offers_an_aggregate_user_lsoas_only(
    client: Client, aggregate_user: User, seeded_cluster: Any
) -> None:
    login_verified(client, aggregate_user)
    page = client.get(reverse("incidents:hotspots"), JANUARY)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="level-grid"' not in body and 'id="lsoa-only"' in body
    assert "Gi* z-score" not in body
    refused = client.get(reverse("incidents:hotspots"), {**JANUARY, "level": "grid"})
    assert refused.status_code == 400
    assert "LSOA" in refused.content.decode()
