"""Harmonised incidents, monthly releases and their notes, set-aside rows and code lists.

Incident rows are written only by the submission journey's loader (``ingest.loader``, with
COPY) and read only through the one door, ``visible_to(user, purpose=...)`` in
``incidents/selectors.py``, or the London-wide selectors beside it.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models.functions import Cast, Floor, Random
from django.utils import timezone

# Record keys run from 0 to RECORD_KEYS - 1 (the cell-key method's usual 256).
RECORD_KEYS = 256


class HarmonisedCode(models.Model):
    """One of the portal's own categories for assault method or location type."""

    class Kind(models.TextChoices):
        METHOD = "method", "Assault method"
        LOCATION_TYPE = "location_type", "Location type"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "sort_order", "label"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="unique_code")]

    def __str__(self) -> str:
        return self.label


class ValueSynonym(models.Model):
    """A source value (national code, trust label, SNOMED concept) -> harmonised code.

    ``source`` is blank for mappings that apply to every hospital, or a site code for a
    mapping that only one hospital's files use.
    """

    kind = models.CharField(max_length=20, choices=HarmonisedCode.Kind.choices)
    source = models.CharField(max_length=40, blank=True)
    value = models.CharField(max_length=200, help_text="Normalised (lower case, trimmed).")
    code = models.CharField(max_length=40)

    class Meta:
        ordering = ["kind", "source", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source", "value"], name="unique_synonym")
        ]

    def __str__(self) -> str:
        return f"{self.value} -> {self.code}"


class Release(models.Model):
    """A monthly snapshot: the set of submissions published when it was cut.

    Queries pinned to a release see exactly those submissions' incidents, so numbers can
    be reproduced later even after corrected re-uploads.
    """

    number = models.PositiveIntegerField(unique=True)
    label = models.CharField(max_length=50, help_text="e.g. 2026-10")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submissions = models.ManyToManyField("hospitals.Submission", related_name="releases")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]
        get_latest_by = "number"

    def __str__(self) -> str:
        return f"Release {self.number} ({self.label})"


class ReleaseNote(models.Model):
    """The notes for one monthly release, in Markdown (rendered safely on display).

    Written and published by data managers with the programme tools; read here by the
    analyst dashboard and the API (``incidents.release_notes``).
    """

    # The table and the audit log keep the names they had when release notes began in the
    # programme app: no data moved, and each note's audit history stays under one object
    # type (see ``accounts.audit.models.audit_object_type``).
    audit_object_type = "programme.releasenote"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="release_note")
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
        db_table = "programme_releasenote"
        ordering = ["-release__number"]

    def __str__(self) -> str:
        return f"Notes for release {self.release_id}"


