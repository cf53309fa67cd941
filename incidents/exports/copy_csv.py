"""A CSV export whose lines PostgreSQL writes: ``COPY (<select>) TO STDOUT`` of one column.

Python's csv writer, with masking in front of it, tops out well below the rate an
analyst's million-row download needs; PostgreSQL makes each finished line (for incidents,
``incidents.csv_lines``) and the rows never become Python objects. :class:`CopyCsvExport`
writes the header row, relays the COPY output in ~64 KiB chunks and keeps the same
SHA-256, byte count and row count as the other export streams, so the API view, the zip
package and the audit trail treat it like ``CsvExport``.

The COPY is in PostgreSQL's text format, which adds the line end and escapes a backslash,
a tab, CR, LF, backspace, form feed and vertical tab in the value; the few lines holding
one (free text, labels) are unescaped here, a chunk at a time. PostgreSQL sends each row
of a COPY in its own message, and a chunk is whole messages, so an escape never straddles
two chunks.

If the consumer stops reading (a client disconnects, the generator is closed), psycopg
cancels the COPY on the server and drains what is in flight; the COPY runs in its own
transaction (a savepoint inside an outer one), which is rolled back, so the connection is
left usable.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from django.db import connections, transaction
from django.utils import timezone

from incidents.exports.sql_lines import export_settings
from incidents.exports.streams import CHUNK_SIZE, CsvExport, SqlQueryExport

_ESCAPE = re.compile(rb"\\([bfnrtv\\])")
_UNESCAPED = {
    b"b": b"\b",
    b"f": b"\f",
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"v": b"\v",
    b"\\": b"\\",
}


def unescape(data: bytes) -> bytes:
    """COPY text-format output with its escapes undone."""
    return _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], data)


class CopyCsvExport(SqlQueryExport):
    """The CSV whose records are the values of ``query``'s one text column (a SELECT with
    ``%s`` placeholders bound from ``params`` on the client), each a finished line without
    its line end: header row first, ``\\n`` line ends, UTF-8.

    ``fields`` name the header row and the data dictionary. Nothing runs until the stream
    is read.
    """

    content_type = CsvExport.content_type
    extension = CsvExport.extension

    def _chunks(self) -> Iterator[bytes]:
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow([f.name for f in self.fields])
        connection = connections[self.using]
        statement = f"COPY ({self.query}) TO STDOUT (FORMAT text, ENCODING 'UTF8')"
        buffer = bytearray(header.getvalue().encode("utf-8"))
        with transaction.atomic(using=self.using), connection.cursor() as wrapper:
            cursor = wrapper.cursor  # psycopg's own cursor: Django's has no copy()
            export_settings(cursor)
            # Timestamps in the local zone, so the SELECT can print them as they are rather
            # than convert each (it checks the setting and otherwise converts); put back
            # after the COPY, since Django reads timestamps in the session's zone and a
            # savepoint released keeps a SET LOCAL to the end of an outer transaction.
            row = cursor.execute("SELECT current_setting('TimeZone')").fetchone()
            previous_zone = row[0] if row else "UTC"
            local_zone = timezone.get_current_timezone_name()
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [local_zone])
            with cursor.copy(statement, self.params) as copy:
                for data in copy:  # whole rows: a chunk never splits an escape
                    buffer += data
                    if len(buffer) >= CHUNK_SIZE:
                        yield _unescaped(buffer)
                        buffer.clear()
            # psycopg reads the row count from the COPY's command tag.
            self._rows = max(cursor.rowcount, 0)
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [previous_zone])
        yield _unescaped(buffer)


def _unescaped(buffer: bytearray) -> bytes:
    """The buffer's bytes, unescaped where it holds an escape (seldom: one test per chunk)."""
    data = bytes(buffer)
    return unescape(data) if b"\\" in data else data
