"""Submission pages: upload, status with live progress, report, scorecard, mapping,
review and publish (through a check-your-answers page), the tracker and the original-file
download (mounted at /submissions/).

Only hospital liaisons and data managers use these pages; anyone else gets 404 on every
one (``_viewer``). Every submission is looked up through the scoping chokepoint
(``submissions_visible_to``) with ``get_in_scope_or_404``, so another hospital's
submission is an audited 404. Writes go through ``ingest.services``. Every page is
``never_cache``: they describe data files and must not sit in shared caches.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.timezone import localdate
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.audit.denials import deny, get_in_scope_or_404
from accounts.audit.models import Action, audit_object_type
from accounts.models import User
from hospitals.models import Submission
from hospitals.selectors import sites_uploadable_by
from incidents.services import data_access_record
from ingest import selectors as page_selectors
from ingest.forms import FIELD_LABELS, MappingForm, PublishForm, UploadForm
from ingest.pipeline.template import ISTV_TEMPLATE
from ingest.publish_check import PublishCheck, publish_check
from ingest.reference_forms import ValueMappingForm
from ingest.scorecard import Thresholds
from ingest.selectors import SubmissionViewer
from ingest.services import (
    UploadRefused,
    submission_confirm_mapping,
    submission_publish,
    submission_receive,
)
from ingest.template_files import (
    CSV_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    template_csv,
    template_xlsx,
)
from ingest.uploads import (
    UploadRateThrottle,
    install_size_limit,
    request_too_large,
    upload_limit_text,
)
from istv_portal import private_storage as storage
from istv_portal.periods import due_day
from istv_portal.spreadsheet import neutralise

Status = Submission.Status
ISSUES_PAGE_SIZE = 200
REVIEW_PAGE_SIZE = 50
RECENT_LIMIT = 20
TRACKER_MONTHS = 12
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _viewer(request: HttpRequest) -> SubmissionViewer:
    """Liaisons and data managers only: anyone else is told the page does not exist."""
    viewer = page_selectors.submission_viewer(_actor(request))
    if not viewer.uses_submissions:
        deny(request)
    return viewer


def submission_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in, liaison or data manager, never cached."""

    @wraps(view)
    @login_required
    @never_cache
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        _viewer(request)
        return view(request, *args, **kwargs)

    return wrapper


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a submission page with what the section's navigation needs."""
    user = _actor(request)
    context.setdefault("viewer", page_selectors.submission_viewer(user))
    context.setdefault("can_upload", sites_uploadable_by(user).exists())
    return render(request, template, context, status=status)


def _submission(request: HttpRequest, pk: int, *, needs: str = "") -> Submission:
    """The submission if it is within the person's scope (audited 404 otherwise).

    ``needs`` names a result ("report", "scorecard") the page shows: 404 until it exists.
    """
    submission = get_in_scope_or_404(page_selectors.submissions_for(_actor(request)), pk=pk)
    if needs and not getattr(submission, needs):
        raise Http404(f"No {needs} yet.")
    return submission


# --- home --------------------------------------------------------------------------------


