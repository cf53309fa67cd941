"""Scheduled work of the analyst workspace. Thin: ids in, one service call, idempotent."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from incidents import alert_digests, csv_lines, monitoring
from incidents.models import Release


@shared_task(
    name="incidents.tasks.generate_monitoring_report",
    time_limit=900,
    soft_time_limit=840,
    acks_late=True,
)
def generate_monitoring_report(release_id: int) -> int | None:
    """Write the monitoring report of one release (rewriting it if it exists)."""
    release = Release.objects.filter(pk=release_id).first()
    if release is None:
        return None
    return monitoring.monitoring_report_generate(release=release).release


@shared_task(
    name="incidents.tasks.monitoring_reports_catch_up", time_limit=600, soft_time_limit=540
)
def monitoring_reports_catch_up() -> int:
    """Queue a report for every release that has none yet (runs nightly after releases)."""
    missing = monitoring.monitoring_reports_missing()
    for release_id in missing:
        generate_monitoring_report.delay(release_id)
    return len(missing)


@shared_task(
    name="incidents.tasks.send_release_alerts",
    time_limit=1800,
    soft_time_limit=1740,
    acks_late=True,
)
def send_release_alerts(release_id: int) -> int | None:
    """Send the alert digests of one release (at most one per user: safe to run again)."""
    return alert_digests.release_alerts_send(release_id=release_id)


@shared_task(name="incidents.tasks.alert_digests_catch_up", time_limit=600, soft_time_limit=540)
def alert_digests_catch_up() -> int:
    """Queue the alerts of every recent release not yet worked out (runs nightly)."""
    waiting = alert_digests.releases_awaiting_alerts()
    for release_id in waiting:
        send_release_alerts.delay(release_id)
    return len(waiting)


@shared_task(name=csv_lines.REFRESH_TASK, time_limit=3600, soft_time_limit=3540)
def refresh_export_lines() -> int:
    """Make the kept CSV line parts of rows new, changed in place, or made before the
    labels or the gazetteer changed (queued after publishing and after changes in place;
    every ten minutes by beat). Returns the rows updated."""
    cache.delete(csv_lines.PENDING_KEY)
    return csv_lines.refresh_export_lines()
