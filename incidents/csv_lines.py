"""Record-level CSV lines from parts kept beside each incident.

Masking and formatting a million rows in SQL at export time is most of a CSV download's
cost (benchmarks/exports.py; docs/disclosure-and-exports.md, "Speed"). Almost none of it
depends on who downloads: only which location a grant shows (the stored point, the snap
point, the LSOA centroid or none) and whether the free text shows. So each incident keeps
the parts of its line, made once, and an export chooses and joins them per row:

``export_head``
    the cells from ``id`` to ``lsoa``, each followed by its comma;
``export_exact`` / ``export_snapped`` / ``export_lsoa``
    ``lat,lon,precision`` as an exact, a snapped and an LSOA-centroid grant show them;
``export_tail``
    a comma, then the cells from ``geo_class`` to ``location_type_label``;
``export_free_text``
    the ``location_description`` cell;
``export_digest``
    a digest of everything else the parts were made from (the labels, the gazetteer's
    version, the local zone, the line format: :func:`current_digest`).

The cells are exactly ``CsvExport``'s: neutralised, quoted as Python's csv module quotes
(a comma, a double quote, ``\\r`` or ``\\n``), empty text as an empty field.

The columns are plain columns of ``incidents_incident`` (migration 0014), not model fields,
so no ORM query reads them. A trigger clears ``export_digest`` whenever a column the line
is made from changes; :func:`refresh_export_lines` (a Celery task shortly after a publish,
after rows change in place or labels change, and every few minutes) makes the parts of
every row whose digest is not current. An export never relies on that: a row whose digest
is not the current one gets the same parts computed inline, from the same SQL, so the
bytes are the same either way and only the speed differs (tests/exports/test_copy_export.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.access import EffectiveAccess
from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant
from incidents.exports.fields import INCIDENT_FIELDS, FieldSpec
from incidents.exports.labels import export_labels
from incidents.exports.sql_lines import SqlCsvExport, export_settings, local_time_zone
from incidents.exports.streams import ExportStream
from incidents.masking import (
    PRECISION_LSOA,
    PRECISION_NONE,
    PRECISION_SNAPPED,
    SNAP_CELL_METRES,
    Masker,
    _geography,
)
from incidents.masking_sql import (
    SNAP_KEY,
    _allows,
    _allows_params,
    _csv_cells,
    _snap_map,
    _unprojected_snaps,
    csv_cell,
    incident_geojson_export,
    incident_xlsx_export,
    inner_sql,
)
from incidents.models import Incident
from incidents.selectors import incidents_for_export_parts
from istv_portal.queue import send_by_name
from istv_portal.spreadsheet import FORMULA_PREFIXES, neutralise

# Bump whenever the SQL below changes the bytes of a line: every kept part goes stale.
LINE_FORMAT = 1
# The cells of a location that is not shown.
NOT_LOCATED = f",,{PRECISION_NONE}"
PARTS = ("head", "exact", "snapped", "lsoa", "tail", "free_text")
LOCATION_FIELDS = ("lat", "lon", "precision")
# Rows per UPDATE when refreshing (each batch its own transaction).
REFRESH_BATCH = 50_000
# The digest whose parts every row had when a full refresh last finished.
DIGEST_CACHE_KEY = "incidents:export-lines-digest"
# The refresh task, queued this long after a publish or a change in place (so a run of
# publishes shares one), one at a time; and every ten minutes by beat.
REFRESH_TASK = "incidents.tasks.refresh_export_lines"
REFRESH_DELAY_SECONDS = 30
PENDING_KEY = "incidents:export-lines-refresh-pending"

Sql = tuple[str, list[Any]]


def _join(*parts: Sql | str) -> Sql:
    """``concat()`` of SQL parts (a plain ``str`` is a constant), their parameters in order."""
    sql: list[str] = []
    params: list[Any] = []
    for part in parts:
        if isinstance(part, str):
            sql.append("'" + part.replace("'", "''") + "'")
        else:
            sql.append(part[0])
            params += part[1]
    return f"concat({', '.join(sql)})", params


def _labels() -> dict[str, dict[str, str]]:
    """Code -> label cell (neutralised and quoted; empty labels left out) per labelled
    column."""
    return {
        code: {key: csv_cell(neutralise(label)) for key, label in names.items() if label}
        for code, names in export_labels().items()
    }


def current_digest(labels: dict[str, dict[str, str]] | None = None) -> int:
    """The digest of what the parts are made from besides the row: the line format, the
    local zone, the masker's constants, the gazetteer's version and the label maps. A
    signed 64-bit integer (``export_digest`` is a ``bigint``)."""

    labels = _labels() if labels is None else labels
    state = [
        LINE_FORMAT,
        timezone.get_current_timezone_name(),
        SNAP_CELL_METRES,
        sorted(FORMULA_PREFIXES),
        list(_geography().version),
        labels,
    ]
    data = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big", signed=True)


def _parts_sql(
    fields: Sequence[FieldSpec], labels: dict[str, dict[str, str]], snap: Sql, centroid: Sql
) -> dict[str, Sql]:
    """Per part, its SQL over the masked SELECT's inner columns (``q.x_*``), from the CSV
    cells of ``incidents.masking_sql``. ``snap`` and ``centroid`` are the look-ups of the
    snapped and the LSOA-centroid location's finished cells (``lat,lon,precision``, or
    NULL where there is none): :func:`_location_lookups`."""

    names = [f.name for f in fields]
    lat = names.index("lat")
    if tuple(names[lat : lat + 3]) != LOCATION_FIELDS:
        raise ValueError("lat, lon and precision must follow each other")
    free = names[-1] == "location_description"
    cell = _csv_cells(labels)
    head: list[Sql | str] = []
    for name in names[:lat]:
        head += [cell[name], ","]
    tail: list[Sql | str] = []
    for name in names[lat + 3 : len(names) - free]:
        tail += [",", cell[name]]
    located = "q.x_lat IS NOT NULL AND q.x_lon IS NOT NULL"
    exact_sql, exact_params = _join(
        cell["lat_exact"], ",", cell["lon_exact"], ",", cell["precision_exact"]
    )

    def shown(*lookups: Sql) -> Sql:
        """The first location found, for a row with a point; else not located."""
        found = ", ".join(sql for sql, _ in lookups)
        return (
            f"CASE WHEN {located} THEN COALESCE({found}, '{NOT_LOCATED}') ELSE '{NOT_LOCATED}' END",
            [p for _, params in lookups for p in params],
        )

    return {
        "head": _join(*head),
        "exact": (
            f"CASE WHEN {located} THEN {exact_sql} ELSE '{NOT_LOCATED}' END",
            exact_params,
        ),
        "snapped": shown(snap, centroid),
        "lsoa": shown(centroid),
        "tail": _join(*tail),
        "free_text": cell["location_description"] if free else ("NULL::text", []),
    }


def _location_lookups(
    masker: Masker,
    queryset: QuerySet[Incident],
    snapped: Sequence[str],
    *,
    cells: str | None = None,
) -> tuple[Sql, Sql]:
    """SQL (over ``q.x_*``) for the finished ``lat,lon,precision`` cells of the snapped
    location of a row in one of the ``snapped`` boroughs (its snap cell's centre where
    that lies in its borough, from the masker's own cells) and of its LSOA centroid;
    NULL where there is none. Each map is passed once, as ``jsonb`` of text.
    ``cells`` is :func:`snap_cells_json` of the same boroughs, when the caller has it."""
    snap: Sql = ("NULL::text", [])
    if snapped:
        snap = (
            f"(%s::jsonb ->> ({SNAP_KEY}))",
            [cells if cells is not None else snap_cells_json(masker, snapped)],
        )
        if fixes := _unprojected_snaps(queryset, masker, snapped):
            points = {key: _location_text(point) for key, point in fixes.items()}
            snap = (
                f"COALESCE({snap[0]}, %s::jsonb ->> q.x_id::text)",
                [*snap[1], json.dumps(points, separators=(",", ":"))],
            )
    centroids = {
        code: f"{lat!r},{lon!r},{PRECISION_LSOA}"
        for code, (lat, lon) in masker.geography.lsoa_centroids.items()
    }
    centroid = ("(%s::jsonb ->> q.x_lsoa)", [json.dumps(centroids, separators=(",", ":"))])
    return snap, centroid


def _location_text(point: list[str]) -> str:
    """A snap point of ``masking_sql._snap_map`` (``[lat, lon, "s"]``, ``repr`` text) as
    its finished cells."""
    return f"{point[0]},{point[1]},{PRECISION_SNAPPED}"


def snap_cells_json(masker: Masker, snapped: Sequence[str]) -> str:
    """Snap cell key -> finished cells, for every cell of the ``snapped`` boroughs whose
    centre lies in its borough, as the ``jsonb`` text :func:`_location_lookups` reads."""
    cells = {key: _location_text(point) for key, point in _snap_map(masker, snapped).items()}
    return json.dumps(cells, separators=(",", ":"))


def incident_csv_export(
    queryset: QuerySet[Incident], masker: Masker, fields: Sequence[FieldSpec]
) -> SqlCsvExport:
    """The record-level CSV of ``queryset`` for the masker's access, its lines made by
    PostgreSQL (:func:`line_select`); bytes identical to ``CsvExport(with_labels(
    masker.mask_many(queryset.order_by("-assault_at", "-id").values(*RAW_FIELDS))),
    fields)``."""
    sql, params = line_select(queryset, masker, fields)
    return SqlCsvExport(sql, params, fields, using=queryset.db)


def incident_export(
    queryset: QuerySet[Incident], masker: Masker, fields: Sequence[FieldSpec], fmt: str
) -> ExportStream:
    """The record-level export of ``queryset`` in ``fmt`` (``csv``, ``geojson`` or
    ``xlsx``), newest first, masked and formatted by PostgreSQL (the Python masker and
    writers are the reference these are tested against)."""
    if fmt == "csv":
        return incident_csv_export(queryset, masker, fields)
    if fmt == "geojson":
        return incident_geojson_export(queryset, masker, fields)
    if fmt == "xlsx":
        return incident_xlsx_export(queryset, masker, fields)
    raise ValueError(f"unknown export format {fmt!r}")


def line_select(queryset: QuerySet[Incident], masker: Masker, fields: Sequence[FieldSpec]) -> Sql:
    """The SELECT of one ``bytea`` column, each value one record's CSV line with its line
    end (UTF-8), newest first: the kept parts where the row's digest is current, the
    same parts computed inline where it is not, chosen for the masker's access."""

    access = masker.access
    if ("location_description" in [f.name for f in fields]) != masker.shows_free_text:
        raise ValueError("location_description must be exported exactly when free text shows")
    precision = dict(access.precisions)
    exact = sorted(b for b, p in precision.items() if p == AccessGrant.Precision.EXACT)
    snapped = sorted(b for b, p in precision.items() if p == AccessGrant.Precision.SNAPPED)
    coarse = sorted(b for b, p in precision.items() if b not in exact and b not in snapped)
    labels = _labels()
    digest = current_digest(labels)
    snap, centroid = _location_lookups(masker, queryset, snapped)
    inline = _parts_sql(fields, labels, snap, centroid)
    kept: dict[str, Sql] = {part: (f"q.k_{part}", []) for part in PARTS}

    def line(parts: dict[str, Sql]) -> Sql:
        # Every part says "not located" itself for a row without a point.
        location = (
            f"CASE WHEN q.x_borough = ANY(%s::text[]) THEN {parts['exact'][0]} "
            f"WHEN q.x_borough = ANY(%s::text[]) THEN {parts['snapped'][0]} "
            f"WHEN q.x_borough = ANY(%s::text[]) THEN {parts['lsoa'][0]} ELSE %s END",
            [
                exact,
                *parts["exact"][1],
                snapped,
                *parts["snapped"][1],
                coarse,
                *parts["lsoa"][1],
                NOT_LOCATED,
            ],
        )
        pieces: list[Sql | str] = [parts["head"], location, parts["tail"]]
        if masker.shows_free_text:
            pieces += [
                ",",
                (
                    f"CASE WHEN {_allows('q')} THEN {parts['free_text'][0]} END",
                    [*_allows_params(access, "free_text"), *parts["free_text"][1]],
                ),
            ]
        return _join(*pieces, "\n")

    fast_sql, fast_params = line(kept)
    slow_sql, slow_params = line(inline)
    inner, inner_params, empty = inner_sql(queryset, extra=_kept_columns())
    sql = (
        f"SELECT convert_to(CASE WHEN q.k_digest = %s THEN {fast_sql} ELSE {slow_sql} END, "  # noqa: S608
        "'UTF8') "
        f"FROM ({inner}) q WHERE {_allows('q')}{' AND false' if empty else ''} "
        "ORDER BY q.x_assault_at DESC, q.x_id DESC"
    )
    params = [
        digest,
        *fast_params,
        *slow_params,
        *inner_params,
        *_allows_params(access, "record"),
    ]
    return sql, params


def _kept_columns() -> dict[str, RawSQL]:
    """The kept parts and their digest as extra inner columns (not model fields), as
    ``k_<part>`` (``x_lsoa`` is the row's LSOA)."""
    table = Incident._meta.db_table
    # Constants only: the table's name and the part names.
    columns = {
        f"k_{part}": RawSQL(f'"{table}"."export_{part}"', ())  # noqa: S611
        for part in PARTS
    }
    columns["k_digest"] = RawSQL(f'"{table}"."export_digest"', ())  # noqa: S611
    return columns


def _refresh_batch(
    ids: Sequence[int],
    fields: Sequence[FieldSpec],
    digest: int,
    labels: dict[str, dict[str, str]],
    masker: Masker,
    cells: str,
) -> int:
    """Make the parts of the rows ``ids`` with the current labels and gazetteer (``cells``:
    the snap cells of every borough, as ``jsonb`` text); returns the rows updated."""

    queryset = incidents_for_export_parts(ids)
    snap, centroid = _location_lookups(masker, queryset, sorted(LONDON_BOROUGHS), cells=cells)
    parts = _parts_sql(fields, labels, snap, centroid)
    table = Incident._meta.db_table
    # The row version the parts are made from. Had another transaction changed the row
    # after this one's snapshot (a redaction, say), the UPDATE, which waits for it and
    # then looks at the row as it now is, finds another version and leaves the row be:
    # parts made from the old values are never stored as current. Its digest stays
    # cleared, so the next pass makes them from the new values.
    version = {"x_version": RawSQL(f'"{table}".xmin', ())}  # noqa: S611 (constants)
    inner, inner_params, _ = inner_sql(queryset, extra=version)
    columns = ", ".join(f"{sql} AS {part}" for part, (sql, _) in parts.items())
    column_params = [p for _, params in parts.values() for p in params]
    assignments = ", ".join(f"export_{part} = f.{part}" for part in PARTS)
    sql = (
        f"UPDATE {table} i SET {assignments}, export_digest = %s "  # noqa: S608
        f"FROM (SELECT q.x_id, q.x_version, {columns} FROM ({inner}) q) f "
        "WHERE i.id = f.x_id AND i.xmin = f.x_version"
    )
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor
        export_settings(cursor)
        with local_time_zone(cursor):
            cursor.execute(sql, [digest, *column_params, *inner_params])
            updated = int(max(cursor.rowcount, 0))
    return updated


def refresh_export_lines(*, full: bool = False) -> int:
    """Make the parts of every row whose digest is not current: rows new or changed in
    place (digest cleared), and, after the labels or the gazetteer changed (or with
    ``full``), every row. Batches of :data:`REFRESH_BATCH`, each its own transaction;
    returns the rows updated. Idempotent; safe beside publishing and exports."""

    fields = list(INCIDENT_FIELDS)
    labels = _labels()
    digest = current_digest(labels)
    masker = Masker(access=EffectiveAccess(), geography=_geography())
    cells = snap_cells_json(masker, sorted(LONDON_BOROUGHS))
    table = Incident._meta.db_table
    updated = 0
    if full or cache.get(DIGEST_CACHE_KEY) != digest:
        last = 0
        while True:  # every row not made with this digest, in id order
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, export_digest IS DISTINCT FROM %s FROM {table} "  # noqa: S608
                    "WHERE id > %s ORDER BY id LIMIT %s",
                    [digest, last, REFRESH_BATCH],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            if stale := [row_id for row_id, is_stale in rows if is_stale]:
                updated += _refresh_batch(stale, fields, digest, labels, masker, cells)
        cache.set(DIGEST_CACHE_KEY, digest, None)
    after = 0
    while True:  # rows new or changed since (the partial index on cleared digests)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} WHERE export_digest IS NULL AND id > %s "  # noqa: S608
                "ORDER BY id LIMIT %s",
                [after, REFRESH_BATCH],
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            break
        done = _refresh_batch(ids, fields, digest, labels, masker, cells)
        updated += done
        # A row changed while its batch was made keeps its cleared digest: one more
        # pass over the same ids picks it up; a batch that made nothing moves on.
        if done == 0:
            after = ids[-1]
    return updated


def export_lines_refresh_enqueue() -> bool:
    """Queue the refresh of the kept parts shortly, after rows were published or changed in
    place (call it after the commit). One waits at a time: the task clears the mark when
    it starts, so changes committed while it runs queue the next. If the broker is down
    the scheduled run picks the rows up; exports are exact meanwhile."""
    if not cache.add(PENDING_KEY, 1, timeout=REFRESH_DELAY_SECONDS * 20):
        return True
    sent = send_by_name(
        REFRESH_TASK,
        (),
        waiting="the kept CSV line parts wait for the scheduled refresh",
        countdown=REFRESH_DELAY_SECONDS,
    )
    if not sent:
        cache.delete(PENDING_KEY)
    return sent