@submission_page
@require_GET
def submission_list(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    viewer = page_selectors.submission_viewer(user)
    sites = list(sites_uploadable_by(user))
    recent = [
        (submission, page_selectors.STATUS_TAG_CLASS.get(submission.status, ""))
        for submission in page_selectors.submissions_for(user).order_by("-created_at")[
            :RECENT_LIMIT
        ]
    ]
    return _render(
        request,
        "submissions/submission_list.html",
        {
            "viewer": viewer,
            "sites": sites,
            "months_due": page_selectors.months_due(user, sites) if sites else [],
            "recent": recent,
            "review_count": page_selectors.review_queue(user).count()
            if viewer.is_data_manager
            else 0,
        },
    )


# --- upload ------------------------------------------------------------------------------


def _too_many_uploads(request: HttpRequest, throttle: UploadRateThrottle) -> HttpResponse:
    wait = throttle.wait()
    response = _render(
        request,
        "submissions/too_many_uploads.html",
        {"wait_seconds": int(wait) + 1 if wait else None},
        status=429,
    )
    if wait:
        response["Retry-After"] = str(int(wait) + 1)
    return response


@csrf_exempt  # checked below, once the size-limit handler is in place
@submission_page
@require_http_methods(["GET", "POST"])
def submission_upload(request: HttpRequest) -> HttpResponseBase:
    """The size limit must be installed before anything reads the body, and the CSRF
    middleware would read it first; so CSRF is enforced by ``csrf_protect`` inside."""
    sites = sites_uploadable_by(_actor(request))
    if not sites.exists():
        # Data managers and liaisons without an upload right have nothing to upload to.
        deny(request, status=403 if request.method == "POST" else 404)
    if request.method == "POST" and request_too_large(request):
        return _too_large(request, sites)
    handler = install_size_limit(request) if request.method == "POST" else None
    return cast(HttpResponseBase, _upload_checked(request, sites=sites, handler=handler))


@csrf_protect
def _upload_checked(request: HttpRequest, *, sites: Any, handler: Any) -> HttpResponse:
    if request.method != "POST":
        return _upload_page(request, UploadForm(sites=sites))
    throttle = UploadRateThrottle()
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]
        return _too_many_uploads(request, throttle)
    form = UploadForm(request.POST, request.FILES, sites=sites)
    if handler is not None and handler.exceeded:
        return _too_large(request, sites)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    try:
        submission = submission_receive(
            actor=_actor(request),
            site=form.cleaned_data["site"],
            period=form.cleaned_data["period"],
            upload=form.cleaned_data["file"],
            set_aside_invalid=form.set_aside_invalid,
            dry_run=form.cleaned_data["dry_run"],
            request=request,
        )
    except UploadRefused as refused:
        form.add_error("file", refused.message)
        return _upload_page(request, form, status=400)
    if getattr(submission, "duplicate", False):
        form.add_error(
            "file",
            f"This file was already uploaded on {localdate(submission.created_at):%-d %B %Y} "
            f"(version {submission.version}).",
        )
        return _upload_page(request, form, status=400, duplicate=submission)
    messages.success(request, "File received. It is being checked now.")
    return redirect("ingest:submission_detail", pk=submission.pk)


def _too_large(request: HttpRequest, sites: Any) -> HttpResponse:
    message = f"The file is larger than the {upload_limit_text()} limit."
    return _upload_page(request, UploadForm.refused(message, sites=sites), status=413)


def _upload_page(
    request: HttpRequest,
    form: UploadForm,
    *,
    status: int = 200,
    duplicate: Submission | None = None,
) -> HttpResponse:
    return _render(
        request,
        "submissions/upload.html",
        {
            "form": form,
            "limit": upload_limit_text(),
            "duplicate": duplicate,
            "template_columns": ISTV_TEMPLATE,
        },
        status=status,
    )


_TEMPLATES: dict[str, tuple[Callable[[], bytes], str]] = {
    "csv": (template_csv, CSV_CONTENT_TYPE),
    "xlsx": (template_xlsx, XLSX_CONTENT_TYPE),
}


