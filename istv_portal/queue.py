"""Sending a Celery task by name, for services that must not import the task modules that
call them (a task module imports its services; the services send its tasks by name)."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

logger = logging.getLogger(__name__)

# A broker that does not answer within about a second is treated as down: the caller's
# own catch-up (a sweeper or a nightly task) sends the work later.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def send_by_name(
    task: str, args: tuple[Any, ...], *, waiting: str, countdown: float | None = None
) -> bool:
    """Send ``task`` with ``args`` (to run ``countdown`` seconds from now, if given);
    False (logged with ``waiting``, which says what now waits for the catch-up) when the
    broker is unavailable. Never raises."""
    try:
        current_app.send_task(
            task, args, countdown=countdown, retry=True, retry_policy=RETRY_POLICY
        )
    except Exception:
        logger.warning("broker unavailable: %s", waiting, exc_info=True)
        return False
    return True
