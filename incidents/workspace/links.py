"""Links that carry a query: the filter's parameters, and what changed since a pinned
release."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from incidents.filters import IncidentFilterSet
from incidents.models import Release
from incidents.workspace.labels import FilterPart, describe_filter


def filter_query_items(fs: IncidentFilterSet) -> list[tuple[str, str]]:
    """The applied filter as (name, value) pairs, for links that carry it on."""
    return [(name, value) for name, values in fs.applied().items() for value in values]


def query_items(params: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, values in sorted(params.items()) for value in values]


# --- the applied filter as removable tags ------------------------------------------------


@dataclass(frozen=True)
class FilterTag:
    """One applied filter, in words, with the query of the same page without it."""

    category: str
    label: str
    remove_query: str


def filter_tags(
    fs: IncidentFilterSet,
    kept: Sequence[tuple[str, str]] = (),
    codes: Mapping[str, Mapping[str, str]] | None = None,
) -> list[FilterTag]:
    """A tag per part of a valid filter (``labels.describe_filter``). Each tag's link is
    the page's query without that part (and without a page cursor, which belongs to the
    old result); ``kept`` are the other page parameters to carry on (sort, map level);
    ``codes`` the harmonised code labels when the page has read them already."""
    if not fs.is_valid():
        return []
    items = filter_query_items(fs)
    return [_tag(part, items, kept) for part in describe_filter(fs.applied(), codes)]


def _tag(
    part: FilterPart, items: list[tuple[str, str]], kept: Sequence[tuple[str, str]]
) -> FilterTag:
    remaining = [item for item in items if item not in part.parameters]
    return FilterTag(part.category, part.label, urlencode([*remaining, *kept]))


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
