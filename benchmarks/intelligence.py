"""Analyst intelligence on 5,000,000 incidents: top locations and Gi* hotspots.

Builds the benchmark database of ``benchmarks/queries.py`` (its ``build()``: sites,
published submissions, users, synthetic incidents; default database ``istv_bench_intel``,
dropped and re-created) and then gives the located rows realistic named places, since
``build()`` leaves every ``geo_matched`` blank:

* about ``NAMED_SHARE`` (20%) of all rows become named places at venue, street or junction
  precision; the other rows the build placed at those precisions are moved to postcode
  unit precision (as the geocoder places most descriptions);
* the places are drawn, per borough, from the shipped gazetteer (``data/gazetteer``):
  pubs (``pub: <name>``, licensed premises), Underground and rail stations
  (``station: <name>``, public transport), the borough's busiest streets
  (``street: <name>``, street) and junctions of two of them
  (``junction: <a> / <b>``, street), spelt as the geocoder writes ``geo_matched``;
  about ``PLACES_PER_BOROUGH`` places per borough, a few thousand across London;
* within a borough a place is picked with a Zipf-like weight (1 / rank), so a few places
  recur a lot and most rarely, as in real data.

The rows' points, areas and dates are left as the build made them, so the figures of
``queries.py`` keep their meaning on this database too. The LSOAs get their boundaries
(``london_lsoa21_bgc.geojson.gz``; the build stores only their centres), which the LSOA
variant of Gi* needs for its neighbours.

It then times, for a record-level user and an aggregate-level (disclosure-controlled)
user, printing p50 / p95 beside a reference measured in the same run (the plain count of
the same filter through the ORM, ``fs.qs.count()``) and the ratio to it:

* top locations for one borough over 12 months            (bar: p95 < 300 ms)
* top locations pan-London over 12 months                  (bar: p95 < 2 s)
* Gi* hotspots (``incidents.hotspots.hotspots``), one borough and pan-London over 12
  months: 250 m grid for the record-level user, LSOAs for the aggregate user (the only
  level disclosure control allows)                         (bar: p95 < 2 s)
  or "Gi*: not available" where that module is absent

    nice .venv/bin/python benchmarks/intelligence.py [--rows 5000000] [--db NAME] [--keep]

``--reuse`` skips the build when the database exists (migrations are still applied, so a
new index is built on the existing rows). The PostgreSQL server is the one
``DATABASE_URL`` points at.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import importlib
import importlib.util
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import queries  # noqa: E402  (the path above makes the folder importable)

NAMED_SHARE = 0.20
PLACE_PRECISIONS = ("venue", "street", "junction")
PLACES_PER_BOROUGH = 110
PUBS_PER_BOROUGH = 45
STATIONS_PER_BOROUGH = 15
JUNCTIONS_PER_BOROUGH = 10
# The 12 months timed (the build's data run from 2015 to 2024) and the bars.
YEAR_FROM, YEAR_TO = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
TOP_BOROUGH_BAR = 0.300
TOP_PAN_LONDON_BAR = 2.0
HOTSPOTS_PAN_LONDON_BAR = 2.0
HOTSPOTS_BOROUGH_BAR = 2.0


# --- named places ----------------------------------------------------------------------


def place_catalogue(geo_dir: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Per borough code: (geo_matched, geo_precision, location_type_code) of its places,
    in a fixed shuffled order (the order is the Zipf rank)."""
    import numpy as np

    rng = np.random.default_rng(20261204)
    pubs: dict[str, set[str]] = defaultdict(set)
    with (geo_dir / "london_pubs_osm_2022.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["name"].strip():
                pubs[row["lad_code_pip"]].add(row["name"].strip())
    stations: dict[str, set[str]] = defaultdict(set)
    for name in ("tfl_london_stations.csv", "national_rail_stations_london.csv"):
        with (geo_dir / name).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                stations[row["lad_code_pip"]].add(row["name"].strip())
    # Streets by the number of points the police data has on them: the busiest first.
    weight: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with gzip.open(geo_dir / "london_street_names_police.csv.gz", "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            weight[row["lad_code"]][row["name"]] += int(row["n_points"] or 0)
    out: dict[str, list[tuple[str, str, str]]] = {}
    for borough in sorted(weight):
        chosen: list[tuple[str, str, str]] = []
        pub_names = sorted(pubs[borough])
        for i in rng.permutation(len(pub_names))[:PUBS_PER_BOROUGH]:
            chosen.append((f"pub: {pub_names[i]}", "venue", "licensed_premises"))
        station_names = sorted(stations[borough])
        for i in rng.permutation(len(station_names))[:STATIONS_PER_BOROUGH]:
            chosen.append((f"station: {station_names[i]}", "venue", "public_transport"))
        streets = sorted(weight[borough], key=lambda s: (-weight[borough][s], s))
        busiest = streets[: max(12, PLACES_PER_BOROUGH - len(chosen) - JUNCTIONS_PER_BOROUGH)]
        for name in busiest:
            chosen.append((f"street: {name}", "street", "street"))
        for k in range(JUNCTIONS_PER_BOROUGH):
            a, b = busiest[k % len(busiest)], busiest[(3 * k + 1) % len(busiest)]
            if a != b:
                chosen.append((f"junction: {a.lower()} / {b.lower()}", "junction", "street"))
        out[borough] = [chosen[i] for i in rng.permutation(len(chosen))]
    return out


def add_named_places(geo_dir: Path) -> dict[str, float]:
    """Give about ``NAMED_SHARE`` of the rows a named place (see the module docstring).

    One UPDATE from a table of (id, place) written with COPY, with the secondary indexes
    dropped around it and the table rewritten after (no dead rows left behind)."""
    import numpy as np
    from django.db import connection

    timings: dict[str, float] = {}
    started = time.perf_counter()
    catalogue = place_catalogue(geo_dir)
    rng = np.random.default_rng(20261205)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incidents_incident")
        total = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM incidents_incident WHERE geo_class = 'place' "
            "AND geo_precision IN ('venue', 'street', 'junction')"
        )
        candidates = cursor.fetchone()[0]
        keep = min(1.0, NAMED_SHARE * total / max(candidates, 1))
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_named (id bigint PRIMARY KEY, matched text, "
            "precision text, location text)"
        )
    raw = connection.connection
    lines = []
    for borough, places in catalogue.items():
        ids = np.array(
            [
                r[0]
                for r in raw.execute(
                    "SELECT id FROM incidents_incident WHERE borough_code = %s "
                    "AND geo_class = 'place' "
                    "AND geo_precision IN ('venue', 'street', 'junction') ORDER BY id",
                    [borough],
                )
            ],
            dtype=np.int64,
        )
        weights = 1.0 / np.arange(1, len(places) + 1)
        pick = rng.choice(len(places), len(ids), p=weights / weights.sum())
        named = rng.random(len(ids)) < keep
        for i in range(len(ids)):
            if named[i]:
                matched, precision, location = places[pick[i]]
                matched = matched.replace("\\", " ").replace("\t", " ")
                lines.append(f"{ids[i]}\t{matched}\t{precision}\t{location}\n")
            else:
                lines.append(f"{ids[i]}\t\tpostcode_unit\t\\N\n")
    with raw.cursor() as cur, cur.copy("COPY bench_named FROM STDIN") as copy:
        for start in range(0, len(lines), 100_000):
            copy.write("".join(lines[start : start + 100_000]))
    timings["places_copy_s"] = time.perf_counter() - started

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = "
            "'incidents_incident' AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(
            "UPDATE incidents_incident i SET geo_matched = n.matched, "
            "geo_precision = n.precision, "
            "location_type_code = COALESCE(n.location, i.location_type_code) "
            "FROM bench_named n WHERE n.id = i.id"
        )
        cursor.execute("DROP TABLE bench_named")
        cursor.execute("VACUUM FULL incidents_incident")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM (ANALYZE) incidents_incident")
    timings["places_update_s"] = time.perf_counter() - started
    return timings


