"""Housekeeping: picking up files the broker lost or a worker dropped, and the overdue
reminders."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from hospitals.models import HospitalSite, Submission
from ingest.services.common import Status
from ingest.services.locks import processing_lock
from ingest.services.receive import submission_enqueue
from istv_portal.periods import is_overdue, last_complete_month

logger = logging.getLogger(__name__)

# --- sweeping ---------------------------------------------------------------------------


def submissions_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-enqueue submissions that were received but never started (the broker was down
    or lost the message) and running ones whose heartbeat went stale (a worker died
    without redelivery). A running submission whose lock is held is left alone."""
    now = now or timezone.now()
    queued_after = timedelta(seconds=int(settings.SUBMISSION_QUEUED_STALE_SECONDS))
    stale_after = timedelta(seconds=int(settings.SUBMISSION_HEARTBEAT_STALE_SECONDS))
    candidates = Submission.objects.filter(
        Q(
            status=Status.RECEIVED,
            enqueued_at__isnull=True,
            created_at__lt=now - timedelta(seconds=30),
        )
        | Q(status=Status.RECEIVED, enqueued_at__lt=now - queued_after)
        | Q(status__in=(Status.CHECKING, Status.PROCESSING), heartbeat_at__lt=now - stale_after)
    ).values_list("pk", "site_id", "period")
    sent = []
    for pk, site_id, period in candidates:
        with processing_lock(site_id, period) as free:
            if not free:
                continue
        if submission_enqueue(submission_id=pk):
            sent.append(pk)
    if sent:
        logger.info("sweeper re-enqueued submissions %s", sent)
    return sent


# --- reminders --------------------------------------------------------------------------


def overdue_sites(*, today: date | None = None) -> list[HospitalSite]:
    """Sites with no (non-failed) submission for last month once the due day has passed."""
    today = today or timezone.localdate()
    last_month = last_complete_month(today)
    received = Submission.objects.filter(period=last_month, dry_run=False).exclude(
        status__in=(Status.FAILED, Status.REJECTED, Status.QUARANTINED)
    )
    return list(
        HospitalSite.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=last_month))
        .exclude(pk__in=received.values("site_id"))
        .select_related("organisation")
    )


def overdue_reminders_send(*, today: date | None = None) -> dict[str, int]:
    """E-mail each overdue site's liaisons (users with the upload right). Returns
    site code → number of recipients."""
    from guardian.shortcuts import get_users_with_perms

    today = today or timezone.localdate()
    last_month = last_complete_month(today)
    if not is_overdue(last_month, today):
        return {}
    prefix = str(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX)
    sent: dict[str, int] = {}
    for site in overdue_sites(today=today):
        users = get_users_with_perms(site, only_with_perms_in=["upload_submission"])
        to = sorted({u.email for u in users if isinstance(u, User) and u.is_active and u.email})
        if not to:
            continue
        body = (
            f"The ISTV file for {site.name} ({site.site_code}) for {last_month:%B %Y} has "
            "not been received yet. Please upload it in the portal.\n"
        )
        send_mail(f"{prefix}ISTV file overdue: {last_month:%B %Y}", body, None, to)
        sent[site.site_code] = len(to)
    return sent
