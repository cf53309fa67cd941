"""Streamed CSV export throughput and memory, against plain csv.writer in the same run.

Streams synthetic incident rows (generated lazily, never held in a list) through
``incidents.exports.CsvExport`` — formula neutralisation, UTF-8 encoding, running SHA-256,
64 KiB chunks — and through a baseline that writes the same rows with a bare
``csv.writer`` into an ``io.StringIO`` (drained at the same chunk size so the baseline's
own memory stays flat) with no neutralisation, encoding or hashing.

The record-level download no longer goes through this writer: PostgreSQL masks and writes
it (``SqlCsvExport``, measured on a real table by ``benchmarks/queries.py``). This measures
the Python writer, still used for aggregate CSVs and as the reference the SQL path must
match byte for byte.

The issue's throughput bar (at least 100,000 rows/s for 1,000,000 rows) belongs to the
record-level download and is checked by ``benchmarks/queries.py``. Here the bars are the
writer's own: constant memory (peak under 200 MB) and at least half the bare
``csv.writer``'s rate per CPU second (neutralisation, encoding and hashing may cost no
more than the writing itself). Exits 1 if one is missed.

    .venv/bin/python benchmarks/export_stream.py [--rows 1000000] [--dates-as-text]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.conf import settings

if not settings.configured:  # CsvExport writes aware datetimes in TIME_ZONE
    settings.configure(USE_TZ=True, TIME_ZONE="Europe/London")

from incidents.exports import INCIDENT_FIELDS, CsvExport

LONDON = ZoneInfo("Europe/London")

MIN_RATIO_TO_BASELINE = 0.5  # per CPU second
PEAK_MEMORY_BAR_MB = 200
CHUNK = 64 * 1024

DESCRIPTIONS = [
    "Outside the station on the high road",
    "Patient's home",
    "Pub on the corner of the market",
    '=HYPERLINK("http://x")',
    "-- near the bus stop",
    "@ the park gates",
    "Takeaway, late evening",
    "",
]
METHODS = ["body_part", "blunt_object", "knife_sharp", "glass_bottle", "other", "not_known"]
PLACES = ["dwelling", "street", "park", "licensed", "commercial", "transport", "not_known"]


def _pool(size: int, seed: int, *, dates_as_text: bool = False) -> list[tuple[Any, ...]]:
    """Pre-built field values, so that generating a row costs about as much as a database
    cursor handing one over, not as much as a random-number generator."""
    rng = random.Random(seed)
    start = date(2016, 1, 1)
    pool = []
    for i in range(size):
        day = start + timedelta(days=rng.randrange(3650))
        hour = rng.randrange(24)
        # The assault as the masker gives it: a local datetime, None when not known.
        at = (
            datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=LONDON)
            if rng.random() > 0.2
            else None
        )
        arrival = datetime(day.year, day.month, day.day, hour, 5, tzinfo=UTC)
        pool.append(
            (
                f"R{rng.randrange(100, 999)}{rng.randrange(10)}",
                day.isoformat() if dates_as_text else day,
                (at and at.isoformat()) if dates_as_text else at,
                arrival.isoformat() if dates_as_text else arrival,
                f"E0900{rng.randrange(1, 34):04d}",
                f"E0501{rng.randrange(10000):04d}",
                f"E0103{rng.randrange(10000):04d}",
                round(51.28 + rng.random() * 0.41, 6),
                round(-0.51 + rng.random() * 0.84, 6),
                METHODS[i % len(METHODS)],
                PLACES[i % len(PLACES)],
                DESCRIPTIONS[i % len(DESCRIPTIONS)],
                # Labels beside the codes (incidents.exports.labels).
                f"Hospital site {i % 30}",
                f"Borough {i % 33}",
                f"Ward number {i % 680}",
                METHODS[i % len(METHODS)].replace("_", " ").capitalize(),
                PLACES[i % len(PLACES)].capitalize(),
            )
        )
    return pool


def synthetic_rows(
    n: int, seed: int = 1, *, dates_as_text: bool = False
) -> Iterator[dict[str, Any]]:
    """``n`` plausible incident rows, one fresh dict at a time (never a list of rows).
    With ``dates_as_text`` the dates and times arrive already formatted, as they would
    if the database formatted them."""
    pool = _pool(
        4093, seed, dates_as_text=dates_as_text
    )  # a prime, so rows do not repeat in step with anything
    size = len(pool)
    for i in range(1, n + 1):
        (
            hospital, day, at, arrival, borough, ward, lsoa, lat, lon, method, place, text,
            hospital_name, borough_name, ward_name, method_label, place_label,
        ) = pool[i % size]  # fmt: skip
        yield {
            "id": i,
            "hospital": hospital,
            "hospital_label": hospital_name,
            "assault_date": day,
            "assault_time": at,
            "arrival_datetime": arrival,
            "borough": borough,
            "borough_label": borough_name,
            "ward": ward,
            "ward_label": ward_name,
            "lsoa": lsoa,
            "lat": lat,
            "lon": lon,
            "precision": "exact",
            "geo_class": "place",
            "method": method,
            "method_label": method_label,
            "location_type": place,
            "location_type_label": place_label,
            "location_description": text,
        }


def run_export(n: int, *, dates_as_text: bool) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, bytes and SHA-256 of one streamed export."""
    stream = CsvExport(synthetic_rows(n, dates_as_text=dates_as_text), INCIDENT_FIELDS)
    started, cpu = time.perf_counter(), time.process_time()
    size = 0
    for chunk in stream:
        size += len(chunk)  # stands in for the socket
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert stream.row_count == n and stream.size == size
    return elapsed, cpu, size, stream.sha256