@submission_page
@require_GET
def submission_template(request: HttpRequest, extension: str) -> HttpResponse:
    """The ISTV template (header row only, no data) as CSV or Excel."""
    if extension not in _TEMPLATES:
        raise Http404("No such template.")
    build, content_type = _TEMPLATES[extension]
    response = HttpResponse(build(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="istv-template.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- one submission ------------------------------------------------------------------------


@submission_page
@require_GET
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    submission = _submission(request, pk)
    steps = page_selectors.submission_steps(submission)
    progress = page_selectors.progress_payload(submission)
    return _render(
        request,
        "submissions/status.html",
        {
            "submission": submission,
            "steps": steps,
            "progress": progress,
            "progress_step": progress["progress"] // 5 * 5,
            "running": not progress["finished"],
            "viewer": viewer,
            "tag_class": page_selectors.STATUS_TAG_CLASS.get(submission.status, ""),
            "has_report": bool(submission.report),
            "has_scorecard": bool(submission.scorecard),
            "downloadable": _original_downloadable(submission),
            "can_publish": viewer.is_data_manager and submission.status == Status.READY_FOR_REVIEW,
        },
    )


@submission_page
@require_GET
def submission_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """What the status page polls: status, progress and step (never cached)."""
    submission = _submission(request, pk)
    return JsonResponse(page_selectors.progress_payload(submission))


@submission_page
@require_GET
def submission_report(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _submission(request, pk, needs="report")
    view = page_selectors.report_view(submission.report)
    issues = Paginator(view.issues, ISSUES_PAGE_SIZE).get_page(request.GET.get("page"))
    set_aside = list(submission.set_aside_rows.all().order_by("source_row")[:ISSUES_PAGE_SIZE])
    return _render(
        request,
        "submissions/report.html",
        {
            "submission": submission,
            "report": view,
            "issues": issues,
            "set_aside_rows": set_aside,
            "set_aside_total": submission.rows_set_aside,
            "tag_class": page_selectors.STATUS_TAG_CLASS.get(submission.status, ""),
        },
    )


class _Echo:
    """A write-only file for csv.writer that hands each line back."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(page_selectors.REPORT_CSV_COLUMNS)
    for row in rows:
        yield writer.writerow([neutralise(str(value)) for value in row])


def _download_name(submission: Submission, suffix: str) -> str:
    version = "check" if submission.dry_run else f"v{submission.version}"
    base = f"{submission.site.site_code}-{submission.period:%Y-%m}-{version}"
    return _UNSAFE_NAME.sub("_", f"{base}-{suffix}")[:120]


@submission_page
@require_GET
def submission_report_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The problem list as CSV; cells a spreadsheet would run as formulas are defused."""
    submission = _submission(request, pk, needs="report")
    response = StreamingHttpResponse(
        _csv_lines(iter(page_selectors.report_problem_rows(submission.report))),
        content_type="text/csv; charset=utf-8",
    )
    name = _download_name(submission, "problems.csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@submission_page
@require_GET
def submission_scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _submission(request, pk, needs="scorecard")
    thresholds = Thresholds.from_settings(settings.SUBMISSION_AUTO_PUBLISH_THRESHOLDS)
    return _render(
        request,
        "submissions/scorecard.html",
        {
            "submission": submission,
            "scorecard": page_selectors.scorecard_view(submission.scorecard),
            # Now, from the published files: the stored figure was frozen at processing.
            "london": page_selectors.london_share_now(
                submission, threshold=thresholds.volume_change
            ),
            "tag_class": page_selectors.STATUS_TAG_CLASS.get(submission.status, ""),
        },
    )


@submission_page
@require_http_methods(["GET", "POST"])
def submission_mapping(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Confirm how the file's columns map onto the ISTV items (status mapping needed): an
    unseen layout, or one that changed since the hospital's confirmed mapping (then with
    the column diff and a proposal built from the previous version). The page lists the
    hospital's mapping versions. Confirming queues the same stored file again."""
    submission = _submission(request, pk)
    if submission.status != Status.MAPPING_NEEDED:
        raise Http404("This submission does not need a mapping.")
    report = submission.report or {}
    change = page_selectors.layout_change_view(report)
    form = MappingForm(
        request.POST or None,
        columns=[str(c) for c in report.get("columns") or []],
        proposal=report.get("proposal"),
        notes=_column_notes(report, change),
    )
    value_form = ValueMappingForm(request.POST or None, unmapped=report.get("unmapped_values"))
    if request.method == "POST" and form.is_valid() and value_form.is_valid():
        try:
            submission_confirm_mapping(
                actor=_actor(request),
                submission=submission,
                columns=form.source_to_field,
                value_mappings=value_form.value_mappings,
                request=request,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, "Mapping saved. The file is being checked again.")
            return redirect("ingest:submission_detail", pk=submission.pk)
    proposal = report.get("proposal") or {}
    return _render(
        request,
        "submissions/mapping.html",
        {
            "submission": submission,
            "form": form,
            "value_form": value_form,
            "missing_fields": proposal.get("missing_fields") or [],
            "missing_labels": [
                FIELD_LABELS.get(str(f), str(f)) for f in proposal.get("missing_fields") or []
            ],
            "change": change,
            "versions": page_selectors.mapping_versions_view(submission.site, FIELD_LABELS),
        },
        status=400 if request.method == "POST" else 200,
    )


def _column_notes(
    report: dict[str, Any], change: page_selectors.LayoutChangeView | None
) -> dict[str, str]:
    """Per column, for its hint: what its sample values look like (never the values)
    and, for a changed layout, the column of the previous version it seems to replace."""
    kinds = report.get("column_kinds") or {}
    notes: dict[str, str] = {}
    for column in report.get("columns") or []:
        parts = []
        if change is not None and column in change.renamed_from:
            parts.append(f"Seems to replace “{change.renamed_from[column]}”")
        elif change is not None and column in change.kept:
            parts.append("Also in the previous layout")
        if kinds.get(column):
            parts.append(f"Values look like: {kinds[column]}")
        if parts:
            notes[str(column)] = ". ".join(parts) + "."
    return notes


def _original_downloadable(submission: Submission) -> bool:
    # Quarantined originals hold personal data: never offered, never served.
    return (
        submission.status != Status.QUARANTINED
        and storage.path_for(submission.stored_name).is_file()
    )


@submission_page
@require_GET
def submission_original(request: HttpRequest, pk: int) -> FileResponse:
    """The uploaded file, as an attachment under a generated name, never the uploaded one."""
    submission = _submission(request, pk)
    if submission.status == Status.QUARANTINED:
        # Nobody may have a quarantined original, however it was asked for.
        deny(request, object_type=audit_object_type(submission), object_id=submission.pk)
    if not _original_downloadable(submission):
        raise Http404("The original file is not available.")
    path = storage.path_for(submission.stored_name)
    extension = submission.original_name.rsplit(".", 1)[-1].lower()
    name = _download_name(submission, f"original.{extension}")
    data_access_record(
        action=Action.DATA_DOWNLOADED,
        actor=_actor(request),
        endpoint="ingest:submission_original",
        filters={"submission": submission.pk, "site": submission.site.site_code},
        row_count=submission.rows_read,
        request=request,
        organisation=submission.site.organisation,
        extra={"sha256": submission.sha256, "format": submission.detected_format},
    )
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- data managers -------------------------------------------------------------------------


@submission_page
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not viewer.is_data_manager:
        deny(request)
    page = Paginator(page_selectors.review_queue(_actor(request)), REVIEW_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return _render(
        request,
        "submissions/review_queue.html",
        {
            "rows": [(s, page_selectors.scorecard_view(s.scorecard)) for s in page.object_list],
            "page": page,
            "range_text": page_selectors.page_range_text(page),
        },
    )


def _to_publish(request: HttpRequest, pk: int) -> Submission:
    """The submission, for a data manager: 404 out of scope, 403 for a liaison."""
    viewer = _viewer(request)
    submission = _submission(request, pk)
    if not viewer.is_data_manager:
        raise PermissionDenied
    return submission


def _publish_check_page(
    request: HttpRequest, submission: Submission, check: PublishCheck, form: PublishForm
) -> HttpResponse:
    return _render(
        request,
        "submissions/publish_check.html",
        {"submission": submission, "check": check, "form": form},
        status=400 if form.errors else 200,
    )


@submission_page
@require_GET
def submission_publish_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Check your answers before publishing: what the version replaces, the checks that
    failed or warned and what changes for whom. It posts to ``submission_publish``."""
    submission = _to_publish(request, pk)
    if submission.status != Status.READY_FOR_REVIEW:
        raise Http404("This submission is not waiting to be published.")
    check = publish_check(submission)
    return _publish_check_page(
        request, submission, check, PublishForm(needs_reason=check.needs_reason)
    )


@submission_page
@require_POST
def submission_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish, from the check-your-answers page: refused (the page again, with the
    error) without a reason when a quality check failed."""
    submission = _to_publish(request, pk)
    reason = ""
    if submission.status == Status.READY_FOR_REVIEW:
        check = publish_check(submission)
        form = PublishForm(request.POST, needs_reason=check.needs_reason)
        if not form.is_valid():
            return _publish_check_page(request, submission, check, form)
        reason = form.cleaned_data["reason"]
    try:
        submission_publish(
            actor=_actor(request), submission=submission, request=request, reason=reason
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Published {submission.site.name}, {submission.period:%B %Y} "
            f"(version {submission.version}).",
        )
    return redirect("ingest:submission_detail", pk=submission.pk)


@submission_page
@require_GET
def tracker(request: HttpRequest) -> HttpResponse:
    """Hospitals x months: received, late, missing, quality (own sites for liaisons)."""
    months, rows = page_selectors.tracker_page(_actor(request), TRACKER_MONTHS)
    return _render(
        request,
        "submissions/tracker.html",
        {
            "months": months,
            "rows": rows,
            "legend": page_selectors.tracker_legend(),
            "due_day": due_day(),
        },
    )
