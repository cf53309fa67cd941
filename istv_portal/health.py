"""/healthz: database, broker and worker heartbeat; 200 only when all are healthy.

The worker heartbeat is a timestamp that the ``worker_heartbeat`` task (sent by Celery
beat every 30 seconds and executed by a worker) writes to the shared cache. A fresh
timestamp therefore proves the whole background path: scheduler → broker → worker →
cache. Each probe is bounded by a short timeout and never lets an exception reach the
response: a failing dependency is reported as a status word, with details in the log.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from typing import Literal, TypedDict

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from kombu.connection import Connection

logger = logging.getLogger(__name__)

HEARTBEAT_CACHE_KEY = "istv:health:worker-heartbeat"
HEARTBEAT_INTERVAL = timedelta(seconds=30)
HEARTBEAT_STALE_AFTER = timedelta(minutes=2)
BROKER_TIMEOUT_SECONDS = 2.0

Status = Literal["ok", "down", "stale", "missing"]


class HealthChecks(TypedDict):
    database: Status
    broker: Status
    worker: Status


class HealthReport(TypedDict):
    status: Literal["ok", "degraded"]
    checks: HealthChecks
    worker_heartbeat_age_seconds: int | None


def heartbeat_record(*, now: float | None = None) -> None:
    """Store the worker's heartbeat (seconds since the epoch) in the shared cache."""
    stamp = time.time() if now is None else now
    # Kept well past the stale threshold so /healthz can say "stale" rather than "missing".
    cache.set(HEARTBEAT_CACHE_KEY, stamp, timeout=int(HEARTBEAT_STALE_AFTER.total_seconds() * 30))


def heartbeat_age_seconds() -> float | None:
    """Seconds since the last heartbeat, or None when there is none."""
    stamp = cache.get(HEARTBEAT_CACHE_KEY)
    if stamp is None:
        return None
    return max(0.0, time.time() - float(stamp))


def check_database() -> Status:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return "ok" if cursor.fetchone() == (1,) else "down"
    except Exception as exc:
        logger.warning("Health check: database unavailable", extra={"error": type(exc).__name__})
        return "down"


def check_broker() -> Status:
    """Connect to the broker named in settings (read per request, not cached)."""
    url = str(settings.CELERY_BROKER_URL)
    try:
        if url.startswith("filesystem://"):
            # kombu's filesystem transport is a folder (made by the Celery app when it
            # starts; made here too so a web process that has sent nothing yet agrees).
            folder = settings.CELERY_BROKER_DATA_DIR / "out"
            folder.mkdir(parents=True, exist_ok=True)
            return "ok" if os.access(folder, os.W_OK) else "down"
        with Connection(
            url,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
            transport_options={
                "socket_timeout": BROKER_TIMEOUT_SECONDS,
                "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
            },
        ) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
            # Opening a channel makes the Redis transport actually talk to the server.
            conn.default_channel  # noqa: B018
        return "ok"
    except Exception as exc:
        logger.warning("Health check: broker unavailable", extra={"error": type(exc).__name__})
        return "down"


def check_worker() -> tuple[Status, float | None]:
    try:
        age = heartbeat_age_seconds()
    except Exception as exc:
        logger.warning("Health check: cache unavailable", extra={"error": type(exc).__name__})
        return "down", None
    if age is None:
        return "missing", None
    if age > HEARTBEAT_STALE_AFTER.total_seconds():
        return "stale", age
    return "ok", age


def health_report() -> HealthReport:
    worker, age = check_worker()
    checks: HealthChecks = {
        "database": check_database(),
        "broker": check_broker(),
        "worker": worker,
    }
    healthy = all(value == "ok" for value in checks.values())
    return {
        "status": "ok" if healthy else "degraded",
        "checks": checks,
        "worker_heartbeat_age_seconds": None if age is None else int(age),
    }


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        report = health_report()
    except Exception:
        # The probes catch their own errors; this is the last line so a load balancer
        # never sees a traceback.
        logger.exception("Health check failed unexpectedly")
        return JsonResponse({"status": "degraded"}, status=503)
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
