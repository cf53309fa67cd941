"""Benchmark: parse + guard + validate + harmonise over a year of London submissions.

Generates 28 hospitals x 12 months of synthetic files (every layout) into a temporary
directory, then times ``process_file`` over all of them and, as a baseline in the same
run, plain ``csv.reader`` over the same CSV/TSV files (decode + split only), the
reference printed beside it. Prints rows/s, the ratio, and peak memory. Bar: >= 50,000
rows/s for the pipeline (OK / MISS).

    .venv/bin/python benchmarks/pipeline_parse.py [--scale 1.5] [--seed 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ColumnMapping, Options, process_file  # noqa: E402
from ingest.pipeline.intake import decode_text  # noqa: E402
from ingest.pipeline.parsers import detect_delimiter  # noqa: E402
from ingest.synthetic import GeneratedFile, GeneratorOptions, generate  # noqa: E402
from istv_portal.periods import Period  # noqa: E402

BAR_ROWS_PER_S = 50_000


def run_pipeline(files: list[GeneratedFile]) -> tuple[int, float, Counter[str]]:
    """As in production: a hospital's first file gets a proposed mapping (accepted), later
    months reuse that confirmed mapping, as a stored mapping profile would."""
    rows = 0
    statuses: Counter[str] = Counter()
    profiles: dict[str, ColumnMapping | None] = {}
    start = time.perf_counter()
    for f in files:
        result = process_file(
            f.path,
            filename=f.path.name,
            site_code=f.site_code,
            period=f.period,
            mapping=profiles.get(f.site_code),
            options=Options(accept_proposed_mapping=True),
        )
        profiles.setdefault(f.site_code, result.report.mapping)
        rows += result.report.rows_read
        statuses[result.status] += 1
    return rows, time.perf_counter() - start, statuses


def run_baseline(files: list[GeneratedFile]) -> tuple[int, float]:
    rows = 0
    start = time.perf_counter()
    for f in files:
        text, _ = decode_text(f.path.read_bytes())
        delimiter = detect_delimiter(text)
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows += 1
    return rows, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.5, help="1.5 = ~40,000 rows a year")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timed runs")
    parser.add_argument("--geo-dir", default=str(ROOT / "data" / "gazetteer"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        files = generate(
            Path(tmp),
            GeneratorOptions(
                months=12,
                start=Period(2025, 1),
                scale=args.scale,
                seed=args.seed,
                fault_rate=0.01,
                geo_dir=Path(args.geo_dir),
            ),
        )
        gen_s = time.perf_counter() - t0
        layouts = Counter(f.layout for f in files)
        print(f"generated {len(files)} files, {sum(f.rows for f in files)} rows in {gen_s:.1f} s")
        print("layouts:", dict(layouts))

        text_files = [f for f in files if f.path.suffix in {".csv", ".tsv"}]
        best_all = best_text = best_base = float("inf")
        rows_all = rows_text = rows_base = 0
        statuses: Counter[str] = Counter()
        for _ in range(args.repeat):
            rows_all, dt, statuses = run_pipeline(files)
            best_all = min(best_all, dt)
            rows_text, dt = run_pipeline(text_files)[:2]
            best_text = min(best_text, dt)
            rows_base, dt = run_baseline(text_files)
            best_base = min(best_base, dt)

        # Peak traced memory of one full pass (tracemalloc slows it, so timed separately).
        tracemalloc.start()
        run_pipeline(files)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        by_layout: dict[str, tuple[int, float]] = {}
        for layout in layouts:
            n, dt, _ = run_pipeline([f for f in files if f.layout == layout])
            by_layout[layout] = (n, dt)

    all_rate = rows_all / best_all
    text_rate = rows_text / best_text
    base_rate = rows_base / best_base
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"statuses: {dict(statuses)}")
    print(
        f"pipeline, all formats : {rows_all} rows in {best_all:.2f} s = {all_rate:,.0f} rows/s "
        f"(reference csv.reader {base_rate:,.0f} rows/s; "
        f"bar >= {BAR_ROWS_PER_S:,}: {'OK' if all_rate >= BAR_ROWS_PER_S else 'MISS'})"
    )
    print(
        f"pipeline, CSV/TSV only: {rows_text} rows in {best_text:.2f} s = {text_rate:,.0f} rows/s"
    )
    print(
        f"baseline csv.reader   : {rows_base} rows in {best_base:.3f} s = {base_rate:,.0f} rows/s"
    )
    print(
        f"ratio pipeline/baseline (CSV/TSV): {text_rate / base_rate:.3f} "
        f"(baseline is {base_rate / text_rate:.1f}x faster; it only splits fields)"
    )
    print("by layout (one run each, so noisier than the best-of figures above):")
    for layout, (n, dt) in sorted(by_layout.items()):
        print(f"  {layout:24s} {n:6d} rows {n / dt:10,.0f} rows/s")
    print(
        f"peak traced memory (one pass): {peak / 1024 / 1024:.1f} MB; "
        f"process max RSS: {maxrss_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
