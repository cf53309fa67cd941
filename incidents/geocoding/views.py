"""The geocoding review queue (data managers only; everyone else gets a 404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from incidents.geocoding.forms import DecisionForm
from incidents.geocoding.selectors import (
    borough_boundaries_geojson,
    review_item_for,
    review_queue_for,
)
from incidents.geocoding.services import review_candidates, review_item_decide


@login_required
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    items = review_queue_for(request.user)[:200]  # type: ignore[arg-type]
    return render(request, "geocoding/review_list.html", {"items": items})


@login_required
@require_http_methods(["GET", "POST"])
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = review_item_for(request.user, pk)  # type: ignore[arg-type]
    candidates = review_candidates(item.result)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review_item_decide(
                actor=request.user,  # type: ignore[arg-type]
                item=item,
                decision=form.cleaned_data["decision"],
                candidate=form.cleaned_data.get("candidate"),
                lat=form.cleaned_data.get("lat"),
                lon=form.cleaned_data.get("lon"),
                request=request,
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, "Decision saved; the phrase will geocode this way from now on."
            )
            return redirect("geocoding:review_list")
    return render(
        request,
        "geocoding/review_detail.html",
        {
            "item": item,
            "candidates": list(enumerate(candidates)),
            "map_data": {"candidates": candidates, "tileUrl": settings.MAP_TILE_URL},
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def boroughs_geojson(request: HttpRequest) -> HttpResponse:
    review_queue_for(request.user)  # type: ignore[arg-type]  # 404 unless a data manager
    response = HttpResponse(borough_boundaries_geojson(), content_type="application/geo+json")
    response["Cache-Control"] = "private, max-age=3600"
    return response
