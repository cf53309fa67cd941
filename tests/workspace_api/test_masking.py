"""Location precision and free text per grant, from the one stored point."""

from __future__ import annotations

import math

import pytest

from accounts.access import EffectiveAccess
from incidents.masking import PRECISION_LSOA, PRECISION_SNAPPED, SNAP_CELL_METRES, Masker
from tests.workspace_api.factories import (
    BOXES,
    LSOAS,
    SOUTHWARK,
    bng_to_wgs84,
    geography_create,
    incident_row,
)

pytestmark = pytest.mark.django_db


def _access(precision: str, *, free_text: bool = True, record: bool = True) -> EffectiveAccess:
    boroughs = frozenset({SOUTHWARK})
    return EffectiveAccess(
        boroughs=boroughs,
        record_boroughs=boroughs if record else frozenset(),
        download_boroughs=boroughs,
        free_text_boroughs=boroughs if free_text and record else frozenset(),
        precisions=((SOUTHWARK, precision),) if record else (),
    )


def _raw(**kwargs):
    row = incident_row(SOUTHWARK, **kwargs)
    row.update(id=1, site__site_code="RJ122")
    return row


def _metres(lat1, lon1, lat2, lon2) -> float:
    dy = (lat2 - lat1) * 111_320
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


@pytest.fixture
def geography() -> None:
    geography_create()


def test_exact_keeps_the_stored_point(geography) -> None:
    raw = _raw()
    out = Masker.for_access(_access("exact")).mask(raw)
    assert (out["lat"], out["lon"]) == (raw["lat"], raw["lon"])
    assert out["precision"] == "venue"


def test_snapped_moves_to_the_cell_centre_inside_the_borough(geography) -> None:
    raw = _raw(easting=533_010, northing=177_020)
    out = Masker.for_access(_access("snapped")).mask(raw)
    assert out["precision"] == PRECISION_SNAPPED
    centre = bng_to_wgs84(533_125, 177_125)
    assert _metres(out["lat"], out["lon"], *centre) < 1
    assert 0 < _metres(out["lat"], out["lon"], raw["lat"], raw["lon"]) < SNAP_CELL_METRES
    # Two incidents in the same cell share one shown point.
    other = Masker.for_access(_access("snapped")).mask(_raw(easting=533_200, northing=177_240))
    assert (other["lat"], other["lon"]) == (out["lat"], out["lon"])


def test_snapped_never_crosses_the_borough_boundary(geography) -> None:
    west_edge = BOXES[SOUTHWARK][0]  # 532200: the cell 532000-532250 centres at 532125
    raw = _raw(easting=west_edge + 10, northing=177_020)
    out = Masker.for_access(_access("snapped")).mask(raw)
    assert out["precision"] == PRECISION_LSOA
    box = BOXES[SOUTHWARK]
    assert (
        _metres(out["lat"], out["lon"], *bng_to_wgs84((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
        < 1
    )


def test_snapped_without_boundaries_falls_back_to_lsoa(db) -> None:
    geography_create()
    from incidents.geocoding.models import Area

    Area.objects.filter(kind=Area.Kind.BOROUGH).delete()
    out = Masker.for_access(_access("snapped")).mask(_raw(easting=533_010, northing=177_020))
    assert out["precision"] == PRECISION_LSOA


def test_lsoa_precision_gives_the_centroid(geography) -> None:
    out = Masker.for_access(_access("lsoa")).mask(_raw())
    assert out["precision"] == PRECISION_LSOA
    assert out["lsoa"] == LSOAS[SOUTHWARK]


def test_free_text_only_where_allowed(geography) -> None:
    with_text = Masker.for_access(_access("exact")).mask(_raw(description="o/s the Red Lion"))
    assert with_text["location_description"] == "o/s the Red Lion"
    without = Masker.for_access(_access("exact", free_text=False)).mask(_raw())
    assert "location_description" not in without


def test_aggregate_only_borough_gets_no_record(geography) -> None:
    assert Masker.for_access(_access("exact", record=False)).mask(_raw()) is None


def test_unlocated_rows_stay_unlocated(geography) -> None:
    out = Masker.for_access(_access("snapped")).mask(_raw(located=False))
    assert out["lat"] is None and out["lon"] is None
    assert out["precision"] == "not_located"
