"""Serializers of the workspace API. Input and output are separate classes.

Output serializers describe already-masked rows (incidents/masking.py decides what each
user receives); they never read model instances of incident data themselves.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request

from hospitals.models import HospitalSite
from incidents.filters import FILTER_NAMES
from incidents.models import Release, ReleaseNote, SavedQuery


def saved_query_url(saved: SavedQuery, name: str, request: Request | HttpRequest | None) -> str:
    """The URL that opens ``saved`` (its filter and release) on the incidents/aggregates API.

    The stored release is the one pinned. A ``release`` inside the stored params (the save
    views never put one there, but nothing below them forbids it) is dropped, as the
    page's open view drops it, or the link would carry ``release`` twice.
    """
    params: list[tuple[str, str]] = [
        (key, value)
        for key, values in sorted(saved.params.items())
        if key != "release"
        for value in values
    ]
    if saved.release is not None:
        params.append(("release", str(saved.release.number)))
    url = reverse(name)
    if params:
        url = f"{url}?{urlencode(params)}"
    return request.build_absolute_uri(url) if request is not None else url


class IncidentOutSerializer(serializers.Serializer[dict[str, Any]]):
    """One incident as the caller may see it. ``location_description`` appears only when
    the caller's access includes free text (null in boroughs where it does not)."""

    id = serializers.IntegerField()
    hospital = serializers.CharField(help_text="ODS site code of the ED.")
    assault_datetime = serializers.DateTimeField(
        help_text="Assault date and time (UTC offset); the time is 00:00 local when unknown."
    )
    assault_date = serializers.DateField()
    assault_time_known = serializers.BooleanField()
    arrival_datetime = serializers.DateTimeField(allow_null=True)
    borough = serializers.CharField(help_text="GSS code of the borough.")
    ward = serializers.CharField(allow_null=True)
    lsoa = serializers.CharField(allow_null=True)
    lat = serializers.FloatField(allow_null=True, help_text="At the precision your grant allows.")
    lon = serializers.FloatField(allow_null=True)
    precision = serializers.CharField(
        help_text="Precision shown: the geocode precision for exact points, 'snapped', "
        "'lsoa_centroid' or 'not_located'."
    )
    geo_class = serializers.CharField(allow_null=True)
    method = serializers.CharField()
    location_type = serializers.CharField()
    location_description = serializers.CharField(
        required=False, allow_null=True, help_text="Only where your grant allows free text."
    )

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        data = super().to_representation(instance)
        if "location_description" not in instance:
            data.pop("location_description", None)
        return data


class IncidentPageSerializer(serializers.Serializer[dict[str, Any]]):
    results = IncidentOutSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")


class DisclosureControlSerializer(serializers.Serializer[dict[str, Any]]):
    applied = serializers.BooleanField()
    method = serializers.CharField(required=False, help_text='"cell-key" when applied.')
    suppressed_up_to = serializers.IntegerField(required=False)
    rounded_to = serializers.IntegerField(required=False)
    perturbation_max = serializers.IntegerField(
        required=False, help_text="The largest adjustment added to a shown count."
    )
    secondary_suppressions = serializers.IntegerField(
        required=False, help_text="Always 0: no group is hidden to protect another."
    )
    note = serializers.CharField()


class AggregateResponseSerializer(serializers.Serializer[dict[str, Any]]):
    group_by = serializers.ListField(child=serializers.CharField())
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text='One object per group: one key per dimension, plus "count" (a number, '
        'or "*" when suppressed). Under disclosure control every object also has '
        '"suppressed": "small_count" where the count is "*" (0 to the threshold), null where '
        "it is shown; no group is hidden to protect another, so there is no other reason.",
    )
    total = serializers.JSONField(help_text='Total over all groups: a number or "*".')
    disclosure_control = DisclosureControlSerializer()


class HospitalOutSerializer(serializers.ModelSerializer[HospitalSite]):
    class Meta:
        model = HospitalSite
        fields = ["site_code", "name", "trust_code", "trust_name", "borough_code"]


class ReleaseOutSerializer(serializers.ModelSerializer[Release]):
    submission_count = serializers.IntegerField(read_only=True)
    release_notes = serializers.SerializerMethodField(
        help_text="The data manager's published release notes (Markdown), or null."
    )

    class Meta:
        model = Release
        fields = ["number", "label", "created_at", "notes", "submission_count", "release_notes"]

    def get_release_notes(self, release: Release) -> str | None:
        note = getattr(release, "release_note", None)  # select_related by the view
        if note is None or note.status != ReleaseNote.Status.PUBLISHED:
            return None
        return str(note.body)


class FilterParamsField(serializers.DictField):
    """A saved query's filter; its schema (each filter's values) is declared in
    ``incidents.api.schema``."""


class SavedQueryNameField(serializers.CharField):
    """A saved query's name: trimmed, not blank (its schema in ``incidents.api.schema``)."""


class SavedQueryInSerializer(serializers.Serializer[dict[str, Any]]):
    name = SavedQueryNameField(max_length=120)
    params = FilterParamsField(
        child=serializers.ListField(child=serializers.CharField(max_length=100), max_length=200),
        required=False,
        default=dict,
        help_text="Filter parameters as on /incidents/: name -> list of values.",
    )
    release = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Release number to pin; defaults to the latest release.",
    )
    shared_with_organisation = serializers.BooleanField(default=False)

    def validate_params(self, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(FILTER_NAMES) | ({"release"} & set(value)))
        if unknown:
            raise serializers.ValidationError(
                "Unknown filter parameter (give the release separately)."
            )
        return value


class SavedQueryOutSerializer(serializers.ModelSerializer[SavedQuery]):
    owned = serializers.SerializerMethodField()
    release = serializers.SerializerMethodField()
    incidents_url = serializers.SerializerMethodField()
    aggregates_url = serializers.SerializerMethodField()

    class Meta:
        model = SavedQuery
        fields = [
            "id",
            "name",
            "owned",
            "shared_with_organisation",
            "params",
            "release",
            "created_at",
            "incidents_url",
            "aggregates_url",
        ]

    def get_owned(self, obj: SavedQuery) -> bool:
        request = self.context.get("request")
        return bool(request is not None and obj.owner_id == request.user.pk)

    def get_release(self, obj: SavedQuery) -> int | None:
        return obj.release.number if obj.release is not None else None

    def _url(self, obj: SavedQuery, name: str) -> str:
        return saved_query_url(obj, name, self.context.get("request"))

    def get_incidents_url(self, obj: SavedQuery) -> str:
        return self._url(obj, "api:incident-list")

    def get_aggregates_url(self, obj: SavedQuery) -> str:
        return self._url(obj, "api:aggregates")


# --- envelopes and errors, as the views answer them (documented in the schema) ---------


class HospitalListSerializer(serializers.Serializer[dict[str, Any]]):
    results = HospitalOutSerializer(many=True)


class ReleaseListSerializer(serializers.Serializer[dict[str, Any]]):
    results = ReleaseOutSerializer(many=True)


class SavedQueryListSerializer(serializers.Serializer[dict[str, Any]]):
    results = SavedQueryOutSerializer(many=True)


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """Every error answer under /api/ (401, 403, 404, 405, 429, 5xx) except field errors."""

    detail = serializers.CharField()
