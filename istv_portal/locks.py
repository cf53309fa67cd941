"""PostgreSQL advisory locks shared by the background jobs.

Namespaces (the first key) in use: 41_001 and 41_002 (submission pipeline, per site and
month), 41_010 (geocode retry). The audit chain uses its own single-key transaction lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def session_try_lock(namespace: int, key: int) -> Iterator[bool]:
    """Session-level try-lock: yields False when another session already holds it.

    A session lock (not a transaction lock) because the work it guards spans several
    short transactions; if the process dies its connection drops and PostgreSQL releases
    the lock.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
