"""Top locations and the licensing view (incidents.workspace.top_locations): pages, audited
as views of the data, and the licensing CSV, audited as a download."""

from __future__ import annotations

import csv
import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.audit.models import Action
from incidents.selectors import Purpose, scope_q
from incidents.services import data_access_record
from incidents.views.common import (
    PAGING,
    audit_view,
    counts_page,
    data_access_or_404,
    page_filterset,
    page_query,
    request_user,
)
from incidents.workspace import top_locations as ws_top
from istv_portal.spreadsheet import neutralise


@login_required
@never_cache
@require_GET
def top_locations(request: HttpRequest) -> HttpResponse:
    _, fs, context = counts_page(request, "top_locations")
    if fs.is_valid():
        result = ws_top.top_locations(fs)
        context.update(
            {
                "result": result,
                "hour_bands": [*ws_top.HOUR_BANDS, ws_top.TIME_UNKNOWN],
                "explore_query": page_query(request, drop=(*PAGING, "place")),
                "licensing_query": page_query(request, drop=PAGING),
            }
        )
        audit_view(request, page="top_locations", fs=fs, rows=len(result.places))
    return render(
        request, "incidents/top_locations.html", context, status=200 if fs.is_valid() else 400
    )


@login_required
@never_cache
@require_GET
def licensing(request: HttpRequest) -> HttpResponse:
    access, fs, context = counts_page(request, "top_locations")
    if fs.is_valid():
        view = ws_top.licensing_view(fs)
        context.update(
            {
                "view": view,
                "can_download": scope_q(access, "download_counts") is not None,
                "csv_query": page_query(request, drop=PAGING),
            }
        )
        audit_view(request, page="licensing", fs=fs, rows=len(view.places))
    return render(
        request, "incidents/licensing.html", context, status=200 if fs.is_valid() else 400
    )


@login_required
@never_cache
@require_GET
def licensing_csv(request: HttpRequest) -> HttpResponse:
    """The licensing view as CSV: the same figures as the page, for the download right
    (any level), audited as a download."""
    access = data_access_or_404(request)
    if scope_q(access, "download_counts") is None:
        raise PermissionDenied("Your organisation's access does not include downloads.")
    fs = page_filterset(request, access, purpose=Purpose.DOWNLOAD_COUNTS)
    if not fs.is_valid():
        return HttpResponse("Check the filters.", status=400, content_type="text/plain")
    view = ws_top.licensing_view(fs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["premises", "kind", "weekday", "hour_band", "incidents"])
    for row in view.csv_rows():
        writer.writerow([neutralise(str(value)) for value in row])
    if view.note:
        writer.writerow([neutralise(view.note)])
    data_access_record(
        action=Action.DATA_DOWNLOADED,
        actor=request_user(request),
        endpoint="downloads/licensing.csv",
        filters=fs.applied(),
        row_count=len(view.places),
        request=request,
        extra={"disclosure_control": view.protected, "format": "csv"},
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="licensing-premises.csv"'
    return response
