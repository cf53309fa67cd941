"""The PostgreSQL path of record-level CSV exports against the Python path.

``incident_csv_export`` (lines from the parts of incidents/csv_lines.py, streamed) must
give exactly the bytes of ``CsvExport(masker.mask_many(rows))`` for every access, whether
the parts are kept, computed inline or some of each: the Python masker is the reference,
and these tests build incidents that exercise each of its rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.access import ALL_EDS, EffectiveAccess
from hospitals.models import Submission
from incidents.csv_lines import (
    current_digest,
    incident_csv_export,
    line_select,
    refresh_export_lines,
)
from incidents.exports import (
    INCIDENT_FIELDS,
    CsvExport,
    ExportNotFinished,
    FieldSpec,
)
from incidents.exports.labels import with_labels
from incidents.exports.sql_lines import SqlCsvExport
from incidents.exports.streams import CHUNK_SIZE
from incidents.geocoding.models import Area
from incidents.masking import RAW_FIELDS, Masker, reset_geography_cache
from incidents.masking_sql import _float_text
from incidents.models import HarmonisedCode, Incident
from tests.workspace_api.factories import (
    BOXES,
    LAMBETH,
    LONDON,
    SOUTHWARK,
    TOWER_HAMLETS,
    WARDS,
    geography_create,
    incident_row,
    incidents_create,
    site_get,
    submission_create,
)

pytestmark = pytest.mark.django_db

ALL = (SOUTHWARK, LAMBETH, TOWER_HAMLETS)
NO_CENTROID_LSOA = "E01999999"
UTC = dt.UTC
# Text a spreadsheet would run, and text CSV must quote.
AWKWARD = [
    '=HYPERLINK("http://x")',
    "+44 20 7946 0000",
    "-",
    "@SUM(A1)",
    "\tleading tab",
    "\rleading return",
    "\nleading newline",
    'the "Red Lion", Borough High St',
    "line one\nline two",
    "carriage\rreturn",
    "crlf\r\ninside",
    "  spaces either side  ",
    "Café £5 — naïve",
    "'already quoted",
    "\\.",
    "",
    "fish & chips <b>",
    "bell\x07inside",
]


def access_for(
    precisions: dict[str, str],
    *,
    free_text: tuple[str, ...] = ALL,
    aggregate_only: tuple[str, ...] = (),
    unlocated: tuple[str, ...] = (),
    unlocated_free_text: tuple[str, ...] = (),
) -> EffectiveAccess:
    records = frozenset(precisions)
    return EffectiveAccess(
        boroughs=records | frozenset(aggregate_only),
        record_boroughs=records,
        download_boroughs=records,
        free_text_boroughs=frozenset(free_text) & records,
        precisions=tuple(sorted(precisions.items())),
        unlocated=frozenset(unlocated),
        unlocated_record=frozenset(unlocated),
        unlocated_download=frozenset(unlocated),
        unlocated_free_text=frozenset(unlocated_free_text),
    )


ACCESSES = {
    "exact pan-London": access_for(dict.fromkeys(ALL, "exact")),
    "snapped": access_for(dict.fromkeys(ALL, "snapped")),
    "lsoa": access_for(dict.fromkeys(ALL, "lsoa")),
    "mixed per borough": access_for(
        {SOUTHWARK: "exact", LAMBETH: "snapped", TOWER_HAMLETS: "lsoa"}, free_text=(SOUTHWARK,)
    ),
    "no free text": access_for(dict.fromkeys(ALL, "snapped"), free_text=()),
    "partly aggregate": access_for(
        {SOUTHWARK: "snapped", LAMBETH: "exact"}, aggregate_only=(TOWER_HAMLETS,)
    ),
    # Unlocated incidents: every ED's (pan-London), or only those at EDs in some boroughs,
    # with free text on some of them only.
    "pan-London with unlocated": access_for(
        dict.fromkeys(ALL, "exact"), unlocated=(ALL_EDS,), unlocated_free_text=(ALL_EDS,)
    ),
    "unlocated at Southwark EDs": access_for(
        {SOUTHWARK: "snapped", TOWER_HAMLETS: "lsoa"},
        free_text=(),
        unlocated=(SOUTHWARK,),
        unlocated_free_text=(SOUTHWARK,),
    ),
    "unlocated at Lambeth EDs, no free text": access_for(
        {LAMBETH: "exact", TOWER_HAMLETS: "snapped"}, unlocated=(LAMBETH,)
    ),
}


def fields_for(masker: Masker) -> list[Any]:
    return [
        f for f in INCIDENT_FIELDS if f.name != "location_description" or masker.shows_free_text
    ]


def python_csv(queryset: QuerySet[Incident], access: EffectiveAccess) -> bytes:
    """The reference: the Python masker and writer, as the view used them."""
    masker = Masker.for_access(access)
    rows = queryset.order_by("-assault_at", "-id").values(*RAW_FIELDS).iterator(chunk_size=50)
    return b"".join(CsvExport(with_labels(masker.mask_many(rows)), fields_for(masker)))


def copy_csv(queryset: QuerySet[Incident], access: EffectiveAccess) -> bytes:
    masker = Masker.for_access(access)
    return b"".join(incident_csv_export(queryset, masker, fields_for(masker)))


def _row(borough: str, **kwargs: Any) -> dict[str, Any]:
    overrides = {k: kwargs.pop(k) for k in list(kwargs) if k not in _ROW_ARGS}
    row = incident_row(borough, **kwargs)
    row.update(overrides)
    return row


_ROW_ARGS = {
    "when",
    "time_known",
    "easting",
    "northing",
    "located",
    "method",
    "location_type",
    "description",
    "precision",
    "geo_class",
}


# (borough, assault, arrival) around midnight and the DST changes, in local time.
TIME_ZONE_ROWS = [
    (
        SOUTHWARK,
        dt.datetime(2025, 7, 5, 23, 30, tzinfo=LONDON),
        dt.datetime(2025, 7, 6, 0, 10, tzinfo=LONDON),
    ),
    (
        LAMBETH,
        dt.datetime(2025, 1, 10, 23, 30, tzinfo=LONDON),
        dt.datetime(2025, 1, 11, 0, 10, 0, 500, tzinfo=LONDON),
    ),
    (
        TOWER_HAMLETS,
        dt.datetime(2025, 3, 30, 0, 45, tzinfo=LONDON),
        dt.datetime(2025, 3, 30, 2, 5, tzinfo=LONDON),
    ),
    (
        SOUTHWARK,
        dt.datetime(2025, 10, 26, 1, 30, tzinfo=LONDON),  # the first 01:30, BST
        dt.datetime(2025, 10, 26, 1, 10, fold=1, tzinfo=LONDON),  # after it, in GMT
    ),
    (
        LAMBETH,
        dt.datetime(2025, 10, 26, 1, 30, fold=1, tzinfo=LONDON),  # the second 01:30, GMT
        dt.datetime(2025, 10, 26, 1, 59, 59, fold=1, tzinfo=LONDON),
    ),
]


@pytest.fixture
def incidents(db: Any) -> QuerySet[Incident]:
    """Incidents covering every masking rule, in three boroughs."""
    reset_geography_cache()
    geography_create()
    Area.objects.create(
        kind=Area.Kind.LSOA,
        code=NO_CENTROID_LSOA,
        name=NO_CENTROID_LSOA,
        parent_code=SOUTHWARK,
        geometry="{}",
    )
    submission = submission_create(site_get("RJ122", SOUTHWARK))
    winter = dt.datetime(2025, 1, 6, 23, 15, tzinfo=LONDON)
    summer = dt.datetime(2025, 7, 6, 0, 30, 5, 250_000, tzinfo=LONDON)  # BST, microseconds
    sw, lb, th = BOXES[SOUTHWARK], BOXES[LAMBETH], BOXES[TOWER_HAMLETS]
    rows: list[dict[str, Any]] = []
    for i, text in enumerate(AWKWARD):
        borough = ALL[i % 3]
        rows.append(
            _row(
                borough,
                when=winter + dt.timedelta(hours=i),
                description=text,
                time_known=bool(i % 2),
            )
        )
    rows += [
        # Snapped: a cell centre inside the borough, and one across the boundary (Southwark's
        # west edge; the centre is in Lambeth), and one whose centre is in no borough.
        _row(SOUTHWARK, easting=533_010, northing=177_020, when=summer),
        _row(SOUTHWARK, easting=sw[0] + 10, northing=177_020, when=summer),
        _row(TOWER_HAMLETS, easting=th[0] + 900, northing=th[1] - 10, when=summer),
        _row(LAMBETH, easting=lb[2] - 20, northing=lb[1] + 30, when=summer),
        # No LSOA centroid, an unknown LSOA, no LSOA at all.
        _row(SOUTHWARK, lsoa_code=NO_CENTROID_LSOA),
        _row(LAMBETH, lsoa_code="E01000000", ward_code=""),
        _row(TOWER_HAMLETS, lsoa_code="", ward_code=""),
        # Not located; located without grid coordinates (the masker projects lat/lon).
        _row(LAMBETH, located=False, description=""),
        _row(SOUTHWARK, easting=533_600, northing=176_400) | {"easting": None, "northing": None},
        _row(TOWER_HAMLETS, easting=535_100, northing=181_900) | {"northing": None},
        # geo_precision empty (shown as "exact") or odd text; odd codes.
        _row(SOUTHWARK, precision=""),
        _row(LAMBETH, precision="-approx", method="=cmd", location_type="@street"),
        # Whole-number and tiny coordinates (repr: "51.0", "0.0", "-0.0", "1.5e-05").
        _row(SOUTHWARK) | {"lat": 51.0, "lon": 0.0},
        _row(LAMBETH) | {"lat": 51.5, "lon": -0.0},
        _row(TOWER_HAMLETS) | {"lat": 51.51, "lon": 0.000015},
        # Arrival: none, whole seconds, microseconds; same assault time (order by id).
        _row(SOUTHWARK, when=winter) | {"arrival_at": None},
        _row(SOUTHWARK, when=winter) | {"arrival_at": dt.datetime(2025, 1, 7, 1, 2, 3, tzinfo=UTC)},
        _row(LAMBETH, when=winter)
        | {"arrival_at": dt.datetime(2025, 1, 7, 1, 2, 3, 4_560, tzinfo=UTC)},
        _row(TOWER_HAMLETS, when=summer, time_known=False),
        # Local times with their offset: a summer (BST) and a winter (GMT) night, each
        # arriving after midnight, and both DST change nights (2025-03-30 01:00 GMT jumps
        # to 02:00 BST; 2025-10-26 02:00 BST falls back to 01:00 GMT, so 01:30 happens
        # twice).
        *[
            _row(borough, when=assault) | {"arrival_at": arrival}
            for borough, assault, arrival in TIME_ZONE_ROWS
        ],
    ]
    # A random sample of points over the three boxes, for the snapping rule at scale.
    rng = random.Random(20261125)
    for borough in ALL:
        box = BOXES[borough]
        for _ in range(60):
            rows.append(
                _row(
                    borough,
                    easting=round(rng.uniform(box[0] - 300, box[2] + 300), 1),
                    northing=round(rng.uniform(box[1] - 300, box[3] + 300), 1),
                    when=winter + dt.timedelta(minutes=rng.randrange(100_000)),
                )
            )
    incidents_create(submission, rows)
    # Incidents without a mappable place, at an ED in Southwark and one in Lambeth.
    unlocated = [
        _row(LAMBETH, located=False, geo_class=geo_class, description=f"{geo_class} {i}")
        | {"borough_code": "", "ward_code": "", "lsoa_code": ""}
        for i, geo_class in enumerate(["home", "unknown", "vague", "abroad", "outside_london"])
    ]
    incidents_create(submission, unlocated)
    incidents_create(submission_create(site_get("RJ224", LAMBETH)), unlocated)
    return Incident.objects.all()


def keep_parts(queryset: QuerySet[Incident], share: float) -> int:
    """Make the kept parts of ``share`` of the rows (every other row for a half); the
    rest stay to be computed inline. Returns the rows whose parts are kept."""
    refresh_export_lines(full=True)
    ids = sorted(queryset.values_list("id", flat=True))
    step = round(1 / (1 - share)) if share < 1 else 0
    stale = ids[::step] if step else []
    with connection.cursor() as cursor:  # as a change in place would leave them
        cursor.execute(
            "UPDATE incidents_incident SET export_digest = NULL WHERE id = ANY(%s)", [stale]
        )
    return len(ids) - len(stale)


@pytest.mark.parametrize("kept", [0.0, 0.5, 1.0], ids=["inline", "half kept", "kept"])
@pytest.mark.parametrize("name", sorted(ACCESSES))
def test_copy_export_bytes_equal_the_python_path(incidents, name, kept) -> None:
    access = ACCESSES[name]
    expected = python_csv(incidents, access)
    assert expected.count(b"\n") > 100
    kept_rows = keep_parts(incidents, kept)
    assert kept_rows == (incidents.count() if kept == 1 else kept_rows)
    assert (kept_rows > 0) == (kept > 0)
    assert copy_csv(incidents, access) == expected


def test_times_are_local_with_their_offset_and_never_out_of_order(incidents) -> None:
    """Assault and arrival are both local (Europe/London) ISO 8601 with the UTC offset,
    on both paths, so no row reads as arriving before the assault because of the zone."""
    access = ACCESSES["exact pan-London"]
    data = copy_csv(incidents, access)
    assert data == python_csv(incidents, access)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    pairs = {(row["assault_time"], row["arrival_datetime"]) for row in rows}
    assert pairs >= {
        ("2025-07-05T23:30:00+01:00", "2025-07-06T00:10:00+01:00"),
        ("2025-01-10T23:30:00+00:00", "2025-01-11T00:10:00.000500+00:00"),
        ("2025-03-30T00:45:00+00:00", "2025-03-30T02:05:00+01:00"),
        ("2025-10-26T01:30:00+01:00", "2025-10-26T01:10:00+00:00"),
        ("2025-10-26T01:30:00+00:00", "2025-10-26T01:59:59+00:00"),
    }
    checked = 0
    for row in rows:
        arrival = dt.datetime.fromisoformat(row["arrival_datetime"] or "9999-12-31T00:00Z")
        assert arrival.utcoffset() in (dt.timedelta(0), dt.timedelta(hours=1))
        assert arrival.astimezone(LONDON).utcoffset() == arrival.utcoffset()
        if row["assault_time"]:
            assault = dt.datetime.fromisoformat(row["assault_time"])
            assert assault.astimezone(LONDON).utcoffset() == assault.utcoffset()
            assert assault.date().isoformat() == row["assault_date"]
            if row["arrival_datetime"]:
                assert arrival >= assault, row["id"]
                checked += 1
        else:  # time not known: the date alone, as before
            assert row["assault_date"]
    assert checked > 100


def _copy_without_local_zone(queryset: QuerySet[Incident], access: EffectiveAccess) -> bytes:
    """The lines in a session whose ``TimeZone`` is UTC, not the local zone: the datetimes
    then take the general path (converted per row)."""
    masker = Masker.for_access(access)
    fields = fields_for(masker)
    sql, params = line_select(queryset, masker, fields)
    out = bytearray(",".join(f.name for f in fields).encode() + b"\n")
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute("SET LOCAL extra_float_digits = 1")
        cursor.execute("SET LOCAL DateStyle = 'ISO, MDY'")
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute(sql, params)
        for (line,) in cursor.fetchall():
            out += line
    return bytes(out)


def test_times_are_the_same_text_whatever_the_session_zone(incidents) -> None:
    """Datetimes printed from the session's own zone (set to the local one for the export)
    and converted per row (any other session zone) are the same text."""
    access = ACCESSES["exact pan-London"]
    expected = python_csv(incidents, access)
    assert _copy_without_local_zone(incidents, access) == expected
    assert copy_csv(incidents, access) == expected


def test_the_session_zone_is_put_back_after_the_copy(incidents) -> None:
    """The export sets the session's zone for itself only: later queries in the same
    transaction read timestamps as before."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone')")
        before = cursor.fetchone()[0]
        copy_csv(incidents, ACCESSES["exact pan-London"])
        cursor.execute("SELECT current_setting('TimeZone')")
        assert cursor.fetchone()[0] == before


