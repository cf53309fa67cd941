"""The API's OpenAPI description: how the personal API token appears, the parameter
tables built from the one filter set, and each operation's ``extend_schema``
declaration, so ``incidents.api.views`` holds only what the endpoints do.

The token scheme is registered on import (drf-spectacular collects subclasses); the
views import this module for the declarations.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from incidents.aggregates import DIMENSIONS
from incidents.api.pagination import MAX_PAGE_SIZE
from incidents.api.serializers import (
    AggregateResponseSerializer,
    HospitalOutSerializer,
    IncidentOutSerializer,
    IncidentPageSerializer,
    ReleaseOutSerializer,
    SavedQueryInSerializer,
    SavedQueryOutSerializer,
)
from incidents.filters import IncidentFilterSet


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Personal API token, sent as "Token <key>" (create one under '
            "your account's API tokens page).",
        }


# --- parameters, built from the one filter set -------------------------------------------

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
AGGREGATE_EXAMPLE = OpenApiExample(
    "Aggregate-only user",
    response_only=True,
    value={
        "group_by": ["borough", "month"],
        "results": [
            {"borough": "E09000028", "month": "2025-01", "count": 45, "suppressed": None},
            {"borough": "E09000028", "month": "2025-02", "count": "*", "suppressed": "small_count"},
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


# --- operations, one declaration per endpoint method ---------------------------------------

# incidents

incidents_list = extend_schema(
    operation_id="incidents_list",
    summary="Incidents (record level)",
    description="Records in your scope, newest first, keyset-paginated. Locations at "
    "your grant's precision; `location_description` only where free text is allowed. "
    "Aggregate-only users get 403 and should use `/api/v1/aggregates/`.",
    parameters=FILTER_PARAMETERS + PAGE_PARAMETERS,
    responses={200: IncidentPageSerializer, **ERRORS},
)
incidents_retrieve = extend_schema(
    operation_id="incidents_retrieve",
    summary="One incident (record level)",
    parameters=[OpenApiParameter("release", OpenApiTypes.INT, description="Release number.")],
    responses={
        200: IncidentOutSerializer,
        404: OpenApiResponse(description="Not found."),
        **ERRORS,
    },
)

# aggregates

aggregates_list = extend_schema(
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
    examples=[AGGREGATE_EXAMPLE],
)

# reference lists

hospitals_list = extend_schema(
    operation_id="hospitals_list",
    summary="Hospital sites",
    responses={200: HospitalOutSerializer(many=True), **ERRORS},
)
releases_list = extend_schema(
    operation_id="releases_list",
    summary="Releases (pin a query with ?release=<number>)",
    responses={200: ReleaseOutSerializer(many=True), **ERRORS},
)
releases_retrieve = extend_schema(
    operation_id="releases_retrieve",
    summary="One release",
    responses={
        200: ReleaseOutSerializer,
        404: OpenApiResponse(description="Not found."),
        **ERRORS,
    },
)

# saved queries

saved_queries_list = extend_schema(
    operation_id="saved_queries_list",
    summary="Your saved queries and those shared with your organisation",
    responses={200: SavedQueryOutSerializer(many=True), **ERRORS},
)
saved_queries_create = extend_schema(
    operation_id="saved_queries_create",
    summary="Save a query (filter + release)",
    request=SavedQueryInSerializer,
    responses={201: SavedQueryOutSerializer, **ERRORS},
)
saved_queries_retrieve = extend_schema(
    operation_id="saved_queries_retrieve",
    summary="One saved query; open it with its incidents_url / aggregates_url",
    responses={
        200: SavedQueryOutSerializer,
        404: OpenApiResponse(description="Not found."),
        **ERRORS,
    },
)
saved_queries_destroy = extend_schema(
    operation_id="saved_queries_destroy",
    summary="Delete one of your own saved queries",
    responses={204: None, 404: OpenApiResponse(description="Not found."), **ERRORS},
)

# exports

exports_incidents = extend_schema(
    operation_id="exports_incidents",
    summary="Download incidents (CSV, XLSX or GeoJSON), streamed",
    description="Record level with download rights only (in boroughs where you have "
    "both); `purpose` is required. Aggregate-only users: `/api/v1/exports/aggregates.csv`.",
    parameters=[PURPOSE_PARAMETER, PACKAGE_PARAMETER, *FILTER_PARAMETERS],
    responses={(200, "text/csv"): OpenApiTypes.BINARY, **ERRORS},
)
exports_aggregates = extend_schema(
    operation_id="exports_aggregates",
    summary="Download grouped counts (CSV or XLSX) with disclosure control as on aggregates/",
    parameters=[GROUP_BY_PARAMETER, PURPOSE_PARAMETER, PACKAGE_PARAMETER, *FILTER_PARAMETERS],
    responses={(200, "text/csv"): OpenApiTypes.BINARY, **ERRORS},
)
