"""Keyset pagination of the record pages: an allow-listed sort, and an opaque cursor that
positions the read inside a queryset already scoped to the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from incidents import keyset
from incidents.masking import RAW_FIELDS, Masker
from incidents.models import Incident

PAGE_SIZE = 50


# --- sorting and keyset pagination -------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """A sortable column of the results table: the URL value, its label and its column."""

    name: str
    label: str
    column: str


# The allow-list: only these columns can be sorted on (each is indexed or cheap to sort
# within a filtered set; ``id`` breaks ties so the order is total and keyset-safe).
SORT_KEYS: dict[str, SortKey] = {
    s.name: s
    for s in (
        SortKey("date", "Assault date and time", "assault_at"),
        SortKey("hospital", "Hospital", "site__site_code"),
        SortKey("borough", "Borough", "borough_code"),
        SortKey("method", "Method", "method_code"),
        SortKey("location_type", "Location type", "location_type_code"),
    )
}
DEFAULT_SORT = "-date"


@dataclass(frozen=True)
class Sort:
    key: SortKey
    descending: bool

    @classmethod
    def parse(cls, raw: str | None) -> Sort:
        """``"-date"`` → newest first; anything not on the allow-list → the default."""
        text = (raw or DEFAULT_SORT).strip()
        descending = text.startswith("-")
        key = SORT_KEYS.get(text.lstrip("-"))
        if key is None:
            return cls(SORT_KEYS["date"], True)
        return cls(key, descending)

    @property
    def value(self) -> str:
        return f"{'-' if self.descending else ''}{self.key.name}"


@dataclass
class Page:
    """One page of masked rows, and the cursors of its neighbours (``None`` at an end)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    previous_cursor: str | None


def keyset_page(
    queryset: QuerySet[Incident],
    masker: Masker,
    *,
    sort: Sort,
    after: str | None = None,
    before: str | None = None,
    size: int | None = None,
) -> Page:
    """A page of ``queryset`` in ``sort`` order after (or before) a cursor, in one query.

    The cursor is the (sort value, id) of the row at the page edge: it positions the read
    inside a queryset already scoped to the viewer, so a forged one can skip rows but
    never reveal any. Costs the same on the thousandth page as on the first.
    """
    size = size or PAGE_SIZE
    column = sort.key.column
    fields = tuple(dict.fromkeys((*RAW_FIELDS, column)))
    try:
        window = keyset.read(
            queryset,
            column=column,
            descending=sort.descending,
            after=after,
            before=before,
            size=size,
            fields=fields,
        )
    except keyset.CursorError:  # a damaged cursor is answered with the first page
        window = keyset.read(
            queryset, column=column, descending=sort.descending, size=size, fields=fields
        )
    rows, has_next, has_previous = window.rows, window.has_next, window.has_previous
    masked = []
    for row in rows:
        out = masker.mask(row)
        if out is not None:
            out["_sort"] = row[column]
            masked.append(out)
    next_cursor = (
        keyset.encode_cursor(masked[-1]["_sort"], masked[-1]["id"]) if has_next and masked else None
    )
    previous_cursor = (
        keyset.encode_cursor(masked[0]["_sort"], masked[0]["id"])
        if has_previous and masked
        else None
    )
    return Page(masked, next_cursor, previous_cursor)
