"""Locks per hospital site and reporting month: one receive and one run at a time."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator
from datetime import date

from django.db import connection

from istv_portal.locks import session_try_lock

# Advisory-lock namespaces (first key of pg_advisory_lock(int, int)).
LOCK_RECEIVE = 41_001
LOCK_PROCESS = 41_002
# --- locks ------------------------------------------------------------------------------


def lock_key(site_id: int, period: date) -> int:
    # A stable 31-bit key per site+month (crc32 is deterministic across processes).
    return zlib.crc32(f"{site_id}:{period:%Y-%m}".encode()) & 0x7FFFFFFF


def xact_lock(namespace: int, site_id: int, period: date) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [namespace, lock_key(site_id, period)]
        )


def processing_lock(site_id: int, period: date) -> contextlib.AbstractContextManager[bool]:
    """Session-level try-lock per site+month: yields False when another process holds it
    (processing spans several short transactions, so not a transaction lock)."""
    return session_try_lock(LOCK_PROCESS, lock_key(site_id, period))


@contextlib.contextmanager
def processing_run(site_id: int, period: date) -> Iterator[bool]:
    """:func:`processing_lock` for running a file, whose progress commits need not wait
    for the disk (losing one in a crash is harmless; every transaction that records a
    result calls ``durable_commit`` first).

    The try-lock and ``synchronous_commit = off`` go in one statement, the unlock and the
    reset of the setting in one more: two round trips per file fewer than taking the lock
    and changing the setting apart. The setting is reset even when the lock was not
    taken, and at the end of a run that failed.
    """
    key = lock_key(site_id, period)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, %s), set_config('synchronous_commit', 'off', false)",
            [LOCK_PROCESS, key],
        )
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        # reset_val is what RESET would restore: the server's, database's or role's value.
        unlock = "pg_advisory_unlock(%s, %s), " if acquired else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {unlock}set_config('synchronous_commit', reset_val, false)"  # noqa: S608
                " FROM pg_settings WHERE name = 'synchronous_commit'",
                [LOCK_PROCESS, key] if acquired else [],
            )
