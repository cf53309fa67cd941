"""A newcomer's first `make run`: the set-up steps on an empty database.

The steps are the launcher's own list (``scripts/devstack.py`` ``setup_steps``), each run
as ``make run`` runs it: a ``manage.py`` child process with the local settings, no
GAZETTEER_DIR (so the gazetteer shipped in ``data/gazetteer`` is loaded) and no Redis.
Every Python-level file open and directory listing in those processes is traced; none
may touch a folder beside the repository: the checkout must stand alone.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import dj_database_url
import psycopg
import pytest
from psycopg import sql

from incidents.geocoding.loaders import SHIPPED_DIR, folder_version

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent.parent
STEP_TIMEOUT_SECONDS = 600
# Installed in every child process (PYTHONPATH): records each path opened or listed that
# lies beside the repository, i.e. under its parent folder but outside the checkout, the
# Python installation and the temporary folder.
TRACER = """
import os, sys, tempfile

_root = os.environ["ISTV_TRACE_ROOT"]
_log = os.environ["ISTV_TRACE_LOG"]
_parent = os.path.dirname(_root)
_allowed = tuple(
    os.path.realpath(p) + os.sep
    for p in (_root, sys.prefix, sys.base_prefix, sys.exec_prefix, tempfile.gettempdir())
)
_seen = set()


def _hook(event, args):
    if event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str) or not path:
        return
    full = os.path.realpath(os.path.abspath(path))
    if full in _seen or (full + os.sep).startswith(_allowed):
        return
    _seen.add(full)
    if _parent != os.sep and full.startswith(_parent + os.sep):
        with open(_log, "a", encoding="utf-8") as fh:
            fh.write(full + "\\n")


sys.addaudithook(_hook)
"""


@pytest.fixture(scope="module")
def devstack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("devstack", ROOT / "scripts" / "devstack.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["devstack"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _server_params(url: str) -> dict[str, object]:
    config = dj_database_url.parse(url)
    return {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        **config.get("OPTIONS", {}),
    }


@pytest.fixture
def empty_database_url() -> str:
    """A database of its own on the test server, created empty and dropped afterwards."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured:
        pytest.skip("needs DATABASE_URL (make test sets it)")
    name = f"istv_first_start_{os.getpid()}"
    parts = urlsplit(configured)
    url = urlunsplit(parts._replace(path="/" + quote(name, safe="")))
    params = _server_params(configured)

    def drop() -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:  # type: ignore[arg-type]
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    drop()
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url
    drop()


