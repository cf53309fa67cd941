"""The workspace query path on 5,000,000 incidents, against DuckDB on the same data.

Builds a separate benchmark database (default ``istv_bench``; dropped and re-created),
runs the project's migrations, creates 28 hospital sites, one published submission per
site and month over ten years, and loads synthetic incidents spread over London's LSOAs
(codes and interior points from ``london_lsoa21_lookup.csv`` in the geography folder) with
``COPY`` through psycopg, 35% of them without a mappable place (home, unknown, vague, a
chain, abroad: no point and no area codes, as the geocoder leaves them); indexes are
rebuilt after the load, the count rollups filled (``incidents.rollup.rollups_fill``; their
triggers are off during the load) and the tables ANALYZEd.

It then times the real ORM path — ``IncidentFilterSet`` (which starts from
``visible_to``), the page query with masking, and ``aggregate_counts`` — for a record-level
user and an aggregate-level user (the latter with disclosure control), and the same
queries in DuckDB over the same rows (exported from PostgreSQL into a DuckDB table in the
same run), printing p50 / p95 and the ratio to DuckDB:

* the filtered first page (100 rows) for a borough and a month  (bar: p95 < 150 ms)
* monthly counts for a borough over ten years                   (bar: p95 < 300 ms)
* pan-London counts by borough and month   (bar: p50 <= 2x DuckDB's in the same run)
* a streamed CSV export of about 1,000,000 rows, in a fresh process (bar: >= 0.5x DuckDB
  COPY's rows/s on the same rows, peak memory < 150 MB), through the API's path (masked
  SELECT under PostgreSQL COPY): every incident from the date that leaves
  ``--export-rows`` of them; on an existing database it runs alone with
  ``--export-worker --db NAME --export-from DATE [--export-format csv|geojson|xlsx]``

    .venv/bin/python benchmarks/queries.py [--rows 5000000] [--db istv_bench] [--keep]

Takes several minutes on two cores. ``--reuse`` skips the build when the database exists
(and keeps it: only a database the run built is dropped, unless ``--keep``).
The PostgreSQL server is the one ``DATABASE_URL`` points at.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_P95_BAR = 0.150
MONTHLY_P95_BAR = 0.300
# Pan-London counts: p50 within this multiple of DuckDB's p50 on the same rows, same run.
PAN_LONDON_DUCK_RATIO = 2.0
# The cell-key method (disclosure control for aggregate users) within 1.5x of plain counts,
# and the fine groupings that once ran past the web timeout answered or refused in < 3 s.
PERTURBATION_RATIO_BAR = 1.5
FINE_GROUPINGS = (
    "lsoa,month",
    "lsoa,hospital",
    "lsoa,method",
    "borough,lsoa",
    "lsoa,ward,hospital",
)
FINE_GROUPING_BAR = 3.0
# The record-level CSV export: at least half DuckDB COPY's rate on the same rows (same
# filter, same order) in the same run, peak memory of the exporting process under 150 MB.
EXPORT_CSV_RATIO_BAR = 0.5
EXPORT_MEMORY_BAR_MB = 150
YEARS = 10
START = dt.date(2015, 1, 1)
SITES = 28
LONDON = ZoneInfo("Europe/London")
METHODS = [
    "body_part",
    "blunt_object",
    "knife",
    "glass_bottle",
    "firearm",
    "corrosive",
    "other",
    "not_known",
]
LOCATIONS = [
    "dwelling",
    "street",
    "park",
    "licensed_premises",
    "other_commercial",
    "public_transport",
    "workplace",
    "school",
    "healthcare_custody",
    "other",
    "not_known",
]
# The share of incidents with no mappable place, and their classes (home the most common).
UNLOCATED_SHARE = 0.35
UNLOCATED_CLASSES = ["home"] * 5 + ["unknown", "vague", "chain_without_place", "abroad"]
PRECISIONS = ["postcode_unit", "venue", "street", "junction", "postcode_sector", "area"]
DESCRIPTIONS = [
    "o/s the station",
    "nr bus stop",
    "high street",
    "in the park",
    "pub",
    "=1+1",
    "-",
    "",
]


def _server_url(database: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return base.rsplit("/", 1)[0] + "/" + database


def _setup_django(database: str) -> None:
    os.environ["DATABASE_URL"] = _server_url(database)
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "istv_portal.settings.local")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def _geo_dir(arg: str | None) -> Path:
    return Path(arg) if arg else ROOT / "data" / "gazetteer"  # the shipped London gazetteer


# --- build -----------------------------------------------------------------------------


def create_database(database: str) -> None:
    import psycopg

    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def drop_database(database: str) -> None:
    import psycopg

    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def database_exists(database: str) -> bool:
    import psycopg

    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
    return row is not None


def load_lsoas(geo_dir: Path) -> list[tuple[str, str, str, float, float]]:
    """(lsoa, ward, borough, lat, lon) for every London LSOA."""
    with (geo_dir / "london_lsoa21_lookup.csv").open(newline="", encoding="utf-8") as handle:
        return [
            (
                row["LSOA21CD"],
                row["WD25CD_derived"],
                row["LAD22CD"],
                float(row["interior_point_lat"]),
                float(row["interior_point_lon"]),
            )
            for row in csv.DictReader(handle)
        ]


def load_areas(geo_dir: Path, lsoas: list[tuple[str, str, str, float, float]]) -> None:
    from incidents.geocoding.models import Area

    with (geo_dir / "london_boroughs_lad22.geojson").open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    Area.objects.bulk_create(
        [
            Area(
                kind=Area.Kind.BOROUGH,
                code=f["properties"]["LAD22CD"],
                name=f["properties"]["LAD22NM"],
                geometry=json.dumps(f["geometry"]),
            )
            for f in features
        ]
    )
    Area.objects.bulk_create(
        [
            Area(
                kind=Area.Kind.LSOA,
                code=code,
                name=code,
                parent_code=borough,
                geometry="{}",
                centroid_lat=lat,
                centroid_lon=lon,
            )
            for code, _, borough, lat, lon in lsoas
        ]
    )


def build(rows: int, geo_dir: Path) -> dict[str, Any]:
    """Reference rows through the ORM, incidents through COPY. Returns timings."""
    import numpy as np
    from django.core.management import call_command
    from django.db import connection
    from pyproj import Transformer

    from accounts.models import AccessGrant, Membership, Organisation, User
    from hospitals.models import HospitalSite, Submission

    timings: dict[str, Any] = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    timings["migrate_s"] = time.perf_counter() - started

    lsoas = load_lsoas(geo_dir)
    boroughs = sorted({b for _, _, b, _, _ in lsoas})
    sites = [
        HospitalSite.objects.create(
            site_code=f"BEN{i:02d}",
            name=f"Benchmark hospital {i}",
            trust_code=f"B{i:02d}",
            trust_name=f"Benchmark trust {i}",
            borough_code=boroughs[i % len(boroughs)],
        )
        for i in range(SITES)
    ]
    months = [dt.date(START.year + m // 12, m % 12 + 1, 1) for m in range(YEARS * 12)]
    submissions = Submission.objects.bulk_create(
        [
            Submission(
                site=site,
                period=month,
                status=Submission.Status.PUBLISHED,
                stored_name=f"bench-{site.pk}-{month:%Y%m}",
                original_name="bench.csv",
                sha256="0" * 64,
                size_bytes=1,
            )
            for site in sites
            for month in months
        ]
    )
    sub_ids = np.array([s.pk for s in submissions], dtype=np.int64).reshape(SITES, len(months))
    site_ids = np.array([s.pk for s in sites], dtype=np.int64)

    # The gazetteer areas masking uses: borough boundaries and LSOA centroids.
    load_areas(geo_dir, lsoas)

    # Users: a record-level pan-London analyst (snapped points, free text) and an
    # aggregate-only one.
    for kind, level in (
        ("record", AccessGrant.Level.RECORD),
        ("aggregate", AccessGrant.Level.AGGREGATE),
    ):
        org = Organisation.objects.create(name=f"Bench {kind}", kind=Organisation.Kind.MPS)
        user = User.objects.create(
            email=f"{kind}@bench.test", full_name=kind, status=User.Status.ACTIVE
        )
        Membership.objects.create(user=user, organisation=org, role=Membership.Role.ANALYST)
        AccessGrant.objects.create(
            organisation=org,
            level=level,
            pan_london=True,
            download_allowed=True,
            free_text_visible=level == AccessGrant.Level.RECORD,
            location_precision=AccessGrant.Precision.SNAPPED,
            valid_from=dt.date(2000, 1, 1),
            valid_until=dt.date(2100, 1, 1),
            agreement_reference=f"BENCH-{kind}",
            reason="benchmark",
        )

    # Incident columns, generated per chunk with numpy and written with COPY.
    lsoa_codes = np.array([x[0] for x in lsoas])
    ward_codes = np.array([x[1] for x in lsoas])
    borough_codes = np.array([x[2] for x in lsoas])
    lsoa_lat = np.array([x[3] for x in lsoas])
    lsoa_lon = np.array([x[4] for x in lsoas])
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    days = (dt.date(START.year + YEARS, 1, 1) - START).days
    # UTC offset of each local day (BST or GMT), to derive the local date fields.
    offsets = np.array(
        [
            int(
                dt.datetime.combine(START + dt.timedelta(d), dt.time(12), LONDON)
                .utcoffset()
                .total_seconds()
            )  # type: ignore[union-attr]
            for d in range(days + 1)
        ]
    )
    epoch0 = int(dt.datetime.combine(START, dt.time(0), dt.UTC).timestamp())
    rng = np.random.default_rng(20261124)
    hour_weights = np.array(
        [5, 4, 3, 2, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 5, 6, 7, 8, 8, 7], float
    )
    hour_weights /= hour_weights.sum()
    dates = [START + dt.timedelta(int(d)) for d in range(days + 1)]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'incidents_incident' "
            "AND indexname NOT LIKE '%%_pkey'"
        )
        indexes = cursor.fetchall()
        # Constraints (the unique source-row pair, the foreign keys) and indexes are
        # rebuilt after the load: one bulk check instead of one per row.
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'incidents_incident'::regclass AND contype IN ('u', 'f')"
        )
        uniques = cursor.fetchall()
        for name, _ in uniques:
            cursor.execute(f'ALTER TABLE incidents_incident DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            if name not in {u[0] for u in uniques}:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        # The rollups' triggers are off during the load; the rollups are filled once after it.
        cursor.execute("ALTER TABLE incidents_incident DISABLE TRIGGER USER")

    columns = (
        "submission_id, site_id, source_row, arrival_at, arrival_time_known, assault_at, "
        "assault_time_known, assault_date, assault_month, assault_weekday, assault_hour, "
        "method_code, method_raw, method_other, location_type_code, location_type_raw, "
        "location_description, geocode_status, geo_class, lat, lon, easting, northing, "
        "geo_precision, geo_method, geo_matched, geo_alternatives, geo_explanation, "
        "lsoa_code, ward_code, borough_code, rules, warnings"
    )
    started = time.perf_counter()
    raw = connection.connection  # the psycopg connection under Django's
    chunk = 250_000
    source_row = 0
    with raw.cursor() as cur, cur.copy(f"COPY incidents_incident ({columns}) FROM STDIN") as copy:
        for offset in range(0, rows, chunk):
            n = min(chunk, rows - offset)
            # Rows are written a submission at a time (a hospital's month), so the table's
            # physical order follows the months: each chunk holds the next stretch of time.
            window = days * 86400
            seconds = np.sort(
                rng.integers(offset * window // rows, (offset + n) * window // rows, n)
            )
            hours = rng.choice(24, n, p=hour_weights)
            seconds = seconds - seconds % 86400 + hours * 3600 + rng.integers(0, 3600, n)
            utc = epoch0 + seconds
            local = seconds + offsets[np.minimum(seconds // 86400, days)]
            local_days = local // 86400
            local_hour = (local % 86400) // 3600
            which = rng.integers(0, len(lsoas), n)
            lat = lsoa_lat[which] + rng.normal(0, 0.0008, n)
            lon = lsoa_lon[which] + rng.normal(0, 0.0012, n)
            east, north = to_bng.transform(lon, lat)
            site = rng.integers(0, SITES, n)
            method = rng.integers(0, len(METHODS), n)
            location = rng.integers(0, len(LOCATIONS), n)
            precision = rng.integers(0, len(PRECISIONS), n)
            described = rng.integers(0, len(DESCRIPTIONS), n)
            time_known = rng.random(n) < 0.85
            # A share of incidents have no mappable place (home, vague, unknown, ...): no
            # point and no area codes, counted by every pan-London query.
            unlocated = rng.random(n) < UNLOCATED_SHARE
            unlocated_class = rng.integers(0, len(UNLOCATED_CLASSES), n)
            lines = []
            for i in range(n):
                day = dates[int(local_days[i])]
                month_index = (day.year - START.year) * 12 + day.month - 1
                stamp = dt.datetime.fromtimestamp(int(utc[i]), dt.UTC).isoformat()
                arrival = dt.datetime.fromtimestamp(int(utc[i]) + 3600, dt.UTC).isoformat()
                source_row += 1
                known = bool(time_known[i])
                if unlocated[i]:
                    geo = (
                        f"{UNLOCATED_CLASSES[unlocated_class[i]]}\t\\N\t\\N\t\\N\t\\N\t"
                        "\tbench\t\t[]\t\t\t\t"
                    )
                else:
                    geo = (
                        f"place\t{lat[i]:.6f}\t{lon[i]:.6f}\t{east[i]:.1f}\t{north[i]:.1f}\t"
                        f"{PRECISIONS[precision[i]]}\tbench\t\t[]\t\t"
                        f"{lsoa_codes[which[i]]}\t{ward_codes[which[i]]}\t"
                        f"{borough_codes[which[i]]}"
                    )
                lines.append(
                    f"{sub_ids[site[i], month_index]}\t{site_ids[site[i]]}\t{source_row}\t"
                    f"{arrival}\tt\t{stamp}\t{'t' if known else 'f'}\t{day.isoformat()}\t"
                    f"{day.replace(day=1).isoformat()}\t{day.isoweekday()}\t"
                    f"{int(local_hour[i]) if known else chr(92) + 'N'}\t"
                    f"{METHODS[method[i]]}\t\t\t{LOCATIONS[location[i]]}\t\t"
                    f"{DESCRIPTIONS[described[i]]}\tdone\t{geo}\t[]\t[]\n"
                )
            copy.write("".join(lines))
            print(f"  loaded {offset + n:,} rows", file=sys.stderr, flush=True)
    timings["copy_s"] = time.perf_counter() - started

    # The kept parts of each row's CSV line (incidents/csv_lines.py), as the refresh after
    # publishing makes them; then the table rewritten without the rows' old versions.
    from incidents.csv_lines import refresh_export_lines

    started = time.perf_counter()
    refresh_export_lines(full=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL incidents_incident")
    timings["export_parts_s"] = time.perf_counter() - started

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name, definition in uniques:
            cursor.execute(f'ALTER TABLE incidents_incident ADD CONSTRAINT "{name}" {definition}')
        for name, definition in indexes:
            if name not in {u[0] for u in uniques}:
                cursor.execute(definition)
        # VACUUM sets the visibility map, so the count queries can be index-only scans
        # (autovacuum does the same in production).
        cursor.execute("VACUUM (ANALYZE) incidents_incident")
    timings["index_analyze_s"] = time.perf_counter() - started

    # The count rollups (incidents/rollup.py), as the triggers would have kept them.
    from incidents.rollup import rollups_fill

    started = time.perf_counter()
    with connection.cursor() as cursor:
        rollups_fill()
        cursor.execute("ALTER TABLE incidents_incident ENABLE TRIGGER USER")
        cursor.execute("VACUUM (ANALYZE) incidents_incidentcount")
        cursor.execute("VACUUM (ANALYZE) incidents_incidentmonthcount")
        cursor.execute("ANALYZE")
    timings["rollup_s"] = time.perf_counter() - started
    return timings


# --- measuring -------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm caches (plans, geography, Python imports)
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def export_to_duckdb(workdir: Path) -> Any:
    """Copy the incidents (denormalised with site code and publication) into DuckDB."""
    import duckdb
    from django.db import connection

    path = workdir / "incidents.csv"
    query = (
        "COPY (SELECT i.id, s.site_code, i.assault_at, i.assault_date, i.assault_month, "
        "i.assault_hour, i.assault_time_known, i.arrival_at, i.borough_code, i.ward_code, "
        "i.lsoa_code, i.lat, i.lon, i.easting, i.northing, i.geo_precision, i.geo_class, "
        "i.method_code, i.location_type_code, i.location_description, "
        "(sub.status = 'published') AS published "
        "FROM incidents_incident i JOIN hospitals_hospitalsite s ON s.id = i.site_id "
        "JOIN hospitals_submission sub ON sub.id = i.submission_id) TO STDOUT WITH CSV HEADER"
    )
    with (
        path.open("wb") as handle,
        connection.connection.cursor() as cur,
        cur.copy(query) as copy,
    ):
        for data in copy:
            handle.write(data)
    db = duckdb.connect(str(workdir / "bench.duckdb"))
    db.execute(f"CREATE TABLE incidents AS SELECT * FROM read_csv_auto('{path}')")  # noqa: S608
    path.unlink()
    return db


def duck_copy(duck: Any, folder: str, date_from: str) -> float:
    """Seconds for DuckDB to COPY the export's rows (the same filter and order) to CSV."""
    started = time.perf_counter()
    duck.execute(
        "COPY (SELECT * FROM incidents WHERE published "  # noqa: S608 (constants only)
        f"AND assault_date >= DATE '{date_from}' ORDER BY assault_at DESC, id DESC) "
        f"TO '{folder}/export.csv' (HEADER)"
    )
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ``ru_maxrss``: on Linux that is
    inherited from the parent across fork and exec, so a child started by the (large)
    benchmark process would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def date_for(rows: int) -> str:
    """The assault date from which at least ``rows`` published incidents remain: an export
    of a whole filter (as the view runs it) of about that many rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.assault_date FROM incidents_incident i JOIN hospitals_submission s "
            "ON s.id = i.submission_id WHERE s.status = 'published' "
            "ORDER BY i.assault_date DESC OFFSET %s LIMIT 1",
            [rows - 1],
        )
        row = cursor.fetchone()
    if row is None:
        sys.exit(f"fewer than {rows:,} published incidents: build a larger database")
    return str(row[0])


def export_worker(database: str, date_from: str | None, rows: int, fmt: str = "csv") -> None:
    """Runs in a fresh process: stream every incident from ``date_from`` (by default the
    date that leaves ``rows`` of them) in ``fmt`` through the export path, and print its
    figures as JSON (``benchmarks/exports.py`` runs it for each format).

    The path is the API view's: the filtered queryset (as the view passes it, newest
    first) masked and formatted by PostgreSQL (``incident_export``; for CSV
    ``COPY (<masked select>) TO STDOUT``), relayed in 64 KiB chunks with SHA-256.
    """
    _setup_django(database)
    from accounts.access import effective_access
    from accounts.models import User
    from incidents.csv_lines import incident_export
    from incidents.exports import INCIDENT_FIELDS
    from incidents.filters import IncidentFilterSet
    from incidents.masking import Masker
    from incidents.selectors import Purpose

    user = User.objects.get(email="record@bench.test")
    access = effective_access(user)
    masker = Masker.for_access(access)
    masker.geography.snap_cells()  # geography loaded before the baseline is taken
    date_from = date_from or date_for(rows)
    base_mb = peak_rss_mb()
    started = time.perf_counter()
    fs = IncidentFilterSet(
        {"assault_date_from": date_from}, user=user, access=access, purpose=Purpose.RECORDS
    )
    assert fs.is_valid()
    fields = [
        f for f in INCIDENT_FIELDS if f.name != "location_description" or masker.shows_free_text
    ]
    stream = incident_export(fs.qs, masker, fields, fmt)
    size = 0
    first_byte = None
    for chunk in stream:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": stream.row_count,
                "seconds": elapsed,
                "first_byte_seconds": first_byte,
                "bytes": size,
                "sha256": stream.sha256,
                "peak_mb": peak_rss_mb(),
                "base_mb": base_mb,
            }
        )
    )


def run_export_worker(database: str, date_from: str, fmt: str = "csv") -> dict[str, Any]:
    """:func:`export_worker`'s figures, from a fresh process (so its peak memory is the
    export's own)."""
    result = subprocess.run(
        [sys.executable, __file__, "--export-worker", "--db", database,
         "--export-from", date_from, "--export-format", fmt],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def measure(database: str, export_rows: int) -> int:
    from accounts.access import effective_access
    from accounts.geography import LONDON_BOROUGHS
    from accounts.models import User
    from incidents.aggregates import GridScope, GroupByError, aggregate_counts, needs_protection
    from incidents.filters import IncidentFilterSet
    from incidents.masking import RAW_FIELDS, Masker
    from incidents.selectors import Purpose

    record = User.objects.get(email="record@bench.test")
    aggregate = User.objects.get(email="aggregate@bench.test")
    boroughs = sorted(LONDON_BOROUGHS)
    months = [dt.date(2015 + m // 12, m % 12 + 1, 1) for m in range(YEARS * 12)]
    failures = 0

    def month_end(month: dt.date) -> dt.date:
        nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)

    state = {"i": 0}

    def page() -> None:
        i = state["i"] = state["i"] + 1
        borough, month = boroughs[i % len(boroughs)], months[(i * 7) % len(months)]
        access = effective_access(record)
        fs = IncidentFilterSet(
            {
                "borough": borough,
                "assault_date_from": month.isoformat(),
                "assault_date_to": month_end(month).isoformat(),
            },
            user=record,
            access=access,
            purpose=Purpose.RECORDS,
        )
        assert fs.is_valid(), fs.errors
        rows = list(fs.qs.order_by("-assault_at", "-id").values(*RAW_FIELDS)[:101])
        list(Masker.for_access(access).mask_many(rows[:100]))

    def monthly(user: User) -> Callable[[], None]:
        def run() -> None:
            i = state["i"] = state["i"] + 1
            access = effective_access(user)
            fs = IncidentFilterSet(
                {"borough": boroughs[i % len(boroughs)]}, user=user, access=access
            )
            assert fs.is_valid()
            aggregate_counts(
                fs.qs, ["month"], protect=needs_protection(access), scope=GridScope.of(fs)
            )

        return run

    def monthly_protected(protect: bool) -> Callable[[], None]:
        """The aggregate user's borough months, with or without the cell-key method."""

        def run() -> None:
            i = state["i"] = state["i"] + 1
            access = effective_access(aggregate)
            fs = IncidentFilterSet(
                {"borough": boroughs[i % len(boroughs)]}, user=aggregate, access=access
            )
            assert fs.is_valid()
            aggregate_counts(fs.qs, ["month"], protect=protect, scope=GridScope.of(fs))

        return run

    def pan_london(user: User) -> Callable[[], None]:
        def run() -> None:
            access = effective_access(user)
            fs = IncidentFilterSet({}, user=user, access=access)
            assert fs.is_valid()
            aggregate_counts(
                fs.qs,
                ["borough", "month"],
                protect=needs_protection(access),
                scope=GridScope.of(fs),
            )

        return run

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        duck = export_to_duckdb(Path(tmp))
        print(f"DuckDB copy of the table: {time.perf_counter() - started:.1f} s")
        duck_state = {"i": 0}

        def duck_page() -> None:
            i = duck_state["i"] = duck_state["i"] + 1
            borough, month = boroughs[i % len(boroughs)], months[(i * 7) % len(months)]
            duck.execute(
                "SELECT * FROM incidents WHERE published AND borough_code = ? AND assault_date "
                "BETWEEN ? AND ? ORDER BY assault_at DESC, id DESC LIMIT 101",
                [borough, month, month_end(month)],
            ).fetchall()

        def duck_monthly() -> None:
            i = duck_state["i"] = duck_state["i"] + 1
            duck.execute(
                "SELECT assault_month, count(*) FROM incidents "
                "WHERE published AND borough_code = ? GROUP BY 1 ORDER BY 1",
                [boroughs[i % len(boroughs)]],
            ).fetchall()

        def duck_pan_london() -> None:
            duck.execute(
                "SELECT borough_code, assault_month, count(*) FROM incidents WHERE published "
                "GROUP BY 1, 2 ORDER BY 1, 2"
            ).fetchall()

        export_from = date_for(export_rows)

        cases: list[tuple[str, Callable[[], None], Callable[[], None], int, float, str]] = [
            ("first page, borough x month (record)", page, duck_page, 40, PAGE_P95_BAR, "p95"),
            ("monthly counts, borough, 10 y (record)", monthly(record), duck_monthly, 20,
             MONTHLY_P95_BAR, "p95"),
            ("monthly counts, borough, 10 y (aggregate)", monthly(aggregate), duck_monthly, 20,
             MONTHLY_P95_BAR, "p95"),
            ("pan-London borough x month (record)", pan_london(record), duck_pan_london, 9,
             PAN_LONDON_DUCK_RATIO, "ratio"),
            ("pan-London borough x month (aggregate)", pan_london(aggregate), duck_pan_london, 9,
             PAN_LONDON_DUCK_RATIO, "ratio"),
        ]  # fmt: skip
        print(f"{'query':44} {'p50 ms':>8} {'p95 ms':>8} {'duck p50':>9} {'ratio':>7}  bar")
        for name, ours, theirs, repeat, bar, kind in cases:
            p50, p95 = percentiles(timed(ours, repeat))
            d50, _ = percentiles(timed(theirs, repeat))
            ratio = p50 / d50 if d50 else float("nan")
            if kind == "ratio":
                ok = ratio <= bar
                bar_text = f"p50 <= {bar:g}x DuckDB"
            else:
                ok = p95 < bar
                bar_text = f"p95 < {bar * 1000:.0f} ms"
            failures += not ok
            print(
                f"{name:44} {p50 * 1000:8.1f} {p95 * 1000:8.1f} {d50 * 1000:9.1f} "
                f"{ratio:7.1f}  {bar_text} {'OK' if ok else 'MISSED'}"
            )

        # The cell-key method's cost: the same user and question, with and without it.
        p50_off, p95_off = percentiles(timed(monthly_protected(False), 20))
        p50_on, p95_on = percentiles(timed(monthly_protected(True), 20))
        ok = p95_on <= PERTURBATION_RATIO_BAR * p95_off
        failures += not ok
        print(
            f"{'monthly counts, borough, 10 y, cell-key':44} {p50_on * 1000:8.1f} "
            f"{p95_on * 1000:8.1f} {p50_off * 1000:9.1f} {p95_on / p95_off:7.2f}  "
            f"p95 <= {PERTURBATION_RATIO_BAR}x without it ({p95_off * 1000:.1f} ms) "
            f"{'OK' if ok else 'MISSED'}"
        )
        # Fine groupings an aggregate-only user may ask for: answered or refused, fast.
        access = effective_access(aggregate)
        for grouping in FINE_GROUPINGS:
            fs = IncidentFilterSet({}, user=aggregate, access=access)
            assert fs.is_valid()
            started = time.perf_counter()
            try:
                aggregate_counts(fs.qs, grouping.split(","), protect=True, scope=GridScope.of(fs))
                outcome = "answered"
            except GroupByError:
                outcome = "refused"
            seconds = time.perf_counter() - started
            ok = seconds < FINE_GROUPING_BAR
            failures += not ok
            print(
                f"{'aggregate user, ' + grouping:44} {seconds * 1000:8.1f} {outcome:>8} "
                f"bar < {FINE_GROUPING_BAR * 1000:.0f} ms {'OK' if ok else 'MISSED'}"
            )

        figures = run_export_worker(database, export_from)
        duck_copy(duck, tmp, export_from)  # warm
        duck_seconds = statistics.median(duck_copy(duck, tmp, export_from) for _ in range(3))
        rate = figures["rows"] / figures["seconds"]
        duck_rate = figures["rows"] / duck_seconds
        ok = rate >= EXPORT_CSV_RATIO_BAR * duck_rate and figures["peak_mb"] < EXPORT_MEMORY_BAR_MB
        failures += not ok
        print(
            f"CSV export: {figures['rows']:,} rows in {figures['seconds']:.1f} s = "
            f"{rate:,.0f} rows/s, {figures['bytes'] / 2**20:.0f} MiB, peak RSS "
            f"{figures['peak_mb']:.0f} MB (before streaming {figures['base_mb']:.0f} MB); "
            f"bar >= {EXPORT_CSV_RATIO_BAR}x DuckDB COPY and < {EXPORT_MEMORY_BAR_MB} MB: "
            f"{'OK' if ok else 'MISSED'}; DuckDB COPY {duck_rate:,.0f} rows/s "
            f"(ratio {rate / duck_rate:.2f})"
        )
        duck.close()
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--db", default="istv_bench")
    parser.add_argument("--geo-dir", default=None, help="folder of london_lsoa21_lookup.csv")
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse an existing database (and keep it)"
    )
    parser.add_argument("--export-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--export-from", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--export-format", default="csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_worker:
        export_worker(args.db, args.export_from, args.export_rows, args.export_format)
        return 0
    reuse = args.reuse and database_exists(args.db)
    if not reuse:
        create_database(args.db)
    _setup_django(args.db)
    try:
        if not reuse:
            started = time.perf_counter()
            timings = build(args.rows, _geo_dir(args.geo_dir))
            print(
                f"Built {args.rows:,} incidents in {time.perf_counter() - started:.0f} s "
                + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
            )
        failures = measure(args.db, args.export_rows)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep and not reuse:  # a database this run built
            drop_database(args.db)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