class Incident(models.Model):
    """One harmonised assault attendance, with its geocode and lineage."""

    class GeocodeStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    submission = models.ForeignKey(
        "hospitals.Submission", on_delete=models.PROTECT, related_name="incidents"
    )
    site = models.ForeignKey("hospitals.HospitalSite", on_delete=models.PROTECT, related_name="+")
    source_row = models.PositiveIntegerField()

    arrival_at = models.DateTimeField(null=True, blank=True)
    arrival_time_known = models.BooleanField(default=False)
    assault_at = models.DateTimeField()
    assault_time_known = models.BooleanField(default=False)
    # Derived, in Europe/London local time, for fast filtering and grouping.
    assault_date = models.DateField()
    assault_month = models.DateField(help_text="First day of the assault month.")
    assault_weekday = models.PositiveSmallIntegerField(help_text="1 = Monday ... 7 = Sunday.")
    assault_hour = models.PositiveSmallIntegerField(null=True, blank=True)

    method_code = models.CharField(max_length=40)
    method_raw = models.CharField(max_length=255, blank=True)
    method_other = models.CharField(max_length=255, blank=True)
    location_type_code = models.CharField(max_length=40)
    location_type_raw = models.CharField(max_length=255, blank=True)
    location_description = models.CharField(max_length=255, blank=True)

    geocode_status = models.CharField(
        max_length=10, choices=GeocodeStatus.choices, default=GeocodeStatus.PENDING
    )
    geo_class = models.CharField(max_length=30, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    easting = models.FloatField(null=True, blank=True)
    northing = models.FloatField(null=True, blank=True)
    geo_precision = models.CharField(max_length=30, blank=True)
    geo_confidence = models.FloatField(null=True, blank=True)
    geo_method = models.CharField(max_length=60, blank=True)
    geo_matched = models.CharField(max_length=255, blank=True)
    geo_alternatives = models.JSONField(default=list, blank=True)
    geo_explanation = models.CharField(max_length=500, blank=True)
    lsoa_code = models.CharField(max_length=9, blank=True)
    ward_code = models.CharField(max_length=9, blank=True)
    borough_code = models.CharField(max_length=9, blank=True)

    # The record key of the cell-key method (incidents/disclosure.py): a random number from
    # 0 to 255 drawn by the database when the row is written and never shown. A cell's key
    # is the sum of its records' keys, so the same cell always gets the same perturbation.
    record_key = models.PositiveSmallIntegerField(
        db_default=Cast(Floor(Random() * RECORD_KEYS), models.SmallIntegerField()),
        editable=False,
    )

    rules = models.JSONField(default=list, blank=True, help_text="Cleaning rules applied.")
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-assault_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "source_row"], name="unique_incident_source_row"
            )
        ]
        indexes = [
            models.Index(fields=["borough_code", "assault_date", "id"]),
            # A borough's records newest first, in the model's order (``-assault_at``,
            # ``-id``): the explore table's and the API's first page of a borough read 51
            # index entries instead of sorting all of the borough's rows.
            models.Index(
                fields=["borough_code", "assault_at", "id"], name="incident_borough_recent"
            ),
            models.Index(fields=["assault_date", "id"]),
            models.Index(fields=["assault_month", "borough_code"]),
            models.Index(fields=["site", "assault_date"]),
            models.Index(fields=["ward_code", "assault_date"]),
            models.Index(fields=["lsoa_code", "assault_date"]),
            models.Index(fields=["submission"]),
            # Covers the workspace's counts (borough x month, a borough's months): the
            # published check needs only submission_id, the scope's "not awaiting
            # geocoding" check only geocode_status and the cell keys only record_key, so
            # both are index-only scans.
            models.Index(
                fields=["borough_code", "assault_month", "submission"],
                include=["geocode_status", "record_key"],
                name="incident_borough_month_keys",
            ),
            # Rows still awaiting geocoding: normally none, so a tiny index that lets the
            # retry job and the map's "awaiting geocoding" note avoid a full-table scan.
            models.Index(
                fields=["id"],
                condition=models.Q(geocode_status="pending"),
                name="incident_geocode_pending",
            ),
            # Points without grid coordinates: normally none (the loader and the geocoder
            # write both), so the masked exports' look-up of them (masking_sql's
            # ``_unprojected_snaps``) reads this empty index rather than every row.
            models.Index(
                fields=["id"],
                condition=models.Q(lat__isnull=False, lon__isnull=False)
                & (models.Q(easting__isnull=True) | models.Q(northing__isnull=True)),
                name="incident_unprojected_point",
            ),
            # Top locations (incidents/workspace/top_locations.py): the rows with a named
            # place (about a fifth) carrying every column that page groups and filters by,
            # so a borough's year is an index-only scan of a few thousand entries instead
            # of one heap page per row. The condition is that module's ``placed()``.
            models.Index(
                fields=["borough_code", "assault_date"],
                include=[
                    "geo_matched",
                    "geo_precision",
                    "location_type_code",
                    "method_code",
                    "assault_weekday",
                    "assault_hour",
                    "record_key",
                    "submission",
                    "geocode_status",
                    "id",
                ],
                condition=models.Q(
                    geo_class="place", geo_precision__in=["venue", "street", "junction"]
                )
                & ~models.Q(geo_matched=""),
                name="incident_place_borough_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Incident {self.pk}"


class CountCell(models.Model):
    """A cell of an incident rollup: how many incident rows share these column values, and
    the sum of their record keys (so the cell-key method works from it: the key of any
    group of cells is the sum of their sums). See ``incidents/rollup.py``.

    Kept equal to the incident rows by database triggers on the incident table (migration
    ``0011_incident_rollup``), in the transaction that changes the rows, for every
    submission whatever its status: publishing and superseding change the submission, not
    its rows, and the scoped reads (``incidents.selectors.counts_visible_to``) apply the
    same publication and release rules to these cells as to the rows. The columns have
    the incident's names, so the one scope condition (``scope_q``) applies to both.
    """

    submission = models.ForeignKey(
        "hospitals.Submission", on_delete=models.CASCADE, related_name="+"
    )
    site = models.ForeignKey("hospitals.HospitalSite", on_delete=models.PROTECT, related_name="+")
    borough_code = models.CharField(max_length=9)
    assault_month = models.DateField()
    geo_class = models.CharField(max_length=30)
    geocode_status = models.CharField(max_length=10)
    incident_count = models.IntegerField()
    record_key_sum = models.BigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.incident_count} incidents of submission {self.submission_id}"


class IncidentCount(CountCell):
    """Incident rows counted by submission, site, borough, month, method, location type,
    location class and geocode status: answers counts filtered or grouped by method or
    location type."""

    method_code = models.CharField(max_length=40)
    location_type_code = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "submission",
                    "borough_code",
                    "assault_month",
                    "site",
                    "method_code",
                    "location_type_code",
                    "geo_class",
                    "geocode_status",
                ],
                name="unique_incident_count_cell",
            )
        ]


