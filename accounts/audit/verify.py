"""Walking the audit chain: recompute every hash and check every link, in id order.

Reads in keyset chunks straight from a cursor (no model instances), so a million events
take seconds and constant memory. Stops at the first bad event and says what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from accounts.audit.models import AuditEvent
from accounts.audit.services import GENESIS_HASH, SQL_UTC_ISO, canonical_payload, chain_hash

DEFAULT_CHUNK_SIZE = 5000
# Events are stamped by the writer just before the append, or when the chain lock was
# granted if it waited more than a second for it (``audit_append``, migration audit.0010):
# time goes backwards by at most a second of waiting, or when application servers'
# clocks disagree; more than this is treated as tampering.
DEFAULT_CLOCK_TOLERANCE = timedelta(seconds=5)

# occurred_at comes back as text in the hashed form: parsing a million timestamps would
# be a large share of the walk, and fixed-format UTC strings compare in time order.
_COLUMNS = (
    f"id, {SQL_UTC_ISO.format(column='occurred_at')}, actor_id, actor_email, organisation_id,"
    " action, object_type, object_id, details, request_id, ip_address, user_agent,"
    " prev_hash, hash"
)


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    verified: int
    head_hash: str
    problem: ChainProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _rows(upper_id: int, chunk_size: int) -> Iterator[tuple[Any, ...]]:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    sql = f"SELECT {_COLUMNS} FROM {table} WHERE id > %s AND id <= %s ORDER BY id LIMIT %s"  # noqa: S608 - table name from model meta, values bound
    last_id = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last_id, upper_id, chunk_size])
            chunk = cursor.fetchall()
        if not chunk:
            return
        yield from chunk
        last_id = chunk[-1][0]


def verify_chain(
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    clock_tolerance: timedelta = DEFAULT_CLOCK_TOLERANCE,
) -> ChainReport:
    """Verify every event up to the newest one present when the walk starts."""
    upper_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    verified = 0
    prev_hash = GENESIS_HASH
    # The hash before the previous one: lets us tell "an event was spliced in just before
    # this one" from "events before this one were removed".
    prev_prev_hash: str | None = None
    prev_id: int | None = None
    latest: str | None = None
    for row in _rows(upper_id, chunk_size):
        (
            event_id,
            occurred_at,
            actor_id,
            actor_email,
            organisation_id,
            action,
            object_type,
            object_id,
            details,
            request_id,
            ip_address,
            user_agent,
            row_prev_hash,
            row_hash,
        ) = row
        payload = canonical_payload(
            event_id=event_id,
            occurred_at=occurred_at,
            actor_id=actor_id,
            actor_email=actor_email,
            organisation_id=organisation_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=json.loads(details) if isinstance(details, str) else details,
            request_id=request_id,
            ip_address=ip_address,
            user_agent=user_agent,
        )
        if chain_hash(row_prev_hash, payload) != row_hash:
            return ChainReport(
                verified,
                prev_hash,
                ChainProblem(event_id, "its hash does not match its contents (row altered)"),
            )
        if row_prev_hash != prev_hash:
            if prev_id is None:
                reason = "the first event does not start from the genesis hash (events removed)"
            elif row_prev_hash == prev_prev_hash:
                # This event follows on from the one before prev_id: prev_id was spliced in.
                return ChainReport(
                    verified - 1,
                    row_prev_hash,
                    ChainProblem(
                        prev_id,
                        f"inserted out of order: event {event_id} links past it to the "
                        "event before",
                    ),
                )
            else:
                reason = (
                    f"prev_hash does not match the hash of event {prev_id} "
                    "(events removed or inserted before it)"
                )
            return ChainReport(verified, prev_hash, ChainProblem(event_id, reason))
        if latest is not None and occurred_at < latest:
            behind = datetime.fromisoformat(latest) - datetime.fromisoformat(occurred_at)
            if behind > clock_tolerance:
                return ChainReport(
                    verified,
                    prev_hash,
                    ChainProblem(
                        event_id,
                        f"occurred_at goes back {behind.total_seconds():.3f}s, more than the "
                        f"{clock_tolerance.total_seconds():g}s tolerance",
                    ),
                )
        if latest is None or occurred_at > latest:
            latest = occurred_at
        prev_prev_hash, prev_hash, prev_id = prev_hash, row_hash, event_id
        verified += 1
    return ChainReport(verified, prev_hash)
