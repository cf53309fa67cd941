"""Downloads: choose a format (and state a purpose), then hand off to the streaming export
API, which builds and audits the file (``incidents.exports.responses``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from incidents.aggregates import AggregateTimeout, GroupByError, filter_set_counts, parse_group_by
from incidents.filters import IncidentFilterSet
from incidents.selectors import Purpose, scope_q
from incidents.views.common import audit_view, data_access_or_404, panel_context, request_user
from incidents.workspace import labels as ws_labels
from incidents.workspace import links as ws_links

EXPORT_FORMATS = {
    "csv": "CSV (spreadsheet-friendly text)",
    "xlsx": "Excel workbook (XLSX)",
    "geojson": "GeoJSON (for GIS)",
}
AGGREGATE_EXPORT_FORMATS = {"csv": "CSV", "xlsx": "Excel workbook (XLSX)"}
AGGREGATE_GROUPINGS = {
    "borough,month": "Borough and month",
    "month": "Month",
    "borough": "Borough",
    "ward": "Ward",
    "method,month": "Method and month",
    "location_type,month": "Location type and month",
    "weekday,hour": "Weekday and hour",
    "geo_class": "Location class",
    "geo_class,month": "Location class and month",
}
PURPOSE_MAX = 300
NARROWER = "Choose fewer groups, a coarser area or time, or a shorter period."


# --- downloads -------------------------------------------------------------------------------


class DownloadForm(forms.Form):
    format = forms.ChoiceField(label="Format", choices=())
    purpose = forms.CharField(
        label="Why do you need this download?",
        help_text="Your purpose is recorded with the download and shown to the hospitals "
        "whose data it holds.",
        max_length=PURPOSE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self, *args: Any, formats: dict[str, str], purpose_required: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choice = self.fields["format"]
        assert isinstance(choice, forms.ChoiceField)
        choice.choices = list(formats.items())
        self.fields["purpose"].required = purpose_required


class AggregateDownloadForm(DownloadForm):
    group_by = forms.ChoiceField(label="Counts by", choices=list(AGGREGATE_GROUPINGS.items()))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def download(request: HttpRequest) -> HttpResponse:
    """Choose a format (and state a purpose), then hand off to the streaming export API."""
    access = data_access_or_404(request)
    if scope_q(access, "download_counts") is None:
        raise PermissionDenied("Your organisation's access does not include downloads.")
    record_download = scope_q(access, "download") is not None
    fs = IncidentFilterSet(
        request.GET,
        user=request_user(request),
        access=access,
        purpose=Purpose.DOWNLOAD_RECORDS if record_download else Purpose.DOWNLOAD_COUNTS,
    )
    form: DownloadForm
    if record_download:
        form = DownloadForm(request.POST or None, formats=EXPORT_FORMATS, purpose_required=True)
    else:
        form = AggregateDownloadForm(
            request.POST or None, formats=AGGREGATE_EXPORT_FORMATS, purpose_required=False
        )
    if (
        request.method == "POST"
        and form.is_valid()
        and fs.is_valid()
        and (record_download or _counts_publishable(request, form, fs))
    ):
        items = ws_links.filter_query_items(fs)
        purpose = form.cleaned_data.get("purpose", "").strip()
        fmt = form.cleaned_data["format"]
        if record_download:
            target = reverse("api:export-incidents", kwargs={"fmt": fmt})
        else:
            target = reverse("api:export-aggregates", kwargs={"fmt": fmt})
            items.append(("group_by", form.cleaned_data["group_by"]))
        if purpose:
            items.append(("purpose", purpose))
        # A zip of the data, its data dictionary and the manifest (query, release, row
        # count, recipient, SHA-256 and any disclosure note), as the page promises.
        items.append(("package", "zip"))
        # 303: the browser fetches the export with GET; the export endpoint audits it.
        return _see_other(f"{target}?{urlencode(items)}")
    context = panel_context(request, access, fs)
    context.update(
        {
            "tab": "download",
            "form": form,
            "record_download": record_download,
            "mixed": record_download and not access.record_level,
            "filter_parts": ws_labels.describe_filter(fs.applied()) if fs.is_valid() else [],
        }
    )
    return render(
        request, "incidents/download.html", context, status=400 if request.method == "POST" else 200
    )


def _counts_publishable(request: HttpRequest, form: DownloadForm, fs: IncidentFilterSet) -> bool:
    """Whether the counts export would answer: a grouping too sparse to publish (or one
    past the time budget) is refused here, beside the "Counts by" field, rather than by
    the export endpoint's bare 400 page. The same question as the export asks
    (``incidents.api.views.AggregateExportView``): its filter set, grid and protection."""
    group_by = form.cleaned_data["group_by"].split(",")
    try:
        filter_set_counts(fs, parse_group_by(group_by))
    except GroupByError as refused:
        form.add_error("group_by", str(refused))
    except AggregateTimeout:
        form.add_error("group_by", "These counts took too long to work out. " + NARROWER)
    else:
        return True
    # The refusal says roughly how many incidents there are: a view of the data, audited.
    audit_view(request, page="download", fs=fs, rows=None, extra={"refused": group_by})
    return False


def _see_other(url: str) -> HttpResponse:
    response = HttpResponse(status=303)
    response["Location"] = url
    return response
