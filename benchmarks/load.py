"""50 concurrent analysts against gunicorn on loopback: mixed dashboard / explore / API.

Builds (or reuses, with ``--reuse``) a database of its own holding ``--incidents``
synthetic published incidents (bulk-created), ``--users`` analysts with MFA-verified
sessions and personal API tokens (topped up on a reused database), starts gunicorn
with the production settings of ``gunicorn.conf.py`` (``--workers`` and ``--threads``
override them for an experiment) on 127.0.0.1, then runs
``--users`` threads for ``--seconds`` seconds, each looping over a mix of the dashboard,
the explore table (random filters and sorts), the charts tab, the API
incident list and the API aggregates. ``/healthz`` is requested in the same mix as the
baseline. Each simulated analyst pauses ``--think`` seconds on average between requests
(``--think 0`` gives a closed-loop stress test). Prints p50 / p95 per kind and overall
beside the same run's ``/healthz`` p95 (the floor of this machine at that moment: compare
against it, not against another run's numbers), the bar and OK/MISS per line, and the
error rate; stops gunicorn and exits 1 if the bar is missed.

Bars: 50 analysts (think time 1 s) p95 under 100 ms with zero errors; 200 analysts with
zero errors over a bounded run (``--bar-ms 0`` checks errors only):

    DATABASE_URL=postgres://.../istv_x DJANGO_SECRET_KEY=dev \\
        .venv/bin/python benchmarks/load.py [--incidents 100000] [--users 50] [--seconds 30]
    ... benchmarks/load.py --users 200 --seconds 20 --think 1 --bar-ms 0 --reuse

The benchmark database is the DATABASE_URL's name with ``_load`` appended; it is
created if missing and dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
P95_BAR_MS = 100.0
BASELINE_KIND = "baseline /healthz"
BOROUGHS = [
    "E09000028", "E09000022", "E09000030", "E09000033", "E09000012", "E09000019",
    "E09000025", "E09000007", "E09000032", "E09000014",
]  # fmt: skip
METHODS = ["knife_sharp", "body_part", "blunt_object", "glass_bottle", "other", "not_known"]
LOCATIONS = ["street", "home", "licensed_premises", "public_transport", "other", "not_known"]


def _database_urls() -> tuple[str, str, str]:
    """(benchmark database URL, its name, maintenance URL) from DATABASE_URL."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL URL (the benchmark uses <name>_load).")
    parts = urllib.parse.urlsplit(base)
    name = parts.path.lstrip("/") + "_load"
    bench = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    return bench, name, maintenance


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def _create_database(name: str, maintenance: str, *, fresh: bool) -> bool:
    import psycopg

    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            return True
    return False


