"""Writing audit events. Call ``audit_record`` inside the transaction of the change."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit.models import Action, AuditEvent
from istv_portal.middleware import request_id_var

if TYPE_CHECKING:
    from accounts.models import Organisation, User

GENESIS_HASH = "0" * 64
# Any 64-bit number, fixed: serialises appends so concurrent writers cannot fork the chain.
AUDIT_CHAIN_LOCK_KEY = 0x15_7A_0D_17


def canonical_payload(
    *,
    occurred_at: datetime,
    actor_id: int | None,
    actor_email: str,
    organisation_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
    request_id: str,
    ip_address: str | None,
    user_agent: str,
) -> str:
    """The canonical serialisation that is hashed: sorted keys, no spaces, UTC ISO time."""
    return json.dumps(
        {
            "occurred_at": occurred_at.astimezone(timezone.UTC).isoformat(timespec="microseconds"),
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
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{payload}".encode()).hexdigest()


def event_hash(event: AuditEvent) -> str:
    payload = canonical_payload(
        occurred_at=event.occurred_at,
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
    return chain_hash(event.prev_hash, payload)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


@transaction.atomic
def audit_record(
    *,
    action: Action | str,
    actor: User | None = None,
    organisation: Organisation | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    ``details`` must never hold secrets or personal data: filters, counts, purposes and
    before/after values of access settings only.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    details = json.loads(json.dumps(details or {}, default=str))
    actor_email = actor.email if actor is not None and actor.pk else ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_KEY])
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    prev_hash = last or GENESIS_HASH
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_email=actor_email,
        organisation=organisation,
        action=str(action),
        object_type=object_type,
        object_id=str(object_id),
        details=details,
        request_id=getattr(request, "request_id", None) or request_id_var.get(),
        ip_address=client_ip(request),
        user_agent=(request.headers.get("User-Agent", "")[:300] if request else ""),
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    return event
