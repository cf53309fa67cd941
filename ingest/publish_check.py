"""What the data manager is shown before publishing a version (the check-your-answers
page): what it replaces, which quality checks failed or warned, and how many incidents
and people it changes. Publishing is consequential, so these are the facts to confirm.
Nothing here writes.

Incidents are compared with the version being replaced row by row, by content: the
files carry no stable row id (they are anonymised), so a row of the new version that
matches an old row exactly is unchanged; one that shares its assault and arrival times
with an old row but differs elsewhere is changed; the rest are added or removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from accounts.access import DATA_ROLES, effective_access_for_users
from accounts.models import User
from hospitals.models import Submission
from ingest.loader import incidents_of_submissions
from ingest.selectors import FAILED_CHECK_TEXT, code_text

Status = Submission.Status
# Compared to tell unchanged, changed, added and removed rows apart (the first two are
# a row's identity: when the assault happened and when the person arrived).
COMPARED_FIELDS = (
    "assault_at",
    "arrival_at",
    "assault_time_known",
    "arrival_time_known",
    "method_code",
    "method_other",
    "location_type_code",
    "location_description",
    "borough_code",
    "lsoa_code",
)
IDENTITY_FIELDS = 2
REASON_NEEDED = "Enter a reason for publishing a file that failed a check"


@dataclass(frozen=True)
class IncidentChanges:
    added: int = 0
    removed: int = 0
    changed: int = 0


@dataclass(frozen=True)
class PublishCheck:
    """The facts on the check-your-answers page for publishing ``submission``."""

    submission: Submission
    replaces: Submission | None  # the currently published version of that site and month
    replaced_rows: int
    failed: list[str]  # quality checks that failed: publishing needs a reason
    warned: list[str]  # validation warnings and rows set aside: shown, no reason needed
    changes: IncidentChanges
    analysts: int  # active people whose access lets them see an added/removed/changed row

    @property
    def needs_reason(self) -> bool:
        return bool(self.failed)


def published_version(submission: Submission) -> Submission | None:
    """The version that publishing ``submission`` would replace, if any."""
    return (
        Submission.objects.filter(
            site_id=submission.site_id,
            period=submission.period,
            status=Status.PUBLISHED,
            dry_run=False,
        )
        .exclude(pk=submission.pk)
        .order_by("-version")
        .first()
    )


def failed_checks(submission: Submission) -> list[str]:
    """The scorecard's failed quality checks, in plain English."""
    card = submission.scorecard or {}
    return [FAILED_CHECK_TEXT.get(str(c), str(c)) for c in card.get("failed_checks") or []]


def _count_text(count: Any, one: str, many: str) -> str:
    n = int(count or 0)
    return f"{n} {one if n == 1 else many}"


def warned_checks(submission: Submission) -> list[str]:
    """Validation warnings and rows set aside, from the validation report."""
    report = submission.report or {}
    warned = [
        f"{code_text(str(code))} ({_count_text(n, 'row', 'rows')})"
        for code, n in (report.get("warnings_by_code") or {}).items()
    ]
    warned += [
        f"{code_text(str(code))} ({_count_text(n, 'row', 'rows')} set aside)"
        for code, n in (report.get("errors_by_code") or {}).items()
    ]
    return warned


def _rows(submission: Submission | None) -> list[tuple[Any, ...]]:
    if submission is None:
        return []
    return list(incidents_of_submissions([submission.pk]).values_list(*COMPARED_FIELDS))


def incident_changes(
    new: list[tuple[Any, ...]], old: list[tuple[Any, ...]]
) -> tuple[IncidentChanges, set[str]]:
    """Rows added, removed and changed from ``old`` to ``new`` (see the module notes),
    and the borough codes of those rows (empty: an unlocated incident)."""
    new_left = Counter(new)
    old_left = Counter(old)
    same = new_left & old_left
    new_left -= same
    old_left -= same
    borough_at = COMPARED_FIELDS.index("borough_code")
    touched = {str(row[borough_at]) for row in (*new_left, *old_left)}
    paired = Counter(row[:IDENTITY_FIELDS] for row in new_left.elements()) & Counter(
        row[:IDENTITY_FIELDS] for row in old_left.elements()
    )
    changed = sum(paired.values())
    changes = IncidentChanges(
        added=sum(new_left.values()) - changed,
        removed=sum(old_left.values()) - changed,
        changed=changed,
    )
    return changes, touched


def people_who_see(boroughs: Iterable[str], ed_borough: str) -> int:
    """Active people whose grants let them see an incident placed in one of
    ``boroughs`` (an empty code: an unlocated incident treated at an ED in
    ``ed_borough``). Uses the one access rule, ``EffectiveAccess.allows``."""
    places = set(boroughs)
    if not places:
        return 0
    people = User.objects.filter(
        is_active=True,
        memberships__is_active=True,
        memberships__organisation__is_active=True,
        memberships__role__in=DATA_ROLES,
    ).distinct()
    accesses = effective_access_for_users(list(people))
    return sum(
        1
        for access in accesses.values()
        if any(access.allows("view", borough, ed_borough) for borough in places)
    )


def publish_check(submission: Submission) -> PublishCheck:
    """Everything the check-your-answers page shows (a handful of queries)."""
    replaces = published_version(submission)
    old_rows = _rows(replaces)
    changes, touched = incident_changes(_rows(submission), old_rows)
    return PublishCheck(
        submission=submission,
        replaces=replaces,
        replaced_rows=len(old_rows),
        failed=failed_checks(submission),
        warned=warned_checks(submission),
        changes=changes,
        analysts=people_who_see(touched, submission.site.borough_code),
    )
