"""Reads for the submission pages: who may use them, and what a page shows.

Everything starts from the scoping chokepoint in ``hospitals.selectors``
(``submissions_visible_to`` / ``sites_uploadable_by``); this module only shapes what
those return for templates: the status steps, the validation report and scorecard
turned into rows with plain-English wording, and the months a liaison still owes.
Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

from django.core.paginator import Page
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.access import user_roles
from accounts.models import Membership, User
from hospitals.models import HospitalSite, Submission
from hospitals.selectors import (
    mapping_versions,
    submissions_for_review,
    submissions_visible_to,
    tracker_grid,
)
from incidents.workspace.labels import EN_DASH
from ingest.pipeline.intake import ACCEPTED_FORMATS_TEXT
from ingest.scorecard import History, london_share
from istv_portal.periods import Period, add_months, due_date, is_overdue

Status = Submission.Status
Role = Membership.Role

# People who use the submission pages at all: everyone else gets 404 on every one.
SUBMISSION_ROLES = frozenset({Role.LIAISON, Role.DATA_MANAGER})
# Statuses that mean "this month's data has arrived" for the months-due list.
ARRIVED_STATUSES = (
    Status.RECEIVED,
    Status.CHECKING,
    Status.PROCESSING,
    Status.MAPPING_NEEDED,
    Status.READY_FOR_REVIEW,
    Status.PUBLISHED,
)
FINISHED_STATUSES = frozenset(Status.values) - frozenset(Submission.RUNNING_STATUSES)
MONTHS_DUE_WINDOW = 3

# Plain-English explanations of the pipeline's stable codes (docs/pipeline.md).
CODE_TEXT: dict[str, str] = {
    "F001_EXTENSION_NOT_ALLOWED": f"Only {ACCEPTED_FORMATS_TEXT} files can be uploaded.",
    "F002_BAD_FILENAME": "The file name contains characters that are not allowed.",
    "F003_TOO_LARGE": "The file is larger than the upload limit.",
    "F004_EMPTY_FILE": "The file is empty.",
    "F005_CONTENT_MISMATCH": "The file's contents do not match its type.",
    "F006_MACRO_ENABLED": "Spreadsheets with macros are not accepted.",
    "F007_NOT_TEXT": "The file is not readable text in a supported encoding.",
    "F010_ZIP_BOMB": "The spreadsheet expands to an unsafe size and was refused.",
    "F011_ZIP_TOO_MANY_MEMBERS": "The spreadsheet has too many internal parts.",
    "F012_ZIP_TOO_LARGE_UNCOMPRESSED": "The spreadsheet is too large once unpacked.",
    "F013_ZIP_CORRUPT": "The spreadsheet is damaged and cannot be opened.",
    "F014_SHEET_TOO_LARGE": "The sheet has more rows or columns than allowed.",
    "F015_SHEET_NOT_FOUND": "The chosen sheet is not in the workbook.",
    "F020_XML_FORBIDDEN_CONSTRUCT": "The XML uses a construct that is not allowed (DTD or entity).",
    "F021_XML_MALFORMED": "The XML is not well formed.",
    "F022_XML_WRONG_ROOT": "The XML does not start with the expected ISTV element.",
    "F023_XML_SCHEMA_INVALID": "The XML does not follow the ISTV layout.",
    "F030_NO_HEADER_ROW": "No header row with column names was found.",
    "F031_SCHEMA_MISMATCH": (
        "The columns differ from your confirmed mapping; no rows were loaded until a new "
        "mapping is confirmed."
    ),
    "F032_SITE_MISMATCH": "The file is for a different hospital site.",
    "F033_PERIOD_MISMATCH": "The file is for a different reporting month.",
    "F034_NO_DATA_ROWS": "The file has a header but no data rows.",
    "F040_PERSONAL_DATA": "The file appears to contain personal data and was quarantined.",
    "V001_MISSING_MANDATORY": "A mandatory item (assault date, method or location type) is blank.",
    "V002_BAD_DATE": "A date could not be read as a UK date.",
    "V003_BAD_TIME": "A time could not be read.",
    "V004_ASSAULT_AFTER_ARRIVAL": "The assault is recorded as happening after arrival.",
    "V005_ASSAULT_TOO_LONG_BEFORE_ARRIVAL": "The assault is too long before arrival.",
    "V006_OUTSIDE_REPORTING_PERIOD": "The date is outside the reporting month.",
    "V007_UNKNOWN_METHOD": "The assault method is not a recognised code or description.",
    "V008_UNKNOWN_LOCATION_TYPE": "The location type is not a recognised code or description.",
    "V009_TEXT_TOO_LONG": "A free-text item is longer than allowed.",
    "V010_DUPLICATE_ROW": "The row repeats an earlier row.",
    "V011_NOT_ASSAULT": "The injury intent is not assault.",
    "W001_TIME_NOT_KNOWN": "The assault time is not known (accepted, flagged).",
    "W002_ARRIVAL_MISSING": "No arrival date (accepted).",
    "W003_OTHER_METHOD_WITHOUT_DESCRIPTION": "Method 'other' without a description (accepted).",
    "W004_LOCATION_DESCRIPTION_MISSING": "No location description (accepted).",
    "W005_PERSONAL_DATA_REDACTED": "Personal data was removed from free text (accepted).",
    "W006_LOCATION_TYPE_FROM_DESCRIPTION": "Location type worked out from the description.",
    "W008_OPTIONAL_COLUMN_MISSING": (
        "An optional column of your mapping is missing: that item is recorded as not "
        "supplied for every row (accepted)."
    ),
}
PII_KIND_TEXT: dict[str, str] = {
    "nhs_number": "NHS numbers",
    "hospital_number": "Hospital numbers",
    "ni_number": "National Insurance numbers",
    "identifier": "Other identifying numbers",
    "person_name": "Names",
    "date_of_birth": "Dates of birth",
    "phone": "Phone numbers",
    "email": "E-mail addresses",
    "address": "Patient addresses or postcodes",
}
COMPLETENESS_LABELS: dict[str, str] = {
    "arrival_date": "Arrival date",
    "arrival_time": "Arrival time",
    "assault_date": "Assault date",
    "assault_time": "Assault time",
    "method": "Assault method",
    "method_other_text": "Description of 'other' methods",
    "location_type": "Location type",
    "location_description": "Location description",
}
FAILED_CHECK_TEXT: dict[str, str] = {
    "set_aside_share": "Too many rows were set aside.",
    "geocoded_share": "Too few of the places described could be found on the map.",
    "unknown_code_share": "Too many methods or location types could not be recognised.",
    "volume": "The number of records is unusual for this hospital.",
    "no_rows": "No rows were accepted.",
}
VOLUME_FLAG_TEXT: dict[str, str] = {
    "": "In line with this hospital's recent months.",
    "drop": "Much lower than usual for this hospital, allowing for the time of year.",
    "spike": "Much higher than usual for this hospital, allowing for the time of year.",
    "no_history": "Not enough earlier months to compare with yet.",
}
LONDON_FLAG_TEXT: dict[str, str] = {
    "": "In line with this hospital's usual share of London's records.",
    "low": "A smaller share of London's records than this hospital usually has.",
    "high": "A larger share of London's records than this hospital usually has.",
    "no_history": "Not enough earlier months to compare with yet.",
}


def code_text(code: str) -> str:
    return CODE_TEXT.get(code, code)


# --- who may use the pages ------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionViewer:
    """What one signed-in person may do on the submission pages."""

    roles: frozenset[str]

    @property
    def uses_submissions(self) -> bool:
        return bool(self.roles & SUBMISSION_ROLES)

    @property
    def is_data_manager(self) -> bool:
        return Role.DATA_MANAGER in self.roles

    @property
    def is_liaison(self) -> bool:
        return Role.LIAISON in self.roles


def submission_viewer(user: User) -> SubmissionViewer:
    """The person's submission roles, looked up once per user object (i.e. per request:
    ``request.user`` is built afresh for each one)."""
    cached = getattr(user, "_submission_viewer", None)
    if cached is None:
        cached = SubmissionViewer(roles=frozenset(user_roles(user)))
        user._submission_viewer = cached  # type: ignore[attr-defined]
    return cached


def submissions_for(user: User) -> QuerySet[Submission]:
    """The chokepoint, with what every list page shows joined in."""
    return submissions_visible_to(user).select_related("site", "uploaded_by")


def review_queue(user: User) -> QuerySet[Submission]:
    """Submissions waiting for a data manager, oldest first (none for anyone else)."""
    return (
        submissions_for_review(user)
        .select_related("site", "uploaded_by")
        .order_by("created_at", "pk")  # a total order, so pages never overlap
    )


def page_range_text(page: Page[Any]) -> str:
    """Which rows a page shows, as the record lists word it: ``1\N{EN DASH}50 of 213``."""
    total = page.paginator.count
    if not total:
        return "0 of 0"
    return f"{page.start_index():,}{EN_DASH}{page.end_index():,} of {total:,}"


# --- status steps ---------------------------------------------------------------------

STEPS: tuple[tuple[str, str], ...] = (
    (Status.RECEIVED, "File received"),
    (Status.CHECKING, "Checking the file"),
    (Status.PROCESSING, "Cleaning, harmonising and geocoding"),
    (Status.READY_FOR_REVIEW, "Ready for review"),
    (Status.PUBLISHED, "Published"),
)
_STEP_INDEX = {status: index for index, (status, _) in enumerate(STEPS)}
# Where a side-track status stops the line of steps, and how the stopped step reads.
_STOPPED_AT: dict[str, tuple[int, str, str]] = {
    Status.MAPPING_NEEDED: (1, "Mapping needed", "govuk-tag--yellow"),
    Status.REJECTED: (1, "Rejected", "govuk-tag--red"),
    Status.QUARANTINED: (1, "Quarantined", "govuk-tag--red"),
    Status.FAILED: (2, "Failed", "govuk-tag--red"),
    Status.CHECKED: (1, "Checked (nothing stored)", "govuk-tag--green"),
}
STATUS_TAG_CLASS: dict[str, str] = {
    Status.RECEIVED: "govuk-tag--grey",
    Status.CHECKING: "govuk-tag--blue",
    Status.PROCESSING: "govuk-tag--blue",
    Status.MAPPING_NEEDED: "govuk-tag--yellow",
    Status.READY_FOR_REVIEW: "govuk-tag--purple",
    Status.PUBLISHED: "govuk-tag--green",
    Status.REJECTED: "govuk-tag--red",
    Status.QUARANTINED: "govuk-tag--red",
    Status.SUPERSEDED: "govuk-tag--grey",
    Status.FAILED: "govuk-tag--red",
    Status.CHECKED: "govuk-tag--turquoise",
}


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    state: str  # done, current, waiting, stopped
    tag: str
    tag_class: str


def submission_steps(submission: Submission) -> list[Step]:
    """The line of steps for the status page, with the current one marked."""
    status = submission.status
    if status == Status.SUPERSEDED:
        # Superseded files went through publishing or review before a newer version came.
        reached, stopped = _STEP_INDEX[Status.READY_FOR_REVIEW], None
    elif status in _STOPPED_AT:
        reached, stopped = _STOPPED_AT[status][0], _STOPPED_AT[status]
    else:
        reached, stopped = _STEP_INDEX[status], None
    finished = status in FINISHED_STATUSES
    steps = []
    for index, (key, label) in enumerate(STEPS):
        if stopped is not None and index == reached:
            steps.append(Step(key, label, "stopped", stopped[1], stopped[2]))
        elif index < reached or (index == reached and finished):
            steps.append(Step(key, label, "done", "Completed", "govuk-tag--green"))
        elif index == reached:
            steps.append(Step(key, label, "current", "In progress", "govuk-tag--blue"))
        else:
            steps.append(Step(key, label, "waiting", "Not yet started", "govuk-tag--grey"))
    if status == Status.RECEIVED:
        # The file is safely stored: what is pending is the check, waiting for a worker.
        received, checking = STEPS[0], STEPS[1]
        steps[0] = Step(received[0], received[1], "done", "Completed", "govuk-tag--green")
        steps[1] = Step(checking[0], checking[1], "current", "Queued", "govuk-tag--light-blue")
    if status == Status.CHECKED:
        steps = steps[:2]  # a check-only run ends after checking
    return steps


# Step notes the processing service writes that read better said another way.
STEP_TEXT: dict[str, str] = {"queued": "Queued: waiting to start"}


def current_step_label(submission: Submission) -> str:
    """What the progress bar says: the service's own step note while it works (and any
    specific outcome note), else the status."""
    step = STEP_TEXT.get(submission.step, submission.step)
    if submission.status in FINISHED_STATUSES and step in ("", "Done"):
        return submission.get_status_display()
    if step:
        return step
    for item in submission_steps(submission):
        if item.state in ("current", "stopped"):
            return item.label
    return submission.get_status_display()


class SubmissionProgress(TypedDict):
    """``progress_payload``: what the status page polls and first renders."""

    id: int
    status: str
    status_label: str
    progress: int  # 0-100
    step: str
    finished: bool
    failed: bool  # finished without a usable result: the bar shows the error state


# Outcomes that end without a usable result, and what the progress bar says for each
# (a full blue bar would read as success).
FAILED_PROGRESS_TEXT: dict[str, str] = {
    Status.REJECTED: "Rejected \u2013 see the report",
    Status.QUARANTINED: "Quarantined \u2013 see the report",
    Status.FAILED: "Failed \u2013 processing stopped",
}


def progress_payload(submission: Submission) -> SubmissionProgress:
    """The JSON the status page polls (no counts beyond what the page shows)."""
    finished = submission.status in FINISHED_STATUSES
    failed_text = FAILED_PROGRESS_TEXT.get(submission.status)
    return {
        "id": submission.pk,
        "status": submission.status,
        "status_label": submission.get_status_display(),
        "progress": 100 if finished else int(submission.progress),
        "step": failed_text or current_step_label(submission),
        "finished": finished,
        "failed": failed_text is not None,
    }


# --- validation report ----------------------------------------------------------------


@dataclass(frozen=True)
class CodeCount:
    code: str
    text: str
    count: int
    severity: str


@dataclass(frozen=True)
class PiiFindingRow:
    kind: str
    kind_text: str
    column: str
    rows: list[int]
    count: int
    reason: str


@dataclass
class ReportView:
    rows_read: int = 0
    accepted: int = 0
    set_aside: int = 0
    warnings: int = 0
    counts: list[CodeCount] = field(default_factory=list)
    file_errors: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    issues_truncated: bool = False
    pii_findings: list[PiiFindingRow] = field(default_factory=list)
    redactions: list[CodeCount] = field(default_factory=list)
    drift: dict[str, Any] | None = None

    @property
    def has_values(self) -> bool:
        """Whether any issue carries a value (the Value column is shown only then)."""
        return any(issue.get("value") not in (None, "") for issue in self.issues)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _issue_row(raw: Mapping[str, Any]) -> dict[str, Any]:
    code = str(raw.get("code") or "")
    return {
        "row": raw.get("row"),
        "column": raw.get("column") or "",
        "code": code,
        "severity": raw.get("severity") or "error",
        "message": raw.get("message") or code_text(code),
        "value": raw.get("value"),
    }


def report_view(report: Mapping[str, Any]) -> ReportView:
    """The stored validation report (``Report.to_json()``) shaped for the report page."""
    counts = [
        CodeCount(code, code_text(code), _int(n), "error")
        for code, n in (report.get("errors_by_code") or {}).items()
    ] + [
        CodeCount(code, code_text(code), _int(n), "warning")
        for code, n in (report.get("warnings_by_code") or {}).items()
    ]
    findings = [
        PiiFindingRow(
            kind=str(f.get("kind", "")),
            kind_text=PII_KIND_TEXT.get(str(f.get("kind", "")), str(f.get("kind", ""))),
            column=str(f.get("column", "")),
            rows=[_int(r) for r in f.get("rows") or []],
            count=_int(f.get("count")),
            reason=str(f.get("reason", "")),
        )
        for f in report.get("pii_findings") or []
    ]
    redactions = [
        CodeCount(kind, PII_KIND_TEXT.get(kind, kind), _int(n), "warning")
        for kind, n in (report.get("redactions_by_kind") or {}).items()
    ]
    drift = report.get("drift")
    return ReportView(
        rows_read=_int(report.get("rows_read")),
        accepted=_int(report.get("accepted")),
        set_aside=_int(report.get("set_aside")),
        warnings=_int(report.get("warnings")),
        counts=counts,
        file_errors=[_issue_row(i) for i in report.get("file_errors") or []],
        issues=[_issue_row(i) for i in report.get("issues") or []],
        issues_truncated=bool(report.get("issues_truncated")),
        pii_findings=findings,
        redactions=redactions,
        drift=drift if isinstance(drift, dict) and _drifted(drift) else None,
    )


def _drifted(drift: Mapping[str, Any]) -> bool:
    return bool(drift.get("added") or drift.get("removed") or drift.get("renamed"))


# --- mapping page ------------------------------------------------------------------------


@dataclass(frozen=True)
class LayoutChangeView:
    """How a file's columns differ from the confirmed mapping version it no longer fits."""

    previous_version: int | None
    kept: list[str]
    gone: list[tuple[str, str]]  # (column, the new column it seems to be, or "")
    new: list[tuple[str, str]]  # (column, the old column it seems to replace, or "")
    renamed_from: dict[str, str]  # new column -> old column