def test_times_in_a_zone_with_half_hour_offsets(incidents) -> None:
    """Another local zone, with an offset of hours and minutes: the same text as the
    Python path (the general path; the quick one is for whole hours)."""
    access = ACCESSES["exact pan-London"]
    with timezone.override("America/St_Johns"):
        expected = python_csv(incidents, access)
        assert b"-02:30" in expected or b"-03:30" in expected
        assert copy_csv(incidents, access) == expected


def test_labels_sit_beside_codes_and_say_no_more_than_the_code(incidents) -> None:
    """Each code has its label beside it (harmonised codes, gazetteer names, site names),
    the same on both paths; an empty or unknown code has an empty label, and a label is
    neutralised like any text."""
    Area.objects.filter(kind=Area.Kind.BOROUGH, code=SOUTHWARK).update(name="Southwark")
    Area.objects.create(
        kind=Area.Kind.WARD,
        code=WARDS[SOUTHWARK],
        name="St George's",
        parent_code=SOUTHWARK,
        geometry="{}",
    )
    for kind, code, label in [
        (HarmonisedCode.Kind.METHOD, "knife", "Knife or sharp object"),
        (HarmonisedCode.Kind.LOCATION_TYPE, "street", "Street, road or footpath"),
        (HarmonisedCode.Kind.LOCATION_TYPE, "@street", "=odd"),
    ]:
        HarmonisedCode.objects.update_or_create(kind=kind, code=code, defaults={"label": label})
    for name in ("exact pan-London", "pan-London with unlocated", "unlocated at Southwark EDs"):
        data = copy_csv(incidents, ACCESSES[name])
        assert data == python_csv(incidents, ACCESSES[name])
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        for row in rows:
            for code in ("hospital", "borough", "ward", "method", "location_type"):
                if not row[code]:
                    assert row[f"{code}_label"] == "", (name, row["id"], code)
            assert row["hospital_label"] == f"Hospital {row['hospital']}"
            if row["borough"] == SOUTHWARK:
                assert row["borough_label"] == "Southwark"
                assert row["ward_label"] == ("St George's" if row["ward"] else "")
            elif row["borough"]:
                assert row["borough_label"] == row["borough"]  # the fixture's area name
                assert row["ward_label"] == ""  # no such ward in the gazetteer
            if row["method"] == "knife":
                assert row["method_label"] == "Knife or sharp object"
            if row["location_type"] == "street":
                assert row["location_type_label"] == "Street, road or footpath"
            elif row["location_type"] == "'@street":
                assert row["location_type_label"] == "'=odd"
        assert any(row["ward_label"] for row in rows)
        if name == "exact pan-London":  # the odd code is in Lambeth
            assert any(row["location_type_label"] == "'=odd" for row in rows)


