"""Bulk loading of harmonised incidents and set-aside rows with PostgreSQL ``COPY``.

The loader runs inside the caller's transaction and commits nothing itself: the
submission service wraps the COPY, the set-aside rows and the status change of the
previous version in one transaction, so a failure half-way leaves no partial version.

``COPY`` is used rather than ``bulk_create`` because it streams: rows are sent to the
server as they are produced, with no per-row SQL to build or parse (benchmarks/ingest.py
measures it against row-by-row ``save()``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from incidents.models import Incident, SetAsideRow

# Incident columns written by the loader, in COPY order (the id comes from its sequence).
INCIDENT_COLUMNS: tuple[str, ...] = (
    "submission_id",
    "site_id",
    "source_row",
    "arrival_at",
    "arrival_time_known",
    "assault_at",
    "assault_time_known",
    "assault_date",
    "assault_month",
    "assault_weekday",
    "assault_hour",
    "method_code",
    "method_raw",
    "method_other",
    "location_type_code",
    "location_type_raw",
    "location_description",
    "geocode_status",
    "geo_class",
    "lat",
    "lon",
    "easting",
    "northing",
    "geo_precision",
    "geo_confidence",
    "geo_method",
    "geo_matched",
    "geo_alternatives",
    "geo_explanation",
    "lsoa_code",
    "ward_code",
    "borough_code",
    "rules",
    "warnings",
)
_JSON_COLUMNS = frozenset({"geo_alternatives", "rules", "warnings"})
SET_ASIDE_COLUMNS: tuple[str, ...] = ("submission_id", "source_row", "reasons", "values")


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(c) for c in columns)


def copy_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    json_columns: frozenset[str] = frozenset(),
    on_batch: Callable[[int], None] | None = None,
    batch_rows: int = 5000,
) -> int:
    """``COPY table (columns) FROM STDIN`` the given rows; returns how many were sent.

    Must run inside a transaction (``connection.in_atomic_block``): the caller decides
    what else commits with the rows. ``on_batch(n)`` is called after every ``batch_rows``
    rows (progress reporting).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("copy_rows must run inside the caller's transaction")
    sql = f"COPY {connection.ops.quote_name(table)} ({_quoted(columns)}) FROM STDIN"
    sent = 0
    width = len(columns)
    # Positions of the JSON columns, found once: only those values are touched per row.
    json_at = [i for i, c in enumerate(columns) if c in json_columns]
    to_json = _JsonTexts()
    # wrap_database_errors: psycopg errors raised by COPY become Django's DatabaseError,
    # as errors from execute() do, so callers and the task's retry policy see one type.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            values = list(row)
            if len(values) != width:
                raise ValueError(f"row has {len(values)} values for {width} columns")
            for i in json_at:
                values[i] = to_json(values[i])
            write(values)
            sent += 1
            if on_batch is not None and sent % batch_rows == 0:
                on_batch(sent)
    return sent


class _JsonTexts:
    """``json.dumps`` for one COPY, encoding each value once: the rows of a file share
    their geocode's alternatives (one list per distinct phrase) and mostly repeat the
    same few rule and warning lists, so most values are encoded already."""

    def __init__(self) -> None:
        # id -> (value, text): the value is held, so its id cannot be reused meanwhile.
        self._by_id: dict[int, tuple[Any, str]] = {}
        self._by_strings: dict[tuple[str, ...], str] = {}

    def __call__(self, value: Any) -> str:
        known = self._by_id.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        if type(value) is list and all(type(item) is str for item in value):
            key = tuple(value)
            text = self._by_strings.get(key)
            if text is None:
                text = self._by_strings[key] = json.dumps(value, ensure_ascii=False)
            return text
        text = json.dumps(value, ensure_ascii=False)
        self._by_id[id(value)] = (value, text)
        return text


def incidents_copy(
    rows: Iterable[Mapping[str, Any]],
    *,
    on_batch: Callable[[int], None] | None = None,
    batch_rows: int = 5000,
) -> int:
    """COPY incident rows (mappings keyed by :data:`INCIDENT_COLUMNS`) into the table."""
    return incident_values_copy(
        ([row[c] for c in INCIDENT_COLUMNS] for row in rows),
        on_batch=on_batch,
        batch_rows=batch_rows,
    )


