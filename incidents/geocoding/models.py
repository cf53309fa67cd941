"""The offline gazetteer, learned aliases and the geocoding review queue.

Geometry is kept as plain columns (WGS84 lat/lon, BNG easting/northing) and GeoJSON text
for boundaries: the project runs without PostGIS, and every spatial question is answered
in memory (see ``gazetteer.py``), where a shapely STRtree over ~5,700 polygons answers a
point-in-polygon query in microseconds.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Postcode(models.Model):
    """One postcode unit with its official or derived LSOA, ward and borough."""

    postcode = models.CharField(max_length=8, unique=True, help_text="Normalised, e.g. 'E1 6AN'.")
    lat = models.FloatField()
    lon = models.FloatField()
    easting = models.IntegerField(null=True, blank=True)
    northing = models.IntegerField(null=True, blank=True)
    lsoa_code = models.CharField(max_length=9, blank=True)
    ward_code = models.CharField(max_length=9, blank=True)
    borough_code = models.CharField(max_length=9, blank=True)
    is_live = models.BooleanField(default=True)
    positional_quality = models.SmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.postcode


class Area(models.Model):
    """A statistical or administrative area with its boundary (GeoJSON geometry text)."""

    class Kind(models.TextChoices):
        BOROUGH = "borough", "Borough"
        WARD = "ward", "Ward"
        LSOA = "lsoa", "LSOA"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    code = models.CharField(max_length=9)
    name = models.CharField(max_length=200)
    parent_code = models.CharField(max_length=9, blank=True, help_text="Borough of a ward/LSOA.")
    geometry = models.TextField(help_text="GeoJSON geometry, WGS84.")
    centroid_lat = models.FloatField(null=True, blank=True)
    centroid_lon = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="unique_area_code")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Place(models.Model):
    """A named point: station, bus stop, landmark, hospital, pub, street cluster, snap point."""

    class Kind(models.TextChoices):
        STATION = "station", "Station"
        BUS_STOP = "bus_stop", "Bus stop"
        LANDMARK = "landmark", "Landmark"
        HOSPITAL = "hospital", "Hospital"
        PUB = "pub", "Pub"
        STREET = "street", "Street"
        STREET_POINT = "street_point", "Street map point"
        POI = "poi", "Generic point of interest"
        LOCALITY = "locality", "Locality"

    kind = models.CharField(max_length=12, choices=Kind.choices, db_index=True)
    name = models.CharField(max_length=200)
    name_key = models.CharField(max_length=200, db_index=True)
    lat = models.FloatField()
    lon = models.FloatField()
    borough_code = models.CharField(max_length=9, blank=True)
    source = models.CharField(max_length=60, help_text="File or layout the row came from.")
    source_ref = models.CharField(max_length=60, blank=True)
    weight = models.IntegerField(
        default=0, help_text="Importance, e.g. points in a street cluster."
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class GazetteerVersion(models.Model):
    """One load of a gazetteer folder: which version, which files, what it loaded.

    ``digest`` identifies the folder's contents (see ``loaders.folder_version``); the
    newest row is the version in the tables, and ``load_gazetteer`` skips a folder whose
    digest matches it.
    """

    label = models.CharField(
        max_length=100, help_text="The folder's VERSION, e.g. 'london-2025.11'."
    )
    digest = models.CharField(max_length=64, help_text="SHA-256 over the loaded files' SHA-256s.")
    files = models.JSONField(default=dict, help_text="File name → SHA-256 of each file loaded.")
    counts = models.JSONField(default=dict, help_text="Rows loaded per kind.")
    seconds = models.FloatField(default=0.0)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-loaded_at", "-id"]
        get_latest_by = ["loaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.digest[:12]})"


class HospitalPoint(models.Model):
    """ED / UEC site locations, used when ``hospitals.HospitalSite`` has no coordinates."""

    site_code = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=200)
    lat = models.FloatField()
    lon = models.FloatField()
    borough_code = models.CharField(max_length=9, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.site_code})"


class LearnedAlias(models.Model):
    """A reviewer's decision: this normalised phrase, at this hospital, means this result."""

    phrase = models.CharField(max_length=300, help_text="Normalised description text.")
    hospital = models.CharField(max_length=12, blank=True, help_text="Site code; blank = any.")
    result_class = models.CharField(max_length=24)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    label = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phrase", "hospital"], name="unique_alias_phrase")
        ]

    def __str__(self) -> str:
        return f"{self.phrase} @ {self.hospital or '*'}"


class ReviewItem(models.Model):
    """A low-confidence or ambiguous result waiting for a data manager."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DECIDED = "decided", "Decided"

    phrase = models.CharField(max_length=300, help_text="Normalised description text.")
    text = models.CharField(max_length=500, help_text="One original wording of the phrase.")
    hospital = models.CharField(max_length=12, blank=True)
    result = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alias = models.ForeignKey(LearnedAlias, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-occurrences", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["phrase", "hospital"], name="unique_review_phrase")
        ]

    def __str__(self) -> str:
        return f"{self.text} @ {self.hospital}"
