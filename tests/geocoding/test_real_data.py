"""The real London files: load them all and geocode the sample from the issue."""

from __future__ import annotations

import pytest

from incidents.geocoding.gazetteer import metres
from incidents.geocoding.geocoder import Geocoder

pytestmark = pytest.mark.slow


def test_issue_sample(real_geocoder: Geocoder) -> None:
    g = real_geocoder
    brixton = g.geocode("o/s Brixton stn", "RJZ01")
    assert brixton.result_class == "place" and "Brixton" in brixton.matched
    assert brixton.borough == "E09000022"
    home = g.geocode("pt's home", "RJZ01")
    assert home.result_class == "home" and not home.placed
    junction = g.geocode("junction of Mare St and Well St", "RQXM1")
    assert junction.precision == "junction" and junction.borough == "E09000012"
    assert metres(junction.lat, junction.lon, 51.5395, -0.0561) < 250  # type: ignore[arg-type]
    postcode = g.geocode("E1 6AN")
    assert postcode.borough == "E09000001" and postcode.lsoa == "E01032739"
    assert postcode.ward == "E05009292"
    rye = g.geocode("outside Tesco Rye Lane SE15", "RJZ01")
    assert rye.borough == "E09000028" and rye.precision == "street"
    for text in ("10 past 5", "M25", "A406", "n/k", "- -", "street", "Sainsbury's"):
        assert not g.geocode(text, "RJZ01").placed, text
    assert g.geocode("on holiday in Spain").result_class == "abroad"


def test_point_in_polygon_agrees_with_postcode_file(real_geocoder: Geocoder) -> None:
    gz = real_geocoder.gz
    lat, lon, lsoa, ward, borough = gz.units["SW9 8HE"]
    assert gz.areas_at(lat, lon) == (lsoa, ward, borough)