def layout_change_view(report: Mapping[str, Any]) -> LayoutChangeView | None:
    """The column diff for the mapping page; None unless the layout changed."""
    if report.get("mapping_status") != "schema_mismatch":
        return None
    drift = report.get("drift") or {}
    proposal = report.get("proposal") or {}
    pairs = [
        (str(old), str(new))
        for old, new in [*(drift.get("renamed") or []), *(proposal.get("renamed") or [])]
    ]
    renamed_from = {new: old for old, new in pairs}
    renamed_to = dict(pairs)
    gone = [str(c) for c in drift.get("removed") or []]
    gone += [str(old) for old, _ in drift.get("renamed") or [] if old not in gone]
    added = [str(c) for c in drift.get("added") or []]
    added += [str(n) for _, n in drift.get("renamed") or [] if n not in added]
    columns = [str(c) for c in report.get("columns") or []]
    kept = [str(c) for c in drift.get("kept") or [c for c in columns if c not in added]]
    added.sort(key=lambda c: columns.index(c) if c in columns else len(columns))
    return LayoutChangeView(
        previous_version=proposal.get("based_on") or report.get("mapping_version"),
        kept=kept,
        gone=[(c, renamed_to.get(c, "")) for c in gone],
        new=[(c, renamed_from.get(c, "")) for c in added],
        renamed_from=renamed_from,
    )