def run_baseline(n: int, *, dates_as_text: bool) -> tuple[float, float]:
    """Wall and CPU seconds of the bare csv.writer over the same rows."""
    names = [f.name for f in INCIDENT_FIELDS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    started, cpu = time.perf_counter(), time.process_time()
    writer.writerow(names)
    for row in synthetic_rows(n, dates_as_text=dates_as_text):
        writer.writerow([row[name] for name in names])
        if buffer.tell() >= CHUNK:
            buffer.seek(0)
            buffer.truncate()
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--dates-as-text",
        action="store_true",
        help="rows carry dates and times already formatted (as from to_char in SQL)",
    )
    args = parser.parse_args()
    n, as_text = args.rows, args.dates_as_text

    baseline, baseline_cpu = run_baseline(n, dates_as_text=as_text)
    elapsed, cpu, size, digest = run_export(n, dates_as_text=as_text)

    tracemalloc.start()
    run_export(n, dates_as_text=as_text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    rate, base_rate = n / elapsed, n / baseline
    peak_mb = peak / 1024 / 1024
    load = os.getloadavg()[0]
    print(f"rows                       {n:,}" + (" (dates as text)" if as_text else ""))
    print(f"output                     {size / 1024 / 1024:,.1f} MiB, sha256 {digest[:16]}…")
    print(f"CsvExport                  {rate:,.0f} rows/s wall ({elapsed:.2f} s), "
          f"{n / cpu:,.0f} rows/s of CPU time")  # fmt: skip
    print(f"baseline csv.writer        {base_rate:,.0f} rows/s wall ({baseline:.2f} s), "
          f"{n / baseline_cpu:,.0f} rows/s of CPU time")  # fmt: skip
    print(f"ratio export / baseline    {rate / base_rate:.2f} wall, {baseline_cpu / cpu:.2f} CPU")
    print(f"peak traced memory         {peak_mb:.2f} MB (tracemalloc, export pass)")
    print(f"process max RSS            {maxrss_mb:.1f} MB (getrusage, whole run)")
    print(f"load average (1 min)       {load:.1f} on {os.cpu_count()} CPUs")
    cpu_ratio = baseline_cpu / cpu
    ok = cpu_ratio >= MIN_RATIO_TO_BASELINE and peak_mb < PEAK_MEMORY_BAR_MB
    ok = ok and maxrss_mb < PEAK_MEMORY_BAR_MB
    print(
        f"bars: ratio to baseline >= {MIN_RATIO_TO_BASELINE} (CPU), peak < "
        f"{PEAK_MEMORY_BAR_MB} MB: " + ("PASS" if ok else "FAIL")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
