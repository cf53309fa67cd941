"""The masked incident SELECT: ``Masker.mask`` and ``CsvExport``'s formatting, in SQL.

A record-level CSV export runs this SELECT inside PostgreSQL's ``COPY ... TO STDOUT
(FORMAT csv, HEADER)`` (``incidents.exports.CopyCsvExport``), so neither the rows nor the
CSV pass through Python: an order of magnitude faster than masking and writing row by row
(docs/disclosure-and-exports.md). The bytes must be the ones the Python path would give
(``CsvExport(with_labels(masker.mask_many(rows)), fields)``), cell for cell; tests/exports/
test_copy_export.py compares the two over every rule below. Change both together.

What the SQL reproduces:

* rows the user does not see at record level are dropped (the queryset already does
  that): placed rows by their borough, unlocated rows by their ED's borough
  (``EffectiveAccess.allows``);
* the location per row from the grant's precision in its borough: ``exact`` the stored
  point and ``geo_precision`` (or "exact"); ``snapped`` the cell centre from
  :meth:`_Geography.snap_cells` when the cell centre lies in the incident's borough, else
  the LSOA centroid; any other precision the LSOA centroid; no grant precision, no point
  or no centroid: empty and "not_located";
* the label beside each labelled code (``incidents.exports.labels``), from the same maps
  passed as ``jsonb``, looked up from the code as shown (empty code, empty label);
* the free-text column only when the masker shows it, text only where the free-text right
  reaches (by the same rule);
* cell formatting as Python's csv module writes Python values: ``float`` as ``repr`` (see
  :func:`_float_text`), datetimes (the arrival, and the assault when its time is known,
  to the second) as ISO 8601 in local time with the UTC offset
  (``2026-07-04T23:15:00+01:00``), empty text and ``None`` as an empty unquoted field,
  and every text cell neutralised like ``istv_portal.spreadsheet.neutralise``.

Rows whose point lacks British National Grid coordinates (``easting``/``northing``) are
snapped by the masker from ``lat``/``lon``; the loader and the geocoder always write both
together, so such rows should not exist, but when a snapped borough has any, their snap
points are computed here in Python with the masker's own code and passed to the SQL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.access import ALL_EDS, EffectiveAccess
from accounts.models import AccessGrant
from incidents.exports.copy_csv import CopyCsvExport
from incidents.exports.fields import FieldSpec
from incidents.exports.labels import LABELLED, export_labels
from incidents.masking import (
    PRECISION_LSOA,
    PRECISION_NONE,
    PRECISION_SNAPPED,
    SNAP_CELL_METRES,
    Masker,
)
from incidents.models import Incident
from incidents.selectors import incident_columns_shape, incidents_among
from istv_portal.spreadsheet import FORMULA_PREFIXES

# The inner SELECT's columns: the filtered queryset's ``values()`` under these aliases
# (prefixed, since ``values()`` refuses an alias that is also a field name).
_INNER: dict[str, F] = {
    "x_id": F("id"),
    "x_site": F("site__site_code"),
    "x_site_borough": F("site__borough_code"),
    "x_assault_at": F("assault_at"),
    "x_assault_date": F("assault_date"),
    "x_time_known": F("assault_time_known"),
    "x_arrival": F("arrival_at"),
    "x_borough": F("borough_code"),
    "x_ward": F("ward_code"),
    "x_lsoa": F("lsoa_code"),
    "x_lat": F("lat"),
    "x_lon": F("lon"),
    "x_easting": F("easting"),
    "x_northing": F("northing"),
    "x_geo_precision": F("geo_precision"),
    "x_geo_class": F("geo_class"),
    "x_method": F("method_code"),
    "x_location_type": F("location_type_code"),
    "x_description": F("location_description"),
}


def _allows(table: str) -> str:
    """SQL for ``EffectiveAccess.allows`` on one row; parameters from :func:`_allows_params`."""
    return (
        f"({table}.x_borough = ANY(%s::text[]) OR ({table}.x_borough = '' "
        f"AND (%s OR {table}.x_site_borough = ANY(%s::text[]))))"
    )


def _allows_params(access: EffectiveAccess, right: str) -> list[Any]:
    boroughs, eds = access.scope(right)
    return [sorted(boroughs), ALL_EDS in eds, sorted(eds - {ALL_EDS})]


def _neutralise(expr: str) -> str:
    """SQL for ``neutralise(expr)``: a leading ``'`` before a formula or control character.

    ``ascii()`` gives the code point of the first character (0 for empty text); NUL, which
    ``FORMULA_PREFIXES`` also lists, cannot occur in PostgreSQL text.
    """
    codes = ", ".join(str(ord(c)) for c in sorted(FORMULA_PREFIXES) if c != "\0")
    return f"CASE WHEN ascii({expr}) IN ({codes}) THEN '''' || {expr} ELSE {expr} END"


def _text(expr: str) -> str:
    """A text cell: neutralised, and empty text as NULL so COPY writes an empty field (it
    quotes an empty string, Python's csv does not)."""
    return _neutralise(f"NULLIF({expr}, '')")


def _float_text(expr: str) -> str:
    """A float8 as Python's ``repr``. PostgreSQL 12+ prints the shortest text that reads
    back exactly (``extra_float_digits`` 1, set for the COPY), the same digits and the
    same exponent form as ``repr`` below 1e15 in magnitude (checked over millions of
    values, see the tests), except that ``repr`` gives whole numbers a ``.0`` (``52.0``,
    ``-0.0``). Coordinates are far below 1e15."""
    return (
        f"CASE WHEN {expr} = trunc({expr}) AND abs({expr}) < 1e15 "
        f"THEN {expr}::text || '.0' ELSE {expr}::text END"
    )


def _offset_text(local: str, expr: str) -> str:
    """The UTC offset of a local timestamp as ``datetime.isoformat`` writes it:
    ``+HH:MM`` (``+00:00`` included), ``:SS`` only when the offset has seconds. ``local``
    is ``expr`` (a timestamptz) ``AT TIME ZONE`` the local zone; the offset is their
    difference from UTC (``to_char(..., 'OF')`` would give the session's zone, UTC)."""
    seconds = f"extract(epoch FROM ({local} - ({expr} AT TIME ZONE 'UTC')))::int"
    size = f"abs({seconds})"
    return (
        f"CASE WHEN {seconds} < 0 THEN '-' ELSE '+' END || lpad(({size} / 3600)::text, 2, '0') "
        f"|| ':' || lpad((mod({size}, 3600) / 60)::text, 2, '0') || CASE WHEN mod({size}, 60) "
        f"<> 0 THEN ':' || lpad(mod({size}, 60)::text, 2, '0') ELSE '' END"
    )


def _datetime_text(local: str, expr: str) -> str:
    """A timestamptz as ``CsvExport`` writes a datetime (``streams._csv_datetime``):
    ``local.isoformat()``, ``YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM`` in the local zone;
    ``local`` is ``expr AT TIME ZONE`` that zone."""
    return (
        f"to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', "
        f"{local}) = {local} THEN '' ELSE to_char({local}, '.US') END || "
        f"{_offset_text(local, expr)}"
    )


def _inner_sql(queryset: QuerySet[Incident]) -> tuple[str, list[Any], bool]:
    """The filtered queryset as a subquery of the columns masking needs, newest first, and
    whether it is empty (Django cannot write SQL for ``.none()``: an unfiltered query is
    used with ``WHERE false`` instead).

    The ordering is the export's, so PostgreSQL sorts these narrow rows once and the
    outer query, which keeps their order, needs no second sort of the wide CSV rows. A
    sliced queryset keeps its own ordering (so the slice means what it meant); if that
    is not newest first, PostgreSQL sorts the slice again for the output.
    """
    if not queryset.query.is_sliced:
        queryset = queryset.order_by("-assault_at", "-id")
    compiler = queryset.values(**_INNER).query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
        return sql, list(params), False
    except EmptyResultSet:
        base = incident_columns_shape().values(**_INNER).query.get_compiler(queryset.db)
        sql, params = base.as_sql()
        return sql, list(params), True


def _cell_key(cx: int, cy: int, borough: str) -> str:
    """The key of a snap cell in the cells map; the SQL builds the same text from
    ``floor(easting / size)::text`` (a whole float8 prints without a decimal point)."""
    return f"{cx} {cy} {borough}"


def _snap_map(masker: Masker, snapped: Sequence[str]) -> dict[str, list[str]]:
    """Cell key -> [lat, lon] as ``repr`` text, for every cell the masker would snap to its
    centre in the snapped boroughs (:meth:`_Geography.snap_cells`)."""
    cx, cy, borough, lat, lon = masker.geography.snap_cells().for_boroughs(snapped)
    return {
        _cell_key(x, y, b): [repr(la), repr(lo)]
        for x, y, b, la, lo in zip(cx, cy, borough, lat, lon, strict=True)
    }


def _unprojected_snaps(
    queryset: QuerySet[Incident], masker: Masker, snapped: Sequence[str]
) -> dict[str, list[str]]:
    """Record id -> snap point ([lat, lon] as ``repr`` text) of rows in snapped boroughs
    that have a point but no grid coordinates, computed by the masker itself (it projects
    ``lat``/``lon``); rows it sends to the LSOA centroid are left out. Normally none (see
    the module docstring)."""
    if queryset.query.is_sliced:  # cannot be filtered further: take its ids as a subquery
        queryset = incidents_among(queryset)
    rows = (
        queryset.order_by()
        .filter(borough_code__in=list(snapped), lat__isnull=False, lon__isnull=False)
        .filter(Q(easting__isnull=True) | Q(northing__isnull=True))
        .values("id", "lat", "lon", "easting", "northing", "borough_code")
    )
    points: dict[str, list[str]] = {}
    for row in rows.iterator(chunk_size=2000):
        point = masker._snap(row)
        if point is not None:
            points[str(row["id"])] = [repr(point[0]), repr(point[1])]
    return points


def masked_csv_query(
    queryset: QuerySet[Incident], masker: Masker, fields: Sequence[FieldSpec]
) -> tuple[str, list[Any]]:
    """The SELECT (and its parameters) whose ``COPY ... (FORMAT csv, HEADER)`` is the
    record-level CSV of ``queryset`` for the masker's access, ordered newest first.

    ``fields`` are the export's columns, a subsequence of ``INCIDENT_FIELDS`` in that
    order; ``location_description`` belongs there exactly when ``masker.shows_free_text``.
    Placeholders are ``%s`` (psycopg binds COPY parameters on the client).

    Snap points and LSOA centroids come from the masker's own geography, passed as two
    ``jsonb`` maps (key -> [lat, lon] already as ``repr`` text) and looked up per row: no
    joins, so the rows keep the inner query's order and the output is not sorted again.
    """
    access = masker.access
    precision = dict(access.precisions)
    exact = sorted(b for b, p in precision.items() if p == AccessGrant.Precision.EXACT)
    snapped = sorted(b for b, p in precision.items() if p == AccessGrant.Precision.SNAPPED)
    coarse = sorted(b for b, p in precision.items() if b not in exact and b not in snapped)

    inner, inner_params, empty = _inner_sql(queryset)

    # Per row, computed once (the subquery has OFFSET 0 so PostgreSQL does not fold it
    # into the outer query and repeat these for every reference): the masker's mode —
    # e(xact), s(napped), l(soa) or NULL (not located) — the snap point and the centroid.
    mode = (
        "CASE WHEN q.x_lat IS NULL OR q.x_lon IS NULL THEN NULL "
        "WHEN q.x_borough = ANY(%s::text[]) THEN 'e' "
        "WHEN q.x_borough = ANY(%s::text[]) THEN 's' "
        "WHEN q.x_borough = ANY(%s::text[]) THEN 'l' END"
    )
    middle_params: list[Any] = [exact, snapped, coarse]
    snap = "NULL::jsonb"
    if snapped:
        key = (
            f"floor(q.x_easting / {SNAP_CELL_METRES})::text || ' ' || "
            f"floor(q.x_northing / {SNAP_CELL_METRES})::text || ' ' || q.x_borough"
        )
        snap = f"(%s::jsonb -> ({key}))"
        middle_params.append(json.dumps(_snap_map(masker, snapped), separators=(",", ":")))
        if fixes := _unprojected_snaps(queryset, masker, snapped):
            snap = f"COALESCE({snap}, %s::jsonb -> q.x_id::text)"
            middle_params.append(json.dumps(fixes, separators=(",", ":")))
    centroid = "NULL::jsonb"
    if snapped or coarse:
        centroids = {
            code: [repr(lat), repr(lon)]
            for code, (lat, lon) in masker.geography.lsoa_centroids.items()
        }
        centroid = "(%s::jsonb -> q.x_lsoa)"
        middle_params.append(json.dumps(centroids, separators=(",", ":")))

    # Location columns from the mode: (lat, lon, precision shown).
    use_snap = "p.mode = 's' AND p.snap IS NOT NULL"
    use_centroid = "p.mode IN ('s', 'l') AND p.centroid IS NOT NULL"
    shown = (
        "CASE WHEN p.mode = 'e' THEN COALESCE(NULLIF(p.x_geo_precision, ''), 'exact') "
        f"WHEN {use_snap} THEN '{PRECISION_SNAPPED}' "
        f"WHEN {use_centroid} THEN '{PRECISION_LSOA}' ELSE '{PRECISION_NONE}' END"
    )

    def coordinate(column: str, index: int) -> str:
        return (
            f"CASE WHEN p.mode = 'e' THEN {_float_text(column)} "
            f"WHEN {use_snap} THEN p.snap ->> {index} "
            f"WHEN {use_centroid} THEN p.centroid ->> {index} END"
        )

    columns: dict[str, tuple[str, list[Any]]] = {
        "id": ("p.x_id", []),
        "hospital": (_text("p.x_site"), []),
        "assault_date": ("to_char(p.x_assault_date::timestamp, 'YYYY-MM-DD')", []),
        # Local datetimes with their offset; the assault to the whole second, and only
        # when its time is known.
        "assault_time": (
            "CASE WHEN p.x_time_known THEN "
            + _datetime_text("p.assault_local", "date_trunc('second', p.x_assault_at)")
            + " END",
            [],
        ),
        "arrival_datetime": (_datetime_text("p.arrival_local", "p.x_arrival"), []),
        "borough": (_text("p.x_borough"), []),
        "ward": (_text("p.x_ward"), []),
        "lsoa": (_text("p.x_lsoa"), []),
        "lat": (coordinate("p.x_lat", 0), []),
        "lon": (coordinate("p.x_lon", 1), []),
        "precision": (_neutralise(shown), []),
        "geo_class": (_text("p.x_geo_class"), []),
        "method": (_text("p.x_method"), []),
        "location_type": (_text("p.x_location_type"), []),
        "location_description": (
            f"CASE WHEN {_allows('p')} THEN {_text('p.x_description')} END",
            _allows_params(access, "free_text"),
        ),
    }
    # Labels beside codes (incidents.exports.labels), looked up per row from the code
    # the user receives: an empty code has an empty label.
    code_inner = {
        "hospital": "q.x_site",
        "borough": "q.x_borough",
        "ward": "q.x_ward",
        "method": "q.x_method",
        "location_type": "q.x_location_type",
    }
    names = [f.name for f in fields]
    wanted = [code for code, label in LABELLED.items() if label in names]
    maps = export_labels() if wanted else {}
    label_columns = ", ".join(
        [f"(%s::jsonb ->> {code_inner[code]}) AS l_{code}" for code in wanted] or ["NULL"]
    )
    label_params = [json.dumps(maps[code], separators=(",", ":")) for code in wanted]
    for code in wanted:
        columns[LABELLED[code]] = (_text(f"p.l_{code}"), [])
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise ValueError(f"no SQL for export field(s) {unknown}")
    if ("location_description" in names) != masker.shows_free_text:
        raise ValueError("location_description must be exported exactly when free text shows")

    select: list[str] = []
    select_params: list[Any] = []
    for name in names:
        expr, expr_params = columns[name]
        select.append(f'{expr} AS "{name}"')
        select_params += expr_params

    # Built from constants and the queryset's own SQL; every value is a bound parameter.
    sql = (
        f"SELECT {', '.join(select)} FROM ("  # noqa: S608
        f"SELECT q.*, {mode} AS mode, {snap} AS snap, {centroid} AS centroid, "
        "date_trunc('second', q.x_assault_at) AT TIME ZONE %s AS assault_local, "
        "q.x_arrival AT TIME ZONE %s AS arrival_local, "
        f"{label_columns} "
        f"FROM ({inner}) q "
        # A second line of defence: the queryset is already limited to these boroughs.
        f"WHERE {_allows('q')}{' AND false' if empty else ''} "
        # Already in this order: stated so the outer ORDER BY is seen to need no sort.
        "ORDER BY q.x_assault_at DESC, q.x_id DESC OFFSET 0) p "
        "ORDER BY p.x_assault_at DESC, p.x_id DESC"
    )
    local_zone = timezone.get_current_timezone_name()
    params = [
        *select_params,
        *middle_params,
        local_zone,
        local_zone,
        *label_params,
        *inner_params,
        *_allows_params(access, "record"),
    ]
    return sql, params


def incident_csv_export(
    queryset: QuerySet[Incident], masker: Masker, fields: Sequence[FieldSpec]
) -> CopyCsvExport:
    """The record-level CSV of ``queryset`` for the masker's access, produced by
    PostgreSQL (see the module docstring); bytes identical to
    ``CsvExport(with_labels(masker.mask_many(queryset.order_by("-assault_at", "-id")
    .values(*RAW_FIELDS))), fields)``."""
    sql, params = masked_csv_query(queryset, masker, fields)
    return CopyCsvExport(sql, params, fields, using=queryset.db)
