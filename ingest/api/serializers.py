"""Input and output shapes of the submissions API (separate, as the house style asks)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from hospitals.models import Submission
from ingest.pipeline.intake import ACCEPTED_FORMATS_TEXT
from istv_portal.periods import Period


class SubmissionUploadSerializer(serializers.Serializer[Any]):
    """``multipart/form-data``: the file and what it is for."""

    site = serializers.CharField(max_length=12, help_text="ODS site code, e.g. RJ122.")
    period = serializers.CharField(max_length=20, help_text="Reporting month, YYYY-MM.")
    file = serializers.FileField(
        allow_empty_file=False,
        help_text=f"{ACCEPTED_FORMATS_TEXT}. The type is checked by content: a file whose "
        "content does not match its extension is refused (code F001, F005 or F007).",
    )
    set_aside_invalid = serializers.BooleanField(
        default=False,
        help_text="Accept valid rows and set invalid ones aside (default: reject the file).",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Check only: run every check and store nothing."
    )
    accept_suggested_mapping = serializers.BooleanField(
        default=False,
        help_text=(
            "For a layout that is new, or differs from the hospital's confirmed mapping: use "
            "the proposed mapping if it is complete (saved as the hospital's new mapping "
            "version). An incomplete proposal stops at 'mapping needed' (default: always ask)."
        ),
    )

    def validate_period(self, value: str) -> Period:
        try:
            return Period.parse(value)
        except ValueError:
            raise serializers.ValidationError("Enter the reporting month as YYYY-MM.") from None

    def validate_site(self, value: str) -> str:
        return value.strip().upper()


class SubmissionOutSerializer(serializers.ModelSerializer[Submission]):
    site = serializers.CharField(source="site.site_code")
    site_name = serializers.CharField(source="site.name")
    period = serializers.DateField(format="%Y-%m")
    status_label = serializers.CharField(source="get_status_display")
    links = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "site",
            "site_name",
            "period",
            "version",
            "status",
            "status_label",
            "progress",
            "step",
            "dry_run",
            "set_aside_invalid",
            "detected_format",
            "rows_read",
            "rows_accepted",
            "rows_set_aside",
            "created_at",
            "finished_at",
            "published_at",
            "links",
        ]
        read_only_fields = fields

    def get_links(self, obj: Submission) -> dict[str, str]:
        return {
            "self": reverse("submissions_api:submission_detail", kwargs={"pk": obj.pk}),
            "status_page": reverse("ingest:submission_detail", kwargs={"pk": obj.pk}),
        }


class SubmissionDetailSerializer(SubmissionOutSerializer):
    """One submission with its validation report and scorecard."""

    class Meta(SubmissionOutSerializer.Meta):
        fields = [*SubmissionOutSerializer.Meta.fields, "report", "scorecard", "error"]
        read_only_fields = fields


class SubmissionAcceptedSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    duplicate = serializers.BooleanField()
    links = serializers.DictField(child=serializers.CharField())


class SubmissionPageSerializer(serializers.Serializer[Any]):
    """One page of the list (limit/offset)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SubmissionOutSerializer(many=True)
