"""A real Celery worker process for tests whose behaviour depends on one.

Usage::

    @pytest.mark.worker
    @pytest.mark.django_db(transaction=True)
    def test_something(celery_worker_proc):
        ...  # tasks sent now (or on commit) are executed by a real worker
        os.kill(celery_worker_proc.pid, signal.SIGKILL)  # fault tests may kill it

The worker is ``celery -A istv_portal worker --pool prefork --concurrency 1`` in a
process group of its own. It uses the same Redis as the test process (REDIS_URL; the
broker and the cache must be shared so the test can see what the worker did) and the
pytest *test* database, so it only sees data a ``transaction=True`` test has committed.
Without REDIS_URL the tests using it are skipped, except under CI where that is an error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from istv_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass
class WorkerHandle:
    """A running worker: ``pid`` is the main process (its pool child is in its group)."""

    process: subprocess.Popen[bytes]
    hostname: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash would."""
        if self.is_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def ping(self, timeout: float = 1.0) -> bool:
        replies = celery_app.control.ping(destination=[self.hostname], timeout=timeout)
        return any(self.hostname in reply for reply in replies)

    def executed(self) -> dict[str, int]:
        """Tasks this worker has accepted so far, by name (``celery inspect stats``)."""
        stats = celery_app.control.inspect(destination=[self.hostname], timeout=2.0).stats()
        return dict((stats or {}).get(self.hostname, {}).get("total", {}))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _test_database_url() -> str:
    """DATABASE_URL with the database name replaced by pytest's test database."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = str(connection.settings_dict["NAME"])
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


def _require_redis() -> str:
    url = str(getattr(settings, "REDIS_URL", ""))
    if url.startswith(("redis://", "rediss://")) and url == settings.CELERY_BROKER_URL:
        return url
    message = "worker tests need REDIS_URL (shared broker and cache with the worker)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def celery_worker_proc(
    request: pytest.FixtureRequest, tmp_path: Path, transactional_db: None
) -> Iterator[WorkerHandle]:
    """Start a real worker against the test database and Redis; stop it afterwards."""
    redis_url = _require_redis()
    # Messages left by earlier tests (sent on commit with no worker running) refer to
    # rows that no longer exist; start from an empty queue.
    celery_app.control.purge()
    hostname = f"test-{uuid.uuid4().hex[:12]}@localhost"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_test_database_url(),
        DJANGO_SETTINGS_MODULE="istv_portal.settings.test",
        REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "celery-worker.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "istv_portal",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "--hostname",
        hostname,
        "--loglevel",
        "INFO",
        # Gossip and mingle only slow start-up; the heartbeat is not needed by tests.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    handle = WorkerHandle(process=process, hostname=hostname, log_path=log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not handle.ping():
            if not handle.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start:\n{handle.log()[-4000:]}")
        yield handle
    finally:
        _stop(handle)


def _stop(handle: WorkerHandle) -> None:
    if not handle.is_alive():
        return
    handle.process.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task
    try:
        handle.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        handle.kill()
    else:
        # The pool child may outlive a main process that exited on its own.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(handle.process.pid, signal.SIGKILL)


def wait_until(
    predicate: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.1
) -> bool:
    """Poll ``predicate()`` until it is truthy or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