def test_equivalence_covers_each_location_outcome(incidents) -> None:
    """Guard for the fixture: the comparisons above see every precision shown."""
    shown = {
        row["precision"]
        for name in ("exact pan-London", "mixed per borough", "snapped")
        for row in csv.DictReader(io.StringIO(copy_csv(incidents, ACCESSES[name]).decode()))
    }
    assert shown >= {"venue", "exact", "'-approx", "snapped", "lsoa_centroid", "not_located"}


def test_filtered_sliced_and_empty_querysets(incidents) -> None:
    access = ACCESSES["mixed per borough"]
    filtered = incidents.filter(borough_code__in=[SOUTHWARK, TOWER_HAMLETS], method_code="knife")
    assert copy_csv(filtered, access) == python_csv(filtered, access)
    sliced = incidents.order_by("-assault_at", "-id")[:7]
    masker = Masker.for_access(access)
    rows = sliced.values(*RAW_FIELDS)
    expected = b"".join(CsvExport(with_labels(masker.mask_many(rows)), fields_for(masker)))
    assert copy_csv(sliced, access) == expected
    assert expected.count(b"\n") == 8
    empty = copy_csv(Incident.objects.none(), access)
    assert empty == python_csv(Incident.objects.none(), access)
    assert empty == (
        b"id,hospital,hospital_label,assault_date,assault_time,arrival_datetime,borough,"
        b"borough_label,ward,ward_label,lsoa,lat,lon,precision,geo_class,method,method_label,"
        b"location_type,location_type_label,location_description\n"
    )


