"""The map's layers: the offline base layer of outlines, the record-level points the page
clusters, and the one colour scale the areas and the legend are drawn from."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditEvent
from accounts.models import User
from incidents.geocoding.models import Area
from tests.factories import login_verified
from tests.personas import LAMBETH, SOUTHWARK

from .conftest import SQUARES, TOWER_HAMLETS, _square

pytestmark = pytest.mark.django_db


def _config(client: Client) -> dict[str, Any]:
    body = client.get(reverse("incidents:map")).content.decode()
    found = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', body)
    assert found, "map configuration missing"
    return dict(json.loads(found.group(1)))


@pytest.fixture
def wards(areas: None) -> dict[str, str]:
    """One ward in each borough of the page fixtures (the west half of its square)."""
    codes = {}
    for number, (borough, (west, south)) in enumerate(sorted(SQUARES.items()), start=1):
        code = f"E0500{number:04d}"
        Area.objects.create(
            kind=Area.Kind.WARD,
            code=code,
            name=f"Ward {number}",
            parent_code=borough,
            geometry=_square(west, south, 0.01),
            centroid_lat=south + 0.005,
            centroid_lon=west + 0.005,
        )
        codes[borough] = code
    return codes


def _coordinates(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    if geometry["type"] == "Point":
        return [tuple(geometry["coordinates"])]
    if geometry["type"] == "LineString":
        return [tuple(c) for c in geometry["coordinates"]]
    return [tuple(c) for line in geometry["coordinates"] for c in line]


def _inside(point: tuple[float, float], borough: str) -> bool:
    west, south = SQUARES[borough]
    return west <= point[0] <= west + 0.02 and south <= point[1] <= south + 0.02


# --- the base layer -------------------------------------------------------------------------------


def test_base_layer_is_local_geometry_with_wards_in_scope_and_no_audit(
    client: Client, southwark_analyst: User, wards: dict[str, str]
) -> None:
    login_verified(client, southwark_analyst)
    events_before = AuditEvent.objects.count()
    response = client.get(reverse("incidents:map_base"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    # Everything the map needs comes from the portal: no URL to anywhere else.
    assert not re.search(r"https?:|//", text)
    features = json.loads(text)["features"]
    by_layer: dict[str, list[dict[str, Any]]] = {}
    for feature in features:
        by_layer.setdefault(feature["properties"]["layer"], []).append(feature)
    # Every London borough's outline and name (context), but wards only in scope.
    labels = {f["properties"]["code"]: f for f in by_layer["label"]}
    assert set(labels) == set(SQUARES)
    for code, label in labels.items():
        assert label["properties"]["name"]
        assert _inside(_coordinates(label["geometry"])[0], code)
    borough_points = _coordinates(by_layer["borough"][0]["geometry"])
    for borough in SQUARES:
        assert any(_inside(p, borough) for p in borough_points), borough
    ward_points = [p for f in by_layer["ward"] for p in _coordinates(f["geometry"])]
    assert ward_points and all(_inside(p, SOUTHWARK) for p in ward_points)
    # Public boundaries, no incident data: not a data access, so not audited.
    assert AuditEvent.objects.count() == events_before


def test_base_layer_is_compressed_and_covers_a_pan_london_viewers_wards(
    client: Client, mps_analyst: User, wards: dict[str, str]
) -> None:
    login_verified(client, mps_analyst)
    packed = client.get(reverse("incidents:map_base"), HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    features = json.loads(client.get(reverse("incidents:map_base")).content)["features"]
    ward_points = [
        p
        for f in features
        if f["properties"]["layer"] == "ward"
        for p in _coordinates(f["geometry"])
    ]
    assert {b for b in SQUARES if any(_inside(p, b) for p in ward_points)} == set(SQUARES)


def test_base_layer_follows_the_map_endpoints_404_rule(
    client: Client, liaison_a: User, outsider: User, wards: dict[str, str]
) -> None:
    for user in (liaison_a, outsider):
        login_verified(client, user)
        assert client.get(reverse("incidents:map_base")).status_code == 404
        assert client.get(reverse("incidents:map_boundaries")).status_code == 404
    client.logout()
    response = client.get(reverse("incidents:map_base"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_map_page_points_only_at_the_portal_when_no_tile_server_is_set(
    client: Client, southwark_analyst: User, seeded: dict[str, Any], settings: Any
) -> None:
    settings.MAP_TILE_URL = ""
    login_verified(client, southwark_analyst)
    config = _config(client)
    assert config["tileUrl"] == ""
    for key in ("dataUrl", "boundariesUrl", "baseUrl", "attributionUrl"):
        assert config[key].startswith("/") and not config[key].startswith("//"), key
    body = client.get(reverse("incidents:map")).content.decode()
    scripts = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', body)
    assert scripts and not [s for s in scripts if re.match(r"(https?:)?//", s)]
    assert any("markercluster" in s for s in scripts)


# --- points ---------------------------------------------------------------------------------------


def test_points_are_masked_positions_with_their_counts(
    client: Client, mopac_analyst: User, seeded: dict[str, Any]
) -> None:
    """An LSOA-precision viewer's points are the LSOA centroids, one per LSOA, carrying how
    many incidents sit there: the clusters add these up and can say no more."""
    login_verified(client, mopac_analyst)
    data = client.get(reverse("incidents:map_data")).json()
    centroids = {
        (round(a.centroid_lat, 5), round(a.centroid_lon, 5)): a.parent_code
        for a in Area.objects.filter(kind=Area.Kind.LSOA)
    }
    shown = {(p["lat"], p["lon"]): p["count"] for p in data["grid"]}
    assert len(shown) == len(data["grid"])  # one marker per position
    assert {centroids[k]: v for k, v in shown.items()} == {
        SOUTHWARK: 22,
        LAMBETH: 9,
        TOWER_HAMLETS: 3,
    }
    assert data["gridRows"] == sum(shown.values())


def test_aggregate_user_gets_no_points_even_when_areas_are_refused(
    client: Client, aggregate_user: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, aggregate_user)
    for params in ({"level": "borough"}, {"level": "lsoa", "borough": TOWER_HAMLETS}):
        data = client.get(reverse("incidents:map_data"), params).json()
        assert not data.get("grid"), params
        assert "gridRows" not in data
    assert "with incident locations" not in client.get(reverse("incidents:map")).content.decode()


# --- one colour scale -----------------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_legend_and_the_fills_share_one_scale(
    client: Client, aggregate_user: User, seeded: dict[str, Any]
) -> None:
    login_verified(client, aggregate_user)
    config = _config(client)
    shades, suppressed = config["scale"]["shades"], config["scale"]["suppressed"]
    assert len(shades) >= 3 and len(set(shades)) == len(shades)
    # Read in order: each class darker than the one before it.
    lum = [_luminance(s) for s in shades]
    assert lum == sorted(lum, reverse=True)
    assert suppressed not in shades
    # The suppressed hatching on the page is filled with the scale's suppressed colour.
    body = client.get(reverse("incidents:map")).content.decode()
    assert re.search(rf'<pattern id="map-suppressed".*?fill="{suppressed}"', body, re.S)
    # Nothing else defines the colours: map.js and the stylesheet take them from the scale.
    static = Path(settings.BASE_DIR) / "static" / "incidents"
    for name in ("map.js", "workspace.css"):
        text = (static / name).read_text(encoding="utf-8").lower()
        legend_rules = re.findall(r"\.legend-[0-9s][^{]*\{[^}]*\}", text)
        assert not legend_rules, name
    script = (static / "map.js").read_text(encoding="utf-8").lower()
    assert not [c for c in [*shades, suppressed] if c.lower() in script]
