"""A CSV export produced by PostgreSQL: ``COPY (<select>) TO STDOUT (FORMAT csv, HEADER)``.

Python's csv writer, with masking in front of it, tops out well below the 100,000 rows/s
an analyst's million-row download needs; PostgreSQL writes CSV several times faster and
the rows never become Python objects. :class:`CopyCsvExport` relays the COPY output in
~64 KiB chunks and keeps the same SHA-256, byte count and row count as the other export
streams, so the API view, the zip package and the audit trail treat it like
``CsvExport``. What the SELECT contains (masking, formatting, neutralisation) is the
caller's business: for incidents, ``incidents.masking_sql.masked_csv_query``.

If the consumer stops reading (a client disconnects, the generator is closed), psycopg
cancels the COPY on the server and drains what is in flight; the COPY runs in its own
transaction (a savepoint inside an outer one), which is rolled back, so the connection is
left usable.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connections, transaction
from django.utils import timezone

from incidents.exports.sql_lines import export_settings
from incidents.exports.streams import CHUNK_SIZE, CsvExport, SqlQueryExport


class CopyCsvExport(SqlQueryExport):
    """The CSV of ``query`` (a SELECT with ``%s`` placeholders bound from ``params`` on
    the client), header row first, ``\\n`` line ends, UTF-8.

    ``fields`` must be the SELECT's columns, in order (they name the header row and the
    data dictionary). Nothing runs until the stream is read.
    """

    content_type = CsvExport.content_type
    extension = CsvExport.extension

    def _chunks(self) -> Iterator[bytes]:
        connection = connections[self.using]
        statement = f"COPY ({self.query}) TO STDOUT (FORMAT csv, HEADER, ENCODING 'UTF8')"
        buffer = bytearray()
        with transaction.atomic(using=self.using), connection.cursor() as wrapper:
            cursor = wrapper.cursor  # psycopg's own cursor: Django's has no copy()
            export_settings(cursor)
            # Timestamps in the local zone, so the masked SELECT can print them as they
            # are rather than convert each (it checks the setting and otherwise converts);
            # put back after the COPY, since Django reads timestamps in the session's zone
            # and a savepoint released keeps a SET LOCAL to the end of an outer transaction.
            row = cursor.execute("SELECT current_setting('TimeZone')").fetchone()
            previous_zone = row[0] if row else "UTC"
            local_zone = timezone.get_current_timezone_name()
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [local_zone])
            with cursor.copy(statement, self.params) as copy:
                for data in copy:
                    buffer += data
                    if len(buffer) >= CHUNK_SIZE:
                        yield bytes(buffer)
                        buffer.clear()
            # psycopg reads the row count from the COPY's command tag.
            self._rows = max(cursor.rowcount, 0)
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [previous_zone])
        yield bytes(buffer)