def _drop_database(name: str, maintenance: str) -> None:
    import psycopg

    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(n_incidents: int, n_users: int) -> list[tuple[str, str]]:
    """Seed the (migrated) database; return one (session cookie, API token) per analyst."""
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from accounts.models import AccessGrant, Membership, Organisation, User
    from accounts.services import api_token_create
    from hospitals.models import HospitalSite, Submission
    from incidents.models import Incident, Release
    from tests.factories import login_verified

    rng = random.Random(7)
    if not Incident.objects.exists():
        org = Organisation.objects.create(name="Load test police", kind=Organisation.Kind.MPS)
        AccessGrant.objects.create(
            organisation=org,
            level=AccessGrant.Level.RECORD,
            pan_london=True,
            download_allowed=True,
            free_text_visible=True,
            location_precision=AccessGrant.Precision.SNAPPED,
            valid_from=timezone.localdate() - dt.timedelta(days=10),
            valid_until=timezone.localdate() + dt.timedelta(days=300),
            agreement_reference="DSA-LOAD",
            reason="Load benchmark",
        )
        sites = [
            HospitalSite.objects.create(
                site_code=f"LD{i:03d}", name=f"Load hospital {i}", trust_code=f"L{i:02d}",
                trust_name=f"Load trust {i}", borough_code=BOROUGHS[i % len(BOROUGHS)],
            )
            for i in range(6)
        ]  # fmt: skip
        today = timezone.localdate().replace(day=1)
        months = [(today - dt.timedelta(days=31 * k)).replace(day=1) for k in range(1, 37)]
        submissions = {}
        for site in sites:
            for month in months:
                submissions[(site.pk, month)] = Submission.objects.create(
                    site=site, period=month, status=Submission.Status.PUBLISHED,
                    stored_name=f"load-{site.site_code}-{month:%Y%m}", original_name="load.csv",
                    sha256="0" * 64, size_bytes=1,
                )  # fmt: skip
        release = Release.objects.create(number=1, label=f"{months[0]:%Y-%m}")
        release.submissions.set(list(submissions.values()))
        batch: list[Incident] = []
        rows_per_sub: dict[int, int] = defaultdict(int)
        for _ in range(n_incidents):
            site = rng.choice(sites)
            month = rng.choice(months)
            sub = submissions[(site.pk, month)]
            rows_per_sub[sub.pk] += 1
            day = month + dt.timedelta(days=rng.randrange(28))
            at = timezone.make_aware(
                dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)))
            )
            borough = rng.choice(BOROUGHS)
            lat, lon = 51.45 + rng.random() * 0.12, -0.25 + rng.random() * 0.3
            batch.append(
                Incident(
                    submission=sub, site=site, source_row=rows_per_sub[sub.pk], assault_at=at,
                    assault_time_known=True, assault_date=day, assault_month=month,
                    assault_weekday=day.isoweekday(), assault_hour=at.hour,
                    method_code=rng.choice(METHODS), location_type_code=rng.choice(LOCATIONS),
                    location_description="Outside the shops", geocode_status="done",
                    geo_class="place", geo_precision="street", lat=lat, lon=lon,
                    lsoa_code=f"E0100{rng.randrange(1000, 1100)}", ward_code="",
                    borough_code=borough,
                )
            )  # fmt: skip
            if len(batch) >= 5000:
                Incident.objects.bulk_create(batch)
                batch = []
        Incident.objects.bulk_create(batch)
        from django.db import connection

        # As autovacuum would after a bulk load (a test server may run without it): the
        # visibility map lets the counts' covering indexes answer without the table.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    # Analysts are topped up on a reused database too, so a larger run gets its own.
    org = Organisation.objects.get(name="Load test police")
    for i in range(User.objects.filter(email__endswith="@load.test").count(), n_users):
        user = User.objects.create_user(email=f"analyst{i}@load.test", password=None)
        Membership.objects.create(user=user, organisation=org, role=Membership.Role.ANALYST)
    # /healthz reports "degraded" (503) without a recent worker heartbeat; no worker runs
    # here, so record one as a worker would (the cache is shared with gunicorn).
    from istv_portal.health import heartbeat_record

    heartbeat_record()
    credentials = []
    for user in User.objects.filter(email__endswith="@load.test").order_by("pk")[:n_users]:
        client = Client()
        login_verified(client, user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        token = api_token_create(actor=user, name="load", days=2).key
        credentials.append((cookie, token))
    return credentials


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start in time")


def _requests(rng: random.Random) -> tuple[str, str]:
    """One request of the mix: (kind, path)."""
    borough = rng.choice(BOROUGHS)
    roll = rng.random()
    if roll < 0.10:
        return BASELINE_KIND, "/healthz"
    if roll < 0.30:
        return "dashboard", "/data/dashboard/"
    if roll < 0.55:
        sort = rng.choice(["-date", "date", "borough", "-method"])
        return "explore", f"/data/explore/?borough={borough}&sort={sort}"
    if roll < 0.62:
        return "charts", f"/data/explore/charts/?borough={borough}"
    if roll < 0.85:
        return "api incidents", f"/api/v1/incidents/?borough={borough}&page_size=50"
    return "api aggregates", f"/api/v1/aggregates/?group_by=borough,month&borough={borough}"


def run_load(
    port: int,
    credentials: list[tuple[str, str]],
    seconds: float,
    session_cookie: str,
    think: float = 0.0,
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def analyst(index: int) -> None:
        rng = random.Random(index)
        cookie, token = credentials[index % len(credentials)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        if think:
            # Analysts arrive at random moments, not all in the same millisecond: a
            # ramp-up over one think time, as load tools' spawn rates do.
            time.sleep(rng.uniform(0, think))
        while time.monotonic() < stop_at:
            kind, path = _requests(rng)
            headers = {"Cookie": f"{session_cookie}={cookie}"}
            if kind.startswith("api"):
                headers = {"Authorization": f"Token {token}"}
            started = time.perf_counter()
            for attempt in (1, 2):
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    ok = status == 200
                    break
                except (OSError, http.client.HTTPException) as exc:
                    ok, status = False, 0
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    # A keep-alive connection the server closed while the analyst was
                    # reading is retried once on a new one, as a browser does.
                    idle_close = isinstance(
                        exc, http.client.RemoteDisconnected | ConnectionResetError
                    )
                    if not (idle_close and attempt == 1):
                        break
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings[kind].append(elapsed)
                if not ok:
                    errors[f"{kind} (HTTP {status or 'no response'})"] += 1
            if think:
                # An analyst reads the page before the next click: uniform around ``think``.
                time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        conn.close()

    threads = [threading.Thread(target=analyst, args=(i,)) for i in range(len(credentials))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings["_errors"] = [float(errors[k]) for k in sorted(errors)]
    timings["_error_kinds"] = []
    for kind in sorted(errors):
        print(f"  errors in {kind}: {errors[kind]}")
    return timings


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--workers", type=int, help="gunicorn worker processes (default: gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--threads", type=int, help="gunicorn threads per worker (default: gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--bar-ms",
        type=float,
        default=P95_BAR_MS,
        help="p95 bar in ms for each kind and overall (0: no latency bar, zero errors only)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=5.0,
        help="mean seconds an analyst pauses between requests (0: closed-loop stress)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep an existing seeded database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()

    # The production server's settings (gunicorn.conf.py), overridden only when asked.
    overrides = [
        *(["--workers", str(args.workers)] if args.workers else []),
        *(["--threads", str(args.threads)] if args.threads else []),
    ]
    production = runpy.run_path(str(GUNICORN_CONFIG))
    args.workers = args.workers or production["workers"]
    args.threads = args.threads or production["threads"]
    # gunicorn runs threaded workers whenever there is more than one thread.
    args.worker_class = "gthread" if args.threads > 1 else production["worker_class"]
    bench_url, name, maintenance = _database_urls()
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DJANGO_SETTINGS_MODULE": "istv_portal.settings.local",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "load-benchmark"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "false",
        # Static files collected afresh for this run (the manifest must list every file).
        "STATIC_ROOT": tempfile.mkdtemp(prefix="istv-load-static-"),
    }
    os.environ.update(env)
    created = _create_database(name, maintenance, fresh=not args.reuse)
    python = sys.executable
    started = time.perf_counter()
    if created:
        _run([python, "manage.py", "migrate", "--no-input"], env)
        _run([python, "manage.py", "createcachetable"], env)
    _run([python, "manage.py", "collectstatic", "--no-input"], env)
    credentials = seed(args.incidents, args.users)
    print(
        f"seeded/ready in {time.perf_counter() - started:.1f} s: "
        f"{args.incidents} incidents, {len(credentials)} analysts"
    )

    from django.conf import settings

    port = _free_port()
    # The server's log (structured JSON lines) goes to a file, so errors can be read
    # afterwards without flooding the report.
    log_path = Path(env["STATIC_ROOT"]).with_suffix(".log")
    log = log_path.open("w")
    command = [
        python, "-m", "gunicorn", "istv_portal.wsgi:application", "--config",
        str(GUNICORN_CONFIG), "--bind", f"127.0.0.1:{port}", *overrides,
    ]  # fmt: skip
    gunicorn = subprocess.Popen(
        command, env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_for(port, time.monotonic() + 60)
        # Warm each worker (imports, geography cache) before timing.
        run_load(port, credentials[:4], 3.0, settings.SESSION_COOKIE_NAME)
        timings = run_load(
            port, credentials, args.seconds, settings.SESSION_COOKIE_NAME, think=args.think
        )
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        try:
            gunicorn.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(gunicorn.pid, signal.SIGKILL)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database(name, maintenance)
        shutil.rmtree(env["STATIC_ROOT"], ignore_errors=True)
        log.close()
        print(f"server log: {log_path}")

    errors = int(sum(timings.pop("_errors")))
    timings.pop("_error_kinds")
    return report(timings, errors, args, len(credentials))


def _verdict(p95: float, bar_ms: float) -> tuple[str, str]:
    """(the bar, OK/MISS) of one line; without a latency bar only errors decide."""
    if not bar_ms:
        return "-", "-"
    return f"< {bar_ms:.0f}", "OK" if p95 < bar_ms else "MISS"


def report(
    timings: dict[str, list[float]], errors: int, args: argparse.Namespace, analysts: int
) -> int:
    """Print p50/p95 per kind and overall beside the same run's /healthz p95 (the server's
    floor on this machine at this moment), the bar and OK/MISS; 1 if the bar is missed."""
    everything = [v for values in timings.values() for v in values]
    data = [v for k, values in timings.items() if not k.startswith("baseline") for v in values]
    baseline = _pct(timings.get(BASELINE_KIND, []), 0.95)
    print(
        f"\n{analysts} analysts, {args.seconds:.0f} s, think time {args.think:.1f} s, "
        f"gunicorn {args.workers} workers ({args.worker_class} x{args.threads})"
    )
    print(
        f"{'kind':<22}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}"
        f"{'healthz p95':>13}{'bar ms':>9}{'':>6}"
    )
    for kind in sorted(timings):
        values = timings[kind]
        bar, verdict = _verdict(_pct(values, 0.95), args.bar_ms)
        if kind == BASELINE_KIND:
            bar, verdict = "-", "-"
        print(
            f"{kind:<22}{len(values):>10}{statistics.median(values):>10.1f}"
            f"{_pct(values, 0.95):>10.1f}{baseline:>13.1f}{bar:>9}{verdict:>6}"
        )
    p95 = _pct(data, 0.95)
    bar, verdict = _verdict(p95, args.bar_ms)
    print(
        f"{'all data requests':<22}{len(data):>10}{statistics.median(data):>10.1f}"
        f"{p95:>10.1f}{baseline:>13.1f}{bar:>9}{verdict:>6}"
    )
    rate = errors / len(everything) if everything else 1.0
    print(f"throughput {len(everything) / args.seconds:.0f} req/s; errors {errors} ({rate:.2%})")
    ok = (not args.bar_ms or p95 < args.bar_ms) and errors == 0
    wanted = f"p95 < {args.bar_ms:.0f} ms and zero errors" if args.bar_ms else "zero errors"
    print(f"bar: {wanted} -> {'OK' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
