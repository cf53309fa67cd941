"""Completing incidents that were stored with geocode ``pending`` (the geocoder was
unavailable while their file was loaded).

When the geocoder is unavailable while a file is loaded (it raises, or no gazetteer is
loaded), ``ingest.enrichment.geocode_rows`` stores the rows ``pending`` with no point
and no borough, so the scoping chokepoint shows them to nobody rather than at a default
place. ``pending_geocodes_retry`` (the beat task ``ingest.tasks.retry_pending_geocodes``,
every 15 minutes) geocodes them once the geocoder is back:

* One run at a time: a session-level PostgreSQL advisory try-lock; a second copy (beat
  firing while a long run is still going, a redelivered message) exits at once.
* Every distinct (site, description, location type) of a batch is geocoded once with the
  geocoder's batch API (its per-process cache carries results across batches).
* Rows are written in bounded batches, each in its own short transaction together with
  the geocode figures of the submissions it touched, so a run stopped half-way leaves
  consistent data and the next run carries on where it stopped. Only rows still
  ``pending`` are written: a reviewer's decision made in between is never overwritten.
* If the geocoder is still unavailable, the rows stay pending and one warning line is
  logged (no traceback every 15 minutes).
* A run that changed rows writes one ``geocode.retried`` audit event with counts only,
  never location text.
* The uncertain answers among the rows written go to the geocode review queue in the
  same transaction, as they would have when the file was loaded
  (``ingest.enrichment.review_queue_feed``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from hospitals.models import Submission
from incidents.models import Incident
from incidents.workspace.cache import incident_rows_changed
from ingest import loader
from ingest.enrichment import RowGeocode, geocode_columns, precision_label, review_queue_feed
from ingest.scorecard import Thresholds, with_geocodes
from istv_portal.locks import session_try_lock

logger = logging.getLogger(__name__)

PENDING = Incident.GeocodeStatus.PENDING
# pg_try_advisory_lock(namespace, key): the submission pipeline uses 41_001 and 41_002.
_LOCK_NAMESPACE = 41_010
_LOCK_KEY = 1
BATCH_ROWS = 2000
# Stop starting new batches after this long; the task's soft limit (840 s) is the backstop.
MAX_SECONDS = 600.0

Key = tuple[str, str, str]  # (site code, location description, location type code)


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    """What one run did. ``status`` is one of ``locked`` (another run holds the lock),
    ``nothing_pending``, ``unavailable`` (geocoder still down, nothing written),
    ``completed`` or ``partial`` (stopped early: time budget, or the geocoder failed
    again half-way; the next run continues)."""

    status: str
    rows_updated: int = 0
    descriptions: int = 0  # distinct (site, description, type) geocoded, summed per batch
    submissions: int = 0
    still_pending: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retry_lock() -> contextlib.AbstractContextManager[bool]:
    """Session-level try-lock: yields False when another process is already retrying
    (a run spans many short transactions, so not a transaction lock)."""
    return session_try_lock(_LOCK_NAMESPACE, _LOCK_KEY)


def _available_geocoder() -> Any | None:
    """The process's geocoder, or None (with one warning line) if it cannot be used.

    A process that built its geocoder before the gazetteer was loaded keeps an empty one;
    it is rebuilt here (cheap while the tables are still empty) so a later load is seen.
    """
    try:
        from incidents.geocoding.service import get_geocoder, reset_geocoder

        geocoder = get_geocoder(fresh_aliases=True)
        if geocoder.gz.is_empty:
            reset_geocoder()
            geocoder = get_geocoder()
    except Exception as exc:
        logger.warning(
            "geocoder still unavailable (%s): incidents left pending", type(exc).__name__
        )
        return None
    if geocoder.gz.is_empty:
        logger.warning("no gazetteer loaded: incidents left with geocode pending")
        return None
    return geocoder


def _pending() -> Any:
    return loader.incidents_pending_geocode()


def _submission_figures_refresh(submission_ids: Iterable[int]) -> None:
    """Recompute the geocode figures stored on these submissions from their rows: the
    scorecard's counts by precision, placed share and geocode check, and the report's
    counts (what the submission pages and ``manage.py ingest`` show)."""
    ids = sorted(set(submission_ids))
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    rows = (
        loader.incidents_of_submissions(ids)
        .values_list("submission_id", "geocode_status", "geo_precision", "lat", "geo_class")
        .order_by()
    )
    # One pass over the submissions' rows; labels as ``ingest.enrichment`` gives them.
    for submission_id, status, precision, lat, geo_class in rows.iterator(chunk_size=5000):
        label = "pending" if status == PENDING else precision_label(lat, precision, geo_class)
        counts[submission_id][label] += 1
    thresholds = Thresholds.from_settings(settings.SUBMISSION_AUTO_PUBLISH_THRESHOLDS)
    for submission in Submission.objects.filter(pk__in=ids).only("pk", "scorecard", "report"):
        by_precision = dict(sorted(counts[submission.pk].items()))
        changes: dict[str, Any] = {}
        if submission.scorecard:
            changes["scorecard"] = with_geocodes(submission.scorecard, by_precision, thresholds)
        if submission.report:
            changes["report"] = {**submission.report, "geocoded_by_precision": by_precision}
        if changes:
            Submission.objects.filter(pk=submission.pk).update(**changes)


def _write_batch(
    rows: list[tuple[int, int, str, str, str]], columns: dict[Key, RowGeocode]
) -> tuple[int, set[int]]:
    """Write one batch's geocodes (rows still pending only) and its submissions' figures,
    and queue the uncertain ones for review (one per row written, per site)."""
    ids_by_key: dict[Key, list[int]] = defaultdict(list)
    submission_of: dict[int, int] = {}
    for pk, submission_id, site_code, text, location_type in rows:
        ids_by_key[(site_code, text, location_type)].append(pk)
        submission_of[pk] = submission_id
    updated = 0
    touched: set[int] = set()
    written: dict[str, list[RowGeocode]] = defaultdict(list)
    with transaction.atomic():
        for key, ids in ids_by_key.items():
            geo = columns[key]
            # ``geocode_status=PENDING`` is re-checked under the row lock, so a row a
            # review decision updated meanwhile is left alone.
            n = _pending().filter(pk__in=ids).update(geocode_status=geo.status, **geo.fields)
            if n:
                updated += n
                touched.update(submission_of[pk] for pk in ids)
                written[key[0]].extend([geo] * n)
        for site_code, geocodes in written.items():
            review_queue_feed(geocodes, site_code)
        if touched:
            _submission_figures_refresh(touched)
            transaction.on_commit(incident_rows_changed)
    return updated, touched


def pending_geocodes_retry(
    *, batch_rows: int = BATCH_ROWS, max_seconds: float = MAX_SECONDS
) -> RetryOutcome:
    """Geocode every incident stored ``pending``, whatever its submission's status.

    Idempotent (a second run finds nothing pending) and safe to run twice at once (the
    second exits on the advisory lock). See the module docstring.
    """
    with retry_lock() as acquired:
        if not acquired:
            logger.info("pending geocodes: another run holds the lock")
            return RetryOutcome("locked")
        if not _pending().exists():
            return RetryOutcome("nothing_pending")
        geocoder = _available_geocoder()
        if geocoder is None:
            return RetryOutcome("unavailable", still_pending=_pending().count())

        deadline = time.monotonic() + max_seconds
        status, last_id, updated, descriptions = "completed", 0, 0, 0
        submissions: set[int] = set()
        while True:
            batch = list(
                _pending()
                .filter(pk__gt=last_id)
                .order_by("pk")
                .values_list(
                    "pk",
                    "submission_id",
                    "site__site_code",
                    "location_description",
                    "location_type_code",
                )[:batch_rows]
            )
            if not batch:
                break
            last_id = batch[-1][0]
            keys: list[Key] = list(dict.fromkeys((r[2], r[3], r[4]) for r in batch))
            try:
                results = geocoder.geocode_many(
                    [
                        {"text": text, "hospital": site, "location_type": loc}
                        for site, text, loc in keys
                    ]
                )
            except Exception as exc:
                logger.warning(
                    "geocoder failed again during the retry (%s): incidents left pending",
                    type(exc).__name__,
                )
                status = "partial" if updated else "unavailable"
                break
            columns = {key: geocode_columns(res) for key, res in zip(keys, results, strict=True)}
            descriptions += len(keys)
            n, touched = _write_batch(batch, columns)
            updated += n
            submissions |= touched
            if time.monotonic() > deadline:
                status = "partial"
                break

        still_pending = _pending().count()
        outcome = RetryOutcome(
            status,
            rows_updated=updated,
            descriptions=descriptions,
            submissions=len(submissions),
            still_pending=still_pending,
        )
        if updated:
            with transaction.atomic():
                # Counts only: descriptions are free text and may hold personal details.
                audit_record(
                    action=Action.GEOCODE_RETRIED,
                    actor=None,
                    details=outcome.as_dict(),
                )
            logger.info(
                "pending geocodes: %d rows of %d submissions geocoded, %d still pending",
                updated,
                len(submissions),
                still_pending,
            )
        return outcome
