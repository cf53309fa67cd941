"""Record-level exports of 1,000,000 rows (CSV, GeoJSON, XLSX) against DuckDB COPY, in one run.

Each format is streamed in a fresh process through the API view's own path
(``incidents.csv_lines.incident_csv_export`` / ``incident_export`` of the filtered
queryset, as ``IncidentExportView`` calls them: every incident assaulted on or after a
date, newest first, masked for a pan-London record-level user with snapped points and free
text), every chunk hashed as the view's stream does; the process's peak resident memory
(VmHWM) is read at the end. The date is the one that gives at least ``--export-rows``
rows (the assault date of the N-th newest published incident). DuckDB writes the same
rows (the same filter and order) to a CSV file with ``COPY`` in the same run (its table is
loaded from PostgreSQL first, as ``benchmarks/queries.py`` does), and each rate is printed
beside DuckDB's with the ratio. Bars:

* CSV      >= 0.5x DuckDB COPY rows/s, peak RSS < 150 MB
* GeoJSON  >= 100,000 rows/s, peak RSS < 150 MB
* XLSX     >= 50,000 rows/s, peak RSS < 150 MB

The database is ``benchmarks/queries.py``'s (built by it with ``--keep``, or here)::

    .venv/bin/python benchmarks/queries.py --rows 3500000 --db istv_bench --keep  # or:
    .venv/bin/python benchmarks/exports.py --build --rows 3500000 [--db istv_bench] [--keep]
    .venv/bin/python benchmarks/exports.py [--db istv_bench] [--export-rows 1000000]
        [--formats csv,geojson,xlsx] [--export-from 2022-02-23]

Exits 1 if a bar is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import queries  # noqa: E402 (after the path)

CSV_RATIO_BAR = queries.EXPORT_CSV_RATIO_BAR
GEOJSON_ROWS_BAR = 100_000
XLSX_ROWS_BAR = 50_000
MEMORY_BAR_MB = queries.EXPORT_MEMORY_BAR_MB


def measure(database: str, formats: list[str], date_from: str) -> int:
    from django.db import connection

    failures = 0
    connection.ensure_connection()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        duck = queries.export_to_duckdb(Path(folder))
        print(f"DuckDB copy of the table: {time.perf_counter() - started:.1f} s")
        queries.duck_copy(duck, folder, date_from)  # warm
        print(
            f"{'export (from ' + date_from + ')':26} {'rows/s':>10} {'s':>7} {'MiB':>6} "
            f"{'peak MB':>8} {'duck rows/s':>12} {'ratio':>6}  bar"
        )
        for fmt in formats:
            figures = queries.run_export_worker(database, date_from, fmt)
            # DuckDB right after (the median of three): the machine's load then is the one
            # the export saw.
            duck_seconds = statistics.median(
                queries.duck_copy(duck, folder, date_from) for _ in range(3)
            )
            rows = figures["rows"]
            rate = rows / figures["seconds"]
            duck_rate = rows / duck_seconds
            ratio = rate / duck_rate
            memory_ok = figures["peak_mb"] < MEMORY_BAR_MB
            if fmt == "csv":
                ok = ratio >= CSV_RATIO_BAR and memory_ok
                bar = f">= {CSV_RATIO_BAR}x DuckDB COPY"
            else:
                floor = GEOJSON_ROWS_BAR if fmt == "geojson" else XLSX_ROWS_BAR
                ok = rate >= floor and memory_ok
                bar = f">= {floor:,} rows/s"
            failures += not ok
            print(
                f"{fmt.upper() + ' export':26} {rate:10,.0f} {figures['seconds']:7.1f} "
                f"{figures['bytes'] / 2**20:6.0f} {figures['peak_mb']:8.0f} "
                f"{duck_rate:12,.0f} {ratio:6.2f}  {bar}, peak < {MEMORY_BAR_MB} MB "
                f"{'OK' if ok else 'MISS'}"
            )
            print(
                f"{fmt.upper()} export: {rows:,} rows in {figures['seconds']:.1f} s = "
                f"{rate:,.0f} rows/s, {figures['bytes'] / 2**20:.0f} MiB, peak RSS "
                f"{figures['peak_mb']:.0f} MB (before streaming {figures['base_mb']:.0f} MB), "
                f"first byte {figures['first_byte_seconds']:.1f} s; DuckDB COPY "
                f"{duck_rate:,.0f} rows/s (ratio {ratio:.2f})"
            )
        duck.close()
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="istv_bench")
    parser.add_argument(
        "--export-rows", type=int, default=1_000_000, help="rows to export (at least)"
    )
    parser.add_argument("--export-from", default=None, help="a date instead of --export-rows")
    parser.add_argument("--formats", default="csv,geojson,xlsx")
    parser.add_argument("--build", action="store_true", help="(re)build the database first")
    parser.add_argument("--rows", type=int, default=3_500_000, help="incidents to build")
    parser.add_argument("--keep", action="store_true", help="keep a database built here")
    parser.add_argument("--geo-dir", default=None, help="folder of london_lsoa21_lookup.csv")
    args = parser.parse_args()
    if args.build:
        queries.create_database(args.db)
    queries._setup_django(args.db)
    try:
        if args.build:
            started = time.perf_counter()
            queries.build(args.rows, queries._geo_dir(args.geo_dir))
            print(f"Built {args.rows:,} incidents in {time.perf_counter() - started:.0f} s")
        date_from = args.export_from or queries.date_for(args.export_rows)
        failures = measure(args.db, args.formats.split(","), date_from)
    finally:
        from django.db import connections

        connections.close_all()
        if args.build and not args.keep:
            queries.drop_database(args.db)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
