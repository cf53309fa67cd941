"""The masked incident SELECT: ``Masker.mask`` and ``CsvExport``'s formatting, in SQL.

A record-level CSV export is made of each row's finished CSV cells (:func:`_csv_cells`),
kept beside the row or computed inline and chosen per user by ``incidents.csv_lines``, so
neither the rows nor the CSV pass through Python: an order of magnitude faster than
masking and writing row by row (docs/disclosure-and-exports.md). The bytes must be the
ones the Python path would give (``CsvExport(with_labels(masker.mask_many(rows)),
fields)``), cell for cell; tests/exports/test_copy_export.py compares the two over every
rule below. Change both together.

The same masked rows are also rendered as one GeoJSON Feature per row
(``masked_geojson_query``: the bytes of ``GeoJsonExport``) and as one worksheet row of
XML per row (``masked_xlsx_query``: the values of ``XlsxExport``), so the three formats
share one masking (tests/exports/test_sql_exports.py compares them with the Python path).

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
import re
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from xlsxwriter.utility import xl_col_to_name

from accounts.access import ALL_EDS, EffectiveAccess
from accounts.models import AccessGrant
from incidents.exports.fields import FieldSpec
from incidents.exports.labels import LABELLED, export_labels
from incidents.exports.sql_lines import SqlGeoJsonExport
from incidents.exports.sql_xlsx import SqlXlsxExport
from incidents.masking import (
    PRECISION_LSOA,
    PRECISION_NONE,
    PRECISION_SNAPPED,
    SNAP_CELL_METRES,
    Masker,
)
from incidents.models import Incident
from incidents.selectors import incident_columns_shape, incidents_among
from istv_portal.spreadsheet import FORMULA_PREFIXES, neutralise

_UTC = "'UTC'"

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


# A row's snap cell key in the maps of :func:`_snap_map` (see :func:`_cell_key`).
SNAP_KEY = (
    f"floor(q.x_easting / {SNAP_CELL_METRES})::text || ' ' || "
    f"floor(q.x_northing / {SNAP_CELL_METRES})::text || ' ' || q.x_borough"
)
# Each labelled code's inner column: a label is looked up from the code the user receives.
_CODE_INNER = {
    "hospital": "q.x_site",
    "borough": "q.x_borough",
    "ward": "q.x_ward",
    "method": "q.x_method",
    "location_type": "q.x_location_type",
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


def _offset_text(offset: str) -> str:
    """The UTC offset ``offset`` (an interval: local wall-clock time minus UTC) as
    ``datetime.isoformat`` writes it: ``+HH:MM`` (``+00:00`` included), ``:SS`` only when
    the offset has seconds. The two offsets London has are constants; any other is
    spelled out from its seconds (``to_char(..., 'OF')`` would give the session's zone)."""
    seconds = f"extract(epoch FROM {offset})::int"
    size = f"abs({seconds})"
    general = (
        f"CASE WHEN {seconds} < 0 THEN '-' ELSE '+' END || lpad(({size} / 3600)::text, 2, '0') "
        f"|| ':' || lpad((mod({size}, 3600) / 60)::text, 2, '0') || CASE WHEN mod({size}, 60) "
        f"<> 0 THEN ':' || lpad(mod({size}, 60)::text, 2, '0') ELSE '' END"
    )
    return (
        f"CASE {offset} WHEN interval '0' THEN '+00:00' WHEN interval '1 hour' THEN '+01:00' "
        f"ELSE {general} END"
    )


def _datetime_text(local: str, expr: str) -> str:
    """A timestamptz as ``CsvExport`` writes a datetime (``streams._csv_datetime``):
    ``local.isoformat()``, ``YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM`` in the local zone;
    ``local`` is ``expr AT TIME ZONE`` that zone.

    The timestamp's own text output (``DateStyle`` ISO, set for the query) with ``T`` for
    the space: it trims trailing zeros of the fraction, which ``isoformat`` writes as six
    digits, hence the ``rpad``. Several times cheaper than ``to_char`` and the offset
    arithmetic per row, which were most of the export's time."""
    text = f"replace({local}::text, ' ', 'T')"
    return (
        f"rpad({text}, CASE WHEN date_trunc('second', {local}) = {local} THEN 19 ELSE 26 END, "
        f"'0') || {_offset_text(f'({local} - ({expr} AT TIME ZONE {_UTC}))')}"
    )


def _datetime_text_local(expr: str, text: str, zone: str) -> tuple[str, list[Any]]:
    """:func:`_datetime_text` of ``expr`` in ``zone``, mostly without converting per row:
    where the session's ``TimeZone`` is ``zone`` (the CSV COPY sets it, see
    ``SqlCsvExport``; checked once per query) and the timestamptz's own text (``text``,
    ``expr::text`` computed once per row) is ``YYYY-MM-DD HH:MM:SS+HH`` (22 characters:
    whole seconds, an offset of whole hours, a four-digit year AD), that text with ``T``
    and ``:00`` is already ``isoformat``'s. Anything else takes the general path."""
    local = f"({expr} AT TIME ZONE %s)"
    general = _datetime_text(local, expr)
    sql = (
        "CASE WHEN (SELECT current_setting('TimeZone') = %s) "  # noqa: S608 (constants only)
        f"AND length({text}) = 22 THEN overlay({text} placing 'T' from 11 for 1) || ':00' "
        f"ELSE {general} END"
    )
    return sql, [zone] * sql.count("%s")


def _json_text(expr: str) -> str:
    """A JSON string (escaped as ``json.dumps`` escapes it) or ``null``."""
    return f"COALESCE(to_json({expr})::text, 'null')"


def _json_offset(offset: str) -> str:
    """The UTC offset as ``DjangoJSONEncoder`` writes it: ``Z`` for UTC itself, else as
    :func:`_offset_text`."""
    return f"CASE {offset} WHEN interval '0' THEN 'Z' ELSE {_offset_text(offset)} END"


def _json_datetime(local: str, expr: str) -> str:
    """A timestamptz as ``DjangoJSONEncoder`` writes a local datetime, quoted: ISO 8601 with
    ``T``, a fraction cut to milliseconds (only when there are microseconds), the offset
    with ``Z`` for UTC. NULL stays NULL."""
    text = f"replace({local}::text, ' ', 'T')"
    return (
        f"'\"' || rpad(left({text}, 23), CASE WHEN date_trunc('second', {local}) = {local} "
        f"THEN 19 ELSE 23 END, '0') || "
        f"{_json_offset(f'({local} - ({expr} AT TIME ZONE {_UTC}))')} || '\"'"
    )


def _json_columns(
    coordinate: Callable[[str, int], str],
    shown: str,
    free_text: str,
    free_text_params: list[Any],
) -> dict[str, tuple[str, list[Any]]]:
    """Per export field, its GeoJSON property value as JSON text (the masked row's value as
    ``DjangoJSONEncoder`` writes it), plus ``geometry``: the Point or ``null``."""
    assault = "date_trunc('second', q.x_assault_at)"
    lat, lon = coordinate("q.x_lat", 0), coordinate("q.x_lon", 1)
    return {
        "geometry": (
            'COALESCE(\'{"type":"Point","coordinates":[\' || '
            f"{lon} || ',' || {lat} || ']}}', 'null')",
            [],
        ),
        "id": ("q.x_id::text", []),
        "hospital": (_json_text("q.x_site"), []),
        "assault_date": ("'\"' || q.x_assault_date::text || '\"'", []),
        "assault_time": (
            f"CASE WHEN q.x_time_known THEN {_json_datetime('m.assault_local', assault)} "
            "ELSE 'null' END",
            [],
        ),
        "arrival_datetime": (
            f"COALESCE({_json_datetime('m.arrival_local', 'q.x_arrival')}, 'null')",
            [],
        ),
        "borough": (_json_text("NULLIF(q.x_borough, '')"), []),
        "ward": (_json_text("NULLIF(q.x_ward, '')"), []),
        "lsoa": (_json_text("NULLIF(q.x_lsoa, '')"), []),
        "precision": (_json_text(shown), []),
        "geo_class": (_json_text("NULLIF(q.x_geo_class, '')"), []),
        "method": (_json_text("q.x_method"), []),
        "location_type": (_json_text("q.x_location_type"), []),
        "location_description": (
            f"CASE WHEN {free_text} THEN to_json(COALESCE(q.x_description, ''))::text "
            "ELSE 'null' END",
            free_text_params,
        ),
    }


def _feature(
    names: Sequence[str], columns: dict[str, tuple[str, list[Any]]]
) -> tuple[str, list[Any]]:
    """One GeoJSON Feature as ``GeoJsonExport`` writes it (compact separators, keys in
    this order): ``type``, ``id``, ``geometry``, then every field but the coordinates as
    a property, in field order. No part is NULL (``null`` is spelled out)."""
    geometry, _ = columns["geometry"]
    parts = [
        '\'{"type":"Feature","id":\'',
        columns["id"][0],
        "',\"geometry\":'",
        geometry,
        "',\"properties\":{'",
    ]
    params: list[Any] = []
    first = True
    for name in names:
        if name in ("lat", "lon"):
            continue
        expr, expr_params = columns[name]
        parts += [f"'{'' if first else ','}\"{name}\":'", expr]
        params += expr_params
        first = False
    parts.append("'}}'")
    # One concat() rather than a chain of ||, which copies the growing text at every step.
    return f"concat({', '.join(parts)})", params


# Characters XML 1.0 cannot carry, which the XLSX writers drop (openpyxl's
# ILLEGAL_CHARACTERS_RE less NUL, which PostgreSQL text cannot hold). ``\x01`` is among
# them, so it can mark the row number in a row's XML.
_XML_ILLEGAL = "".join(chr(c) for c in [*range(1, 9), 11, 12, *range(14, 32)])
_ROW_MARK = "\x01"
_LABELS = frozenset(LABELLED.values())
# Excel's day 0 for serial numbers (1900 date system, after its leap-year bug).
_EXCEL_EPOCH = "timestamp '1899-12-30'"


# Text that needs any of the work of :func:`_xml_text` (most cells need none, and testing
# for it costs a fraction of doing it). ``\r`` (0x0d) is among the controls matched.
_XML_UNSAFE = "[&<>\\x01-\\x08\\x0b-\\x1f]|_x[0-9a-fA-F]{4}_"
# A literal ``_xHHHH_``, which xlsxwriter escapes (a reader would take it for an escape).
_XML_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_XML_DROP = dict.fromkeys(map(ord, _XML_ILLEGAL))


def _xml_text(expr: str, params: list[Any]) -> tuple[str, list[Any]]:
    """SQL for text as xlsxwriter writes it inside an inline string's ``<t>``: the
    characters XML cannot carry dropped (NULL if nothing is left), ``& < >`` escaped, a
    literal ``_xHHHH_`` escaped as ``_x005F_xHHHH_``, ``\r`` as ``_x000D_``; as it is
    when it needs none of that. :func:`_xml_text_py` is the same in Python. ``expr``
    appears three times, so its parameters are given three times."""
    stripped = f"NULLIF(translate({expr}, '{_XML_ILLEGAL}', ''), '')"
    escaped = f"replace(replace(replace({stripped}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
    full = (
        f"replace(regexp_replace({escaped}, '{_XML_ESCAPE.pattern}', '_x005F\\1', 'g'), "
        "E'\\r', '_x000D_')"
    )
    return f"CASE WHEN {expr} ~ '{_XML_UNSAFE}' THEN {full} ELSE {expr} END", params * 3


def _xml_text_py(text: str) -> str:
    """:func:`_xml_text` of one value, in Python."""
    text = text.translate(_XML_DROP)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _XML_ESCAPE.sub(r"_x005F\1", text).replace("\r", "_x000D_")


def _xlsx_inline(text: str) -> str:
    """The ``<t>`` element of an inline string cell holding ``text`` (a label), as
    :func:`_xlsx_row` writes one for a text value; empty text is no element."""
    escaped = _xml_text_py(text)
    if not escaped:
        return ""
    preserve = text[:1] in ("\t", "\n", " ") or text[-1:] in ("\t", "\n", " ")
    space = ' xml:space="preserve"' if preserve else ""
    return f"<t{space}>{escaped}</t>"


def _xlsx_values(
    fields: Sequence[FieldSpec], columns: dict[str, tuple[str, list[Any]]]
) -> dict[str, tuple[str, list[Any]]]:
    """Per field, its cell value as text for the XML (NULL for an empty cell): text as the
    CSV's cell made XML text (:func:`_xml_text`); a label as its whole ``<t>`` element
    (the label maps are rendered in Python, :func:`_xlsx_inline`); a date or a datetime
    as its serial number; numbers as the CSV writes them."""
    values: dict[str, tuple[str, list[Any]]] = {}
    for field in fields:
        expr, params = columns[field.name]
        if field.name == "assault_date":
            expr, params = f"(q.x_assault_date - {_EXCEL_EPOCH}::date)::text", []
        elif field.name == "assault_time":
            expr = f"CASE WHEN q.x_time_known THEN {_excel_serial('m.assault_local')} END"
            params = []
        elif field.name == "arrival_datetime":
            expr, params = _excel_serial("m.arrival_local"), []
        elif field.kind not in ("integer", "number") and field.name not in _LABELS:
            expr, params = _xml_text(expr, params)
        values[field.name] = (expr, params)
    return values


def _excel_serial(local: str) -> str:
    """A local timestamp as an Excel serial number (days since 1899-12-30, the time of day
    as the fraction), the shortest text that reads back as the same double."""
    return f"(extract(epoch FROM ({local} - {_EXCEL_EPOCH})) / 86400)::float8::text"


def _xlsx_row(fields: Sequence[FieldSpec], styles: tuple[int, int]) -> str:
    """The XML of one worksheet row from the values of :func:`_xlsx_values` (columns of
    ``t``), as xlsxwriter writes cells in constant-memory mode: inline strings
    (whitespace kept at either end; codes are identifiers, with none), numbers and serial
    dates in ``<v>``."""
    date_style, datetime_style = styles
    parts = [f"'<row r=\"{_ROW_MARK}\">'"]
    for index, field in enumerate(fields):
        ref = f"{xl_col_to_name(index)}{_ROW_MARK}"
        value = f't."{field.name}"'
        if field.kind in ("integer", "number"):
            parts.append(f"'<c r=\"{ref}\"><v>' || {value} || '</v></c>'")
        elif field.kind in ("date", "datetime"):
            style = date_style if field.name == "assault_date" else datetime_style
            parts.append(f"'<c r=\"{ref}\" s=\"{style}\"><v>' || {value} || '</v></c>'")
        elif field.name in _LABELS:
            # The whole <t> element, from the label map (empty label: NULL, no cell).
            parts.append(
                f"'<c r=\"{ref}\" t=\"inlineStr\"><is>' || NULLIF({value}, '') || '</is></c>'"
            )
        elif field.kind == "code":
            parts.append(f"'<c r=\"{ref}\" t=\"inlineStr\"><is><t>' || {value} || '</t></is></c>'")
        else:
            preserve = (
                f"CASE WHEN ascii({value}) IN (9, 10, 32) OR ascii(right({value}, 1)) "
                "IN (9, 10, 32) THEN ' xml:space=\"preserve\"' ELSE '' END"
            )
            parts.append(
                f"'<c r=\"{ref}\" t=\"inlineStr\"><is><t' || {preserve} || '>' || {value} "
                "|| '</t></is></c>'"
            )
    parts.append("'</row>'")
    return f"concat({', '.join(parts)})"


def inner_sql(
    queryset: QuerySet[Incident], extra: dict[str, Any] | None = None
) -> tuple[str, list[Any], bool]:
    """The filtered queryset as a subquery of the columns masking needs (and ``extra``,
    more ``values()`` expressions by alias), and whether it is empty (Django cannot write
    SQL for ``.none()``: an unfiltered query is used with ``WHERE false`` instead).

    Unordered, so PostgreSQL folds it into the masked SELECT and can scan, mask and format
    in parallel workers before one sort of the finished rows (a subquery with an
    ``ORDER BY`` or a ``LIMIT`` is kept apart and runs in one process). A sliced
    queryset keeps its own ordering, so the slice means what it meant.
    """
    if not queryset.query.is_sliced:
        queryset = queryset.order_by()
    columns = {**_INNER, **(extra or {})}
    compiler = queryset.values(**columns).query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
        return sql, list(params), False
    except EmptyResultSet:
        base = incident_columns_shape().values(**columns).query.get_compiler(queryset.db)
        sql, params = base.as_sql()
        return sql, list(params), True


def _cell_key(cx: int, cy: int, borough: str) -> str:
    """The key of a snap cell in the cells map; the SQL builds the same text from
    ``floor(easting / size)::text`` (a whole float8 prints without a decimal point)."""
    return f"{cx} {cy} {borough}"


def _snap_map(masker: Masker, snapped: Sequence[str]) -> dict[str, list[str]]:
    """Cell key -> [lat, lon, "s"] (``repr`` text; the tag marks a snap point), for every
    cell the masker would snap to its centre in the snapped boroughs
    (:meth:`_Geography.snap_cells`)."""
    cx, cy, borough, lat, lon = masker.geography.snap_cells().for_boroughs(snapped)
    return {
        _cell_key(x, y, b): [repr(la), repr(lo), "s"]
        for x, y, b, la, lo in zip(cx, cy, borough, lat, lon, strict=True)
    }


def _snap_lookup(
    masker: Masker, queryset: QuerySet[Incident], snapped: Sequence[str]
) -> tuple[str, list[Any]]:
    """SQL (over ``q.x_*``) for the snap point of a row in one of the ``snapped`` boroughs
    (jsonb ``[lat, lon, "s"]``, the third element telling it from an LSOA centroid), or
    NULL where its cell centre is not in its borough, it has no point or its borough is
    not among them."""
    if not snapped:
        return "NULL::jsonb", []
    sql = f"(%s::jsonb -> ({SNAP_KEY}))"
    params: list[Any] = [json.dumps(_snap_map(masker, snapped), separators=(",", ":"))]
    if fixes := _unprojected_snaps(queryset, masker, snapped):
        sql = f"COALESCE({sql}, %s::jsonb -> q.x_id::text)"
        params.append(json.dumps(fixes, separators=(",", ":")))
    return sql, params


def _centroid_lookup(masker: Masker) -> tuple[str, list[Any]]:
    """SQL (over ``q.x_*``) for the row's LSOA centroid (jsonb ``[lat, lon]``) or NULL."""
    centroids = {
        code: [repr(lat), repr(lon)] for code, (lat, lon) in masker.geography.lsoa_centroids.items()
    }
    return "(%s::jsonb -> q.x_lsoa)", [json.dumps(centroids, separators=(",", ":"))]


def _csv(expr: str) -> str:
    """A text cell as Python's csv module writes it: quoted (inner quotes doubled) when it
    holds a comma, a double quote, CR or LF; as it is otherwise. NULL stays NULL."""
    return (
        f"CASE WHEN {expr} ~ '[,\"\\r\\n]' THEN '\"' || replace({expr}, '\"', '\"\"') "
        f"|| '\"' ELSE {expr} END"
    )


def csv_cell(text: str) -> str:
    """:func:`_csv` of one value, in Python."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_cells(labels: dict[str, dict[str, str]]) -> dict[str, tuple[str, list[Any]]]:
    """Per export field, SQL (over ``q.x_*``) for its finished CSV cell, the text
    ``CsvExport`` writes for the masked value, or NULL for an empty cell; the location's
    cells as an exact grant shows them (``lat_exact``, ``lon_exact``, ``precision_exact``).
    ``labels`` are code -> finished label cell per labelled column (:func:`csv_cell` of
    the neutralised label). Every expression reads only the row, so it can be kept
    (``incidents.csv_lines``) or computed inline."""
    zone = timezone.get_current_timezone_name()
    assault_sql, assault_params = _datetime_text_local(
        "date_trunc('second', q.x_assault_at)", "date_trunc('second', q.x_assault_at)::text", zone
    )
    arrival_sql, arrival_params = _datetime_text_local("q.x_arrival", "q.x_arrival::text", zone)
    stored_precision = _neutralise("COALESCE(NULLIF(q.x_geo_precision, ''), 'exact')")
    cells: dict[str, tuple[str, list[Any]]] = {
        "id": ("q.x_id::text", []),
        "hospital": (_csv(_text("q.x_site")), []),
        "assault_date": ("q.x_assault_date::text", []),
        "assault_time": (f"CASE WHEN q.x_time_known THEN {assault_sql} END", assault_params),
        "arrival_datetime": (arrival_sql, arrival_params),
        "borough": (_csv(_text("q.x_borough")), []),
        "ward": (_csv(_text("q.x_ward")), []),
        "lsoa": (_csv(_text("q.x_lsoa")), []),
        "lat_exact": (_float_text("q.x_lat"), []),
        "lon_exact": (_float_text("q.x_lon"), []),
        "precision_exact": (_csv(stored_precision), []),
        "geo_class": (_csv(_text("q.x_geo_class")), []),
        "method": (_csv(_text("q.x_method")), []),
        "location_type": (_csv(_text("q.x_location_type")), []),
        "location_description": (_csv(_text("q.x_description")), []),
    }
    for code, label in LABELLED.items():
        cells[label] = (
            f"(%s::jsonb ->> {_CODE_INNER[code]})",
            [json.dumps(labels.get(code, {}), separators=(",", ":"))],
        )
    return cells


def _unprojected_snaps(
    queryset: QuerySet[Incident], masker: Masker, snapped: Sequence[str]
) -> dict[str, list[str]]:
    """Record id -> snap point ([lat, lon, "s"] as in :func:`_snap_map`) of rows in snapped
    boroughs that have a point but no grid coordinates, computed by the masker itself (it
    projects ``lat``/``lon``); rows it sends to the LSOA centroid are left out. Normally
    none (see the module docstring)."""
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
            points[str(row["id"])] = [repr(point[0]), repr(point[1]), "s"]
    return points


def masked_geojson_query(
    queryset: QuerySet[Incident], masker: Masker, fields: Sequence[FieldSpec]
) -> tuple[str, list[Any]]:
    """The SELECT (and its parameters) of one column, ``feature``: per record, the UTF-8
    text of its GeoJSON Feature exactly as ``GeoJsonExport`` writes the masked row (the
    same rows, order, masking and labels as the CSV, ``incidents.csv_lines``; JSON values, not
    spreadsheet text: nothing is neutralised, an empty code is ``null`` where the masker
    gives ``None``). Joined with ``,`` inside ``{"type":"FeatureCollection","features":[``
    and ``]}`` they are the bytes of ``GeoJsonExport(with_labels(masker.mask_many(rows)),
    fields)``.
    """
    return _masked_select(queryset, masker, fields, render="geojson")


def masked_xlsx_query(
    queryset: QuerySet[Incident],
    masker: Masker,
    fields: Sequence[FieldSpec],
    *,
    date_style: int,
    datetime_style: int,
) -> tuple[str, list[Any]]:
    """The SELECT (and its parameters) of one column, ``row``: per record, the UTF-8 XML
    of its worksheet row (``<row>`` with one ``<c>`` per non-empty cell, text inline) with
    the values ``XlsxExport`` writes for the masked row: the CSV's text (neutralised),
    stripped of the control characters XML cannot carry; numbers as numbers; dates and
    local wall-clock datetimes as Excel serial numbers in the cell styles ``date_style``
    and ``datetime_style`` (xlsxwriter's format indices). Every place the row number
    belongs holds the byte ``\x01`` (no text can contain it: it is stripped), for the
    writer to fill in (:class:`incidents.exports.sql_xlsx.SqlXlsxExport`).
    """
    return _masked_select(
        queryset, masker, fields, render="xlsx", xlsx_styles=(date_style, datetime_style)
    )


def _masked_select(
    queryset: QuerySet[Incident],
    masker: Masker,
    fields: Sequence[FieldSpec],
    *,
    render: str,
    xlsx_styles: tuple[int, int] = (0, 0),
) -> tuple[str, list[Any]]:
    """The masked SELECT: one GeoJSON feature (``render="geojson"``) or one worksheet row
    (``render="xlsx"``) per record. (The CSV's lines are ``incidents.csv_lines``'s, from
    :func:`_csv_cells`.)

    ``fields`` are the export's columns, a subsequence of ``INCIDENT_FIELDS`` in that
    order; ``location_description`` belongs there exactly when ``masker.shows_free_text``.
    Placeholders are ``%s`` (parameters are bound on the client).

    Snap points and LSOA centroids come from the masker's own geography, passed as two
    ``jsonb`` maps (key -> [lat, lon] already as ``repr`` text) and looked up per row, only
    where the row's mode needs one: no joins, so the rows keep the inner query's order and
    the output is not sorted again. Labels likewise, for XLSX already neutralised
    in Python (the maps are small; the rows are many).
    """
    access = masker.access
    precision = dict(access.precisions)
    exact = sorted(b for b, p in precision.items() if p == AccessGrant.Precision.EXACT)
    snapped = sorted(b for b, p in precision.items() if p == AccessGrant.Precision.SNAPPED)
    coarse = sorted(b for b, p in precision.items() if b not in exact and b not in snapped)

    inner, inner_params, empty = inner_sql(queryset)
    local_zone = timezone.get_current_timezone_name()
    # Once per row: local wall-clock timestamps.
    local_columns = (
        ", date_trunc('second', q.x_assault_at) AT TIME ZONE %s, q.x_arrival AT TIME ZONE %s"
    )
    local_names = ", assault_local timestamp, arrival_local timestamp"
    local_params = [local_zone, local_zone]

    # Per row, computed once (see the LATERAL below): the masker's mode — e(xact),
    # s(napped), l(soa) or NULL (not located) — and the point shown.
    mode = (
        "CASE WHEN q.x_lat IS NULL OR q.x_lon IS NULL THEN NULL "
        "WHEN q.x_borough = ANY(%s::text[]) THEN 'e' "
        "WHEN q.x_borough = ANY(%s::text[]) THEN 's' "
        "WHEN q.x_borough = ANY(%s::text[]) THEN 'l' END"
    )
    middle_params: list[Any] = [exact, snapped, coarse]
    # The point shown, looked up only where the mode needs one: a snap point (tagged by a
    # third element, so the precision shown can tell the two apart) or, failing that or
    # in an LSOA-centroid borough, the LSOA centroid. COALESCE stops at the first
    # non-NULL, so a snapped row with a snap point costs one lookup, not two.
    snap, snap_params = _snap_lookup(masker, queryset, snapped)
    centroid, centroid_params = (
        _centroid_lookup(masker) if snapped or coarse else ("NULL::jsonb", [])
    )
    point = (
        "CASE WHEN q.x_lat IS NULL OR q.x_lon IS NULL THEN NULL "
        f"WHEN q.x_borough = ANY(%s::text[]) THEN COALESCE({snap}, {centroid}) "
        f"WHEN q.x_borough = ANY(%s::text[]) THEN {centroid} END"
    )
    middle_params += [snapped, *snap_params, *centroid_params, coarse, *centroid_params]

    # Location columns from the mode and the point: (lat, lon, precision shown).
    stored_precision = "COALESCE(NULLIF(q.x_geo_precision, ''), 'exact')"
    shown = (
        f"CASE WHEN m.mode = 'e' THEN {stored_precision} "
        f"WHEN m.point IS NULL THEN '{PRECISION_NONE}' "
        f"WHEN jsonb_array_length(m.point) = 3 THEN '{PRECISION_SNAPPED}' "
        f"ELSE '{PRECISION_LSOA}' END"
    )

    def coordinate(column: str, index: int) -> str:
        return f"CASE WHEN m.mode = 'e' THEN {_float_text(column)} ELSE m.point ->> {index} END"

    columns: dict[str, tuple[str, list[Any]]] = {
        "id": ("q.x_id", []),
        "hospital": (_text("q.x_site"), []),
        # A date's text under DateStyle ISO (set for the query) is YYYY-MM-DD.
        "assault_date": ("q.x_assault_date::text", []),
        # The datetimes: GeoJSON and XLSX write their own forms (_json_columns,
        # _xlsx_values) from the local timestamps.
        "assault_time": ("NULL", []),
        "arrival_datetime": ("NULL", []),
        "borough": (_text("q.x_borough"), []),
        "ward": (_text("q.x_ward"), []),
        "lsoa": (_text("q.x_lsoa"), []),
        "lat": (coordinate("q.x_lat", 0), []),
        "lon": (coordinate("q.x_lon", 1), []),
        # Neutralised where it can need it: the stored precision (the others are
        # constants that start with a letter).
        "precision": (shown.replace(stored_precision, _neutralise(stored_precision)), []),
        "geo_class": (_text("q.x_geo_class"), []),
        "method": (_text("q.x_method"), []),
        "location_type": (_text("q.x_location_type"), []),
        "location_description": (
            f"CASE WHEN {_allows('q')} THEN {_text('q.x_description')} END",
            _allows_params(access, "free_text"),
        ),
    }
    # Labels beside codes (incidents.exports.labels), looked up per row from the code
    # the user receives: an empty code has an empty label.
    names = [f.name for f in fields]
    wanted = [code for code, label in LABELLED.items() if label in names]
    maps = export_labels() if wanted else {}
    # GeoJSON shows labels as they are; a spreadsheet cell is neutralised, an empty label
    # is an empty cell, and each is its cell's <t> element: done once per label here, not
    # once per row in SQL (a missing key gives NULL, as NULLIF does).
    if render == "xlsx":
        maps = {
            code: {
                key: _xlsx_inline(neutralise(label)) for key, label in maps[code].items() if label
            }
            for code in wanted
        }
    labels = {
        code: (
            f"(%s::jsonb ->> {_CODE_INNER[code]})",
            [json.dumps(maps[code], separators=(",", ":"))],
        )
        for code in wanted
    }
    for code, label in labels.items():
        columns[LABELLED[code]] = label
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise ValueError(f"no SQL for export field(s) {unknown}")
    if ("location_description" in names) != masker.shows_free_text:
        raise ValueError("location_description must be exported exactly when free text shows")

    select: list[str] = []
    select_params: list[Any] = []
    if render == "geojson":
        json_columns = _json_columns(
            coordinate, shown, _allows("q"), _allows_params(access, "free_text")
        )
        json_columns.update(
            {LABELLED[code]: (_json_text(sql), params) for code, (sql, params) in labels.items()}
        )
        line, select_params = _feature(names, json_columns)
        select.append(f"convert_to({line}, 'UTF8') AS feature")
    else:
        columns.update(_xlsx_values(fields, columns))
        for name in names:
            expr, expr_params = columns[name]
            select.append(expr)
            select_params += expr_params

    # Built from constants and the queryset's own SQL; every value is a bound parameter.
    # The mode, the point and the local times are computed once per row by a LATERAL
    # unnest() of a one-row array: a plain expression would be repeated at every
    # reference once PostgreSQL folds it in, and a LATERAL subquery (which it does not
    # fold) cannot run in parallel workers. So the whole per-row work, masking and
    # formatting, runs in parallel workers below one sort of the finished rows. One
    # unnest() of a row, not one per value: each call costs about a microsecond.
    lateral = (
        f"CROSS JOIN LATERAL unnest(ARRAY[ROW({mode}, {point}{local_columns})]) "
        f"AS m(mode text, point jsonb{local_names})"
    )
    lateral_params = [*middle_params, *local_params]
    where = f"WHERE {_allows('q')}{' AND false' if empty else ''}"
    order = "ORDER BY q.x_assault_at DESC, q.x_id DESC"
    record_params = _allows_params(access, "record")
    if render == "xlsx":
        # The cell values once per row (a second LATERAL), the row's XML around them.
        cells = ", ".join(f"({expr})::text" for expr in select)
        aliases = ", ".join(f'"{name}" text' for name in names)
        values = f"CROSS JOIN LATERAL unnest(ARRAY[ROW({cells})]) AS t({aliases})"
        row = f"convert_to({_xlsx_row(fields, xlsx_styles)}, 'UTF8') AS row"
        sql = f"SELECT {row} FROM ({inner}) q {lateral} {values} {where} {order}"  # noqa: S608
        return sql, [*inner_params, *lateral_params, *select_params, *record_params]
    sql = f"SELECT {', '.join(select)} FROM ({inner}) q {lateral} {where} {order}"  # noqa: S608
    return sql, [*select_params, *inner_params, *lateral_params, *record_params]


def incident_geojson_export(
    queryset: QuerySet[Incident], masker: Masker, fields: Sequence[FieldSpec]
) -> SqlGeoJsonExport:
    """The record-level GeoJSON of ``queryset`` for the masker's access, produced by
    PostgreSQL with the CSV's masking (:func:`masked_geojson_query`); bytes identical to
    ``GeoJsonExport(with_labels(masker.mask_many(...)), fields)`` over the same rows."""
    sql, params = masked_geojson_query(queryset, masker, fields)
    return SqlGeoJsonExport(sql, params, fields, using=queryset.db)


def incident_xlsx_export(
    queryset: QuerySet[Incident], masker: Masker, fields: Sequence[FieldSpec]
) -> SqlXlsxExport:
    """The record-level XLSX of ``queryset`` for the masker's access: rows masked and
    written as worksheet XML by PostgreSQL (:func:`masked_xlsx_query`), packaged by
    xlsxwriter; the values of ``XlsxExport(with_labels(masker.mask_many(...)), fields)``."""

    def query_for(date_style: int, datetime_style: int) -> tuple[str, list[Any]]:
        return masked_xlsx_query(
            queryset, masker, fields, date_style=date_style, datetime_style=datetime_style
        )

    return SqlXlsxExport(query_for, fields, using=queryset.db)
