"""Writing audit events. Call ``audit_record`` inside the transaction of the change.

The chain: each row's ``hash`` is SHA-256 over ``prev_hash | canonical JSON of every other
column`` (the row id included), so altering any column of any row, removing a row or
splicing one in breaks every link after it. Appends are serialised by a transaction-level
advisory lock, so two writers can never both extend the same head; the lock, the head
read and the insert run inside PostgreSQL in one statement (``audit_append``), so the
lock is never held while the application waits for its CPU.

Once the surrounding transaction commits, the event is also written as one JSON line to
the ``istv.audit`` logger, which production ships to the external log collector: a
second copy (with the hashes) that an attacker with database access cannot rewrite.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import ipaddress
import json
import logging
import secrets
import uuid
from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise

from accounts.audit.models import Action, AuditEvent, audit_object_type
from istv_portal.middleware import request_id_var

if TYPE_CHECKING:
    from accounts.models import Organisation, User

GENESIS_HASH = "0" * 64
# Any 64-bit number, fixed: serialises appends so concurrent writers cannot fork the chain.
AUDIT_CHAIN_LOCK_KEY = 0x15_7A_0D_17
USER_AGENT_MAX = 300
OBJECT_FIELD_MAX = 64

sink_logger = logging.getLogger("istv.audit")

# Keys that would carry a credential. ``details`` holding one is a programming error, so it
# is refused loudly rather than dropped (a silently stripped audit field hides the bug).
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "password",
        "password1",
        "password2",
        "old_password",
        "new_password",
        "new_password1",
        "new_password2",
        "secret",
        "totp_secret",
        "otp",
        "totp",
        "totp_code",
        "recovery_codes",
        "session_key",
        "sessionid",
        "csrftoken",
        "csrf_token",
        "csrfmiddlewaretoken",
        "api_key",
        "raw_token",
    }
)


class AuditDetailsError(ValueError):
    """``details`` cannot be stored as given (not JSON, or holds a credential)."""


class _DetailsEncoder(json.JSONEncoder):
    """Lossless text forms for the few value types Django code passes around.

    Deliberately no catch-all ``str()``: a model instance or arbitrary object in
    ``details`` is refused, since its ``str`` may be personal data (a user's e-mail).
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime):
            if timezone.is_naive(o):
                raise AuditDetailsError("Naive datetime in audit details; use an aware one.")
            return o.isoformat()
        if isinstance(o, dt.date | dt.time):
            return o.isoformat()
        if isinstance(o, dt.timedelta):
            return o.total_seconds()
        if isinstance(o, decimal.Decimal | uuid.UUID | Promise):
            return str(o)
        if isinstance(o, set | frozenset | tuple):
            return sorted(o, key=str) if isinstance(o, set | frozenset) else list(o)
        raise AuditDetailsError(f"Audit details must be JSON-serialisable; got {type(o).__name__}.")


