"""The hospital transparency page: which organisations used a hospital's data, and why."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.audit.denials import deny
from incidents.views.common import request_user
from incidents.workspace import transparency as ws_transparency


@login_required
@never_cache
@require_GET
def transparency(request: HttpRequest) -> HttpResponse:
    """For a hospital liaison: which organisations used their hospital's data, and why."""
    sites = list(ws_transparency.sites_for_liaison(request_user(request)))
    if not sites:
        deny(request)
    wanted = request.GET.get("site")
    site = next((s for s in sites if s.site_code == wanted), sites[0])
    rows = ws_transparency.hospital_data_use(site)
    return render(
        request,
        "incidents/transparency.html",
        {"sites": sites, "site": site, "rows": rows, "months": ws_transparency.TRANSPARENCY_MONTHS},
    )
