"""The dashboard: the latest month, trends and the release note."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from incidents.filters import IncidentFilterSet
from incidents.release_notes import latest_release_note
from incidents.selectors import Purpose
from incidents.views.common import audit_view, data_access_or_404, request_user
from incidents.workspace import dashboard as ws_dashboard
from istv_portal.markdown import render_markdown
from istv_portal.periods import add_months


@login_required
@never_cache
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    access = data_access_or_404(request)
    note = latest_release_note()
    fs = IncidentFilterSet({}, user=request_user(request), access=access, purpose=Purpose.COUNTS)
    board = ws_dashboard.dashboard_cached(fs.qs, access)
    audit_view(
        request,
        page="dashboard",
        fs=fs,
        rows=board.trend.total,
        extra={"months": [add_months(board.month, -23).isoformat(), board.month.isoformat()]},
    )
    return render(
        request,
        "incidents/dashboard.html",
        {
            "board": board,
            "access": access,
            "release_note": note,
            "release_note_html": render_markdown(note.body) if note else "",
            "trend_chart": board.trend_chart,
            "explore_last_month": urlencode(
                {
                    "assault_date_from": board.month.isoformat(),
                    "assault_date_to": (
                        add_months(board.month, 1) - dt.timedelta(days=1)
                    ).isoformat(),
                }
            ),
        },
    )
