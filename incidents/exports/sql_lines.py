"""An export whose records PostgreSQL formats: a SELECT of one ``bytea`` column, each
value the finished bytes of one record, relayed in batches.

``COPY ... TO STDOUT`` would escape the records in its own formats (CSV quoting, text
escapes); a plain SELECT frees them from that, so a record can be any text: a GeoJSON
Feature, a finished CSV line. It is also cheaper for the client: ``COPY`` sends every row
in a message of its own, which psycopg hands over one at a time (about 1.5 to 2 µs a
row), where a streamed result comes a batch at a time (a million-row CSV: 8.2 s through
``COPY``, 4.9 to 5.5 s streamed). The SELECT is streamed (psycopg's ``stream`` in
libpq's chunked-rows mode: :data:`BATCH_ROWS` rows per network result, never the whole
result in memory), not read through a ``DECLARE``d cursor: PostgreSQL never runs a
cursor's plan in parallel workers, and the masked SELECT does its masking and
formatting there (``incidents.masking_sql``).

The query runs inside its own transaction (a savepoint inside an outer one) with its
parameters bound on the client. If the consumer stops reading, psycopg cancels the query
on the server and drains what is in flight, and the transaction is rolled back, so the
connection is left usable.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
from collections.abc import Generator, Iterator, Sequence
from typing import Any, Final, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from incidents.exports.streams import CHUNK_SIZE, CsvExport, GeoJsonExport, SqlQueryExport

# Rows per network result (and per batch): enough that the round trips cost nothing,
# small enough that a batch of the widest records stays well under a megabyte or two.
BATCH_ROWS: Final = 2000


class SqlLinesExport(SqlQueryExport):
    """``head``, then the records of ``query`` joined by ``separator``, then ``tail``.

    ``query`` (a SELECT with ``%s`` placeholders bound from ``params``) returns one
    ``bytea`` column; ``fields`` describe the export for its data dictionary and
    manifest. Nothing runs until the stream is read.
    """

    head: bytes = b""
    separator: bytes = b""
    tail: bytes = b""
    # Whether the query runs with the session's zone set to the local one (see
    # fetch_batches).
    local_zone: bool = False

    def _chunks(self) -> Iterator[bytes]:
        separator = self.separator
        yield self.head
        first = True
        for records in fetch_batches(
            self.query, self.params, using=self.using, local_zone=self.local_zone
        ):
            data = separator.join(records)
            if not first:
                data = separator + data
            first = False
            self._rows += len(records)
            view = memoryview(data)
            for start in range(0, len(view), CHUNK_SIZE):
                yield bytes(view[start : start + CHUNK_SIZE])
        yield self.tail


def fetch_batches(
    query: str,
    params: Sequence[Any],
    *,
    using: str = DEFAULT_DB_ALIAS,
    local_zone: bool = False,
) -> Iterator[list[bytes]]:
    """The single ``bytea`` column of ``query``'s rows, :data:`BATCH_ROWS` at a time,
    streamed in its own transaction (see the module docstring).

    With ``local_zone`` the query runs in the local zone (:func:`local_time_zone`)."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as wrapper:
        raw = wrapper.cursor.connection  # psycopg's own connection
        statement = psycopg.ClientCursor(raw).mogrify(query, list(params))
        with psycopg.Cursor(raw) as cursor:
            export_settings(cursor)
            with local_time_zone(cursor) if local_zone else contextlib.nullcontext():
                # A generator (typed as an iterator): closed below.
                rows = cast(Generator[Any], cursor.stream(statement, binary=True, size=BATCH_ROWS))
                try:
                    while batch := [row[0] for row in itertools.islice(rows, BATCH_ROWS)]:
                        yield batch
                finally:
                    # Cancel and drain now if the reader stopped early: the stream holds
                    # the connection's lock until it is closed, and the rollback below
                    # needs it.
                    rows.close()


@contextlib.contextmanager
def local_time_zone(cursor: psycopg.Cursor[Any]) -> Iterator[None]:
    """The session's ``TimeZone`` the local zone inside the block (a transaction's), so a
    query can print timestamps as they are rather than convert each (the CSV's cells
    check the setting, and otherwise convert); put back after it, since Django reads
    timestamps in the session's zone and a savepoint released keeps a ``SET LOCAL`` to
    the end of an outer transaction. (A block that fails leaves it to the rollback.)"""
    row = cursor.execute("SELECT current_setting('TimeZone')").fetchone()
    previous = row[0] if row else "UTC"
    zone = timezone.get_current_timezone_name()
    cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
    yield
    cursor.execute("SELECT set_config('TimeZone', %s, true)", [previous])


def export_settings(cursor: psycopg.Cursor[Any]) -> None:
    """The settings a masked export SELECT runs with, for this transaction only.

    The shortest exact float text and ISO timestamps, which the masked SELECT relies on
    (the defaults; a server may be set otherwise); and no JIT compilation: the masked
    SELECT is long, and compiling it costs more than it saves (about 3 s of an 8 s
    million-row CSV, measured by benchmarks/exports.py). Random reads priced as what
    they are for a table in memory or on solid-state storage, not a spinning disk (the
    default, 4, is the cost of a seek): incidents are written a month at a time, so
    those of a date range lie together, and an index scan of the range beats reading
    the whole table (4.1 s against 3.1 to 3.5 s of a million-row CSV's SELECT).
    """
    cursor.execute("SET LOCAL extra_float_digits = 1")
    cursor.execute("SET LOCAL DateStyle = 'ISO, MDY'")
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL random_page_cost = 1.1")


class SqlGeoJsonExport(SqlLinesExport):
    """A FeatureCollection from a SELECT of one Feature per row (``masked_geojson_query``);
    the bytes ``GeoJsonExport`` would write for the same rows."""

    content_type = GeoJsonExport.content_type
    extension = GeoJsonExport.extension
    head = b'{"type":"FeatureCollection","features":['
    separator = b","
    tail = b"]}"


class SqlCsvExport(SqlLinesExport):
    """A CSV from a SELECT of one finished line per row, line end included
    (``incidents.csv_lines.line_select``), after the header row of the field names:
    RFC 4180, UTF-8, ``\\n`` line ends. The query runs in the local zone."""

    content_type = CsvExport.content_type
    extension = CsvExport.extension
    local_zone = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow([f.name for f in self.fields])
        self.head = header.getvalue().encode("utf-8")
