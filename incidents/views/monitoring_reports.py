"""The archived monthly monitoring reports: the list and each file, as an audited download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.audit.denials import deny
from accounts.audit.models import Action
from incidents import monitoring
from incidents.services import data_access_record
from incidents.views.common import request_user


def _monitoring_reader_or_404(request: HttpRequest) -> None:
    if not monitoring.can_read_reports(request_user(request)):
        deny(request)


@login_required
@never_cache
@require_GET
def monitoring_list(request: HttpRequest) -> HttpResponse:
    _monitoring_reader_or_404(request)
    return render(request, "incidents/monitoring_list.html", {"reports": monitoring.read_index()})


@login_required
@never_cache
@require_GET
def monitoring_file(request: HttpRequest, release: int, name: str) -> FileResponse:
    """One archived file, as an attachment; its download is audited."""
    _monitoring_reader_or_404(request)
    path = monitoring.report_file(release, name)
    if path is None or not path.is_file():
        raise Http404("Not found.")
    data_access_record(
        action=Action.DATA_DOWNLOADED,
        actor=request_user(request),
        endpoint="pages/monitoring",
        filters={"release": [str(release)]},
        row_count=None,
        request=request,
        extra={"file": name, "disclosure_control": True},
    )
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)
