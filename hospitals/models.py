"""Hospital Emergency Department sites that submit ISTV data."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import models, transaction

from accounts.models import Organisation


class HospitalSite(models.Model):
    """A Type 1 ED site, identified by its ODS site code (e.g. RJ122)."""

    site_code = models.CharField("ODS site code", max_length=12, unique=True)
    name = models.CharField(max_length=200)
    trust_code = models.CharField("ODS trust code", max_length=5)
    trust_name = models.CharField(max_length=200)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="sites", null=True, blank=True
    )
    borough_code = models.CharField(max_length=9, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    aliases = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    is_major_trauma_centre = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        permissions = [("upload_submission", "Can upload submissions for this site")]

    def __str__(self) -> str:
        return f"{self.name} ({self.site_code})"


class MappingProfile(models.Model):
    """How one hospital's files map onto the ISTV fields: columns and source values.

    A new version is saved whenever a mapping is confirmed (by a liaison or data manager,
    or a complete proposal accepted at upload); earlier versions are kept. The newest is
    the hospital's current mapping; a file whose columns are exactly an earlier version's
    is read with that version, and one that fits none gets a proposal built from the
    current one.
    """

    site = models.ForeignKey(HospitalSite, on_delete=models.CASCADE, related_name="mappings")
    version = models.PositiveIntegerField(
        editable=False, help_text="1, 2, … per site, in the order the versions were confirmed."
    )
    columns = models.JSONField(help_text="Source column name -> standard field name.")
    value_mappings = models.JSONField(
        default=dict, blank=True, help_text="Field -> {source value -> harmonised code}."
    )
    source_columns = models.JSONField(
        default=list, help_text="The full column list of the file the mapping was made from."
    )
    detected_format = models.CharField(max_length=20, blank=True)
    confirmed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site", "-version"]
        get_latest_by = "version"
        constraints = [
            models.UniqueConstraint(fields=["site", "version"], name="unique_mapping_version"),
        ]

    def __str__(self) -> str:
        return f"Mapping for {self.site.site_code}, version {self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new profile takes the site's next version number (one at a time per site)."""
        if self.version:
            super().save(*args, **kwargs)
            return
        with transaction.atomic():
            # NO KEY UPDATE: profiles of one site still queue, but rows that refer to the
            # site (a submission received meanwhile) are not blocked, so a receive holding
            # the audit chain's lock cannot deadlock with this save.
            site = HospitalSite.objects.select_for_update(no_key=True).filter(pk=self.site_id)
            list(site.values("pk"))
            latest = MappingProfile.objects.filter(site_id=self.site_id).aggregate(
                latest=models.Max("version")
            )["latest"]
            self.version = (latest or 0) + 1
            super().save(*args, **kwargs)


class Submission(models.Model):
    """One uploaded file for one hospital site and reporting month, in one version."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        CHECKING = "checking", "Checking"
        MAPPING_NEEDED = "mapping_needed", "Mapping needed"
        PROCESSING = "processing", "Processing"
        READY_FOR_REVIEW = "ready_for_review", "Ready for review"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"
        QUARANTINED = "quarantined", "Quarantined"
        SUPERSEDED = "superseded", "Superseded"
        FAILED = "failed", "Failed"
        CHECKED = "checked", "Checked (dry run)"

    RUNNING_STATUSES = (Status.RECEIVED, Status.CHECKING, Status.PROCESSING)

    site = models.ForeignKey(HospitalSite, on_delete=models.PROTECT, related_name="submissions")
    period = models.DateField(help_text="First day of the reporting month.")
    version = models.PositiveIntegerField(
        default=1, help_text="1, 2, … per site and month for real uploads; 0 for a check-only run."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # Where the original file is kept: a generated name under PRIVATE_STORAGE_ROOT (or the
    # quarantine root). The uploaded name is metadata only and never used as a path.
    stored_name = models.CharField(max_length=64, unique=True)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveBigIntegerField()
    detected_format = models.CharField(max_length=20, blank=True)
    dry_run = models.BooleanField(default=False)
    set_aside_invalid = models.BooleanField(
        default=False, help_text="Accept valid rows and set the others aside (else reject all)."
    )
    accept_suggested_mapping = models.BooleanField(
        default=False, help_text="Use the proposed mapping for an unseen layout without asking."
    )
    mapping = models.ForeignKey(
        MappingProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the processing task was last handed to the broker; None while it is down.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100.")
    step = models.CharField(max_length=100, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_set_aside = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True, help_text="The validation report.")
    scorecard = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="Plain-English reason; never personal data.")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Check-only (dry) runs take no version number (they all have 0).
            models.UniqueConstraint(
                fields=["site", "period", "version"],
                condition=models.Q(dry_run=False),
                name="unique_submission_version",
            ),
        ]
        indexes = [
            models.Index(fields=["site", "period", "status"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.site.site_code} {self.period:%Y-%m} v{self.version}"
