"""Programme records: data-sharing agreements, release notes and case studies.

Business rules (who may change what, what an agreement's end does to grants) live in
``programme.services``; these models hold fields, constraints and cheap properties only.
"""

from __future__ import annotations

from datetime import date

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class DataSharingAgreement(models.Model):
    """A signed agreement between data providers (hospital trusts) and recipients.

    Access grants name their agreement by ``reference`` (``AccessGrant.agreement_reference``);
    an agreement that is not active switches off every grant that names it.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        ENDED = "ended", "Ended"

    reference = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    providers = models.ManyToManyField(
        "accounts.Organisation",
        related_name="agreements_as_provider",
        blank=True,
        help_text="Hospital trusts that supply data under this agreement.",
    )
    recipients = models.ManyToManyField(
        "accounts.Organisation",
        related_name="agreements_as_recipient",
        blank=True,
        help_text="Organisations that receive data under this agreement.",
    )
    legal_basis = models.CharField(max_length=300)
    purpose = models.TextField()
    signed_on = models.DateField(null=True, blank=True)
    review_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.TextField(blank=True)
    # The signed document: a generated name under PRIVATE_STORAGE_ROOT/agreements; the
    # uploaded name is metadata only.
    document_name = models.CharField(max_length=64, blank=True)
    document_original_name = models.CharField(max_length=255, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    # Reminders already sent, by the date they were about (a moved date is reminded again).
    review_reminder_for = models.DateField(null=True, blank=True)
    end_reminder_for = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_on__isnull=True) | Q(ends_on__gte=F("signed_on")),
                name="agreement_ends_after_signing",
            ),
        ]
        indexes = [models.Index(fields=["status", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    def is_active_on(self, day: date) -> bool:
        return self.status == self.Status.ACTIVE and day <= self.ends_on


class ReleaseNote(models.Model):
    """The notes for one monthly release, in Markdown (rendered safely on display)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    release = models.OneToOneField(
        "incidents.Release", on_delete=models.CASCADE, related_name="release_note"
    )
    body = models.TextField(blank=True)
    # The facts the pre-filled draft was built from, kept for reference.
    facts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-release__number"]

    def __str__(self) -> str:
        return f"Notes for release {self.release_id}"


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