@dataclass(frozen=True)
class MappingVersionRow:
    version: int
    current: bool
    confirmed_at: Any
    confirmed_by: str  # a person's name, or how it was confirmed
    items: list[tuple[str, str]]  # (ISTV item label, source column)
    columns: int  # how many columns the file it was made from had


def mapping_versions_view(
    site: HospitalSite, field_labels: Mapping[str, str]
) -> list[MappingVersionRow]:
    """The site's mapping versions for the mapping page, newest (current) first."""
    rows = []
    for index, profile in enumerate(mapping_versions(site)):
        user = profile.confirmed_by
        order = {name: i for i, name in enumerate(field_labels)}
        items = sorted(
            ((str(f), str(c)) for c, f in (profile.columns or {}).items()),
            key=lambda item: order.get(item[0], len(order)),
        )
        rows.append(
            MappingVersionRow(
                version=profile.version,
                current=index == 0,
                confirmed_at=profile.confirmed_at or profile.created_at,
                confirmed_by=(user.full_name or user.email)
                if user is not None
                else "Proposal accepted at upload",
                items=[(field_labels.get(f, f), c) for f, c in items],
                columns=len(profile.source_columns or ()),
            )
        )
    return rows


REPORT_CSV_COLUMNS = ("row", "column", "code", "severity", "message", "value")


