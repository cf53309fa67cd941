"""Reads of the audit log. Only access administrators may read it at all."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from accounts.audit.models import Action, AuditEvent
from accounts.models import User
from accounts.selectors import is_access_admin

PAGE_SIZE = 25

# A download is audited twice: when it starts, and with its checksum once the last byte
# has gone. Excluding the second counts each download once. (``has_key`` first: a negated
# key lookup alone would also drop downloads audited once, with no stage at all.)
DOWNLOAD_COMPLETED = (
    Q(action=str(Action.DATA_DOWNLOADED))
    & Q(details__has_key="stage")
    & Q(details__stage="completed")
)


def can_view_audit(user: User) -> bool:
    """Only access administrators (active, at the GLA) read the audit log."""
    return is_access_admin(user)


def audit_events_for_viewer() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.select_related("organisation")


@dataclass(frozen=True)
class EventPage:
    """One keyset page, newest first. Cursors are event ids, never offsets."""

    events: list[AuditEvent]
    newer_cursor: int | None
    older_cursor: int | None


def events_page(
    queryset: QuerySet[AuditEvent],
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """A page of ``size`` events below ``before`` or above ``after`` (else the newest).

    Three bounded queries whatever the table size: the page and one existence check
    each way, all on the primary key.
    """
    if after is not None:
        events = list(queryset.filter(id__gt=after).order_by("id")[:size])[::-1]
    elif before is not None:
        events = list(queryset.filter(id__lt=before).order_by("-id")[:size])
    else:
        events = list(queryset.order_by("-id")[:size])
    if not events:
        return EventPage(events, None, None)
    newest, oldest = events[0].pk, events[-1].pk
    has_newer = queryset.filter(id__gt=newest).exists()
    has_older = queryset.filter(id__lt=oldest).exists()
    return EventPage(events, newest if has_newer else None, oldest if has_older else None)


def iter_events_desc(
    queryset: QuerySet[AuditEvent], *, fields: tuple[str, ...], chunk_size: int = 2000
) -> Iterator[dict[str, Any]]:
    """Every row of ``queryset`` as dicts, newest first, in keyset chunks (constant memory)."""
    last: int | None = None
    while True:
        chunk_qs = queryset if last is None else queryset.filter(id__lt=last)
        chunk = list(chunk_qs.order_by("-id").values("id", *fields)[:chunk_size])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1]["id"]
