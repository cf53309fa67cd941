"""The API's paging: ``incidents.keyset`` on (assault_at, id), newest first; the cursor
is the last row's (assault_at, id). A damaged cursor is a 400, where the pages answer
with the first page."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from incidents import keyset

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(request: Request) -> int:
    raw = request.query_params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise ValidationError({"page_size": ["Enter a whole number."]}) from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError({"page_size": [f"Between 1 and {MAX_PAGE_SIZE}."]})
    return size


def keyset_page(
    queryset: QuerySet[Any], request: Request, *, fields: tuple[str, ...]
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``queryset.values(*fields)`` (which must include ``assault_at`` and
    ``id``), newest first, after the request's cursor, and the URL of the next page (or
    ``None``)."""
    size = page_size(request)
    try:
        window = keyset.read(
            queryset,
            column="assault_at",
            descending=True,
            size=size,
            fields=fields,
            after=request.query_params.get("cursor") or None,
        )
    except keyset.CursorError:
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None
    next_url = None
    if window.has_next and window.rows:
        last = window.rows[-1]
        cursor = keyset.encode_cursor(last["assault_at"], last["id"])
        next_url = replace_query_param(request.build_absolute_uri(), "cursor", cursor)
    return window.rows, next_url