def report_problem_rows(report: Mapping[str, Any]) -> Iterable[list[Any]]:
    """The problem list as CSV rows: whole-file errors first, then row issues."""
    view = report_view(report)
    for issue in [*view.file_errors, *view.issues]:
        yield [issue[c] if issue[c] is not None else "" for c in REPORT_CSV_COLUMNS]


# --- scorecard -------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    label: str
    share: float

    @property
    def percent(self) -> str:
        return f"{self.share * 100:.1f}%"


@dataclass
class ScorecardView:
    card: Mapping[str, Any]
    completeness: list[Share]
    precision: list[tuple[str, int, str]]
    failed: list[str]
    volume_text: str
    percents: dict[str, str] = field(default_factory=dict)


def _percent(value: Any) -> str:
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return "-"


# The scorecard's rows by precision that are not a geocoder precision.
PRECISION_ROW_LABELS = {
    "unplaced": "Not placed",
    "pending": "Waiting to be geocoded",
    "home": "Home (never placed)",
    "abroad": "Abroad (not placed)",
    "outside_london": "Outside London (not placed)",
    "unknown": "No place described (not placed)",
}


def scorecard_view(card: Mapping[str, Any]) -> ScorecardView:
    """The stored scorecard (``Scorecard.to_json()``) shaped as accessible tables."""
    completeness = [
        Share(COMPLETENESS_LABELS.get(key, key.replace("_", " ").capitalize()), float(value))
        for key, value in (card.get("completeness") or {}).items()
    ]
    by_precision = card.get("geocoded_by_precision") or {}
    total = sum(_int(n) for n in by_precision.values())
    precision = [
        (
            PRECISION_ROW_LABELS.get(str(name), str(name).replace("_", " ").capitalize()),
            _int(n),
            _percent(_int(n) / total) if total else "-",
        )
        for name, n in by_precision.items()
    ]
    volume = card.get("volume") or {}
    return ScorecardView(
        card=card,
        completeness=completeness,
        precision=precision,
        failed=[FAILED_CHECK_TEXT.get(c, c) for c in card.get("failed_checks") or []],
        volume_text=VOLUME_FLAG_TEXT.get(str(volume.get("flag", "")), str(volume.get("flag"))),
        percents={
            "set_aside": _percent(card.get("set_aside_share")),
            "geocoded": _percent(card.get("geocoded_share")),
            "unknown_codes": _percent(card.get("unknown_code_share")),
        },
    )


