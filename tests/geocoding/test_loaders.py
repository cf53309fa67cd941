"""The gazetteer loader: recognition, idempotence, official layouts, audit."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from accounts.audit.models import AuditEvent
from incidents.geocoding.loaders import OPEN_NAMES_COLUMNS, gazetteer_load, recognise
from incidents.geocoding.models import Area, HospitalPoint, Place, Postcode

pytestmark = pytest.mark.django_db


def test_load_is_idempotent_and_audited(mini_dir: Path) -> None:
    first = gazetteer_load(directory=mini_dir)
    counts = (Postcode.objects.count(), Place.objects.count(), Area.objects.count())
    second = gazetteer_load(directory=mini_dir)
    assert (Postcode.objects.count(), Place.objects.count(), Area.objects.count()) == counts
    assert first.counts == second.counts
    assert first.counts["postcode"] == 4 and first.counts["area:borough"] == 3
    assert first.counts["street"] == 9 and first.counts["station"] == 2
    assert HospitalPoint.objects.filter(site_code="RQXM1").exists()
    assert "README.md" in first.skipped
    events = AuditEvent.objects.filter(action="gazetteer.loaded")
    assert events.count() == 2 and events.first().actor is None  # type: ignore[union-attr]
    assert events.first().details["counts"]["postcode"] == 4  # type: ignore[union-attr]


def test_onspd_layout_loads_official_codes_and_terminations(tmp_path: Path) -> None:
    path = tmp_path / "ONSPD_NOV_2025_UK.csv"
    header = [
        "pcds",
        "doterm",
        "oseast1m",
        "osnrth1m",
        "osgrdind",
        "oslaua",
        "osward",
        "rgn",
        "lsoa21",
        "lat",
        "long",
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerow(
            [
                "E1 6AN",
                "",
                533500,
                181900,
                1,
                "E09000001",
                "E05009292",
                "E12000007",
                "E01032739",
                51.518886,
                -0.078506,
            ]
        )
        w.writerow(
            [
                "E1 9ZZ",
                "202001",
                533500,
                181900,
                1,
                "E09000030",
                "E05000001",
                "E12000007",
                "E01000002",
                51.52,
                -0.07,
            ]
        )
        w.writerow(
            [
                "M1 1AA",
                "",
                384000,
                398000,
                1,
                "E08000003",
                "E05000002",
                "E12000002",
                "E01000003",
                53.48,
                -2.24,
            ]
        )
    assert recognise(path) == "onspd"
    report = gazetteer_load(directory=tmp_path)
    assert report.counts == {"postcode": 2}  # Manchester filtered out (London only)
    live = Postcode.objects.get(postcode="E1 6AN")
    assert live.is_live and live.lsoa_code == "E01032739" and live.borough_code == "E09000001"
    assert not Postcode.objects.get(postcode="E1 9ZZ").is_live


def test_os_open_names_headerless_layout(tmp_path: Path) -> None:
    path = tmp_path / "TQ38.csv"
    row = dict.fromkeys(OPEN_NAMES_COLUMNS, "")
    row.update(
        {
            "ID": "osgb4000000074558148",
            "NAME1": "Rye Lane",
            "LOCAL_TYPE": "Named Road",
            "GEOMETRY_X": "534400",
            "GEOMETRY_Y": "176000",
        }
    )
    place = dict(row, ID="osgb4000000074559999", NAME1="Peckham", LOCAL_TYPE="Suburban Area")
    skip = dict(row, ID="osgb4000000074550000", NAME1="SE15 4ST", LOCAL_TYPE="Postcode")
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for r in (row, place, skip):
            w.writerow([r[c] for c in OPEN_NAMES_COLUMNS])
    assert recognise(path) == "os_open_names"
    report = gazetteer_load(directory=tmp_path)
    assert report.counts == {"street": 1, "locality": 1}
    street = Place.objects.get(kind="street")
    assert street.name_key == "rye ln"
    assert abs(street.lat - 51.47) < 0.01 and abs(street.lon - (-0.069)) < 0.01
