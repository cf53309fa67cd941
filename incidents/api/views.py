"""Views of the workspace API (/api/v1/). See docs/api.md for the contract.

Every view denies by default: an MFA-verified session or a live personal token
(``IsVerifiedUser``), then access to incident data (``HasDataAccess``), then the view's
own checks. Every data read starts from the scoping chokepoint through
``IncidentFilterSet``; objects outside scope answer 404. Every call is audited and every
response carries ``Cache-Control: no-store``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

from django.db.models import Count, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from accounts.access import EffectiveAccess, effective_access
from accounts.audit.api import AuditedAPIMixin
from accounts.audit.denials import get_in_scope_or_404
from accounts.audit.models import Action
from accounts.audit.patterns import check_aggregate_pattern
from accounts.models import User
from accounts.permissions import IsVerifiedUser
from incidents.aggregates import (
    DIMENSIONS,
    AggregateResult,
    AggregateTimeout,
    GridScope,
    GroupByError,
    aggregate_counts,
    needs_protection,
    parse_group_by,
)
from incidents.api import schema as _schema  # noqa: F401  (registers the token scheme)
from incidents.api.pagination import MAX_PAGE_SIZE, keyset_page
from incidents.api.serializers import (
    AggregateResponseSerializer,
    HospitalOutSerializer,
    IncidentOutSerializer,
    IncidentPageSerializer,
    ReleaseOutSerializer,
    SavedQueryInSerializer,
    SavedQueryOutSerializer,
)
from incidents.exports import (
    EXPORT_FORMATS,
    INCIDENT_FIELDS,
    FieldSpec,
    Recipient,
    ZipPackage,
    build_manifest,
    data_dictionary_csv,
    manifest_json,
)
from incidents.exports.streams import ExportStream
from incidents.filters import IncidentFilterSet
from incidents.masking import RAW_FIELDS, Masker
from incidents.masking_sql import incident_csv_export
from incidents.models import Release
from incidents.selectors import (
    hospitals_visible_to,
    releases_visible_to,
    saved_queries_visible_to,
    scope_q,
)
from incidents.services import (
    SavedQueryError,
    data_access_record,
    data_organisation,
    saved_query_create,
    saved_query_delete,
)

AGGREGATES_HINT = (
    "Your access to incident data is aggregate only: use /api/v1/aggregates/ "
    "(and /api/v1/exports/aggregates.csv) for counts."
)
PURPOSE_MAX = 300


def _user(request: Request) -> User:
    """The caller. Every view here requires ``IsVerifiedUser`` first, so never anonymous."""
    return cast(User, request.user)


def _access(request: Request) -> EffectiveAccess:
    """The caller's effective access, computed once per request."""
    cached = getattr(request, "_istv_access", None)
    if cached is None:
        cached = effective_access(_user(request))
        request._istv_access = cached  # type: ignore[attr-defined]
    return cached


class HasDataAccess(BasePermission):
    """The caller has some grant to incident data (liaisons, administrators: no)."""

    message = "Your account has no access to incident data."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _access(request).has_data_access


class DataAPIView(AuditedAPIMixin, APIView):
    """Base for every workspace endpoint: deny by default, no-store, throttled per user."""

    permission_classes = [IsVerifiedUser, HasDataAccess]
    throttle_classes = [UserRateThrottle]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # SECURITY.md 37: every answer, errors too
        return response

    @property
    def access(self) -> EffectiveAccess:
        return _access(self.request)

    def filterset(
        self, *, records: bool, downloads: bool = False, data: Any = None
    ) -> IncidentFilterSet:
        """The request's filter, validated (400 with field errors otherwise)."""
        fs = IncidentFilterSet(
            self.request.query_params if data is None else data,
            user=_user(self.request),
            access=self.access,
            records=records,
            downloads=downloads,
        )
        if not fs.is_valid():
            raise ValidationError(fs.errors)
        return fs

    def audit(
        self,
        *,
        endpoint: str,
        filters: dict[str, Any],
        rows: int | None,
        action: Action = Action.API_CALLED,
        extra: dict[str, Any] | None = None,
    ) -> None:
        data_access_record(
            action=action,
            actor=_user(self.request),
            endpoint=endpoint,
            filters=filters,
            row_count=rows,
            request=self.request._request,
            extra=extra,
        )