def load_lsoa_boundaries(geo_dir: Path) -> int:
    """The LSOAs' boundaries, which ``queries.build()`` leaves empty (its masking needs
    only their centres) and the LSOA variant of Gi* needs for its neighbours."""
    from incidents.geocoding.models import Area

    with gzip.open(geo_dir / "london_lsoa21_bgc.geojson.gz", "rt", encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    shapes = {f["properties"]["LSOA21CD"]: json.dumps(f["geometry"]) for f in features}
    areas = list(Area.objects.filter(kind=Area.Kind.LSOA, geometry="{}"))
    for area in areas:
        area.geometry = shapes.get(area.code, area.geometry)
    Area.objects.bulk_update(areas, ["geometry"], batch_size=500)
    return len(areas)


def named_share() -> tuple[float, int]:
    """The share of rows with a named place and the number of distinct places."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE geo_matched <> '' AND geo_class = 'place' "
            "AND geo_precision IN ('venue', 'street', 'junction')), count(*), "
            "count(DISTINCT geo_matched) FILTER (WHERE geo_matched <> '') "
            "FROM incidents_incident"
        )
        named, total, distinct = cursor.fetchone()
    return (named / total if total else 0.0), distinct


# --- measuring -------------------------------------------------------------------------


def measure() -> int:
    from accounts.access import effective_access
    from accounts.geography import LONDON_BOROUGHS
    from accounts.models import User
    from incidents.filters import IncidentFilterSet
    from incidents.selectors import Purpose
    from incidents.workspace.top_locations import top_locations

    users = {
        "record": User.objects.get(email="record@bench.test"),
        "aggregate": User.objects.get(email="aggregate@bench.test"),
    }
    boroughs = sorted(LONDON_BOROUGHS)
    year = {"assault_date_from": YEAR_FROM.isoformat(), "assault_date_to": YEAR_TO.isoformat()}
    state = {"i": 0}
    failures = 0

    def filterset(kind: str, pan_london: bool) -> IncidentFilterSet:
        """A valid filter set for the next borough in turn (or London), the 12 months."""
        user = users[kind]
        i = state["i"] = state["i"] + 1
        data = dict(year) if pan_london else {**year, "borough": boroughs[i % len(boroughs)]}
        fs = IncidentFilterSet(
            data, user=user, access=effective_access(user), purpose=Purpose.COUNTS
        )
        assert fs.is_valid(), fs.errors
        return fs

    def top(kind: str, pan_london: bool = False) -> Callable[[], None]:
        def run() -> None:
            top_locations(filterset(kind, pan_london))

        return run

    def plain_count(kind: str, pan_london: bool = False) -> Callable[[], None]:
        def run() -> None:
            filterset(kind, pan_london).qs.count()

        return run

    cases: list[tuple[str, Callable[[], None], Callable[[], None], int, float]] = [
        ("top locations, borough, 12 m (record)", top("record"), plain_count("record"),
         33, TOP_BOROUGH_BAR),
        ("top locations, borough, 12 m (aggregate)", top("aggregate"), plain_count("aggregate"),
         33, TOP_BOROUGH_BAR),
        ("top locations, pan-London, 12 m (record)", top("record", True),
         plain_count("record", True), 7, TOP_PAN_LONDON_BAR),
        ("top locations, pan-London, 12 m (aggregate)", top("aggregate", True),
         plain_count("aggregate", True), 7, TOP_PAN_LONDON_BAR),
    ]  # fmt: skip
    hotspots = load_hotspots()
    if hotspots is not None:
        # The grid for the record-level user; LSOAs for the aggregate one, the only level
        # a viewer with disclosure control is allowed.
        for kind, level in (("record", "grid"), ("aggregate", "lsoa")):
            cases.append(
                (f"Gi* {level}, borough, 12 m ({kind})", gi_star(hotspots, filterset, kind, level),
                 plain_count(kind), 11, HOTSPOTS_BOROUGH_BAR)
            )  # fmt: skip
            cases.append(
                (f"Gi* {level}, pan-London, 12 m ({kind})",
                 gi_star(hotspots, filterset, kind, level, pan_london=True),
                 plain_count(kind, True), 5, HOTSPOTS_PAN_LONDON_BAR)
            )  # fmt: skip
    print(f"{'query':46} {'p50 ms':>8} {'p95 ms':>8} {'count p50':>9} {'ratio':>7}  bar")
    for name, ours, reference, repeat, bar in cases:
        try:
            p50, p95 = queries.percentiles(queries.timed(ours, repeat))
        except Exception as error:  # a module under construction: say so, time the rest
            failures += 1
            print(f"{name:46} failed: {type(error).__name__}: {error}")
            continue
        r50, _ = queries.percentiles(queries.timed(reference, repeat))
        ok = p95 < bar
        failures += not ok
        print(
            f"{name:46} {p50 * 1000:8.1f} {p95 * 1000:8.1f} {r50 * 1000:9.1f} "
            f"{p50 / r50 if r50 else float('nan'):7.1f}  p95 < {bar * 1000:.0f} ms "
            f"{'OK' if ok else 'MISSED'}"
        )
    if hotspots is None:
        print("Gi*: not available (incidents.hotspots is absent)")
    return failures


def load_hotspots() -> Callable[..., Any] | None:
    """``incidents.hotspots.hotspots`` where that module exists, else None."""
    if importlib.util.find_spec("incidents.hotspots") is None:
        return None
    module = importlib.import_module("incidents.hotspots")
    found: Callable[..., Any] | None = getattr(module, "hotspots", None)
    return found


def gi_star(
    hotspots: Callable[..., Any],
    filterset: Callable[[str, bool], Any],
    kind: str,
    level: str,
    *,
    pan_london: bool = False,
) -> Callable[[], None]:
    """Gi* at ``level``: 250 m cells on the grid."""

    def run() -> None:
        hotspots(filterset(kind, pan_london), cell=250 if level == "grid" else None, level=level)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--db", default="istv_bench_intel")
    parser.add_argument("--geo-dir", default=None, help="folder of the gazetteer files")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing database")
    args = parser.parse_args()
    reuse = args.reuse and queries.database_exists(args.db)
    if not reuse:
        queries.create_database(args.db)
    queries._setup_django(args.db)
    geo_dir = queries._geo_dir(args.geo_dir)
    try:
        from django.core.management import call_command
        from django.db import connection

        if not reuse:
            started = time.perf_counter()
            timings = queries.build(args.rows, geo_dir)
            print(
                f"Built {args.rows:,} incidents in {time.perf_counter() - started:.0f} s "
                + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
                flush=True,
            )
        else:
            started = time.perf_counter()
            call_command("migrate", verbosity=0)  # indexes added since the build
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE incidents_incident")
            print(f"Migrated and analysed in {time.perf_counter() - started:.0f} s")
        if load_lsoa_boundaries(geo_dir):
            print("LSOA boundaries loaded", flush=True)
        share, distinct = named_share()
        if share == 0:
            started = time.perf_counter()
            timings = add_named_places(geo_dir)
            print(
                f"Named places added in {time.perf_counter() - started:.0f} s "
                + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
                flush=True,
            )
            share, distinct = named_share()
        print(f"Rows with a named place: {share:.1%}, {distinct:,} distinct places")
        failures = measure()
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            queries.drop_database(args.db)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
