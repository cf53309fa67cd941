"""Scoped reads for the programme tools.

The rules other apps depend on live lower down, so that those apps never import the
programme tools (see docs/architecture.md): whether an agreement is in force in
``accounts.agreements``, whether a hospital site may submit in
``hospitals.selectors.site_can_submit``, and the published release notes in
``incidents.release_notes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts import roles
from accounts.models import AccessGrant, DataSharingAgreement, User
from hospitals.models import HospitalSite, Submission
from hospitals.selectors import sites_uploadable_by
from incidents.aggregates import AggregateResult, GridScope, aggregate_counts
from incidents.filters import IncidentFilterSet
from incidents.models import Release
from incidents.selectors import hospital_feedback_incidents
from istv_portal.periods import add_months, last_complete_month, months_ending
from programme.models import CaseStudy

DUE_WITHIN_DAYS = 60

# --- agreements -------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementRow:
    agreement: DataSharingAgreement
    live_grants: int
    due: list[str] = field(default_factory=list)


def agreement_register(*, today: date | None = None) -> list[AgreementRow]:
    """Every agreement with its parties, live grants and what falls due within 60 days."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=DUE_WITHIN_DAYS)
    agreements = list(
        DataSharingAgreement.objects.prefetch_related("providers", "recipients").order_by(
            "reference"
        )
    )
    grant_counts: dict[str, int] = dict(
        AccessGrant.objects.filter(
            agreement_reference__in=[a.reference for a in agreements],
            revoked_at__isnull=True,
            valid_until__gte=today,
        )
        .values("agreement_reference")
        .annotate(n=Count("pk"))
        .values_list("agreement_reference", "n")
    )
    rows = []
    for agreement in agreements:
        due = []
        live = agreement.status in (
            DataSharingAgreement.Status.ACTIVE,
            DataSharingAgreement.Status.SUSPENDED,
        )
        if live and agreement.review_on and agreement.review_on <= horizon:
            due.append(
                f"Review {'overdue since' if agreement.review_on < today else 'by'} "
                f"{agreement.review_on:%d %b %Y}"
            )
        if live and agreement.ends_on <= horizon:
            due.append(f"Ends {agreement.ends_on:%d %b %Y}")
        rows.append(AgreementRow(agreement, grant_counts.get(agreement.reference, 0), due))
    return rows


def agreement_grants(agreement: DataSharingAgreement) -> QuerySet[AccessGrant]:
    return (
        AccessGrant.objects.filter(agreement_reference=agreement.reference)
        .select_related("organisation")
        .order_by("organisation__name", "-valid_from")
    )


# --- release notes ----------------------------------------------------------------------


def release_facts(release: Release, *, window_months: int = 12) -> dict[str, Any]:
    """What the system knows about ``release`` (JSON-safe, site names and months only).

    * ``added``: submissions in this release that the previous release did not contain;
    * ``resubmissions``: those of them with version > 1 (they replace an earlier file);
    * ``gaps``: sites x months with no submission in the release, over the 12 months
      before the month the release was cut.
    """
    previous = Release.objects.filter(number__lt=release.number).order_by("-number").first()
    previous_ids = (
        set(previous.submissions.values_list("pk", flat=True)) if previous is not None else set()
    )
    submissions = list(
        release.submissions.select_related("site").order_by("site__name", "period", "version")
    )
    added = [s for s in submissions if s.pk not in previous_ids]

    def _row(s: Submission) -> dict[str, Any]:
        return {
            "site": s.site.name,
            "site_code": s.site.site_code,
            "period": s.period.isoformat(),
            "version": s.version,
            "rows": s.rows_accepted,
        }

    last_month = last_complete_month(timezone.localtime(release.created_at).date())
    months = months_ending(last_month, window_months)
    covered = {(s.site_id, s.period) for s in submissions}
    gaps = []
    for site in HospitalSite.objects.order_by("name"):
        missing = [
            m.isoformat()
            for m in months
            if (site.pk, m) not in covered
            and (site.valid_from is None or site.valid_from <= m)
            and (site.valid_to is None or site.valid_to >= m)
        ]
        if missing:
            gaps.append({"site": site.name, "site_code": site.site_code, "months": missing})
    return {
        "previous_release": previous.number if previous is not None else None,
        "added": [_row(s) for s in added],
        "resubmissions": [_row(s) for s in added if s.version > 1],
        "gaps": gaps,
        "window": [months[0].isoformat(), months[-1].isoformat()],
    }


