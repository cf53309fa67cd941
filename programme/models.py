"""Programme records: case studies and usage figures.

The programme tools also keep the data-sharing agreement register and the release notes,
whose models live lower down because access and the analyst workspace read them:
``accounts.models.DataSharingAgreement`` and ``incidents.models.ReleaseNote``.

Business rules (who may change what, what an agreement's end does to grants) live in
``programme.services``; these models hold fields, constraints and cheap properties only.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.utils import timezone


class ChartDimension(models.TextChoices):
    """What a case study's embedded chart counts by (names from incidents.aggregates)."""

    MONTH = "month", "Month"
    BOROUGH = "borough", "Borough"
    METHOD = "method", "Assault method"
    LOCATION_TYPE = "location_type", "Location type"


class CaseStudy(models.Model):
    """An account of analysis and its impact, published after review by a data manager."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    class Theme(models.TextChoices):
        NIGHT_TIME_ECONOMY = "night_time_economy", "Night-time economy"
        KNIFE_CRIME = "knife_crime", "Knife crime"
        DOMESTIC = "domestic", "Domestic abuse"
        TRANSPORT = "transport", "Transport"
        YOUTH = "youth", "Youth violence"
        OTHER = "other", "Other"

    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500)
    body = models.TextField()
    boroughs = ArrayField(models.CharField(max_length=9), default=list, blank=True)
    themes = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    reviewer = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_comment = models.TextField(blank=True)
    # An aggregate chart: counts from a saved query (re-run for each viewer's own access)
    # with disclosure control, never raw rows.
    chart_query = models.ForeignKey(
        "incidents.SavedQuery", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    chart_group_by = models.CharField(
        max_length=20, choices=ChartDimension.choices, default=ChartDimension.MONTH
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-created_at"]
        indexes = [
            GinIndex(
                SearchVector("title", "summary", "body", config="english"),
                name="case_study_search",
            ),
            GinIndex(fields=["boroughs"], name="case_study_boroughs"),
            GinIndex(fields=["themes"], name="case_study_themes"),
        ]

    def __str__(self) -> str:
        return self.title


class CaseStudyImage(models.Model):
    """An image in a case study, stored privately and served through a permission check."""

    case_study = models.ForeignKey(CaseStudy, on_delete=models.CASCADE, related_name="images")
    stored_name = models.CharField(max_length=64, unique=True)
    content_type = models.CharField(max_length=40)
    alt_text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.alt_text


class UsageMonth(models.Model):
    """Usage figures of one organisation in one closed month (impact dashboard rollup).

    Audit events are only ever appended with the current time, so a month that has ended
    no longer changes: its figures are computed once, by the nightly job, instead of
    scanning a year of audit events on every page view.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField()
    active_users = models.PositiveIntegerField(default=0)
    data_views = models.PositiveIntegerField(default=0)
    downloads = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    shared_queries = models.PositiveIntegerField(default=0)
    case_studies = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["month", "organisation"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "month"], name="one_usage_row")
        ]

    def __str__(self) -> str:
        return f"Usage {self.organisation_id} {self.month:%Y-%m}"


class UsageMonthComputed(models.Model):
    """A closed month whose ``UsageMonth`` rows are complete (even if there are none)."""

    month = models.DateField(unique=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"
