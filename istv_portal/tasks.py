"""Project-level background tasks (the app-specific ones live in each app's tasks.py)."""

from __future__ import annotations

from celery import shared_task

from istv_portal import health


@shared_task(
    name="istv_portal.worker_heartbeat", ignore_result=True, soft_time_limit=20, time_limit=30
)
def worker_heartbeat() -> None:
    """Sent by beat every 30 seconds; its timestamp is what /healthz calls the worker."""
    health.heartbeat_record()
