"""Keyset ("cursor") pagination: the one paginator of the record pages and the API.

A page is read after (or before) a cursor, the (sort value, id) of the row at the page
edge, in one query: it costs the same on the thousandth page as on the first, and stays
stable while data is published (new rows do not shift later pages). The cursor is not
secret and needs no signature: it only positions the read inside a queryset already
scoped to the viewer, so a forged one can skip rows but never reveal any.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

# Columns whose cursor values are timestamps (the rest are plain strings).
DATETIME_COLUMNS = frozenset({"assault_at"})


class CursorError(ValueError):
    """A cursor that cannot be decoded."""


def encode_cursor(value: Any, pk: int) -> str:
    text = value.isoformat() if isinstance(value, dt.datetime) else value
    raw = json.dumps([text, pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, column: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(pk, int) or not isinstance(value, str):
            raise ValueError
        if column in DATETIME_COLUMNS:
            value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise CursorError("Invalid cursor.") from None
    return value, pk


@dataclass(frozen=True)
class Window:
    """The rows of one page (in display order) and whether pages lie either side."""

    rows: list[dict[str, Any]]
    has_next: bool
    has_previous: bool


def read(
    queryset: QuerySet[Any],
    *,
    column: str,
    descending: bool,
    size: int,
    fields: tuple[str, ...],
    after: str | None = None,
    before: str | None = None,
) -> Window:
    """``size`` rows of ``queryset.values(*fields)`` ordered by ``column`` then id, after
    the ``after`` cursor (or before the ``before`` one). ``fields`` must hold ``column``
    and ``id``. Raises :class:`CursorError` for a cursor that cannot be decoded."""
    backwards = before is not None and after is None
    cursor = before if backwards else after
    # Reading backwards walks the opposite order, then the page is turned round.
    walk_descending = descending != backwards
    if cursor:
        value, pk = decode_cursor(cursor, column)
        op = "lt" if walk_descending else "gt"
        queryset = queryset.filter(
            Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"id__{op}": pk})
        )
    order = [f"-{column}", "-id"] if walk_descending else [column, "id"]
    rows = list(queryset.order_by(*order).values(*fields)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and bool(rows))
    has_previous = (more and backwards) or (bool(cursor) and not backwards and bool(rows))
    return Window(rows, has_next, has_previous)
