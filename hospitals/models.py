"""Hospital Emergency Department sites that submit ISTV data."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

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
