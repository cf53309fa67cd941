"""Celery tasks for submissions: thin wrappers (ids in, one service call each).

``process_submission`` acknowledges late and is rejected back to the queue if its worker
dies, so a killed worker's file is processed again from the start; the service's
advisory lock and status checks make a second or concurrent delivery harmless, and its
attempt counter turns a file that keeps killing workers into ``failed``.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings
from django.db import DatabaseError, InterfaceError

from ingest import geocode_retry, services
from ingest.services.common import PROCESS_SUBMISSION_TASK

logger = logging.getLogger(__name__)


def _build_geocoder() -> None:
    try:
        from incidents.geocoding.service import get_geocoder

        get_geocoder()
    except Exception:  # a cold geocoder is built later, on first use
        logger.warning("geocoder warm-up failed; it will be built on first use", exc_info=True)
    finally:
        from django.db import connections

        # No connection opened here may outlive the warm-up: pool processes forked from
        # this one must not share its socket.
        connections.close_all()


@worker_init.connect
def _warm_geocoder_before_fork(**kwargs: Any) -> None:
    """Build the geocoder's in-memory gazetteer (seconds with the London gazetteer) in the
    worker's main process, before its pool processes are forked and before it tells the
    broker it is ready: every pool process, and every replacement for one that died,
    starts with it, instead of building it inside the first submission it takes."""
    _build_geocoder()


@worker_process_init.connect
def _warm_geocoder(**kwargs: Any) -> None:
    """A pool process that did not inherit a geocoder (the warm-up before the fork failed)
    builds it when it starts; one it inherited is kept as it is."""
    _build_geocoder()


@shared_task(
    name=PROCESS_SUBMISSION_TASK,  # services send it by this name
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=settings.SUBMISSION_MAX_ATTEMPTS,
    time_limit=900,
    soft_time_limit=840,
)
def process_submission(submission_id: int) -> str:
    """Run the pipeline for one submission; returns its final status."""
    return str(services.submission_process(submission_id=submission_id).status)


@shared_task(
    name="ingest.tasks.sweep_stuck_submissions",
    acks_late=True,
    time_limit=300,
    soft_time_limit=270,
)
def sweep_stuck_submissions() -> list[int]:
    """Re-enqueue queued submissions the broker lost and running ones that went stale."""
    return services.submissions_sweep()


@shared_task(
    name="ingest.tasks.send_overdue_reminders",
    acks_late=True,
    time_limit=600,
    soft_time_limit=540,
)
def send_overdue_reminders() -> dict[str, int]:
    """Monthly: e-mail liaisons of sites whose file for last month is overdue."""
    return services.overdue_reminders_send()


@shared_task(
    name="ingest.tasks.retry_pending_geocodes",
    acks_late=True,
    time_limit=900,
    soft_time_limit=840,
)
def retry_pending_geocodes() -> dict[str, object]:
    """Every 15 minutes: geocode incidents stored ``pending`` while the geocoder was
    unavailable. Locked and idempotent, so overlaps are harmless."""
    return geocode_retry.pending_geocodes_retry().as_dict()
