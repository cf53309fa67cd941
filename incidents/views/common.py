"""What every workspace page shares: the viewer's access, the filter set, the audit of a
view of the data, the query string carried into links and the filter panel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest

from accounts.access import EffectiveAccess
from accounts.access import request_access as access_of_request
from accounts.audit.denials import deny
from accounts.audit.models import Action
from accounts.audit.patterns import check_aggregate_pattern
from accounts.geography import LONDON_BOROUGHS
from accounts.models import User
from incidents.aggregates import GEO_CLASSES, needs_protection
from incidents.filters import WEEKDAYS, IncidentFilterSet
from incidents.models import HarmonisedCode, Release
from incidents.selectors import Purpose, hospitals_visible_to, scope_q
from incidents.services import data_access_record
from incidents.workspace import labels as ws_labels
from incidents.workspace import links as ws_links

# The location classes an incident in someone's rows can have (rows awaiting geocoding
# are in nobody's rows: incidents/selectors.py).
LOCATED_CLASS_CHOICES = [(code, label) for code, label in GEO_CLASSES.items() if code != "awaiting"]
# Parameters of the pages that are not filters: sorting, paging, map level.
PAGE_PARAMETERS = ("sort", "after", "before", "level")
PAGING = ("after", "before")


def request_access(request: HttpRequest) -> EffectiveAccess:
    """The viewer's effective access, computed once per request (shared with the header's
    navigation, which asks the same question)."""
    return access_of_request(request)


def data_access_or_404(request: HttpRequest) -> EffectiveAccess:
    access = request_access(request)
    if not access.has_data_access:
        deny(request)
    return access


def request_user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def page_filterset(
    request: HttpRequest, access: EffectiveAccess, *, purpose: Purpose
) -> IncidentFilterSet:
    return IncidentFilterSet(
        request.GET, user=request_user(request), access=access, purpose=purpose
    )


def counts_page(
    request: HttpRequest, tab: str
) -> tuple[EffectiveAccess, IncidentFilterSet, dict[str, Any]]:
    """The start of every page that counts the filtered incidents (charts, map, top
    locations, licensing, police gap): the viewer's access (404 without any), the filter
    set asking for counts, and the filter panel's context with the page's tab."""
    access = data_access_or_404(request)
    fs = page_filterset(request, access, purpose=Purpose.COUNTS)
    context = panel_context(request, access, fs)
    context["tab"] = tab
    return access, fs, context


def audit_view(
    request: HttpRequest,
    *,
    page: str,
    fs: IncidentFilterSet,
    rows: Any,
    extra: dict[str, Any] | None = None,
) -> None:
    protected = needs_protection(request_access(request))
    data_access_record(
        action=Action.DATA_VIEWED,
        actor=request_user(request),
        endpoint=f"pages/{page}",
        filters=fs.applied(),
        row_count=rows if isinstance(rows, int) else None,
        request=request,
        extra={**(extra or {}), "disclosure_control": protected},
    )
    if protected:  # query auditing (docs/audit.md)
        check_aggregate_pattern(request_user(request), request=request)


def page_query(
    request: HttpRequest, *, drop: tuple[str, ...] = PAGE_PARAMETERS, **extra: str
) -> str:
    """The request's query string without ``drop`` and with ``extra`` set.

    Only filter and paging parameters are carried into links: anything else someone put
    in the address (a token, a session id) is not repeated on the page:
    filter URLs carry only filter values.
    """
    known = IncidentFilterSet.base_filters.keys() | set(PAGE_PARAMETERS)
    items = [
        (k, v)
        for k in request.GET
        for v in request.GET.getlist(k)
        if k in known and k not in drop and k not in extra and v != ""
    ]
    items += [(k, v) for k, v in extra.items() if v]
    return urlencode(items)


def panel_context(
    request: HttpRequest, access: EffectiveAccess, fs: IncidentFilterSet
) -> dict[str, Any]:
    """What the shared filter panel needs: choices within scope and the current values."""
    boroughs = sorted(access.boroughs, key=lambda c: LONDON_BOROUGHS.get(c, c))
    hospitals = hospitals_visible_to(request_user(request), access=access).order_by("name")
    # The harmonised codes once for the whole page: choices, tags and the table's words.
    book = ws_labels.CodeBook.load()
    code_labels = book.labels

    def ticked(name: str, choices: Iterable[tuple[Any, str]]) -> list[tuple[str, str, bool]]:
        chosen = set(request.GET.getlist(name))
        return [(str(code), label, str(code) in chosen) for code, label in choices]

    return {
        "fs": fs,
        "form_errors": fs.form.errors if not fs.is_valid() else {},
        "value": {name: request.GET.get(name, "") for name in request.GET},
        "borough_choices": ticked("borough", [(c, LONDON_BOROUGHS.get(c, c)) for c in boroughs]),
        "hospital_choices": ticked("hospital", hospitals.values_list("site_code", "name")),
        "method_choices": ticked("method", book.choices(HarmonisedCode.Kind.METHOD)),
        "location_type_choices": ticked(
            "location_type", book.choices(HarmonisedCode.Kind.LOCATION_TYPE)
        ),
        "code_labels": code_labels,
        "weekday_choices": ticked("weekday", WEEKDAYS),
        "geo_class_choices": ticked("geo_class", LOCATED_CLASS_CHOICES),
        "release_choices": list(
            Release.objects.order_by("-number").values_list("number", "label")[:36]
        ),
        "free_text_allowed": scope_q(access, "free_text") is not None,
        "changes_since": ws_links.changes_since(request.GET.get("release")),
        "access": access,
        "filter_query": page_query(request),
        "tab_query": page_query(request, drop=PAGING),
        "page_path": request.path,
        "filter_tags": ws_links.filter_tags(fs, kept_parameters(request), code_labels),
        "clear_query": urlencode(kept_parameters(request)),
    }


def kept_parameters(request: HttpRequest) -> list[tuple[str, str]]:
    """The page parameters that are not filters and outlive a change of filter (the sort
    order, the map level); a page cursor does not: it belongs to the old result."""
    kept = [name for name in PAGE_PARAMETERS if name not in PAGING]
    return [(k, v) for k in kept for v in request.GET.getlist(k) if v]
