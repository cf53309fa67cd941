"""The audit viewer and its CSV export, for access administrators only.

Everyone else gets the same 404 as for a page that does not exist (and the refusal is
itself audited). Both pages are ``no-store``: audit rows must not linger in caches.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.audit.denials import deny
from accounts.audit.filters import AuditEventFilter
from accounts.audit.models import Action, AuditEvent
from accounts.audit.selectors import (
    audit_events_for_viewer,
    can_view_audit,
    events_page,
    iter_events_desc,
)
from accounts.audit.services import audit_record
from istv_portal.spreadsheet import EchoBuffer, neutralise_cell

CURSOR_PARAMS = ("before", "after")
EXPORT_CHUNK_SIZE = 2000
# Every exported cell is neutralised: spreadsheets run cells starting =, +, -, @ as formulas.
EXPORT_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_email",
    "organisation_id",
    "organisation__name",
    "action",
    "object_type",
    "object_id",
    "details",
    "request_id",
    "ip_address",
    "user_agent",
    "prev_hash",
    "hash",
)
EXPORT_HEADER = ("id", *(f.replace("organisation__name", "organisation") for f in EXPORT_FIELDS))


def _require_viewer(request: HttpRequest) -> None:
    if not can_view_audit(request.user):  # type: ignore[arg-type]
        deny(request, object_type="audit.auditevent")


def _positive_int(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value < 2**63 else None


def _query_without_cursor(request: HttpRequest) -> str:
    params = request.GET.copy()
    for name in CURSOR_PARAMS:
        params.pop(name, None)
    return params.urlencode()


@login_required
@require_GET
@never_cache
def event_list(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    filterset = AuditEventFilter(request.GET or None, queryset=audit_events_for_viewer())
    valid = filterset.form.is_valid() if filterset.is_bound else True
    before = _positive_int(request.GET.get("before"))
    after = _positive_int(request.GET.get("after"))
    page = events_page(filterset.qs, before=before, after=after) if valid else None
    summary = filterset.summary()
    cursor = {k: v for k, v in (("before", before), ("after", after)) if v is not None}
    audit_record(
        action=Action.AUDIT_VIEWED,
        actor=request.user,  # type: ignore[arg-type]
        details={"filter": summary, "cursor": cursor},
        request=request,
    )
    return render(
        request,
        "audit/event_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": _query_without_cursor(request),
        },
    )


def _export_value(field: str, value: Any) -> Any:
    if field == "occurred_at":
        return value.astimezone(UTC).isoformat()
    if field == "details":
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def _csv_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(EchoBuffer())
    yield writer.writerow(EXPORT_HEADER)
    for row in rows:
        cells = [row["id"], *(_export_value(f, row[f]) for f in EXPORT_FIELDS)]
        yield writer.writerow([neutralise_cell(cell) for cell in cells])


@login_required
@require_GET
@never_cache
def event_export(request: HttpRequest) -> HttpResponseBase:
    _require_viewer(request)
    filterset = AuditEventFilter(request.GET or None, queryset=AuditEvent.objects.all())
    if filterset.is_bound and not filterset.form.is_valid():
        return render(
            request,
            "audit/event_list.html",
            {"filter": filterset, "page": None, "query": ""},
            status=400,
        )
    # The log is append-only, so "matching rows with id <= upper" is a fixed set: the
    # count recorded below is exactly what is streamed, and the export can be reproduced.
    stats = filterset.qs.aggregate(upper=Max("id"), rows=Count("id"))
    upper = stats["upper"] or 0
    audit_record(
        action=Action.AUDIT_EXPORTED,
        actor=request.user,  # type: ignore[arg-type]
        details={
            "filter": filterset.summary(),
            "row_count": stats["rows"],
            "upper_id": upper,
            "format": "csv",
        },
        request=request,
    )
    rows = iter_events_desc(
        filterset.qs.filter(id__lte=upper), fields=EXPORT_FIELDS, chunk_size=EXPORT_CHUNK_SIZE
    )
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
