"""Links that carry a query: the filter's parameters, and what changed since a pinned
release."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from incidents.filters import IncidentFilterSet
from incidents.models import Release


def filter_query_items(fs: IncidentFilterSet) -> list[tuple[str, str]]:
    """The applied filter as (name, value) pairs, for links that carry it on."""
    return [(name, value) for name, values in fs.applied().items() for value in values]


def query_items(params: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, values in sorted(params.items()) for value in values]


# --- what changed since a pinned release ---------------------------------------------------


@dataclass(frozen=True)
class ChangesSince:
    """Releases cut after a pinned one, and the submissions they added or replaced."""

    pinned: Release
    later: list[Release]
    changed: list[str]


def changes_since(release_param: str | None) -> ChangesSince | None:
    """For a query pinned to an older release: what the newest release has that it has not
    (new months and corrected re-uploads). None when not pinned, or pinned to the newest."""
    try:
        number = int(release_param or "")
    except ValueError:
        return None
    pinned = Release.objects.filter(number=number).first()
    if pinned is None:
        return None
    later = list(Release.objects.filter(number__gt=number).order_by("number"))
    if not later:
        return None
    new = (
        later[-1]
        .submissions.exclude(pk__in=pinned.submissions.values("pk"))
        .select_related("site")
        .order_by("site__name", "period")
    )
    changed = [
        f"{s.site.name} ({s.site.site_code}), {s.period:%B %Y}"
        + (f", corrected version {s.version}" if s.version > 1 else "")
        for s in new
    ]
    return ChangesSince(pinned=pinned, later=later, changed=changed)
