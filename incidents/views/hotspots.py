"""The "Hotspots" tab: Getis-Ord Gi* hot and cold cells on a map and in a table, with a
descriptive density surface as an option. The same function as ``GET /api/v1/hotspots/``
(``incidents.hotspots``), so the page and the API always agree."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from incidents import hotspots as hs
from incidents.spatial_stats import CLASSES
from incidents.views.common import audit_view, counts_page

OPTION_PARAMETERS = ("level", "cell", "kde")
MAX_TABLE_ROWS = 100


@login_required
@never_cache
@require_GET
def hotspots_page(request: HttpRequest) -> HttpResponse:
    access, fs, context = counts_page(request, "hotspots")
    context["keep"] = [
        (k, v) for k in request.GET if k not in OPTION_PARAMETERS for v in request.GET.getlist(k)
    ]
    context["cell_sizes"] = hs.CELL_SIZES
    context["kde"] = request.GET.get("kde") == "1"
    status = 200
    if fs.is_valid():
        boroughs = hs.scope_boroughs(fs)
        allowed = hs.levels_allowed(access, boroughs)
        context["levels_allowed"] = allowed
        try:
            level, cell = hs.parse_options(request.GET, access, boroughs)
        except hs.HotspotError as refused:
            context["option_error"] = str(refused)
            context["level"], context["cell"] = allowed[0], hs.DEFAULT_CELL
            status = 400
        else:
            context["level"], context["cell"] = level, cell or hs.DEFAULT_CELL
            result = hs.hotspots(fs, level=level, cell=cell, kde=context["kde"])
            context.update(_result_context(result))
            audit_view(
                request,
                page="hotspots",
                fs=fs,
                rows=len(result.cells),
                extra={"level": level, "cell": cell},
            )
    else:
        status = 400
    return render(request, "incidents/hotspots.html", context, status=status)


def _result_context(result: hs.Hotspots) -> dict[str, Any]:
    hot = result.hot_cells
    counts = result.class_counts()
    density = [c.density for c in result.cells if c.density]
    cuts = hs.shade_cuts(density)
    map_cells = [
        {
            "id": c.cell,
            "name": c.name,
            "b": c.bounds,
            "k": c.cls,
            "d": hs.density_shade(c.density, cuts) if result.kde else 0,
        }
        for c in result.cells
        if c.cls != "none" or (result.kde and c.density)
    ]
    return {
        "result": result,
        "hot_rows": hot[:MAX_TABLE_ROWS],
        "hot_more": max(0, len(hot) - MAX_TABLE_ROWS),
        "class_rows": [(hs.CLASS_LABELS[k], counts[k], k) for k in CLASSES],
        "map_config": {
            "level": result.level,
            "cells": map_cells,
            "boundariesUrl": f"{reverse('incidents:map_boundaries')}?level=lsoa",
            "baseUrl": reverse("incidents:map_base"),
            "kde": result.kde,
        },
    }