def test_fields_must_match_free_text(incidents) -> None:
    masker = Masker.for_access(ACCESSES["no free text"])
    with pytest.raises(ValueError, match="location_description"):
        line_select(incidents, masker, INCIDENT_FIELDS)


def test_float_text_is_python_repr() -> None:
    rng = random.Random(7)
    values = [0.0, -0.0, 51.0, -1.0, 1e-05, 1.5e-07, 0.0001, 123456.0, 999999999999999.0]
    for _ in range(20_000):
        values += [
            rng.uniform(51.2, 51.8),
            rng.uniform(-0.6, 0.4),
            round(rng.uniform(51.2, 51.8), 6),
            round(rng.uniform(-0.6, 0.4), 6),
            rng.uniform(-1e-3, 1e-3),
            rng.uniform(-1e6, 1e6),
        ]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL extra_float_digits = 1")
        query = f"SELECT {_float_text('v')} FROM unnest(%s::float8[]) AS t(v)"  # noqa: S608
        cursor.execute(query, [values])
        texts = [t for (t,) in cursor.fetchall()]
    assert texts == [repr(v) for v in values]


# --- the stream: hashing, counts, chunks, cancelling ----------------------------------------


def many_incidents(n: int) -> QuerySet[Incident]:
    reset_geography_cache()
    geography_create()
    submission = submission_create(site_get("RJ122", SOUTHWARK))
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    incidents_create(
        submission,
        (
            _row(ALL[i % 3], when=start + dt.timedelta(minutes=i), description=f"place {i}")
            for i in range(n)
        ),
    )
    return Incident.objects.all()