# --- share of London, as of now ------------------------------------------------------------


@dataclass(frozen=True)
class LondonShareView:
    """The site's share of London's published records for the submission's month,
    computed when the page is shown. Until every hospital's file for the month is in the
    share is provisional and no high or low flag is raised: one early file is not 100%
    of London."""

    share_this_month: float | None
    share_12m: float | None
    flag: str  # "", "low", "high", "no_history"; always "" while provisional
    sent: int  # hospitals whose file for the month is in (this one included)
    expected: int  # hospitals that send files for the month
    due: date
    overdue: bool

    @property
    def provisional(self) -> bool:
        return self.sent < self.expected

    @property
    def provisional_text(self) -> str:
        if not self.provisional:
            return ""
        text = (
            f"Provisional: {self.sent} of {self.expected} hospital"
            f"{'' if self.expected == 1 else 's'} have sent this month."
        )
        if self.overdue:
            return f"{text} The other files were due by {self.due:%-d %B %Y}."
        return f"{text} Files are due by {self.due:%-d %B %Y}."

    @property
    def percent_this_month(self) -> str:
        return _percent(self.share_this_month)

    @property
    def percent_12m(self) -> str:
        return _percent(self.share_12m)

    @property
    def flag_text(self) -> str:
        if self.provisional:
            return "Not compared until every hospital's file for this month is in."
        return LONDON_FLAG_TEXT.get(self.flag, self.flag)


