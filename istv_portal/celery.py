"""The Celery application. Workers and the scheduler load Django settings from here."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "istv_portal.settings.local")

app = Celery("istv_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# istv_portal is not a Django app, so its tasks module is named explicitly.
app.autodiscover_tasks(["istv_portal"])

HEARTBEAT_TASK = "istv_portal.worker_heartbeat"


@app.on_after_configure.connect
def _schedule_heartbeat(sender: Celery, **kwargs: Any) -> None:
    """Beat sends the heartbeat every 30 s; /healthz calls it stale after two minutes.

    Added here rather than in CELERY_BEAT_SCHEDULE so apps can define their own
    schedule in settings without the two overwriting each other. A heartbeat that
    waited in the queue longer than one interval is worthless, hence ``expires``.
    """
    from istv_portal.health import HEARTBEAT_INTERVAL

    seconds = HEARTBEAT_INTERVAL.total_seconds()
    sender.add_periodic_task(
        seconds,
        sender.signature(HEARTBEAT_TASK, options={"expires": seconds}),
        name="worker heartbeat",
    )


@app.on_after_configure.connect
def _filesystem_broker_folders(sender: Celery, **kwargs: Any) -> None:
    """With no Redis the broker is kombu's filesystem transport (its folders are set in the
    settings): make sure they exist in every process that sends or receives a task."""
    from django.conf import settings

    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        for sub in ("out", "processed", "control"):
            (settings.CELERY_BROKER_DATA_DIR / sub).mkdir(parents=True, exist_ok=True)


@worker_ready.connect
def _heartbeat_on_start(**kwargs: Any) -> None:
    """A worker that has just started is alive: say so without waiting for beat."""
    from istv_portal.health import heartbeat_record

    heartbeat_record()


@task_postrun.connect
def _close_old_database_connections(sender: Any = None, **kwargs: Any) -> None:
    """After every task, close the database connection only when Django would close it
    after a request: older than CONN_MAX_AGE, broken, or left inside a transaction
    (``CELERY_DB_REUSE_MAX`` stops Celery closing it every time). Not for a task run
    eagerly inside the caller's process and transaction."""
    request = getattr(sender, "request", None)
    if getattr(request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