class IncidentMonthCount(CountCell):
    """Incident rows counted by submission, site, borough, month, location class and
    geocode status: the small rollup that answers counts by borough, month, hospital and
    class (a few dozen cells per submission)."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "submission",
                    "borough_code",
                    "assault_month",
                    "site",
                    "geo_class",
                    "geocode_status",
                ],
                name="unique_incident_month_count_cell",
            )
        ]


class SetAsideRow(models.Model):
    """A row that failed validation: kept with its reasons, never silently dropped.

    ``values`` holds the row after the personal-data guard has redacted it.
    """

    submission = models.ForeignKey(
        "hospitals.Submission", on_delete=models.CASCADE, related_name="set_aside_rows"
    )
    source_row = models.PositiveIntegerField()
    reasons = models.JSONField(help_text="[{code, message, column}] - no raw free text.")
    values = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["submission", "source_row"]

    def __str__(self) -> str:
        return f"Set-aside row {self.source_row} of {self.submission_id}"


class SavedQuery(models.Model):
    """A named filter (and the release it was made on) that can be opened again or shared.

    Only the filter parameters are stored, never results: opening a saved query re-applies
    it through the one door (``visible_to``) for the *viewer's* own access, so a query shared
    with the organisation shows a member with narrower access only their narrower result.
    """

    name = models.CharField(max_length=120)
    owner = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The organisation the query can be shared with (the owner's).",
    )
    shared_with_organisation = models.BooleanField(default=False)
    params = models.JSONField(
        default=dict, blank=True, help_text="Filter parameters: name -> list of values."
    )
    release = models.ForeignKey(
        Release, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "shared_with_organisation"])]

    def __str__(self) -> str:
        return self.name


class PoliceRecordedCount(models.Model):
    """Police-recorded crimes of one series in one London LSOA and month, as one force
    published them (data.police.uk's street-level CSV, imported by
    ``ingest.police_crime``). Counts only: no crime ID, location or outcome is kept.

    ``force`` is the file's "Reported by" (one file per force and month), so importing a
    force's month again replaces exactly what that force published for it. The ward and
    borough are the LSOA's, looked up once at import, so the comparison with ED counts
    (``incidents.police_gap``) groups both sides the same way.
    """

    class Series(models.TextChoices):
        VIOLENCE = "violence", "Violence and sexual offences"
        ROBBERY = "robbery", "Robbery"

    force = models.CharField(max_length=100)
    month = models.DateField(help_text="First day of the month.")
    series = models.CharField(max_length=10, choices=Series.choices)
    lsoa_code = models.CharField(max_length=9)
    ward_code = models.CharField(max_length=9, blank=True)
    borough_code = models.CharField(max_length=9)
    count = models.PositiveIntegerField()
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["force", "month", "series", "lsoa_code"], name="unique_police_count"
            )
        ]
        indexes = [models.Index(fields=["series", "month", "borough_code"])]

    def __str__(self) -> str:
        return f"{self.force} {self.month:%Y-%m} {self.series} {self.lsoa_code}: {self.count}"


# Bytes of randomness in a stop link's token (32 URL-safe characters).
ALERT_TOKEN_BYTES = 24


def new_alert_token() -> str:
    """The secret of a one-click stop link: random, URL-safe, never derived from ids."""
    return secrets.token_urlsafe(ALERT_TOKEN_BYTES)


class AlertSubscription(models.Model):
    """A user's wish to be told when a saved query's latest month moves (docs/alerts.md).

    Stopping keeps the row (``stopped_at``), so a stop link followed twice still answers
    "stopped" and the history of who watched what stays on record; subscribing again
    makes a new row with a new token. ``last_alerted_month`` stops later releases
    covering the same month from reporting the same move again.
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    saved_query = models.ForeignKey(SavedQuery, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64, unique=True, default=new_alert_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    last_alerted_month = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "saved_query"],
                condition=models.Q(stopped_at__isnull=True),
                name="unique_active_alert_subscription",
            )
        ]

    def __str__(self) -> str:
        return f"Alert {self.pk} on saved query {self.saved_query_id}"

    @property
    def active(self) -> bool:
        return self.stopped_at is None


class AlertDigest(models.Model):
    """One user's alert digest for one release: written before the e-mail goes, so the
    unique constraint makes a second digest for the same release impossible (a task run
    twice, two workers at once). ``sent_at`` is empty when nothing moved: the user was
    checked for the release and there was nothing to tell."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    alerts_fired = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "release"], name="unique_alert_digest")
        ]

    def __str__(self) -> str:
        return f"Alert digest {self.pk} for release {self.release_id}"


class AlertRun(models.Model):
    """The alerts of one release have been worked out (``finished_at``): the nightly
    catch-up looks for recent releases without a finished run."""

    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    month = models.DateField(
        null=True, blank=True, help_text="The month compared (none: no complete month)."
    )
    digests_sent = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Alerts of release {self.release_id}"