def _sites_sending(period: date) -> QuerySet[HospitalSite]:
    """Hospital sites open during the month ``period`` (first of the month)."""
    end = add_months(period, 1)
    return (
        HospitalSite.objects.filter(Q(valid_from__isnull=True) | Q(valid_from__lt=end))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=period))
        .order_by()
    )


def london_share_now(
    submission: Submission, *, threshold: float, today: date | None = None
) -> LondonShareView:
    """This file's share of London for its month against the other hospitals' current
    published files, and the site's usual share over the 12 months before (published
    files). The high/low flag only once every hospital open that month has sent."""
    today = today or timezone.localdate()
    period = submission.period
    first = add_months(period, -12)
    published = (
        Submission.objects.filter(
            status=Status.PUBLISHED, dry_run=False, period__gte=first, period__lte=period
        )
        .values("site_id", "period")
        .annotate(n=Sum("rows_accepted"))
        .order_by()
    )
    site_months: dict[date, int] = {}
    london_months: dict[date, int] = {}
    others_now: dict[int, int] = {}
    for row in published:
        if row["period"] == period:
            if row["site_id"] != submission.site_id:
                others_now[row["site_id"]] = row["n"]
            continue
        london_months[row["period"]] = london_months.get(row["period"], 0) + row["n"]
        if row["site_id"] == submission.site_id:
            site_months[row["period"]] = row["n"]
    expected_ids = set(_sites_sending(period).values_list("pk", flat=True))
    expected_ids.add(submission.site_id)
    sent = len(expected_ids.intersection(others_now)) + 1
    share = london_share(
        submission.rows_accepted,
        Period(period.year, period.month),
        History(site_months, london_months, sum(others_now.values())),
        threshold,
    )
    complete = sent >= len(expected_ids)
    return LondonShareView(
        share_this_month=share.share_this_month,
        share_12m=share.share_12m,
        flag=share.flag if complete else "",
        sent=sent,
        expected=len(expected_ids),
        due=due_date(period),
        overdue=is_overdue(period, today),
    )


