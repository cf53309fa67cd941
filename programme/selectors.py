"""Scoped reads for the programme tools.

Hooks for other apps (see docs/programme.md):

* ``inactive_agreement_references(on=...)`` / ``inactive_agreement_references_qs(on=...)``:
  agreements in the register that are not in force, so ``accounts.access`` can ignore
  grants naming them;
* ``site_can_submit(site)``: a hospital whose provider agreement has lapsed cannot submit;
* ``latest_release_note()`` and ``release_note_for(release)``: published release notes
  for the analyst dashboard and the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import AccessGrant, User
from hospitals.models import HospitalSite, Submission
from incidents.aggregates import AggregateResult, aggregate_counts
from incidents.filters import IncidentFilterSet
from incidents.models import Incident, Release
from programme import roles
from programme.models import CaseStudy, DataSharingAgreement, ReleaseNote

DUE_WITHIN_DAYS = 60

# --- agreements -------------------------------------------------------------------------


def _in_force_q(day: date) -> Q:
    return Q(status=DataSharingAgreement.Status.ACTIVE, ends_on__gte=day)


def inactive_agreement_references_qs(*, on: date | None = None) -> QuerySet[Any]:
    """References of registered agreements not in force on ``on`` (a lazy subquery).

    Used inside ``__in`` lookups it costs no extra query. A reference that is not in the
    register at all is not listed (``grant_agreement_check`` catches it on the form).
    """
    day = on or timezone.localdate()
    return DataSharingAgreement.objects.exclude(_in_force_q(day)).values_list(
        "reference", flat=True
    )


def inactive_agreement_references(*, on: date | None = None) -> set[str]:
    return set(inactive_agreement_references_qs(on=on))


def site_can_submit(site: HospitalSite, *, on: date | None = None) -> tuple[bool, str]:
    """Whether ``site`` may submit, and the reason to show when it may not.

    A site may submit while its trust is a provider under an agreement in force. A trust
    with no provider agreement registered at all may submit unless
    ``PROGRAMME_REQUIRE_PROVIDER_AGREEMENT`` is set (the register may still be filling).
    """
    day = on or timezone.localdate()
    if site.organisation_id is None:
        return True, ""
    agreements = list(
        DataSharingAgreement.objects.filter(providers=site.organisation_id).exclude(
            status=DataSharingAgreement.Status.DRAFT
        )
    )
    if any(a.is_active_on(day) for a in agreements):
        return True, ""
    if not agreements:
        if getattr(settings, "PROGRAMME_REQUIRE_PROVIDER_AGREEMENT", False):
            return False, (
                f"{site.name} has no data-sharing agreement in force, so uploads are paused. "
                "Please contact the GLA data team."
            )
        return True, ""
    latest = max(agreements, key=lambda a: a.ends_on)
    if latest.status == DataSharingAgreement.Status.SUSPENDED:
        why = f"agreement {latest.reference} is suspended"
    else:
        why = f"agreement {latest.reference} ended on {latest.ends_on:%d %B %Y}"
    return False, (
        f"{site.name} cannot submit data because its data-sharing {why}. Uploads resume "
        "once the agreement is renewed; please contact the GLA data team."
    )


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


def agreement_get(*, pk: int) -> DataSharingAgreement:
    return DataSharingAgreement.objects.prefetch_related("providers", "recipients").get(pk=pk)


def agreement_grants(agreement: DataSharingAgreement) -> QuerySet[AccessGrant]:
    return (
        AccessGrant.objects.filter(agreement_reference=agreement.reference)
        .select_related("organisation")
        .order_by("organisation__name", "-valid_from")
    )


# --- release notes ----------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


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

    last_month = _add_months(_month_start(timezone.localtime(release.created_at).date()), -1)
    months = [_add_months(last_month, -i) for i in range(window_months - 1, -1, -1)]
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
    from hospitals.selectors import sites_uploadable_by

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
    last = _add_months(_month_start(today), -1)
    first = _add_months(last, -(months - 1))
    base = Incident.objects.filter(
        submission__status=Submission.Status.PUBLISHED,
        assault_month__gte=first,
        assault_month__lte=last,
    )
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
        month = _add_months(first, i)
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
    return aggregate_counts(filterset.qs, [study.chart_group_by], protect=True)