# --- OpenAPI parameters, built from the one filter set ---------------------------------

_REPEATABLE = {
    "hospital",
    "borough",
    "ward",
    "lsoa",
    "method",
    "location_type",
    "weekday",
    "precision",
    "geo_class",
}
_TYPES = {
    "assault_date_from": OpenApiTypes.DATE,
    "assault_date_to": OpenApiTypes.DATE,
    "arrival_date_from": OpenApiTypes.DATE,
    "arrival_date_to": OpenApiTypes.DATE,
    "hour_from": OpenApiTypes.INT,
    "hour_to": OpenApiTypes.INT,
    "weekday": OpenApiTypes.INT,
    "release": OpenApiTypes.INT,
}
FILTER_PARAMETERS = [
    OpenApiParameter(
        name,
        _TYPES.get(name, OpenApiTypes.STR),
        OpenApiParameter.QUERY,
        description=str(f.label),
        many=name in _REPEATABLE,
        explode=True if name in _REPEATABLE else None,
    )
    for name, f in IncidentFilterSet.base_filters.items()
]
PAGE_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from `next`."),
    OpenApiParameter(
        "page_size", OpenApiTypes.INT, description=f"Rows per page (1-{MAX_PAGE_SIZE}; 100)."
    ),
]
GROUP_BY_PARAMETER = OpenApiParameter(
    "group_by",
    OpenApiTypes.STR,
    required=True,
    description="Comma-separated dimensions (at most 3) from: " + ", ".join(DIMENSIONS) + ".",
    examples=[OpenApiExample("Borough by month", value="borough,month")],
)
PURPOSE_PARAMETER = OpenApiParameter(
    "purpose",
    OpenApiTypes.STR,
    description="Why the data is downloaded (required for record-level exports; audited).",
)
PACKAGE_PARAMETER = OpenApiParameter(
    "package",
    OpenApiTypes.STR,
    enum=["zip"],
    description="`zip`: the data file with data-dictionary.csv and manifest.json.",
)
ERRORS: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(description="Invalid filter parameters (field errors)."),
    401: OpenApiResponse(description="Missing or invalid token."),
    403: OpenApiResponse(description="No access (or aggregate-only access) to this endpoint."),
    429: OpenApiResponse(description="Too many requests."),
}


# --- incidents -----------------------------------------------------------------------


