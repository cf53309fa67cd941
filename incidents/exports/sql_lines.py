"""An export whose records PostgreSQL formats: a SELECT of one ``bytea`` column, each
value the finished bytes of one record, relayed in batches.

``COPY ... TO STDOUT`` sends one protocol message per row, and psycopg hands each to
Python separately (about a microsecond a row: a second per million). Reading a server-side
cursor ``FETCH`` by ``FETCH`` brings :data:`BATCH_ROWS` records per round trip, as one
list of ``bytes`` that is joined and sent on: the per-row Python work is a list
comprehension. It also frees the records from COPY's own formats (CSV quoting, text
escapes), so a record can be any text, here a GeoJSON Feature.

The cursor is declared inside its own transaction (a savepoint inside an outer one) from
the query with its parameters bound on the client, as for COPY, so both plan the same
SQL. If the consumer stops reading, the transaction is rolled back, which closes the
cursor; nothing is left running on the server between two fetches.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any, Final

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from incidents.exports.streams import CHUNK_SIZE, GeoJsonExport, SqlQueryExport

# Records per FETCH: enough that the round trips cost nothing, small enough that a batch
# of the widest records stays well under a megabyte or two.
BATCH_ROWS: Final = 2000

_names = itertools.count()


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
    """The single ``bytea`` column of ``query``'s rows, :data:`BATCH_ROWS` at a time, from
    a server-side cursor in its own transaction (see the module docstring)."""
    connection = connections[using]
    name = f"istv_export_{next(_names)}"
    with transaction.atomic(using=using), connection.cursor() as wrapper:
        raw = wrapper.cursor.connection  # psycopg's own connection
        declare = psycopg.ClientCursor(raw).mogrify(query, list(params))
        with psycopg.Cursor(raw) as cursor:
            # The settings the masked SELECT relies on (see CopyCsvExport), and a plan
            # for reading every row rather than the first few.
            cursor.execute("SET LOCAL extra_float_digits = 1")
            cursor.execute("SET LOCAL DateStyle = 'ISO, MDY'")
            cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
            cursor.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {declare}")
            fetch = f"FETCH FORWARD {BATCH_ROWS} FROM {name}"
            while rows := cursor.execute(fetch, binary=True).fetchall():
                yield [row[0] for row in rows]
            cursor.execute(f"CLOSE {name}")


class SqlGeoJsonExport(SqlLinesExport):
    """A FeatureCollection from a SELECT of one Feature per row (``masked_geojson_query``);
    the bytes ``GeoJsonExport`` would write for the same rows."""

    content_type = GeoJsonExport.content_type
    extension = GeoJsonExport.extension
    head = b'{"type":"FeatureCollection","features":['
    separator = b","
    tail = b"]}"
