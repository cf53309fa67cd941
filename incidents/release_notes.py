"""Published release notes, for the analyst dashboard, the API and the release pages.

Notes are written and published by data managers with the programme tools; only
published notes are read here. Render a body with ``istv_portal.markdown.render_markdown``.
"""

from __future__ import annotations

from incidents.models import Release, ReleaseNote


def latest_release_note() -> ReleaseNote | None:
    """The newest published release note (for the analyst dashboard), or None."""
    return (
        ReleaseNote.objects.filter(status=ReleaseNote.Status.PUBLISHED)
        .select_related("release")
        .order_by("-release__number")
        .first()
    )


def release_note_for(release: Release) -> ReleaseNote | None:
    """The published note of ``release`` (for the API), or None."""
    return (
        ReleaseNote.objects.filter(release=release, status=ReleaseNote.Status.PUBLISHED)
        .select_related("release")
        .first()
    )
