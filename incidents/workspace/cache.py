"""The workspace's cache keys: the data generation bumped whenever incident rows change,
and the viewer's access as part of every cached answer's key."""

from __future__ import annotations

import hashlib
import json

from django.core.cache import cache
from django.db.models import Count, Max

from accounts.access import EffectiveAccess
from hospitals.models import Submission
from incidents.csv_lines import export_lines_refresh_enqueue

DASHBOARD_CACHE_SECONDS = 600
# Part of the dashboard's cache key: bump it when ``Dashboard`` changes shape, so a new
# release never serves a board cached by the previous one.
DASHBOARD_CACHE_VERSION = 2


DATA_GENERATION_KEY = "incidents:data-generation"


def data_version() -> str:
    """Changes whenever published data or releases change (one query), or when published
    rows are changed in place (``incident_rows_changed``)."""
    stats = Submission.objects.filter(status=Submission.Status.PUBLISHED).aggregate(
        n=Count("id"), last=Max("id"), at=Max("published_at")
    )
    generation = cache.get(DATA_GENERATION_KEY, 0)
    return f"{stats['n']}-{stats['last']}-{stats['at']}-{generation}"


def incident_rows_changed() -> None:
    """Say that incident rows changed without a publication (a geocode retry, a review
    decision re-geocoding rows), so cached dashboards and charts are not served stale and
    the changed rows' CSV line parts are made again. Call it after the change has
    committed."""
    try:
        cache.incr(DATA_GENERATION_KEY)
    except ValueError:  # not set yet (or evicted)
        cache.set(DATA_GENERATION_KEY, 1, None)
    export_lines_refresh_enqueue()


def access_key(access: EffectiveAccess) -> str:
    """A digest of everything in ``access`` that can change what a page shows."""
    parts = [
        sorted(access.boroughs),
        sorted(access.record_boroughs),
        sorted(access.download_boroughs),
        sorted(access.free_text_boroughs),
        list(access.precisions),
        sorted(access.unlocated),
        sorted(access.unlocated_record),
        sorted(access.unlocated_download),
        sorted(access.unlocated_free_text),
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]
