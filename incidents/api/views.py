"""Views of the workspace API (/api/v1/). See docs/api.md for the contract.

Every view denies by default: an MFA-verified session or a live personal token
(``IsVerifiedUser``), then access to incident data (``HasDataAccess``), then the view's
own checks. Every data read starts from the one door (``visible_to``) through
``IncidentFilterSet``; objects outside scope answer 404. Every call is audited and every
response carries ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Count, QuerySet
from django.http import StreamingHttpResponse
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from accounts.access import EffectiveAccess, request_access
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
    GroupByError,
    filter_set_counts,
    parse_group_by,
)
from incidents.api import schema  # the OpenAPI declarations; registers the token scheme
from incidents.api.pagination import keyset_page
from incidents.api.serializers import (
    HospitalOutSerializer,
    IncidentOutSerializer,
    ReleaseOutSerializer,
    SavedQueryInSerializer,
    SavedQueryOutSerializer,
)
from incidents.csv_lines import incident_csv_export, incident_export
from incidents.exports import EXPORT_FORMATS, INCIDENT_FIELDS, ExportStream, FieldSpec
from incidents.exports.responses import stream_response
from incidents.filters import IncidentFilterSet
from incidents.masking import RAW_FIELDS, Masker
from incidents.models import Release
from incidents.selectors import (
    Purpose,
    hospitals_visible_to,
    releases_visible_to,
    saved_queries_visible_to,
    scope_q,
)
from incidents.services import (
    SavedQueryError,
    data_access_record,
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
    """The caller's effective access, computed once per request: the same cache the
    pages' navigation reads when the browsable API renders its HTML page."""
    return request_access(request)


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
        response["Cache-Control"] = "no-store"  # every answer, errors too: nothing is cached
        return response

    @property
    def access(self) -> EffectiveAccess:
        return _access(self.request)

    def filterset(self, *, purpose: Purpose, data: Any = None) -> IncidentFilterSet:
        """The request's filter, validated (400 with field errors otherwise)."""
        fs = IncidentFilterSet(
            self.request.query_params if data is None else data,
            user=_user(self.request),
            access=self.access,
            purpose=purpose,
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


# --- incidents -----------------------------------------------------------------------


class IncidentListView(DataAPIView):
    """Incident records in scope, filtered, keyset-paginated, masked per grant."""

    @schema.incidents_list
    def get(self, request: Request) -> Response:
        if not self.access.any_record_level:
            raise PermissionDenied(AGGREGATES_HINT)
        fs = self.filterset(purpose=Purpose.RECORDS)
        rows, next_url = keyset_page(fs.qs.select_related(None), request, fields=RAW_FIELDS)
        results = list(Masker.for_access(self.access).mask_many(rows))
        self.audit(endpoint="incidents", filters=fs.applied(), rows=len(results))
        data = IncidentOutSerializer(results, many=True).data  # type: ignore[arg-type]
        return Response({"results": data, "next": next_url})


class IncidentDetailView(DataAPIView):
    """One incident record in scope (404 outside scope)."""

    @schema.incidents_retrieve
    def get(self, request: Request, pk: int) -> Response:
        if not self.access.any_record_level:
            raise PermissionDenied(AGGREGATES_HINT)
        fs = self.filterset(
            purpose=Purpose.RECORDS, data={"release": request.query_params.get("release", "")}
        )
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

    @schema.aggregates_list
    def get(self, request: Request) -> Response:
        group_by = _group_by(request)
        fs = self.filterset(purpose=Purpose.COUNTS)
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
    try:
        return filter_set_counts(fs, group_by)
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

    @schema.hospitals_list
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

    @schema.releases_list
    def get(self, request: Request) -> Response:
        releases = list(_releases(request, self.access).order_by("-number"))
        self.audit(endpoint="releases", filters={}, rows=len(releases))
        return Response({"results": ReleaseOutSerializer(releases, many=True).data})


class ReleaseDetailView(DataAPIView):
    """One release by number."""

    @schema.releases_retrieve
    def get(self, request: Request, number: int) -> Response:
        release = get_in_scope_or_404(_releases(request, self.access), number=number)
        self.audit(endpoint="releases/detail", filters={"release": [str(number)]}, rows=1)
        return Response(ReleaseOutSerializer(release).data)


# --- saved queries -------------------------------------------------------------------


class SavedQueryListView(DataAPIView):
    """The caller's saved queries and those shared with their organisation."""

    @schema.saved_queries_list
    def get(self, request: Request) -> Response:
        saved = list(saved_queries_visible_to(_user(request)))
        self.audit(endpoint="saved-queries", filters={}, rows=len(saved))
        data = SavedQueryOutSerializer(saved, many=True, context={"request": request}).data
        return Response({"results": data})

    @schema.saved_queries_create
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
        fs = self.filterset(purpose=Purpose.COUNTS, data=values["params"])
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

    @schema.saved_queries_retrieve
    def get(self, request: Request, pk: int) -> Response:
        saved = get_in_scope_or_404(saved_queries_visible_to(_user(request)), pk=pk)
        self.audit(endpoint="saved-queries/detail", filters=saved.params, rows=1)
        return Response(SavedQueryOutSerializer(saved, context={"request": request}).data)

    @schema.saved_queries_destroy
    def delete(self, request: Request, pk: int) -> Response:
        own = saved_queries_visible_to(_user(request)).filter(owner=_user(request))
        saved = get_in_scope_or_404(own, pk=pk)
        saved_query_delete(actor=_user(request), saved_query=saved, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- exports -------------------------------------------------------------------------


class ExportThrottle(ScopedRateThrottle):
    """The ``export`` rate (the 11th export in a minute is refused)."""

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

    def export_response(
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
        """The streamed, audited download (``incidents.exports.responses``); ``?package=zip``
        wraps it with its data dictionary and manifest."""
        return stream_response(
            self.request._request,
            user=_user(self.request),
            zipped=self.request.query_params.get("package") == "zip",
            stream=stream,
            base_name=base_name,
            fields=fields,
            filters=filters,
            release=release,
            row_count=row_count,
            purpose=purpose,
            disclosure_note=disclosure_note,
            endpoint=endpoint,
        )


class IncidentExportView(ExportView):
    """Streamed record-level download (download right and purpose required)."""

    @schema.exports_incidents
    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        access = self.access
        if not access.any_record_level:
            raise PermissionDenied(AGGREGATES_HINT)
        if scope_q(access, "download") is None:
            raise PermissionDenied("Your access does not include downloads.")
        # The scoping chokepoint narrows to the rows the user may download.
        fs = self.filterset(purpose=Purpose.DOWNLOAD_RECORDS)
        purpose = self.purpose(required=True)
        queryset = fs.qs
        masker = Masker.for_access(access)
        fields = [
            f for f in INCIDENT_FIELDS if f.name != "location_description" or masker.shows_free_text
        ]
        row_count = queryset.count()
        # Masked and formatted by PostgreSQL (incidents.masking_sql): the CSV and GeoJSON
        # bytes, the XLSX values of the Python path; XLSX packaged by xlsxwriter.
        stream = (
            incident_csv_export(queryset, masker, fields)
            if fmt == "csv"
            else incident_export(queryset, masker, fields, fmt)
        )
        return self.export_response(
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

    @schema.exports_aggregates
    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        access = self.access
        if scope_q(access, "download_counts") is None:
            raise PermissionDenied("Your access does not include downloads.")
        group_by = _group_by(request)
        fs = self.filterset(purpose=Purpose.DOWNLOAD_COUNTS)
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
        note = result.note if result.disclosure_control["applied"] else None
        if note is not None:
            # The same reason per cell as the API's answer and the pages' tables.
            fields.append(
                FieldSpec(
                    "suppressed",
                    "Suppressed",
                    'Why the count is "*": small_count (0 to '
                    f"{result.disclosure_control['suppressed_up_to']} incidents); empty "
                    "where the count is shown.",
                    "code",
                )
            )
        stream = EXPORT_FORMATS[fmt](iter(result.results), fields)
        response = self.export_response(
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