def _months_back(today: date, n: int) -> date:
    month = today.replace(day=1)
    for _ in range(n):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def test_first_start_loads_the_shipped_gazetteer_then_geocoded_demo_data(
    devstack, empty_database_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "first-start-test-only-" + "x" * 40)
    env = devstack.child_env(empty_database_url, "istv_portal.settings.local")
    env.pop("GAZETTEER_DIR", None)
    env.pop("CELERY_BROKER_URL", None)
    tracer_dir = tmp_path / "tracer"
    tracer_dir.mkdir()
    (tracer_dir / "sitecustomize.py").write_text(TRACER, encoding="utf-8")
    trace_log = tmp_path / "outside-the-repository.log"
    env.update(
        REDIS_URL="",  # the database cache and the filesystem broker, as without Redis
        CELERY_BROKER_DIR=str(tmp_path / "broker"),
        PRIVATE_STORAGE_ROOT=str(tmp_path / "private"),
        QUARANTINE_STORAGE_ROOT=str(tmp_path / "quarantine"),
        LOG_LEVEL="WARNING",
        AUDIT_LOG_LEVEL="WARNING",
        ISTV_TRACE_ROOT=str(ROOT),
        ISTV_TRACE_LOG=str(trace_log),
        PYTHONPATH=os.pathsep.join(filter(None, [str(tracer_dir), env.get("PYTHONPATH")])),
    )
    steps = devstack.setup_steps(env)
    names = [step.args[0] for step in steps]
    # The gazetteer is loaded from its default folder, before the demo data.
    assert names.index("migrate") < names.index("load_gazetteer") < names.index("seed_demo")
    load_step = steps[names.index("load_gazetteer")]
    assert load_step.args == ("load_gazetteer",) and "data/gazetteer" in load_step.name

    outputs: dict[str, str] = {}
    timings: dict[str, float] = {}

    def run(args: tuple[str, ...], label: str = "") -> str:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_SECONDS,
            check=False,
        )
        timings[label or args[0]] = round(time.monotonic() - started, 1)
        assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-4000:]}"
        return result.stdout

    for step in steps:
        if step.args[0] == "collectstatic":
            continue  # writes static files only; nothing a first start's data depends on
        outputs[step.args[0]] = run(step.args)
    again = run(load_step.args, "load_gazetteer again")
    seed_step = steps[names.index("seed_demo")]
    seeded_again = run(seed_step.args, "seed_demo again")

    assert "Loaded gazetteer" in outputs["load_gazetteer"]
    assert "already loaded" in again and "skipped" in again
    assert "no incident awaiting geocoding" in outputs["seed_demo"]
    assert ": 700 published;" in outputs["seed_demo"]  # 28 EDs x 25 months
    assert ": 700 skipped;" in seeded_again  # idempotent: nothing loaded twice

    today = datetime.now(ZoneInfo("Europe/London")).date()
    first, last = _months_back(today, 25), _months_back(today, 1)
    name = urlsplit(empty_database_url).path.lstrip("/")
    with psycopg.connect(dbname=name, **_server_params(empty_database_url)) as conn:  # type: ignore[arg-type]

        def one(query: str) -> tuple:
            row = conn.execute(query).fetchone()
            assert row is not None
            return row

        # The shipped folder's version, loaded once: the second run skipped it.
        shipped = folder_version(SHIPPED_DIR)
        assert one("SELECT label, digest FROM geocoding_gazetteerversion") == (
            shipped.label,
            shipped.digest,
        )
        assert one("SELECT count(*) FROM geocoding_gazetteerversion") == (1,)
        loads = one("SELECT count(*) FROM audit_auditevent WHERE action = 'gazetteer.loaded'")
        assert loads == (1,)
        assert one("SELECT count(*) FROM geocoding_postcode")[0] > 100_000
        # Every demo incident geocoded or classed: none awaiting the geocoder.
        pending = one("SELECT count(*) FROM incidents_incident WHERE geocode_status = 'pending'")
        assert pending == (0,)
        placed, total = one("SELECT count(lat), count(*) FROM incidents_incident")
        assert total > 25 * 1000 and placed > total * 0.25
        assert one("SELECT count(*) FROM hospitals_submission") == (700,)
        # 25 complete months up to last month, every one of them with incidents.
        months = [
            row[0]
            for row in conn.execute(
                "SELECT s.period FROM hospitals_submission s "
                "JOIN incidents_incident i ON i.submission_id = s.id "
                "WHERE s.status = 'published' GROUP BY s.period ORDER BY s.period"
            )
        ]
        assert len(months) == 25 and months[0] == first and months[-1] == last
        assert one("SELECT count(*) FROM hospitals_submission WHERE status <> 'published'") == (0,)
        # Loading fed the geocode review queue, as real uploads do: the data manager has
        # the uncertain descriptions to decide, most incidents first, counted per incident
        # (never more than were loaded).
        queued, settled = one(
            "SELECT count(*), coalesce(sum(occurrences), 0) FROM geocoding_reviewitem "
            "WHERE status = 'open'"
        )
        assert queued > 0 and 0 < settled <= total
        assert f"{queued} descriptions in the geocode review queue" in outputs["seed_demo"]
    # Nothing beside the repository was opened or listed.
    outside = trace_log.read_text(encoding="utf-8").splitlines() if trace_log.exists() else []
    assert outside == [], outside[:20]
    print(f"first start step timings (s): {timings}")  # noqa: T201 - shown with -s