def _month_label(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%B %Y")


def release_note_prefill(facts: dict[str, Any], release: Release) -> str:
    """A first draft in Markdown from ``release_facts``; the data manager edits it."""
    lines = [f"# Release {release.number} ({release.label})", ""]
    new = [r for r in facts["added"] if r["version"] == 1]
    lines += ["## What this release adds", ""]
    lines += [
        f"- {r['site']} ({r['site_code']}): {_month_label(r['period'])}, {r['rows']} records"
        for r in new
    ] or ["- No new months."]
    lines += ["", "## What it replaces (resubmissions)", ""]
    lines += [
        f"- {r['site']} ({r['site_code']}): {_month_label(r['period'])} "
        f"replaced by version {r['version']}, {r['rows']} records"
        for r in facts["resubmissions"]
    ] or ["- Nothing replaced."]
    lines += ["", "## Coverage gaps", ""]
    if facts["gaps"]:
        lines.append(
            f"Months with no data between {_month_label(facts['window'][0])} and "
            f"{_month_label(facts['window'][1])}:"
        )
        lines.append("")
        lines += [
            f"- {g['site']} ({g['site_code']}): "
            + ", ".join(date.fromisoformat(m).strftime("%b %Y") for m in g["months"])
            for g in facts["gaps"]
        ]
    else:
        lines.append("- Every site has data for every month of the last year.")
    lines += [
        "",
        "## Known issues",
        "",
        "- None recorded.",
        "",
        "## Changes to codes or geocoding",
        "",
        "- None.",
        "",
    ]
    return "\n".join(lines)


def release_list() -> QuerySet[Release]:
    return Release.objects.select_related("release_note").order_by("-number")


# --- feedback for hospitals -------------------------------------------------------------

# How a description was recorded, from the geocoder's class and method (never the text).
VAGUE_CLASSES = ("vague", "chain_without_place")
UNPLACEABLE_CLASSES = ("abroad", "outside_london")
METHOD_NOT_KNOWN = "not_known"
FEEDBACK_CATEGORIES = (
    ("vague", "Vague (a kind of place, not a place)"),
    ("home", "Home or private address"),
    ("unknown", "Unknown or left empty"),
    ("unplaceable", "Could not be placed"),
    ("method_unknown", "Assault method not known"),
)


def _feedback_counts() -> dict[str, Any]:
    return {
        "total": Count("pk"),
        "vague": Count("pk", filter=Q(geo_class__in=VAGUE_CLASSES)),
        "home": Count("pk", filter=Q(geo_class="home")),
        "unknown": Count("pk", filter=Q(geo_class="unknown", geo_method="rule")),
        "unplaceable": Count(
            "pk",
            filter=Q(geo_class__in=UNPLACEABLE_CLASSES)
            | Q(geo_class="unknown", lat__isnull=True) & ~Q(geo_method="rule"),
        ),
        "method_unknown": Count("pk", filter=Q(method_code=METHOD_NOT_KNOWN)),
    }


@dataclass(frozen=True)
class FeedbackMonth:
    month: date
    site: dict[str, int]
    london: dict[str, int]

    def share(self, which: str, key: str) -> float | None:
        counts = self.site if which == "site" else self.london
        return round(100 * counts[key] / counts["total"], 1) if counts.get("total") else None


def feedback_sites_for(user: User) -> QuerySet[HospitalSite]:
    """Sites whose feedback ``user`` may see: data managers all, liaisons their own."""
    if roles.is_data_manager(user):
        return HospitalSite.objects.order_by("name")
    return sites_uploadable_by(user).order_by("name")


def site_feedback(
    site: HospitalSite, *, months: int = 12, today: date | None = None
) -> list[FeedbackMonth]:
    """Monthly recording quality of ``site`` against London, from published submissions.

    Categories and counts only: no free text leaves this function.
    """
    today = today or timezone.localdate()
    last = last_complete_month(today)
    first = add_months(last, -(months - 1))
    base = hospital_feedback_incidents(first, last)
    london: dict[date, Mapping[str, Any]] = {
        row["assault_month"]: row
        for row in base.values("assault_month").annotate(**_feedback_counts())
    }
    own: dict[date, Mapping[str, Any]] = {
        row["assault_month"]: row
        for row in base.filter(site=site).values("assault_month").annotate(**_feedback_counts())
    }
    keys = ["total"] + [key for key, _ in FEEDBACK_CATEGORIES]
    empty = dict.fromkeys(keys, 0)
    result = []
    for i in range(months):
        month = add_months(first, i)
        site_row = {k: own.get(month, empty)[k] for k in keys}
        london_row = {k: london.get(month, empty)[k] for k in keys}
        result.append(FeedbackMonth(month, site_row, london_row))
    return result


# --- case studies -----------------------------------------------------------------------


def case_studies_visible_to(user: User) -> QuerySet[CaseStudy]:
    """Published case studies for every member; drafts to their author; in-review ones
    also to data managers (who review them). Non-members see nothing."""
    if not roles.is_member(user):
        return CaseStudy.objects.none()
    q = Q(status=CaseStudy.Status.PUBLISHED) | Q(author=user)
    if roles.is_data_manager(user):
        q |= Q(status=CaseStudy.Status.IN_REVIEW)
    return CaseStudy.objects.filter(q).select_related(
        "author", "organisation", "reviewer", "chart_query__release"
    )


def case_study_search(
    user: User, *, text: str = "", borough: str = "", theme: str = ""
) -> QuerySet[CaseStudy]:
    """Visible case studies filtered by borough and theme, ranked by full-text match."""
    qs = case_studies_visible_to(user)
    if borough:
        qs = qs.filter(boroughs__contains=[borough])
    if theme:
        qs = qs.filter(themes__contains=[theme])
    if text.strip():
        vector = SearchVector("title", "summary", "body", config="english")
        query = SearchQuery(text.strip(), config="english", search_type="websearch")
        qs = (
            qs.annotate(search=vector, rank=SearchRank(vector, query))
            .filter(search=query)
            .order_by("-rank", "-published_at")
        )
    return qs


def case_study_chart(study: CaseStudy, viewer: User) -> AggregateResult | None:
    """The study's embedded chart for ``viewer``: counts from its saved query, re-run
    through the viewer's own access, always with disclosure control."""
    saved = study.chart_query
    if saved is None:
        return None
    params: dict[str, Any] = dict(saved.params)
    if saved.release is not None:
        params["release"] = [str(saved.release.number)]
    filterset = IncidentFilterSet(params, user=viewer)
    if not filterset.is_valid():
        return None
    return aggregate_counts(
        filterset.qs,
        [study.chart_group_by],
        protect=True,
        scope=GridScope.of(filterset),
        refuse_sparse=False,  # the study's own fixed chart
    )
