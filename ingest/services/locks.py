"""Locks per hospital site and reporting month: one receive and one run at a time."""

from __future__ import annotations

import contextlib
import zlib
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
