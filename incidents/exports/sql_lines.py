"""An export whose records PostgreSQL formats: a SELECT of one ``bytea`` column, each
value the finished bytes of one record, relayed in batches.

``COPY ... TO STDOUT`` would escape the records in its own formats (CSV quoting, text
escapes); a plain SELECT frees them from that, so a record can be any text, here a
GeoJSON Feature. The SELECT is streamed (psycopg's ``stream`` in libpq's chunked-rows
mode: :data:`BATCH_ROWS` rows per network result, never the whole result in memory), not
read through a ``DECLARE``d cursor: PostgreSQL never runs a cursor's plan in parallel
workers, and the masked SELECT does its masking and formatting there
(``incidents.masking_sql``).

The query runs inside its own transaction (a savepoint inside an outer one) with its
parameters bound on the client, as for COPY, so both plan the same SQL. If the consumer
stops reading, psycopg cancels the query on the server and drains what is in flight, and
the transaction is rolled back, so the connection is left usable.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterator, Sequence
from typing import Any, Final, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from incidents.exports.streams import CHUNK_SIZE, GeoJsonExport, SqlQueryExport

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

    def _chunks(self) -> Iterator[bytes]:
        separator = self.separator
        yield self.head
        first = True
        for records in fetch_batches(self.query, self.params, using=self.using):
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
    query: str, params: Sequence[Any], *, using: str = DEFAULT_DB_ALIAS
) -> Iterator[list[bytes]]:
    """The single ``bytea`` column of ``query``'s rows, :data:`BATCH_ROWS` at a time,
    streamed in its own transaction (see the module docstring)."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as wrapper:
        raw = wrapper.cursor.connection  # psycopg's own connection
        statement = psycopg.ClientCursor(raw).mogrify(query, list(params))
        with psycopg.Cursor(raw) as cursor:
            export_settings(cursor)
            # A generator (typed as an iterator): closed below.
            rows = cast(Generator[Any], cursor.stream(statement, binary=True, size=BATCH_ROWS))
            try:
                while batch := [row[0] for row in itertools.islice(rows, BATCH_ROWS)]:
                    yield batch
            finally:
                # Cancel and drain now if the reader stopped early: the stream holds the
                # connection's lock until it is closed, and the rollback below needs it.
                rows.close()


def export_settings(cursor: psycopg.Cursor[Any]) -> None:
    """The settings a masked export SELECT runs with, for this transaction only.

    The shortest exact float text and ISO timestamps, which the masked SELECT relies on
    (the defaults; a server may be set otherwise); and no JIT compilation: the masked
    SELECT is long, and compiling it costs more than it saves (about 3 s of an 8 s
    million-row CSV, measured by benchmarks/exports.py)."""
    cursor.execute("SET LOCAL extra_float_digits = 1")
    cursor.execute("SET LOCAL DateStyle = 'ISO, MDY'")
    cursor.execute("SET LOCAL jit = off")


class SqlGeoJsonExport(SqlLinesExport):
    """A FeatureCollection from a SELECT of one Feature per row (``masked_geojson_query``);
    the bytes ``GeoJsonExport`` would write for the same rows."""

    content_type = GeoJsonExport.content_type
    extension = GeoJsonExport.extension
    head = b'{"type":"FeatureCollection","features":['
    separator = b","
    tail = b"]}"
