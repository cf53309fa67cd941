"""Configuration guards for the submission tasks: a task is never redelivered while it runs."""

from __future__ import annotations

from django.conf import settings

from ingest.tasks import process_submission, sweep_stuck_submissions
from istv_portal.celery import app as celery_app


def test_visibility_timeout_exceeds_every_task_time_limit() -> None:
    """Redis redelivers an unacknowledged task after the visibility timeout: if a task
    may run longer, a second copy would start while the first is still running."""
    options = celery_app.conf.broker_transport_options or {}
    visibility = options.get("visibility_timeout")
    assert visibility == settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    assert visibility > settings.CELERY_TASK_TIME_LIMIT
    assert visibility > process_submission.time_limit
    assert visibility > sweep_stuck_submissions.time_limit


def test_processing_task_is_late_acked_and_rejected_on_worker_loss() -> None:
    assert process_submission.acks_late is True
    assert process_submission.reject_on_worker_lost is True
    assert process_submission.soft_time_limit < process_submission.time_limit


def test_sweeper_and_reminders_are_scheduled() -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "ingest.tasks.sweep_stuck_submissions" in tasks
    assert "ingest.tasks.send_overdue_reminders" in tasks
