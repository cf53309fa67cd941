"""Benchmark: the impact dashboard's usage query on a realistic year of audit events.

Generates a year of audit events for London's member organisations (logins, data views,
downloads, API calls, with the weekday / working-hours rhythm of real use) in a scratch
database created for the run and dropped afterwards (``--keep`` keeps it), loads them
with ``COPY`` (the audit table accepts only inserts), then times, in the same run:

1. ``programme.impact.usage_naive``: the figures by walking every event in Python;
2. ``programme.impact.usage_live``: the same figures from GROUP BY queries in PostgreSQL;
3. ``programme.impact.usage_by_organisation`` as the dashboard runs it once the nightly
   job (``usage_rollup_refresh``) has stored the closed months: the current month live,
   the rest from the rollup;

checks that all three give the same figures and prints the ratios to the naive baseline.

    .venv/bin/python benchmarks/impact.py [--events 300000] [--database istv_bench_impact]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REPEATS = 5


def _admin_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(urlsplit(base)._replace(path="/postgres"))


def _create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _configure(database: str) -> None:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(base)._replace(path="/" + database))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "istv_portal.settings.local")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-not-secret")
    os.environ.setdefault("CELERY_SKIP_CHECKS", "1")
    import django

    django.setup()


def _people(rng: random.Random) -> list[tuple[int, int, str, float]]:
    """Organisations and members: (user id, organisation id, e-mail, activity weight)."""
    from accounts.geography import LONDON_BOROUGHS
    from accounts.models import Membership, Organisation, User

    orgs = [Organisation(name="Metropolitan Police Service", kind="mps")]
    orgs += [Organisation(name="Violence Reduction Unit", kind="vru")]
    orgs += [Organisation(name="MOPAC", kind="mopac"), Organisation(name="GLA", kind="gla")]
    orgs += [
        Organisation(name=f"{name} CSP", kind="csp", gss_code=code)
        for code, name in LONDON_BOROUGHS.items()
    ]
    orgs += [
        Organisation(name=f"Hospital trust {i}", kind="hospital", ods_code=f"R{i:02d}")
        for i in range(18)
    ]
    orgs = Organisation.objects.bulk_create(orgs)
    sizes = {"mps": 120, "vru": 25, "mopac": 20, "gla": 15, "csp": 6, "hospital": 2}
    users, memberships, people = [], [], []
    serial = 0
    for org in orgs:
        for _ in range(sizes[org.kind]):
            serial += 1
            users.append(User(email=f"user{serial}@bench.example", status="active"))
    users = User.objects.bulk_create(users)
    iterator = iter(users)
    for org in orgs:
        for _ in range(sizes[org.kind]):
            user = next(iterator)
            role = "liaison" if org.kind == "hospital" else "analyst"
            memberships.append(Membership(user=user, organisation=org, role=role))
            # A few heavy users, many occasional ones.
            people.append((user.pk, org.pk, user.email, rng.paretovariate(1.5)))
    Membership.objects.bulk_create(memberships)
    return people


def _events(n: int, people: list[tuple[int, int, str, float]], rng: random.Random):
    """``n`` audit rows over the last 365 days, weighted towards weekday office hours."""
    now = datetime.now(tz=UTC)
    weights = [p[3] for p in people]
    actions = ["auth.login", "data.viewed", "data.downloaded", "api.called"]
    action_weights = [0.15, 0.55, 0.05, 0.25]
    chosen = rng.choices(people, weights=weights, k=n)
    kinds = rng.choices(actions, weights=action_weights, k=n)
    prev = "0" * 64
    for i, ((user_id, org_id, email, _), action) in enumerate(zip(chosen, kinds, strict=True)):
        day = now - timedelta(days=rng.randrange(365))
        while day.weekday() >= 5 and rng.random() < 0.8:
            day -= timedelta(days=1)
        at = day.replace(hour=rng.choice([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 21]),
                         minute=rng.randrange(60), second=rng.randrange(60))  # fmt: skip
        digest = hashlib.sha256(f"{prev}{i}".encode()).hexdigest()
        details = {"filter": {"borough": ["E09000028"]}, "rows": rng.randrange(1, 500)}
        yield (
            at,
            user_id,
            email,
            None if action == "auth.login" else org_id,
            action,
            json.dumps(details),
            prev,
            digest,
        )
        prev = digest


def _load(n: int, people, rng: random.Random) -> float:
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY audit_auditevent (occurred_at, actor_id, actor_email, organisation_id, "
            "action, details, prev_hash, hash, object_type, object_id, request_id, user_agent) "
            "FROM STDIN"
        ) as copy:
            for row in _events(n, people, rng):
                copy.write_row((*row, "", "", "", ""))
        cursor.execute("ANALYZE audit_auditevent")
    return time.perf_counter() - t0


def _time(fn, repeats: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--database", default="istv_bench_impact")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    _create_database(args.database)
    try:
        _configure(args.database)
        from django.core.management import call_command

        from programme import impact

        call_command("migrate", verbosity=0, skip_checks=True)
        rng = random.Random(args.seed)
        people = _people(rng)
        load_s = _load(args.events, people, rng)
        print(f"{args.events:,} audit events for {len(people)} people loaded in {load_s:.1f} s")

        from programme import services

        window = impact.month_window(12)
        naive_s, naive = _time(lambda: impact.usage_naive(window), 1)
        live_s, live = _time(lambda: impact.usage_live(window), REPEATS)
        t0 = time.perf_counter()
        services.usage_rollup_refresh()
        rollup_s = time.perf_counter() - t0
        dash_s, dash = _time(lambda: impact.usage_by_organisation(window), REPEATS)
        report_s, _ = _time(lambda: impact.impact_report(months=12), REPEATS)
        assert isinstance(naive, dict) and isinstance(live, dict) and isinstance(dash, dict)
        for key, cells in naive.items():
            for metric in ("active_users", "data_views", "downloads", "api_calls"):
                assert live[key][metric] == cells[metric] == dash[key][metric], (key, metric)
        print(f"naive Python aggregation:                    {naive_s * 1000:8.0f} ms")
        print(f"GROUP BY in PostgreSQL (median of {REPEATS}):       {live_s * 1000:8.0f} ms")
        print(f"nightly rollup of the closed months (once):  {rollup_s * 1000:8.0f} ms")
        print(f"dashboard usage with rollup (median of {REPEATS}):  {dash_s * 1000:8.0f} ms")
        print(f"whole impact page data (median of {REPEATS}):       {report_s * 1000:8.0f} ms")
        print(f"ratio naive / GROUP BY:  {naive_s / live_s:.1f}x")
        print(f"ratio naive / dashboard: {naive_s / dash_s:.1f}x (figures identical)")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database(args.database)


if __name__ == "__main__":
    main()