def test_sha256_size_row_count_and_chunks(db) -> None:
    queryset = many_incidents(2500)
    masker = Masker.for_access(ACCESSES["snapped"])
    completed: list[Any] = []
    stream = incident_csv_export(queryset, masker, fields_for(masker))
    stream.on_complete = completed.append
    assert isinstance(stream, SqlCsvExport)
    assert stream.content_type == "text/csv; charset=utf-8" and stream.extension == "csv"
    with pytest.raises(ExportNotFinished):
        _ = stream.row_count
    chunks = list(stream)
    data = b"".join(chunks)
    assert chunks[0] == data[: data.index(b"\n") + 1]  # the header row first
    assert len(chunks) > 2 and max(len(c) for c in chunks) == CHUNK_SIZE  # spans batches
    assert stream.sha256 == hashlib.sha256(data).hexdigest()
    assert stream.size == len(data)
    assert stream.row_count == 2500 == data.count(b"\n") - 1
    assert completed == [stream]
    with pytest.raises(RuntimeError, match="only once"):
        iter(stream)


# A result far larger than any socket buffer (~1 GB): still running when the reader stops.
ENDLESS = (
    "SELECT convert_to(g || ',' || repeat('x', 1000) || E'\\n', 'UTF8') "
    "FROM generate_series(1, %s) AS g"
)
ENDLESS_FIELDS = [FieldSpec("n", "n", "n", "integer"), FieldSpec("pad", "pad", "pad")]


