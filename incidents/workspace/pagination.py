"""Keyset pagination of the record pages: an allow-listed sort, and an opaque cursor that
positions the read inside a queryset already scoped to the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from incidents import keyset
from incidents.masking import RAW_FIELDS, Masker
from incidents.models import Incident
from incidents.workspace.labels import EN_DASH

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


def range_text(
    queryset: QuerySet[Incident], sort: Sort, page: Page, total: int, *, first_page: bool
) -> str:
    """Which rows a page shows, ``51-100 of 10,630`` (with an en dash): a keyset page
    knows no offset, so past the first page the rows before it are counted (one count)."""
    if not page.rows:
        return f"0 of {total:,}"
    start = 1 if first_page else rows_before(queryset, sort, page.rows[0]) + 1
    return f"{start:,}{EN_DASH}{start + len(page.rows) - 1:,} of {total:,}"


def rows_before(queryset: QuerySet[Incident], sort: Sort, row: dict[str, Any]) -> int:
    """How many rows of ``queryset`` come before ``row`` in ``sort`` order (ties on the
    sort value are ordered by id, as the pages are)."""
    column, value, pk = sort.key.column, row["_sort"], row["id"]
    op = "gt" if sort.descending else "lt"
    return queryset.filter(
        Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"id__{op}": pk})
    ).count()
