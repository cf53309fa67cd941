"""Keyset ("cursor") pagination on (assault_at, id), newest first.

The cursor is the last row's (assault_at, id) in URL-safe base64. It is not secret and
needs no signature: it only positions the read inside a queryset that is already scoped
to the caller, so a forged cursor can skip rows but never reveal any. Keyset paging is
stable while data is published (new rows do not shift later pages) and costs the same on
page 1,000 as on page 1.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def encode_cursor(assault_at: dt.datetime, pk: int) -> str:
    raw = json.dumps([assault_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = dt.datetime.fromisoformat(stamp)
        if moment.tzinfo is None or not isinstance(pk, int):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None
    return moment, pk


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
    ``id``) after the request's cursor, and the URL of the next page (or ``None``)."""
    size = page_size(request)
    cursor = request.query_params.get("cursor")
    if cursor:
        moment, pk = decode_cursor(cursor)
        queryset = queryset.filter(Q(assault_at__lt=moment) | Q(assault_at=moment, id__lt=pk))
    rows = list(queryset.order_by("-assault_at", "-id").values(*fields)[: size + 1])
    next_url = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_url = replace_query_param(
            request.build_absolute_uri(), "cursor", encode_cursor(last["assault_at"], last["id"])
        )
    return rows, next_url
