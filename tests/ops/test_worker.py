"""A real Celery worker executes tasks sent through Redis, and the results are visible."""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from istv_portal import health
from istv_portal.tasks import worker_heartbeat
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_heartbeat_sent_through_redis_is_executed_by_the_worker(celery_worker_proc):
    cache.delete(health.HEARTBEAT_CACHE_KEY)
    sent_at = time.time()

    worker_heartbeat.delay()

    def heartbeat_written() -> bool:
        stamp = cache.get(health.HEARTBEAT_CACHE_KEY)
        return stamp is not None and stamp >= sent_at

    assert wait_until(heartbeat_written), celery_worker_proc.log()[-3000:]
    # ... and it was this worker, not some other process, that ran the task.
    assert celery_worker_proc.executed().get(worker_heartbeat.name) == 1
    # The whole chain is healthy now: database, Redis broker, and a fresh heartbeat.
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200, response.json()


def test_killed_worker_stops_answering(celery_worker_proc):
    os.kill(celery_worker_proc.pid, signal.SIGKILL)

    assert wait_until(lambda: not celery_worker_proc.is_alive(), timeout=10)
    assert not celery_worker_proc.ping(timeout=0.5)