class IncidentListView(DataAPIView):
    """Incident records in scope, filtered, keyset-paginated, masked per grant."""

    @extend_schema(
        operation_id="incidents_list",
        summary="Incidents (record level)",
        description="Records in your scope, newest first, keyset-paginated. Locations at "
        "your grant's precision; `location_description` only where free text is allowed. "
        "Aggregate-only users get 403 and should use `/api/v1/aggregates/`.",
        parameters=FILTER_PARAMETERS + PAGE_PARAMETERS,
        responses={200: IncidentPageSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        if not self.access.any_record_level:
            raise PermissionDenied(AGGREGATES_HINT)
        fs = self.filterset(records=True)
        rows, next_url = keyset_page(fs.qs.select_related(None), request, fields=RAW_FIELDS)
        results = list(Masker.for_access(self.access).mask_many(rows))
        self.audit(endpoint="incidents", filters=fs.applied(), rows=len(results))
        data = IncidentOutSerializer(results, many=True).data  # type: ignore[arg-type]
        return Response({"results": data, "next": next_url})


class IncidentDetailView(DataAPIView):
    """One incident record in scope (404 outside scope)."""

    @extend_schema(
        operation_id="incidents_retrieve",
        summary="One incident (record level)",
        parameters=[OpenApiParameter("release", OpenApiTypes.INT, description="Release number.")],
        responses={
            200: IncidentOutSerializer,
            404: OpenApiResponse(description="Not found."),
            **ERRORS,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        if not self.access.any_record_level:
            raise PermissionDenied(AGGREGATES_HINT)
        fs = self.filterset(records=True, data={"release": request.query_params.get("release", "")})
        row = get_in_scope_or_404(fs.qs.values(*RAW_FIELDS), pk=pk)
        masked = Masker.for_access(self.access).mask(row)
        # The hospital lets its liaisons see this look-up in their transparency page.
        self.audit(
            endpoint="incidents/detail",
            filters={"id": [str(pk)], "hospital": [row["site__site_code"]]},
            rows=1,
        )
        return Response(IncidentOutSerializer(masked).data)


# --- aggregates ----------------------------------------------------------------------


def _group_by(request: Request) -> list[str]:
    try:
        return parse_group_by(request.query_params.getlist("group_by"))
    except GroupByError as exc:
        raise ValidationError({"group_by": [str(exc)]}) from None


class AggregateView(DataAPIView):
    """Grouped counts over the caller's scope, with disclosure control where required."""

    @extend_schema(
        operation_id="aggregates_list",
        summary="Counts grouped by up to three dimensions",
        description="Counts over your whole scope (record-level and aggregate-level "
        "boroughs). Unless your access is record level everywhere, disclosure control is "
        "applied by the cell-key method: every group of the requested dimensions within "
        'your scope is listed, counts of 0-7 are "*", others are perturbed by up to 4 and '
        "rounded to 5; `disclosure_control.note` says what was applied. A grouping too "
        "sparse to publish (more than 10,000 groups, or fewer than 4 incidents per group) "
        "is refused with 400 and advice; a question past the time budget gets 503.",
        parameters=[GROUP_BY_PARAMETER, *FILTER_PARAMETERS],
        responses={200: AggregateResponseSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Aggregate-only user",
                response_only=True,
                value={
                    "group_by": ["borough", "month"],
                    "results": [
                        {"borough": "E09000028", "month": "2025-01", "count": 45},
                        {"borough": "E09000028", "month": "2025-02", "count": "*"},
                    ],
                    "total": 50,
                    "disclosure_control": {
                        "applied": True,
                        "method": "cell-key",
                        "suppressed_up_to": 7,
                        "rounded_to": 5,
                        "perturbation_max": 4,
                        "secondary_suppressions": 0,
                        "note": "Counts of 0 to 7 are all shown as * ...",
                    },
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        group_by = _group_by(request)
        fs = self.filterset(records=False)
        result = _counts(fs, group_by)
        self.audit(
            endpoint="aggregates",
            filters=fs.applied(),
            rows=len(result.results),
            extra={
                "group_by": group_by,
                "disclosure_control": result.disclosure_control["applied"],
            },
        )
        if result.disclosure_control["applied"]:  # query auditing (docs/audit.md)
            check_aggregate_pattern(_user(request), request=request._request)
        return Response(_aggregate_body(result))


class AggregateTooSlow(APIException):
    status_code = 503
    default_detail = "This question took too long to answer."
    default_code = "aggregate_time_budget"


def _counts(fs: IncidentFilterSet, group_by: list[str]) -> AggregateResult:
    """Grouped counts of a validated filter set for its user: protected (the full grid,
    the cell-key method) unless record level everywhere; a grouping too sparse to publish
    is a 400 with advice, a query past its time budget a 503."""
    assert fs.access is not None
    try:
        return aggregate_counts(
            fs.qs, group_by, protect=needs_protection(fs.access), scope=GridScope.of(fs)
        )
    except GroupByError as refused:
        raise ValidationError({"group_by": [str(refused)]}) from None
    except AggregateTimeout as slow:
        raise AggregateTooSlow(str(slow)) from None


def _aggregate_body(result: AggregateResult) -> dict[str, Any]:
    return {
        "group_by": result.group_by,
        "results": result.results,
        "total": result.total,
        "disclosure_control": result.disclosure_control,
    }


# --- reference lists -----------------------------------------------------------------


class HospitalListView(DataAPIView):
    """Hospital sites (ODS codes) for the ``hospital`` filter."""

    @extend_schema(
        operation_id="hospitals_list",
        summary="Hospital sites",
        responses={200: HospitalOutSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        sites = list(hospitals_visible_to(_user(request), access=self.access).order_by("site_code"))
        self.audit(endpoint="hospitals", filters={}, rows=len(sites))
        return Response({"results": HospitalOutSerializer(sites, many=True).data})


def _releases(request: Request, access: EffectiveAccess) -> QuerySet[Release]:
    return (
        releases_visible_to(_user(request), access=access)
        .select_related("release_note")
        .annotate(submission_count=Count("submissions"))
    )


class ReleaseListView(DataAPIView):
    """Monthly releases, newest first; pin queries with ``release``."""

    @extend_schema(
        operation_id="releases_list",
        summary="Releases (pin a query with ?release=<number>)",
        responses={200: ReleaseOutSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        releases = list(_releases(request, self.access).order_by("-number"))
        self.audit(endpoint="releases", filters={}, rows=len(releases))
        return Response({"results": ReleaseOutSerializer(releases, many=True).data})


class ReleaseDetailView(DataAPIView):
    """One release by number."""

    @extend_schema(
        operation_id="releases_retrieve",
        summary="One release",
        responses={
            200: ReleaseOutSerializer,
            404: OpenApiResponse(description="Not found."),
            **ERRORS,
        },
    )
    def get(self, request: Request, number: int) -> Response:
        release = get_in_scope_or_404(_releases(request, self.access), number=number)
        self.audit(endpoint="releases/detail", filters={"release": [str(number)]}, rows=1)
        return Response(ReleaseOutSerializer(release).data)


# --- saved queries -------------------------------------------------------------------


class SavedQueryListView(DataAPIView):
    """The caller's saved queries and those shared with their organisation."""

    @extend_schema(
        operation_id="saved_queries_list",
        summary="Your saved queries and those shared with your organisation",
        responses={200: SavedQueryOutSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        saved = list(saved_queries_visible_to(_user(request)))
        self.audit(endpoint="saved-queries", filters={}, rows=len(saved))
        data = SavedQueryOutSerializer(saved, many=True, context={"request": request}).data
        return Response({"results": data})

    @extend_schema(
        operation_id="saved_queries_create",
        summary="Save a query (filter + release)",
        request=SavedQueryInSerializer,
        responses={201: SavedQueryOutSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        incoming = SavedQueryInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        values = incoming.validated_data
        release = None
        if values.get("release") is not None:
            release = Release.objects.filter(number=values["release"]).first()
            if release is None:
                raise ValidationError({"release": ["Unknown release."]})
        else:
            release = Release.objects.order_by("-number").first()
        # Validate the filter as the owner would run it (codes, ranges, free-text rights).
        fs = self.filterset(records=False, data=values["params"])
        try:
            saved = saved_query_create(
                actor=_user(request),
                name=values["name"],
                params=fs.applied(),
                release=release,
                shared_with_organisation=values["shared_with_organisation"],
                request=request._request,
            )
        except SavedQueryError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        data = SavedQueryOutSerializer(saved, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class SavedQueryDetailView(DataAPIView):
    """Open or delete a saved query (others' private queries: 404)."""

    @extend_schema(
        operation_id="saved_queries_retrieve",
        summary="One saved query; open it with its incidents_url / aggregates_url",
        responses={
            200: SavedQueryOutSerializer,
            404: OpenApiResponse(description="Not found."),
            **ERRORS,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        saved = get_in_scope_or_404(saved_queries_visible_to(_user(request)), pk=pk)
        self.audit(endpoint="saved-queries/detail", filters=saved.params, rows=1)
        return Response(SavedQueryOutSerializer(saved, context={"request": request}).data)

    @extend_schema(
        operation_id="saved_queries_destroy",
        summary="Delete one of your own saved queries",
        responses={204: None, 404: OpenApiResponse(description="Not found."), **ERRORS},
    )
    def delete(self, request: Request, pk: int) -> Response:
        own = saved_queries_visible_to(_user(request)).filter(owner=_user(request))
        saved = get_in_scope_or_404(own, pk=pk)
        saved_query_delete(actor=_user(request), saved_query=saved, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- exports -------------------------------------------------------------------------


class ExportThrottle(ScopedRateThrottle):
    """The ``export`` rate (SECURITY.md 32: the 11th export in a minute is refused)."""

    scope_attr = "throttle_scope"


class ExportView(DataAPIView):
    throttle_classes = [UserRateThrottle, ExportThrottle]
    throttle_scope = "export"

    def purpose(self, *, required: bool) -> str | None:
        purpose = (self.request.query_params.get("purpose") or "").strip()
        if len(purpose) > PURPOSE_MAX:
            raise ValidationError({"purpose": [f"At most {PURPOSE_MAX} characters."]})
        if required and not purpose:
            raise ValidationError({"purpose": ["State the purpose of a record-level download."]})
        return purpose or None

    def stream_response(
        self,
        *,
        stream: ExportStream,
        base_name: str,
        fields: list[FieldSpec],
        filters: dict[str, Any],
        release: Release | None,
        row_count: int,
        purpose: str | None,
        disclosure_note: str | None,
        endpoint: str,
    ) -> StreamingHttpResponse:
        """Audit the start, stream (optionally zipped), audit the end with the SHA-256."""
        user = _user(self.request)
        organisation = data_organisation(user)
        generated_at = timezone.now()
        export_format = stream.extension
        zipped = self.request.query_params.get("package") == "zip"
        common = {
            # Every organisation the user acts for, not only the one the grant came from.
            "organisations": sorted(
                user.memberships.filter(is_active=True, organisation__is_active=True)
                .values_list("organisation__name", flat=True)
                .distinct()
            ),
            "format": export_format,
            "package": "zip" if zipped else None,
            "purpose": purpose,
            "release": release.number if release is not None else None,
            "disclosure_control": disclosure_note is not None,
        }
        # Before the first byte: a client that disconnects mid-way is still on the record,
        # with the row count computed by COUNT. The stream's own row count and SHA-256 are
        # recorded by a second event once the last byte has been handed over (audit rows
        # are append-only, so the first cannot be completed later).
        data_access_record(
            action=Action.DATA_DOWNLOADED,
            actor=user,
            endpoint=endpoint,
            filters=filters,
            row_count=row_count,
            request=self.request._request,
            organisation=organisation,
            extra={**common, "stage": "started"},
        )
        request = self.request._request

        def finished(done: Any) -> None:
            data_access_record(
                action=Action.DATA_DOWNLOADED,
                actor=user,
                endpoint=endpoint,
                filters=filters,
                row_count=stream.row_count,
                request=request,
                organisation=organisation,
                extra={**common, "stage": "completed", "sha256": done.sha256, "bytes": done.size},
            )

        recipient = Recipient(
            email=user.email, organisations=[organisation.name] if organisation else []
        )

        def manifest(data: ExportStream) -> bytes:
            return manifest_json(
                build_manifest(
                    query=filters,
                    release=release.label if release is not None else None,
                    row_count=data.row_count,
                    export_format=export_format,
                    recipient=recipient,
                    generated_at=generated_at,
                    data_file_name=f"{base_name}.{export_format}",
                    data_sha256=data.sha256,
                    data_bytes=data.size,
                    fields=[f.name for f in fields],
                    disclosure_note=disclosure_note,
                    purpose=purpose,
                )
            )

        body: Any
        if zipped:
            body = ZipPackage(
                stream,
                base_name=base_name,
                dictionary=data_dictionary_csv(fields),
                manifest=manifest,
                on_complete=finished,
            )
        else:
            stream.on_complete = finished
            body = stream
        response = StreamingHttpResponse(body, content_type=body.content_type)
        response["Content-Disposition"] = f'attachment; filename="{base_name}.{body.extension}"'
        response["X-Export-Row-Count"] = str(row_count)
        response["X-Export-Query"] = json.dumps(filters, sort_keys=True)
        response["X-Export-Release"] = release.label if release is not None else ""
        response["X-Export-Generated-At"] = generated_at.astimezone(dt.UTC).isoformat()
        response["X-Export-Fields"] = ",".join(f.name for f in fields)
        if disclosure_note:
            response["X-Disclosure-Control"] = disclosure_note.encode("ascii", "replace").decode()
        return response


class IncidentExportView(ExportView):
    """Streamed record-level download (download right and purpose required)."""

    @extend_schema(
        operation_id="exports_incidents",
        summary="Download incidents (CSV, XLSX or GeoJSON), streamed",
        description="Record level with download rights only (in boroughs where you have "
        "both); `purpose` is required. Aggregate-only users: `/api/v1/exports/aggregates.csv`.",
        parameters=[PURPOSE_PARAMETER, PACKAGE_PARAMETER, *FILTER_PARAMETERS],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, **ERRORS},
    )
    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        access = self.access
        if not access.any_record_level:
            raise PermissionDenied(AGGREGATES_HINT)
        if scope_q(access, "download") is None:
            raise PermissionDenied("Your access does not include downloads.")
        # The scoping chokepoint narrows to the rows the user may download.
        fs = self.filterset(records=True, downloads=True)
        purpose = self.purpose(required=True)
        queryset = fs.qs
        masker = Masker.for_access(access)
        fields = [
            f for f in INCIDENT_FIELDS if f.name != "location_description" or masker.shows_free_text
        ]
        row_count = queryset.count()
        stream: ExportStream
        if fmt == "csv":
            # PostgreSQL masks and writes the CSV (same bytes, ~10x the Python path).
            stream = incident_csv_export(queryset, masker, fields)
        else:
            rows = (
                queryset.order_by("-assault_at", "-id")
                .values(*RAW_FIELDS)
                .iterator(chunk_size=2000)
            )
            stream = EXPORT_FORMATS[fmt](masker.mask_many(rows), fields)
        return self.stream_response(
            stream=stream,
            base_name="incidents",
            fields=fields,
            filters=fs.applied(),
            release=fs.release_obj,
            row_count=row_count,
            purpose=purpose,
            disclosure_note=None,
            endpoint=f"exports/incidents.{fmt}",
        )


class AggregateExportView(ExportView):
    """Streamed download of grouped counts, with disclosure control as on aggregates/."""

    @extend_schema(
        operation_id="exports_aggregates",
        summary="Download grouped counts (CSV or XLSX) with disclosure control as on aggregates/",
        parameters=[GROUP_BY_PARAMETER, PURPOSE_PARAMETER, PACKAGE_PARAMETER, *FILTER_PARAMETERS],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, **ERRORS},
    )
    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        access = self.access
        if scope_q(access, "download_counts") is None:
            raise PermissionDenied("Your access does not include downloads.")
        group_by = _group_by(request)
        fs = self.filterset(records=False, downloads=True)
        purpose = self.purpose(required=False)
        result = _counts(fs, group_by)
        fields = [
            FieldSpec(name, name.replace("_", " ").capitalize(), DIMENSIONS[name].label, "code")
            for name in group_by
        ] + [
            FieldSpec(
                "count",
                "Count",
                'Number of incidents; "*" where suppressed by disclosure control.',
                "integer",
            )
        ]
        stream = EXPORT_FORMATS[fmt](iter(result.results), fields)
        note = result.note if result.disclosure_control["applied"] else None
        response = self.stream_response(
            stream=stream,
            base_name="aggregates",
            fields=fields,
            filters={**fs.applied(), "group_by": group_by},
            release=fs.release_obj,
            row_count=len(result.results),
            purpose=purpose,
            disclosure_note=note,
            endpoint=f"exports/aggregates.{fmt}",
        )
        if note is not None:  # query auditing (docs/audit.md)
            check_aggregate_pattern(_user(request), request=request._request)
        return response
