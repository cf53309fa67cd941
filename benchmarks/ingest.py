"""Benchmark: submission ingest, from files to published incidents.

Prints, in one run:

1. rows/s of parse + guard + validate + harmonise (``process_file``, no database);
2. rows/s of the bulk load (``COPY``) against row-by-row ORM ``save()`` over the same
   rows, each in a rolled-back transaction (bar: COPY >= 10x);
3. end-to-end time for one year of London (28 sites x 12 months, ~40,000 rows) from
   files to published, with ONE real Celery worker (bar: < 15 s), beside the pipeline
   alone over the same files in the same run (its reference): every file is received
   through ``submission_receive`` (queued on commit), the worker checks, harmonises,
   geocodes and loads it, and this process publishes each as a data manager would;
4. peak memory of this process and of the worker's pool process.

It uses a database of its own (``--database``, created and migrated when missing, the
gazetteer loaded from ``--geo-dir`` when present) and a Redis database of its own. The
decided-phrase cache starts empty (a first year: every phrase is worked out once);
``--phrase-cache warm`` keeps what an earlier run decided (months whose phrases were
already decided).

    .venv/bin/python benchmarks/ingest.py [--database istv_bench_ingest] [--redis-db 6]
        [--phrase-cache cold|warm]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BAR_COPY_RATIO = 10.0
BAR_END_TO_END_S = 15.0
BAR_PIPELINE_ROWS_PER_S = 50_000


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISS"


def _configure(args: argparse.Namespace, storage: Path) -> dict[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    env = {
        "DATABASE_URL": urlunsplit(parts._replace(path="/" + args.database)),
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "DJANGO_SETTINGS_MODULE": "istv_portal.settings.local",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "benchmark-only-not-secret"),
        "PRIVATE_STORAGE_ROOT": str(storage / "private"),
        "QUARANTINE_STORAGE_ROOT": str(storage / "quarantine"),
        "CELERY_SKIP_CHECKS": "1",
    }
    os.environ.update(env)
    return env


def _ensure_database(name: str) -> None:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_database(geo_dir: Path) -> None:
    from django.core.management import call_command

    from hospitals.models import HospitalSite
    from incidents.geocoding.models import Place

    call_command("migrate", verbosity=0, skip_checks=True)
    quiet = io.StringIO()
    if not HospitalSite.objects.exists():
        call_command("seed_demo", no_submissions=True, geo_dir=geo_dir, stdout=quiet)
    if geo_dir.is_dir() and not Place.objects.exists():
        t0 = time.perf_counter()
        call_command("load_gazetteer", dir=str(geo_dir), stdout=quiet)
        print(f"gazetteer loaded in {time.perf_counter() - t0:.1f} s (setup, not timed)")


def _reset_submissions(*, keep_phrases: bool) -> None:
    from django.db import connection

    from hospitals.models import MappingProfile, Submission
    from incidents.geocoding.phrase_cache import clear_shared_answers
    from incidents.models import Incident, Release, SetAsideRow

    tables = [
        m._meta.db_table for m in (Incident, SetAsideRow, MappingProfile, Submission, Release)
    ]
    tables.append(Release.submissions.through._meta.db_table)
    with connection.cursor() as cursor:
        # Triggers off for the reset: CASCADE empties every table that refers to these
        # (rollups included), and a trigger that truncates a table already being
        # truncated by the same statement would fail.
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
    if not keep_phrases:
        clear_shared_answers()


def bench_pipeline(files: list) -> tuple[int, float]:  # type: ignore[type-arg]
    from ingest.pipeline import ColumnMapping, Options, process_file

    profiles: dict[str, ColumnMapping | None] = {}
    rows = 0
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
    return rows, time.perf_counter() - start


def bench_load(files: list, limit: int) -> tuple[int, float, float]:  # type: ignore[type-arg]
    """COPY vs ORM save() for the same incident rows, each rolled back."""
    from django.db import transaction
    from django.utils import timezone

    from hospitals.models import HospitalSite, Submission
    from incidents.models import Incident
    from ingest import enrichment, loader
    from ingest.pipeline import Options, process_file

    site = HospitalSite.objects.get(site_code=files[0].site_code)
    rows = []
    for f in files:
        if f.site_code != site.site_code:
            continue
        result = process_file(
            f.path,
            filename=f.path.name,
            site_code=f.site_code,
            period=f.period,
            options=Options(accept_proposed_mapping=True),
        )
        rows.extend(result.rows)
        if len(rows) >= limit:
            break
    rows = rows[:limit]
    for number, row in enumerate(rows, start=1):  # one submission: unique source rows
        row.source_row = number
    pending = [enrichment.PENDING] * len(rows)

    class Rollback(Exception):
        pass

    def with_submission(fn) -> float:  # type: ignore[no-untyped-def]
        try:
            with transaction.atomic():
                sub = Submission.objects.create(
                    site=site,
                    period=rows[0].assault_month,
                    version=999,
                    stored_name="0" * 32,
                    original_name="bench.csv",
                    sha256="0" * 64,
                    size_bytes=0,
                    created_at=timezone.now(),
                )
                data = list(enrichment.incident_rows(sub, rows, pending))
                t0 = time.perf_counter()
                fn(data)
                elapsed = time.perf_counter() - t0
                raise Rollback
        except Rollback:
            return elapsed

    copy_s = with_submission(lambda data: loader.incidents_copy(data))

    def orm(data: list) -> None:  # type: ignore[type-arg]
        for values in data:
            Incident(**values).save()

    orm_s = with_submission(orm)
    return len(rows), copy_s, orm_s


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "celery", "-A", "istv_portal", "worker", "--pool", "prefork",
        "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "--hostname", f"bench-{os.getpid()}@localhost",
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _pool_peak_kb(parent: int) -> int:
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) != parent:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak


def bench_end_to_end(
    files: list,  # type: ignore[type-arg]
    env: dict[str, str],
    log: Path,
    *,
    keep_phrases: bool,
) -> tuple[int, float, int]:
    from django.core.files import File
    from django.db.models import Count

    from hospitals.models import HospitalSite, Submission
    from incidents.models import Incident
    from ingest import services
    from ingest.services.common import RUNNING
    from istv_portal.celery import app

    _reset_submissions(keep_phrases=keep_phrases)
    app.control.purge()
    worker = _start_worker(env, log)
    try:
        deadline = time.monotonic() + 120
        while not app.control.ping(timeout=0.5):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("worker did not start:\n" + log.read_text()[-3000:])
        sites = {s.site_code: s for s in HospitalSite.objects.all()}
        start = time.perf_counter()
        for f in files:
            with f.path.open("rb") as handle:
                services.submission_receive(
                    actor=None,
                    site=sites[f.site_code],
                    period=f.period,
                    upload=File(handle, name=f.path.name),
                    set_aside_invalid=True,
                    dry_run=False,
                    accept_suggested_mapping=True,
                    system=True,
                )
        published = 0
        open_statuses = RUNNING
        while True:
            ready = list(Submission.objects.filter(status=Submission.Status.READY_FOR_REVIEW))
            for sub in ready:
                services.submission_publish(
                    actor=None, submission=sub, system=True, cut_release=False
                )
                published += 1
            if not ready and not Submission.objects.filter(status__in=open_statuses).exists():
                break
            if worker.poll() is not None:
                raise SystemExit("worker died:\n" + log.read_text()[-3000:])
            time.sleep(0.05)
        services.release_create(actor=None, label="benchmark")
        elapsed = time.perf_counter() - start
        worker_peak = _pool_peak_kb(worker.pid)
        statuses = dict(Submission.objects.values_list("status").annotate(n=Count("id")))
        print(f"end-to-end statuses: {statuses}")
        rows = Incident.objects.filter(submission__status=Submission.Status.PUBLISHED).count()
        return rows, elapsed, worker_peak
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="istv_bench_ingest")
    parser.add_argument("--redis-db", type=int, default=6)
    parser.add_argument("--scale", type=float, default=1.5, help="1.5 = ~40,000 rows a year")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--load-rows", type=int, default=5000, help="rows for COPY vs save()")
    parser.add_argument("--geo-dir", default=str(ROOT / "data" / "gazetteer"))
    parser.add_argument("--phrase-cache", choices=("cold", "warm"), default="cold")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="istv-bench-") as tmp:
        tmp_path = Path(tmp)
        env = _configure(args, tmp_path / "storage")
        _ensure_database(args.database)
        import django

        django.setup()
        geo_dir = Path(args.geo_dir)
        _setup_database(geo_dir)

        from ingest.synthetic import GeneratorOptions, generate
        from istv_portal.periods import Period

        t0 = time.perf_counter()
        files = generate(
            tmp_path / "files",
            GeneratorOptions(
                months=12,
                start=Period(2025, 1),
                scale=args.scale,
                seed=args.seed,
                fault_rate=0.01,
                geo_dir=geo_dir if geo_dir.is_dir() else None,
            ),
        )
        total = sum(f.rows for f in files)
        print(f"generated {len(files)} files, {total} rows in {time.perf_counter() - t0:.1f} s")

        # The first pass pays one-off set-up (imports, compiled schemas and patterns), as a
        # worker does once in its life; the second is the rate a running worker sees.
        _, cold_secs = bench_pipeline(files)
        rows, secs = bench_pipeline(files)
        rate = rows / secs
        print(
            f"parse+guard+validate+harmonise: {rows} rows in {secs:.2f} s = {rate:,.0f} rows/s "
            f"(second pass; the first, with one-off set-up, {rows / cold_secs:,.0f} rows/s; "
            f"bar >= {BAR_PIPELINE_ROWS_PER_S:,}: {_verdict(rate >= BAR_PIPELINE_ROWS_PER_S)})"
        )

        n, copy_s, orm_s = bench_load(files, args.load_rows)
        ratio = (n / copy_s) / (n / orm_s)
        verdict = _verdict(ratio >= BAR_COPY_RATIO)
        print(f"load COPY      : {n} rows in {copy_s:.3f} s = {n / copy_s:,.0f} rows/s")
        print(f"load ORM save(): {n} rows in {orm_s:.3f} s = {n / orm_s:,.0f} rows/s")
        print(f"COPY / save() = {ratio:.1f}x (bar >= {BAR_COPY_RATIO:g}x: {verdict})")

        loaded, e2e, worker_kb = bench_end_to_end(
            files, env, tmp_path / "worker.log", keep_phrases=args.phrase_cache == "warm"
        )
        verdict = _verdict(e2e < BAR_END_TO_END_S)
        print(
            f"end-to-end, one worker: {len(files)} files, {loaded} published incidents in "
            f"{e2e:.1f} s = {loaded / e2e:,.0f} rows/s (reference: pipeline alone {secs:.1f} s "
            f"in this run; phrase cache {args.phrase_cache}; bar < {BAR_END_TO_END_S:g} s: "
            f"{verdict})"
        )
        main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_mb = worker_kb / 1024
        print(f"peak memory: this process {main_mb:.0f} MB, worker pool process {worker_mb:.0f} MB")


if __name__ == "__main__":
    main()
