"""Holding an advisory lock from another database session, as a second process would."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from django.db import connection


@contextlib.contextmanager
def advisory_lock_held_elsewhere(namespace: int, key: int) -> Iterator[None]:
    """Hold ``(namespace, key)`` in a separate session for the duration of the block.

    Released explicitly before the session closes: a closed connection's backend may
    still hold its locks for a moment, which would make the code that runs right after
    the block see the lock as taken.
    """
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [namespace, key])
        try:
            yield
        finally:
            other.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
