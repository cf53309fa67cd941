"""Enrichment of accepted rows before loading: geocoding, incident columns, history.

Used by ``ingest.services.submission_process``. Geocoding resolves every distinct
(description, location type) of a file once with the offline geocoder's batch API;
when the geocoder is unavailable rows stay ``pending`` and are never given a point.
``review_queue_feed`` puts the uncertain answers in the data managers' geocode review
queue when the rows are stored (the loading transaction; the pending-geocode retry).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from hospitals.models import HospitalSite, Submission
from incidents.geocoding.services import review_items_record
from ingest.loader import GEOCODE_EMPTY, INCIDENT_COLUMNS
from ingest.pipeline import HarmonisedRow
from ingest.scorecard import NOT_PLACED_BY_DESIGN, History

logger = logging.getLogger(__name__)
Status = Submission.Status


# --- geocoding --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowGeocode:
    """The geocode columns of one incident row (empty and pending when not geocoded),
    and the geocoder's answer they came from (``None`` when pending)."""

    status: str
    fields: Mapping[str, Any]
    precision_label: str
    result: Any = field(default=None, compare=False, repr=False)


PENDING = RowGeocode("pending", GEOCODE_EMPTY, "pending")


def geocode_columns(result: Any) -> RowGeocode:
    """The incident columns for one geocoder result (also used when a review re-geocodes)."""
    fields = {
        "geo_class": result.result_class,
        "lat": result.lat,
        "lon": result.lon,
        "easting": result.easting,
        "northing": result.northing,
        "geo_precision": result.precision or "",
        "geo_confidence": result.confidence,
        "geo_method": (result.method or "")[:60],
        "geo_matched": (result.matched or "")[:255],
        "geo_alternatives": [a.to_dict() for a in result.alternatives],
        "geo_explanation": (result.explanation or "")[:500],
        "lsoa_code": result.lsoa or "",
        "ward_code": result.ward or "",
        "borough_code": result.borough or "",
    }
    label = precision_label(result.lat, result.precision, result.result_class)
    return RowGeocode("done", fields, label, result)


def precision_label(lat: float | None, precision: str | None, result_class: str) -> str:
    """A geocoded row's label in the scorecard's counts: its precision when placed, its
    class when it is not placed by design (``home`` …), else ``unplaced``."""
    if lat is not None:
        return precision or "unplaced"
    return result_class if result_class in NOT_PLACED_BY_DESIGN else "unplaced"


def review_queue_feed(geocodes: Iterable[RowGeocode], site_code: str) -> int:
    """Queue for review what ``needs_review`` selects among the geocodes of stored rows
    treated at ``site_code``: one (result, hospital) pair per row, so a phrase used 40
    times adds 40 to its item's ``occurrences`` (the incidents a decision would settle).
    Returns the rows queued.

    Call it in the transaction that stores the rows, never for a dry run (nothing is
    stored, so no decision could settle anything). The descriptions were redacted by the
    personal-data guard in ``process_file``, before geocoding.
    """
    return review_items_record(
        results=((g.result, site_code) for g in geocodes if g.result is not None)
    )


def geocode_rows(
    rows: Iterable[HarmonisedRow],
    site_code: str,
    *,
    alias_version: tuple[int, object] | None = None,
) -> list[RowGeocode]:
    """Geocode every distinct (description, site, location type) once, in one batch.

    If the geocoder is unavailable (an error, or no gazetteer loaded) every row is
    ``pending`` with no coordinates: never a default point. ``alias_version`` is the
    learned aliases' version when the caller has just read it (else it is read here).
    """
    rows = list(rows)
    keys = [(r.location_description, r.location_type_code) for r in rows]
    distinct = list(dict.fromkeys(keys))
    try:
        from incidents.geocoding.service import get_geocoder

        # A review decision made a moment ago (in another process) applies to this file.
        geocoder = get_geocoder(fresh_aliases=True, alias_version=alias_version)
        if geocoder.gz.is_empty:
            logger.warning("no gazetteer loaded: incidents stored with geocode pending")
            return [PENDING] * len(rows)
        results = geocoder.geocode_many(
            [{"text": text, "hospital": site_code, "location_type": loc} for text, loc in distinct]
        )
    except Exception:
        logger.warning("geocoder unavailable: incidents stored with geocode pending", exc_info=True)
        return [PENDING] * len(rows)
    by_key = {key: geocode_columns(res) for key, res in zip(distinct, results, strict=True)}
    return [by_key[key] for key in keys]


# --- history for the scorecard ----------------------------------------------------------


def site_history(site: HospitalSite, period: date, *, exclude_id: int = 0) -> History:
    """Accepted-row counts per month over the 13 months before ``period`` (current
    versions only), for this site and for London, plus London's count for ``period``."""
    start = date(period.year - 1, period.month, 1) - timedelta(days=1)
    current = (
        Submission.objects.filter(
            status__in=(Status.PUBLISHED, Status.READY_FOR_REVIEW),
            dry_run=False,
            period__gte=start.replace(day=1),
            period__lte=period,
        )
        .exclude(pk=exclude_id)
        .values("site_id", "period")
        .annotate(n=Sum("rows_accepted"))
    )
    site_months: dict[date, int] = {}
    london_months: dict[date, int] = {}
    london_now = 0
    site_id = site.pk
    for site_of, month, n in current.values_list("site_id", "period", "n"):
        if month == period:
            if site_of != site_id:
                london_now += n
            continue
        london_months[month] = london_months.get(month, 0) + n
        if site_of == site_id:
            site_months[month] = n
    return History(site_months, london_months, london_now)


# The geocode columns, in the loader's column order.
_GEO_COLUMNS = INCIDENT_COLUMNS[
    INCIDENT_COLUMNS.index("geo_class") : INCIDENT_COLUMNS.index("rules")
]


def incident_values(
    submission: Submission, rows: list[HarmonisedRow], geocodes: list[RowGeocode]
) -> Iterator[tuple[Any, ...]]:
    """The incident rows as values in :data:`~ingest.loader.INCIDENT_COLUMNS` order, what
    the loader's COPY sends. The geocode columns are taken out of each distinct geocode
    once (rows with the same phrase share one)."""
    tz = timezone.get_default_timezone()
    submission_id, site_id = submission.pk, submission.site_id
    # id -> (geocode, its columns): the geocode is held, so its id cannot be reused.
    geo_values: dict[int, tuple[RowGeocode, tuple[Any, ...]]] = {}
    for row, geo in zip(rows, geocodes, strict=True):
        known = geo_values.get(id(geo))
        if known is None or known[0] is not geo:
            known = geo_values[id(geo)] = (geo, tuple(geo.fields[c] for c in _GEO_COLUMNS))
        local = row.assault_at.astimezone(tz)
        yield (
            submission_id,
            site_id,
            row.source_row,
            row.arrival_at,
            row.arrival_time_known,
            row.assault_at,
            row.assault_time_known,
            local.date(),
            row.assault_month,
            row.assault_weekday + 1,  # pipeline: Monday 0; model: 1
            row.assault_hour,
            row.method_code,
            row.method_raw[:255],
            row.method_other[:255],
            row.location_type_code,
            row.location_type_raw[:255],
            row.location_description[:255],
            geo.status,
            *known[1],
            row.rules,
            row.warnings,
        )


def incident_rows(
    submission: Submission, rows: list[HarmonisedRow], geocodes: list[RowGeocode]
) -> Iterator[dict[str, Any]]:
    """The incident rows as mappings keyed by column (for model instances)."""
    for values in incident_values(submission, rows, geocodes):
        yield dict(zip(INCIDENT_COLUMNS, values, strict=True))