def incident_values_copy(
    rows: Iterable[Sequence[Any]],
    *,
    on_batch: Callable[[int], None] | None = None,
    batch_rows: int = 5000,
) -> int:
    """COPY incident rows given as values in :data:`INCIDENT_COLUMNS` order (the loading
    path builds them so, with no mapping per row to build and take apart again)."""
    return copy_rows(
        Incident._meta.db_table,
        INCIDENT_COLUMNS,
        rows,
        json_columns=_JSON_COLUMNS,
        on_batch=on_batch,
        batch_rows=batch_rows,
    )


def set_aside_copy(submission_id: int, rows: Iterable[tuple[int, list[dict[str, Any]]]]) -> int:
    """COPY set-aside rows: ``(source_row, reasons)`` pairs (no values: never free text)."""
    return copy_rows(
        SetAsideRow._meta.db_table,
        SET_ASIDE_COLUMNS,
        ((submission_id, source_row, reasons, {}) for source_row, reasons in rows),
        json_columns=frozenset({"reasons", "values"}),
    )


# The journey's own reads and updates of stored rows, never shown to a person: the pending
# geocode retry and a reviewer's decision re-geocode rows in place. Every read for people
# goes through ``incidents.selectors`` instead.


def incidents_pending_geocode() -> QuerySet[Incident]:
    """Every stored row whose geocode is pending: the retry's work list."""
    return Incident.objects.filter(geocode_status=Incident.GeocodeStatus.PENDING)


def incidents_of_submissions(submission_ids: Iterable[int]) -> QuerySet[Incident]:
    """The stored rows of these submissions: to recount their geocode figures, and to
    compare a new version with the one it replaces before it is published."""
    return Incident.objects.filter(submission_id__in=list(submission_ids))


def incidents_at_site(site_code: str | None) -> QuerySet[Incident]:
    """The stored rows treated at one site (every site when ``None``)."""
    rows = Incident.objects.all()
    return rows.filter(site__site_code=site_code) if site_code else rows


# The personal-data rescan (``manage.py rescan_personal_data``): stored free text is read
# and rewritten in place, batch by batch, in the caller's transaction.

# (id, location_description, method_other, rules, warnings)
FreeTextRow = tuple[int, str, str, list[str], list[str]]
# The columns a geocode fills, empty: a row awaiting geocoding has these, and a row that
# goes back to "pending" to be geocoded again is cleared to them.
GEOCODE_EMPTY: dict[str, Any] = {
    "geo_class": "",
    "lat": None,
    "lon": None,
    "easting": None,
    "northing": None,
    "geo_precision": "",
    "geo_confidence": None,
    "geo_method": "",
    "geo_matched": "",
    "geo_alternatives": [],
    "geo_explanation": "",
    "lsoa_code": "",
    "ward_code": "",
    "borough_code": "",
}


def incidents_free_text_batch(after_id: int, size: int) -> list[FreeTextRow]:
    """The next ``size`` stored rows after ``after_id`` (id order), locked until the
    caller's transaction ends, with their free text and lineage."""
    if not connection.in_atomic_block:
        raise RuntimeError("incidents_free_text_batch must run inside a transaction")
    rows = (
        Incident.objects.filter(pk__gt=after_id)
        .order_by("pk")
        .select_for_update()
        .values_list("pk", "location_description", "method_other", "rules", "warnings")
    )
    return list(rows[:size])


def incidents_free_text_rewrite(rows: Sequence[FreeTextRow]) -> int:
    """Write redacted free text (and the rules and warnings saying so) back."""
    changed = [
        Incident(pk=pk, location_description=desc, method_other=other, rules=rules, warnings=warn)
        for pk, desc, other, rules, warn in rows
    ]
    Incident.objects.bulk_update(
        changed, ["location_description", "method_other", "rules", "warnings"], batch_size=1000
    )
    return len(changed)


def incidents_geocode_requeue(ids: Iterable[int]) -> int:
    """Send rows back to geocode ``pending`` with no point: the pending-geocode retry
    geocodes them again from their (now redacted) description."""
    return Incident.objects.filter(pk__in=list(ids)).update(
        geocode_status=Incident.GeocodeStatus.PENDING, **GEOCODE_EMPTY
    )