def _stop_early(stream: SqlCsvExport) -> None:
    chunks = iter(stream)
    assert next(chunks).endswith(b"\n")  # the header row
    assert len(next(chunks)) == CHUNK_SIZE
    started = time.perf_counter()
    stream.close()  # what StreamingHttpResponse does when the client has gone
    assert time.perf_counter() - started < 5  # cancelled, not read to the end
    # Ended by close() itself, while the generator is still referenced here.
    assert connection.connection.info.transaction_status.name != "ACTIVE"
    del chunks
    assert not stream.finished
    with pytest.raises(ExportNotFinished):
        _ = stream.row_count


def test_closing_early_cancels_and_leaves_the_connection_usable(db) -> None:
    completed: list[Any] = []
    stream = SqlCsvExport(ENDLESS, [1_000_000], ENDLESS_FIELDS, on_complete=completed.append)
    _stop_early(stream)
    assert completed == []
    # Inside the test's transaction: the export's savepoint was rolled back, so this works.
    assert Submission.objects.count() == 0
    again = SqlCsvExport(ENDLESS, [3], ENDLESS_FIELDS)
    assert b"".join(again).count(b"\n") == 4 and again.row_count == 3


@pytest.mark.django_db(transaction=True)
def test_closing_early_in_autocommit_cancels_the_query() -> None:
    _stop_early(SqlCsvExport(ENDLESS, [1_000_000], ENDLESS_FIELDS))
    assert connection.connection.info.transaction_status.name == "IDLE"
    queryset = many_incidents(3000)
    masker = Masker.for_access(ACCESSES["exact pan-London"])
    _stop_early(incident_csv_export(queryset, masker, fields_for(masker)))
    assert queryset.count() == 3000
    # And a whole export still runs on the same connection afterwards.
    again = incident_csv_export(queryset, masker, fields_for(masker))
    assert b"".join(again).count(b"\n") == 3001