# --- months due -------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthDue:
    site: HospitalSite
    period: date
    due: date
    overdue: bool


def _months_back(today: date, count: int) -> list[date]:
    """The ``count`` reporting months before the current one, latest first."""
    return [add_months(today, -i) for i in range(1, count + 1)]


def months_due(
    user: User, sites: Sequence[HospitalSite], *, today: date | None = None
) -> list[MonthDue]:
    """Recent reporting months with no file yet for each of ``sites`` (one query)."""
    today = today or timezone.localdate()
    periods = _months_back(today, MONTHS_DUE_WINDOW)
    arrived = set(
        submissions_visible_to(user)
        .filter(site__in=sites, period__in=periods, dry_run=False, status__in=ARRIVED_STATUSES)
        .values_list("site_id", "period")
    )
    owed = []
    for site in sites:
        for period in periods:
            if (site.pk, period) not in arrived:
                due = due_date(period)
                owed.append(MonthDue(site, period, due, is_overdue(period, today)))
    return owed


def reporting_month_choices(*, today: date | None = None, count: int = 24) -> list[date]:
    """The months a file can be uploaded for: this month and the ``count - 1`` before."""
    today = today or timezone.localdate()
    return [today.replace(day=1), *_months_back(today, count - 1)]


# --- tracker -------------------------------------------------------------------------------

TRACKER_STATES: dict[str, tuple[str, str, str]] = {
    "published": ("Published", "govuk-tag--green", "The file was checked and published."),
    "received": ("Received", "govuk-tag--blue", "A file arrived on time and is being handled."),
    "late": ("Late", "govuk-tag--yellow", "A file arrived after the due date."),
    "missing": ("Missing", "govuk-tag--red", "No file, and the due date has passed."),
    "problem": (
        "Problem",
        "govuk-tag--orange",
        "The latest file was rejected, quarantined or failed: a new one is needed.",
    ),
    "not_due": ("Not due yet", "govuk-tag--grey", "No file yet; the due date has not passed."),
}


@dataclass(frozen=True)
class TrackerCellView:
    period: date
    label: str
    tag_class: str
    submission_id: int | None
    quality: str


@dataclass(frozen=True)
class TrackerRowView:
    site: HospitalSite
    cells: list[TrackerCellView]


def tracker_page(user: User, months: int) -> tuple[list[date], list[TrackerRowView]]:
    """``tracker_grid`` with a label, a tag colour and a quality note per cell."""
    rows = []
    periods: list[date] = []
    for row in tracker_grid(user, months):
        cells = []
        for cell in row.cells:
            label, tag_class, _ = TRACKER_STATES.get(cell.state, (cell.state, "", ""))
            # Only a check that failed is worth a note; a clean file shows its state alone.
            quality = "Quality to check" if cell.scorecard_passes is False else ""
            cells.append(
                TrackerCellView(cell.period, label, tag_class, cell.submission_id, quality)
            )
        periods = [cell.period for cell in row.cells]
        rows.append(TrackerRowView(row.site, cells))
    return periods, rows


def tracker_legend() -> list[tuple[str, str, str, str]]:
    return [(state, *values) for state, values in TRACKER_STATES.items()]
