"""Scheduled access housekeeping. Thin: each task calls one service, which is idempotent."""

from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(name="accounts.tasks.expire_grants", time_limit=600, soft_time_limit=540)
def expire_grants() -> int:
    """Mark grants past their end date expired and end the affected users' sessions."""
    return len(services.grants_expire())


@shared_task(name="accounts.tasks.send_grant_expiry_warnings", time_limit=600, soft_time_limit=540)
def send_grant_expiry_warnings() -> int:
    """E-mail organisations whose grants end within GRANT_EXPIRY_WARNING_DAYS."""
    return len(services.grant_expiry_warnings())


@shared_task(name="accounts.tasks.deactivate_inactive_users", time_limit=600, soft_time_limit=540)
def deactivate_inactive_users() -> int:
    """Deactivate accounts unused for ACCOUNT_INACTIVITY_DAYS."""
    return len(services.users_deactivate_inactive())
