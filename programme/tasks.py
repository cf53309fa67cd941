"""Scheduled jobs for the agreement register (thin: each calls services)."""

from __future__ import annotations

from celery import shared_task

from programme import services


@shared_task(name="programme.tasks.agreement_housekeeping", time_limit=300, soft_time_limit=240)
def agreement_housekeeping() -> dict[str, int]:
    """End agreements past their end date (revoking their grants), then send reminders.

    Idempotent: an ended agreement is not ended twice and each reminder is sent once per
    date.
    """
    lapsed = services.agreements_lapse()
    reminded = services.agreement_reminders_send()
    return {"lapsed": len(lapsed), "reminded": reminded}


@shared_task(name="programme.tasks.refresh_usage_rollup", time_limit=900, soft_time_limit=840)
def refresh_usage_rollup() -> int:
    """Store the impact dashboard's figures for months that have closed (idempotent)."""
    return len(services.usage_rollup_refresh())