def test_unlocated_rows_follow_the_ed_rule(incidents) -> None:
    """Guard for the fixture and the rule: unlocated rows are exported at record level only
    where the ED's borough is covered, and carry no point; free text only where allowed."""
    everything = list(
        csv.DictReader(
            io.StringIO(copy_csv(incidents, ACCESSES["pan-London with unlocated"]).decode())
        )
    )
    unplaced = [r for r in everything if not r["borough"]]
    assert len(unplaced) == 10
    assert {r["precision"] for r in unplaced} == {"not_located"}
    assert all(r["lat"] == "" and r["location_description"] for r in unplaced)
    southwark = list(
        csv.DictReader(
            io.StringIO(copy_csv(incidents, ACCESSES["unlocated at Southwark EDs"]).decode())
        )
    )
    assert sum(1 for r in southwark if not r["borough"]) == 5  # the Southwark ED's only
    assert all(r["location_description"] == "" for r in southwark if r["borough"])
    assert all(r["location_description"] for r in southwark if not r["borough"])


# --- kept line parts: never stale, made again when what they depend on changes --------------


def _digests(queryset: QuerySet[Incident]) -> dict[int, int | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, export_digest FROM incidents_incident WHERE id = ANY(%s)",
            [list(queryset.values_list("id", flat=True))],
        )
        return dict(cursor.fetchall())


def test_a_change_to_a_row_clears_its_kept_parts_and_the_export_stays_exact(incidents) -> None:
    """Changing any value a line is made from (here the free text and the point) marks the
    row's parts stale in the same statement, whatever wrote it; the export then computes
    that row inline, and a refresh makes its parts again. Other columns leave them be."""
    access = ACCESSES["exact pan-London"]
    refresh_export_lines(full=True)
    digest = current_digest()
    assert set(_digests(incidents).values()) == {digest}
    first, second, third = incidents.order_by("id").values_list("id", flat=True)[:3]
    Incident.objects.filter(pk=first).update(location_description="changed, in place")
    Incident.objects.filter(pk=second).update(lat=51.5, lon=-0.1)
    Incident.objects.filter(pk=third).update(geo_explanation="not part of any line")
    digests = _digests(incidents)
    assert digests[first] is None and digests[second] is None and digests[third] == digest
    data = copy_csv(incidents, access)
    assert data == python_csv(incidents, access)
    assert b'"changed, in place"' in data
    assert refresh_export_lines() == 2
    assert set(_digests(incidents).values()) == {digest}
    assert copy_csv(incidents, access) == data


def test_a_label_change_makes_every_kept_part_stale_until_refreshed(incidents) -> None:
    """The digest covers the labels: after one changes, no kept part is taken for current
    (the export shows the new label from the first download), and the next refresh makes
    every row's parts again."""
    access = ACCESSES["exact pan-London"]
    refresh_export_lines(full=True)
    before = current_digest()
    HarmonisedCode.objects.update_or_create(
        kind=HarmonisedCode.Kind.METHOD, code="knife", defaults={"label": "Blade, renamed"}
    )
    after = current_digest()
    assert after != before
    data = copy_csv(incidents, access)
    assert data == python_csv(incidents, access)
    assert b',knife,"Blade, renamed",' in data
    assert refresh_export_lines() == incidents.count()
    assert set(_digests(incidents).values()) == {after}
    assert copy_csv(incidents, access) == data