def _check_keys(value: Any, path: str = "details") -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditDetailsError(f"{path} has a non-string key {key!r}.")
            if key.lower() in FORBIDDEN_DETAIL_KEYS:
                raise AuditDetailsError(f"{path}.{key} looks like a credential; never audit it.")
            _check_keys(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_keys(item, f"{path}[{index}]")


def details_to_json(details: Mapping[str, Any] | None) -> str:
    """``details`` as JSON text, or ``AuditDetailsError``. Nothing is dropped or guessed."""
    if details is None:
        return "{}"
    if not isinstance(details, Mapping):
        raise AuditDetailsError("Audit details must be a mapping.")
    _check_keys(details)
    try:
        return json.dumps(details, cls=_DetailsEncoder, allow_nan=False)
    except ValueError as exc:  # NaN / Infinity, which JSON (and jsonb) cannot hold
        raise AuditDetailsError(str(exc)) from exc


# One encoder, built once: json.dumps with options builds a new encoder on every call,
# which is a measurable share of verifying a million events.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def utc_iso(moment: dt.datetime) -> str:
    """The timestamp form that is hashed: UTC, microseconds, ``+00:00``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


# The same form computed by PostgreSQL, so verification need not parse timestamps.
SQL_UTC_ISO = """to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def canonical_payload(
    *,
    event_id: int,
    occurred_at: dt.datetime | str,
    actor_id: int | None,
    actor_email: str,
    organisation_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    details: Any,
    request_id: str,
    ip_address: str | None,
    user_agent: str,
) -> str:
    """The canonical serialisation that is hashed: sorted keys, no spaces, UTC ISO time.

    ``occurred_at`` may be given already in ``utc_iso`` form (as ``verify_audit`` reads
    it). ``details`` must already be in the form the database gives back
    (``audit_record`` round-trips it through jsonb first), so that the writer and
    ``verify_audit`` hash exactly the same text.
    """
    return _CANONICAL.encode(
        {
            "id": event_id,
            "occurred_at": occurred_at if isinstance(occurred_at, str) else utc_iso(occurred_at),
            "actor_id": actor_id,
            "actor_email": actor_email,
            "organisation_id": organisation_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "details": details,
            "request_id": request_id,
            "ip_address": ip_address,
            "user_agent": user_agent,
        }
    )


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{payload}".encode()).hexdigest()


def event_hash(event: AuditEvent) -> str:
    """The hash ``event`` should carry, recomputed from its columns."""
    payload = _event_payload(event, event_id=event.pk, occurred_at=event.occurred_at)
    return chain_hash(event.prev_hash, payload)


def _event_payload(event: AuditEvent, *, event_id: int, occurred_at: dt.datetime | str) -> str:
    """``canonical_payload`` of ``event``'s columns, with this id and time."""
    return canonical_payload(
        event_id=event_id,
        occurred_at=occurred_at,
        actor_id=event.actor_id,
        actor_email=event.actor_email,
        organisation_id=event.organisation_id,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details=event.details,
        request_id=event.request_id,
        ip_address=event.ip_address,
        user_agent=event.user_agent,
    )


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address in PostgreSQL's ``inet`` text form (so the hash round-trips)."""
    if request is None:
        return None
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def _request_id(request: HttpRequest | None) -> str:
    value = getattr(request, "request_id", None) or request_id_var.get()
    # "-" is the log filter's placeholder outside a request: store "no request" as empty.
    return "" if value == "-" else str(value)


def sink_line(event: AuditEvent) -> str:
    """The JSON line shipped to the external sink.

    It carries ids, the action, details and both hashes, so the external copy can prove
    a database row unchanged; it leaves out e-mail, IP address and user agent, which the
    log pipeline does not need and should not spread.
    """
    return _CANONICAL.encode(
        {
            "id": event.pk,
            "occurred_at": utc_iso(event.occurred_at),
            "action": event.action,
            "actor_id": event.actor_id,
            "organisation_id": event.organisation_id,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "details": event.details,
            "request_id": event.request_id,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }
    )


def _ship(event: AuditEvent) -> None:
    sink_logger.info(sink_line(event))


def audit_record(
    *,
    action: Action | str,
    actor: User | None = None,
    organisation: Organisation | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    details: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    ``action`` must be one of ``Action`` (a closed list). ``details`` must never hold
    secrets or personal data: filters, counts, purposes and before/after values of access
    settings only. It must be JSON-serialisable (dates, datetimes, decimals and UUIDs are
    written as text); anything else raises ``AuditDetailsError`` rather than being
    coerced or dropped.
    """
    action_value = str(action)
    if action_value not in Action.values:
        raise ValueError(f"Unknown audit action {action_value!r}; add it to Action first.")
    details_json = details_to_json(details)
    if obj is not None:
        object_type = object_type or audit_object_type(obj)
        object_id = object_id if object_id not in ("", None) else obj.pk
    object_id = str(object_id)
    for name, value in (("object_type", object_type), ("object_id", object_id)):
        if len(value) > OBJECT_FIELD_MAX:
            raise ValueError(f"Audit {name} is longer than {OBJECT_FIELD_MAX} characters.")
    has_actor = actor is not None and actor.pk is not None
    user_agent = request.headers.get("User-Agent", "")[:USER_AGENT_MAX] if request else ""
    if request is not None:
        # The request is on the record: the API's catch-all (accounts/audit/api.py) skips it.
        request._istv_audited = True  # type: ignore[attr-defined]

    # Everything above refuses bad input before any SQL. The append is one statement
    # (``audit_append``, migration audit.0010): in the caller's transaction when there is
    # one, without a savepoint of its own (an event cannot be rolled back on its own while
    # the change it records commits, and a failed append rolls back the whole
    # transaction); outside one, the statement is its own transaction and commits at once.
    append = partial(
        _append,
        action_value=action_value,
        actor=actor if has_actor else None,
        organisation=organisation,
        object_type=object_type,
        object_id=object_id,
        details_json=details_json,
        request=request,
        user_agent=user_agent,
    )
    if connection.in_atomic_block:
        with transaction.atomic(savepoint=False):
            return append()
    return append()


def _stored_details(details_json: str) -> Any:
    """``details`` as it reads back from its jsonb column, which is what is hashed.

    Strings, integers, booleans, nulls, lists and objects with string keys come back from
    jsonb exactly as JSON text parses; a float may not (jsonb keeps numbers as decimals:
    ``1e+100`` reads back as an integer), so details holding one ask PostgreSQL.
    """
    parsed = json.loads(details_json)
    if not _has_float(parsed):
        return parsed
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb", [details_json])
        stored = cursor.fetchone()[0]
    # Django loads jsonb as text for JSONField to parse; parse it the same way.
    return json.loads(stored) if isinstance(stored, str) else stored


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_float(item) for item in value)
    return False


def _append(
    *,
    action_value: str,
    actor: User | None,
    organisation: Organisation | None,
    object_type: str,
    object_id: str,
    details_json: str,
    request: HttpRequest | None,
    user_agent: str,
) -> AuditEvent:
    """Extend the chain by one event through ``audit_append``, which takes the chain lock
    (held to the end of the transaction), reads the head, draws the id and inserts.

    The canonical payload is built here with stand-ins for the id and the timestamp, the
    two values fixed only under the lock, and sent in the three parts around them; the
    function hashes ``prev_hash|part1 id part2 timestamp part3`` as ``chain_hash`` would.
    """
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor,
        actor_email=actor.email if actor is not None else "",
        organisation=organisation,
        action=action_value,
        object_type=object_type,
        object_id=object_id,
        details=_stored_details(details_json),
        request_id=_request_id(request),
        ip_address=client_ip(request),
        user_agent=user_agent,
    )
    # Stand-ins no event can hold: a negative id and a random timestamp text.
    id_stand_in = -secrets.randbits(62) - 1
    time_stand_in = f"@{secrets.token_hex(16)}@"
    payload = _event_payload(event, event_id=id_stand_in, occurred_at=time_stand_in)
    before_id, _, after_id = payload.partition(f'"id":{id_stand_in}')
    before_time, _, rest = after_id.partition(time_stand_in)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s,"
            " %s::inet, %s, %s, %s, %s)",
            [
                AUDIT_CHAIN_LOCK_KEY,
                event.occurred_at,
                event.actor_id,
                event.actor_email,
                event.organisation_id,
                event.action,
                event.object_type,
                event.object_id,
                details_json,
                event.request_id,
                event.ip_address,
                event.user_agent,
                before_id + '"id":',
                before_time,
                rest,
            ],
        )
        event.id, event.occurred_at, event.prev_hash, event.hash = cursor.fetchone()
    event._state.adding = False
    event._state.db = connection.alias
    # Shipped only once the change it records is durable; a rolled-back change ships nothing.
    transaction.on_commit(lambda: _ship(event), robust=True)
    return event


def audit_snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """Field values for an event's before/after (JSON-safe; dates become ISO strings)."""
    snap: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, dt.date | dt.datetime):
            value = value.isoformat()
        elif isinstance(value, list):
            value = sorted(value)
        snap[name] = value
    return snap


def audit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only the fields that changed, as ``{"before": {...}, "after": {...}}``."""
    changed = [k for k in after if before.get(k) != after[k]]
    return {
        "before": {k: before.get(k) for k in changed},
        "after": {k: after[k] for k in changed},
    }
