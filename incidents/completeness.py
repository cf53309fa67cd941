"""Which months' figures are complete, so trends and comparisons can say so.

The rule (docs/workspace-pages.md, "Complete and incomplete months"):

* A hospital site is **expected** for a month when it is valid on the month's first day
  (``valid_from`` empty or on or before it, ``valid_to`` empty or on or after it): the
  same rule as the programme's coverage report.
* A month is **complete** when it has ended (Europe/London) and every expected site has
  a published file for it (``Submission.status == "published"`` with ``period`` = the
  month's first day); with a release pinned, a file of that release instead.
* Otherwise it is **incomplete**: ``ongoing`` (not over yet), ``no_data`` (no hospital's
  file for it is published at all) or ``partial`` (some expected sites' files are
  missing: "20 of 28 hospitals").

When a query names hospitals, only those are expected. Sites are public reference data
and files are counted per site, never per incident, so the coverage of a month is the
same for every viewer whatever their scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from hospitals.models import HospitalSite, Submission
from incidents.disclosure import DisclosurePolicy, Published, suppression_reason
from incidents.models import Release

COMPLETE = "complete"
ONGOING = "ongoing"
NO_DATA = "no_data"
PARTIAL = "partial"


def _hospitals(n: int) -> str:
    return f"{n} hospital" if n == 1 else f"{n} hospitals"


@dataclass(frozen=True)
class MonthCoverage:
    """How much of one month's data is in: hospitals expected, and their files published."""

    month: dt.date
    expected: int  # sites expected to send a file for the month
    received: int  # of those, how many have a published file
    published: int  # sites with a published file for the month, expected or not
    ongoing: bool  # the month has not ended yet

    @property
    def status(self) -> str:
        if self.ongoing:
            return ONGOING
        if not self.published:
            return NO_DATA
        if self.received < self.expected:
            return PARTIAL
        return COMPLETE

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE

    @property
    def of_hospitals(self) -> str:
        """``"20 of 28 hospitals"``."""
        return f"{self.received} of {_hospitals(self.expected)}"

    @property
    def note(self) -> str:
        """A short note for a table row; empty when the month is complete."""
        status = self.status
        if status == ONGOING:
            return "Month not over yet"
        if status == NO_DATA:
            return "No hospital's file published"
        if status == PARTIAL:
            return f"Incomplete: {self.of_hospitals}"
        return ""

    def sentence(self) -> str:
        """The month's state as a sentence; empty when it is complete."""
        name = f"{self.month:%B %Y}"
        status = self.status
        if status == ONGOING:
            return f"{name} is not over yet."
        if status == NO_DATA:
            return f"No hospital's file for {name} is published yet."
        if status == PARTIAL:
            return f"{name} is incomplete: {self.of_hospitals}."
        return ""


def month_coverage(
    months: Iterable[dt.date],
    *,
    today: dt.date | None = None,
    release: Release | None = None,
    site_codes: Sequence[str] | None = None,
) -> dict[dt.date, MonthCoverage]:
    """Coverage of each month (first days), in two small queries.

    ``release`` counts the files of that release instead of the published ones;
    ``site_codes`` (a query's hospital filter) limits the sites expected to those.
    """
    wanted = sorted(set(months))
    if not wanted:
        return {}
    this_month = (today or timezone.localdate()).replace(day=1)
    sites = HospitalSite.objects.all()
    files = Submission.objects.filter(period__in=wanted)
    if site_codes:
        sites = sites.filter(site_code__in=list(site_codes))
        files = files.filter(site__site_code__in=list(site_codes))
    if release is None:
        files = files.filter(status=Submission.Status.PUBLISHED)
    else:
        files = files.filter(
            pk__in=release.submissions.through.objects.filter(release_id=release.pk).values(
                "submission_id"
            )
        )
    registry = list(sites.order_by().values_list("pk", "valid_from", "valid_to"))
    filed: dict[dt.date, set[int]] = {}
    for site_id, period in files.order_by().values_list("site_id", "period"):
        filed.setdefault(period, set()).add(site_id)
    out = {}
    for month in wanted:
        expected = {
            pk
            for pk, valid_from, valid_to in registry
            if (valid_from is None or valid_from <= month)
            and (valid_to is None or valid_to >= month)
        }
        published = filed.get(month, set())
        out[month] = MonthCoverage(
            month=month,
            expected=len(expected),
            received=len(expected & published),
            published=len(published),
            ongoing=month >= this_month,
        )
    return out


# --- trends -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendRow:
    """One point of a trend (a month, or a week) and whether its figure is complete."""

    key: str
    label: str
    count: Published
    complete: bool
    note: str  # why it is incomplete; empty when complete

    @property
    def suppressed(self) -> str | None:
        """Why the count is hidden ("small_count"), or None (incidents/disclosure.py)."""
        return suppression_reason(self.count)


