"""Saved queries: save the current filter, list the viewer's and shared ones, open one."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.audit.denials import get_in_scope_or_404
from incidents.alert_digests import subscriptions_of
from incidents.filters import IncidentFilterSet
from incidents.models import Release
from incidents.selectors import Purpose, saved_queries_visible_to
from incidents.services import SavedQueryError, saved_query_create
from incidents.views.common import data_access_or_404, request_user
from incidents.views.explore import explore_page
from incidents.views.forms import SaveQueryForm
from incidents.workspace import links as ws_links


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def saved_query_list(request: HttpRequest) -> HttpResponse:
    access = data_access_or_404(request)
    user = request_user(request)
    if request.method == "POST":
        form = SaveQueryForm(request.POST)
        fs = IncidentFilterSet(request.GET, user=user, access=access, purpose=Purpose.COUNTS)
        if form.is_valid() and fs.is_valid():
            release = fs.release_obj or Release.objects.order_by("-number").first()
            params = {k: v for k, v in fs.applied().items() if k != "release"}
            try:
                saved_query_create(
                    actor=user,
                    name=form.cleaned_data["name"],
                    params=params,
                    release=release,
                    shared_with_organisation=form.cleaned_data["shared"],
                    request=request,
                )
            except SavedQueryError as exc:
                form.add_error("name", str(exc))
            else:
                messages.success(request, "Query saved.")
                return redirect("incidents:saved_query_list")
        # Refused: the explore page again, with the errors beside the fields (the filter
        # is still in the query string).
        return explore_page(request, save_form=form)
    saved = list(saved_queries_visible_to(user))
    watching = {s.saved_query_id: s for s in subscriptions_of(user)}
    for item in saved:  # the Subscribe / Stop alerts control of each row
        item.alert_subscription = watching.get(item.pk)  # type: ignore[attr-defined]
    mine = [s for s in saved if s.owner_id == user.pk]
    shared = [s for s in saved if s.owner_id != user.pk]
    return render(
        request,
        "incidents/saved_query_list.html",
        {"mine": mine, "shared": shared, "access": access},
    )


@login_required
@never_cache
@require_GET
def saved_query_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-apply a saved query, pinned to its release, for the viewer's own access."""
    data_access_or_404(request)
    saved = get_in_scope_or_404(saved_queries_visible_to(request_user(request)), pk=pk)
    items = ws_links.query_items({k: v for k, v in saved.params.items() if k != "release"})
    if saved.release is not None:
        items.append(("release", str(saved.release.number)))
    return redirect(f"{reverse('incidents:explore')}?{urlencode(items)}")