def month_rows(
    counts: Iterable[tuple[str, str, Published]], coverage: dict[dt.date, MonthCoverage]
) -> list[TrendRow]:
    """``(YYYY-MM, label, count)`` rows, each marked by its month's coverage."""
    rows = []
    for key, label, count in counts:
        month = month_start_of(key)
        cov = coverage.get(month) if month else None
        rows.append(
            TrendRow(key, label, count, cov is None or cov.complete, cov.note if cov else "")
        )
    return rows


def week_rows(
    counts: Iterable[tuple[str, str, Published]], coverage: dict[dt.date, MonthCoverage]
) -> list[TrendRow]:
    """``(Monday ISO date, label, count)`` rows; a week is incomplete when any of its
    days falls in an incomplete month."""
    rows = []
    for key, label, count in counts:
        notes = []
        for month in week_months(key):
            cov = coverage.get(month)
            if cov is not None and not cov.complete:
                notes.append(f"{month:%b %Y}: {cov.note[0].lower()}{cov.note[1:]}")
        rows.append(TrendRow(key, label, count, not notes, "; ".join(notes)))
    return rows


def week_months(monday: str) -> list[dt.date]:
    """The month(s) a week (its Monday's ISO date) falls in."""
    try:
        start = dt.date.fromisoformat(monday)
    except ValueError:
        return []
    end = start + dt.timedelta(days=6)
    return sorted({start.replace(day=1), end.replace(day=1)})


def month_start_of(key: object) -> dt.date | None:
    """``"2026-11"`` → 1 November 2026; None for anything else."""
    try:
        return dt.date.fromisoformat(f"{key}-01")
    except ValueError:
        return None


def trend_note(rows: Sequence[TrendRow], unit: str = "month") -> str:
    """A sentence on the incomplete points of a trend and one on its hidden points, or
    empty when there are neither."""
    return " ".join(n for n in (_incomplete_note(rows, unit), hidden_note(rows, unit)) if n)


def _point_name(row: TrendRow, unit: str) -> str:
    month = month_start_of(row.key) if unit == "month" else None
    return f"{month:%B %Y}" if month else f"the {unit} beginning {row.label}"


def hidden_note(rows: Sequence[TrendRow], unit: str = "month") -> str:
    """A trend keeps every point of its range: a hidden (suppressed) point stays in the
    table with its marker and is a gap in the line, and this sentence names it, so a
    missing month is never mistaken for the start of the data or for a fall."""
    hidden = [r for r in rows if r.suppressed]
    if not hidden:
        return ""
    limit = DisclosurePolicy.from_settings().suppress_max
    names = [_point_name(r, unit) for r in hidden]
    if len(hidden) == 1:
        return (
            f"{names[0][0].upper()}{names[0][1:]} is hidden (0 to {limit} incidents, too few "
            "to show): the line has a gap there and the table marks it *."
        )
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    return (
        f"{len(hidden)} {unit}s are hidden ({listed}): each had 0 to {limit} incidents, too "
        "few to show, so the line has gaps there and the table marks them *."
    )


def _incomplete_note(rows: Sequence[TrendRow], unit: str) -> str:
    incomplete = [r for r in rows if not r.complete]
    if not incomplete:
        return ""
    if len(incomplete) == 1:
        what = f"1 {unit} is incomplete ({incomplete[0].label}): its figure is"
    else:
        what = f"{len(incomplete)} of these {len(rows)} {unit}s are incomplete: their figures are"
    return (
        f"{what} not comparable with the others. Incomplete {unit}s are drawn as grey "
        "points apart from the line and marked in the table with the reason (not over "
        "yet, or not every hospital's file published)."
    )


def trend_chart(title: str, rows: Sequence[TrendRow]) -> dict[str, Any]:
    """Chart.js data: complete points in ``values``, incomplete ones in ``incomplete``.

    The chart draws the two as separate series, so an incomplete month never looks like
    a fall (or a rise); a month with no file at all and no incidents is drawn as a gap,
    never as zero. Suppressed cells are gaps too.
    """
    values: list[int | None] = []
    incomplete: list[int | None] = []
    for row in rows:
        count = row.count if isinstance(row.count, int) else None
        if row.complete:
            values.append(count)
            incomplete.append(None)
        else:
            values.append(None)
            incomplete.append(count if count else None)
    return {
        "title": title,
        "labels": [r.label for r in rows],
        "values": values,
        "incomplete": incomplete,
        "notes": [r.note for r in rows],
        # Why a point is a gap: "small_count" where its count is hidden, else None.
        "suppressed": [r.suppressed for r in rows],
    }
