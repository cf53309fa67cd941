"""The API's OpenAPI description: how the personal API token appears, the parameter
tables built from the one filter set, and each operation's ``extend_schema``
declaration, so ``incidents.api.views`` holds only what the endpoints do.

The token scheme is registered on import (drf-spectacular collects subclasses); the
views import this module for the declarations.
"""

from __future__ import annotations

from typing import Any

from django_filters import MultipleChoiceFilter
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)

from accounts.geography import LONDON_BOROUGHS
from incidents.aggregates import DIMENSIONS
from incidents.api.pagination import MAX_PAGE_SIZE
from incidents.api.serializers import (
    AggregateResponseSerializer,
    ErrorSerializer,
    FilterParamsField,
    HospitalListSerializer,
    IncidentOutSerializer,
    IncidentPageSerializer,
    ReleaseListSerializer,
    ReleaseOutSerializer,
    SavedQueryInSerializer,
    SavedQueryListSerializer,
    SavedQueryNameField,
    SavedQueryOutSerializer,
)
from incidents.codes import LocationType, Method
from incidents.exports.package import ZIP_CONTENT_TYPE
from incidents.exports.streams import CsvExport, GeoJsonExport, XlsxExport
from incidents.filters import (
    Q_MAX_LENGTH,
    SLUG,
    WEEKDAYS,
    IncidentFilterSet,
)


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
_DATE = {"type": "string", "format": "date"}
# What the filter set validates, stated in the schema so generated clients check it too:
# choice lists as enums, code formats as patterns, ranges as bounds.
_HOUR = {"type": "integer", "minimum": 0, "maximum": 23}
_NO_NUL = "^[^\\x00]*$"
_SCHEMAS: dict[str, dict[str, Any]] = {
    "assault_date_from": _DATE,
    "assault_date_to": _DATE,
    "arrival_date_from": _DATE,
    "arrival_date_to": _DATE,
    "release": {"type": "integer"},
    "borough": {"type": "string", "enum": sorted(LONDON_BOROUGHS)},
    # Harmonised codes live in an editable table (``HarmonisedCode``): a code format, not an
    # enum, so a code added by a data manager never breaks a generated client.
    "method": {"type": "string", "pattern": SLUG.pattern},
    "location_type": {"type": "string", "pattern": SLUG.pattern},
    "weekday": {"type": "integer", "enum": [int(day) for day, _label in WEEKDAYS]},
    "hour_from": _HOUR,
    "hour_to": _HOUR,
    # Codes are upper-cased before they are checked.
    "hospital": {"type": "string", "pattern": "^[A-Za-z0-9]{3,12}$"},
    "ward": {"type": "string", "pattern": "^[Ee]05[0-9]{6}$"},
    "lsoa": {"type": "string", "pattern": "^[Ee]01[0-9]{6}$"},
    "precision": {"type": "string", "pattern": SLUG.pattern},
    "geo_class": {"type": "string", "pattern": SLUG.pattern},
    # Text: Django refuses NUL characters in any text field.
    "q": {"type": "string", "maxLength": Q_MAX_LENGTH, "pattern": _NO_NUL},
    "place": {"type": "string", "maxLength": 255, "pattern": _NO_NUL},
}


_SEEDED_CODES = {
    "method": ", ".join(f"`{m}`" for m in Method),
    "location_type": ", ".join(f"`{t}`" for t in LocationType),
}


def _filter_parameter(name: str, label: str) -> OpenApiParameter:
    many = name in _REPEATABLE
    if name in _SEEDED_CODES:
        label += f". Harmonised codes: {_SEEDED_CODES[name]}."
    value = _SCHEMAS.get(name, {"type": "string"})
    return OpenApiParameter(
        name,
        {"type": "array", "items": value} if many else value,
        OpenApiParameter.QUERY,
        description=label,
        style="form" if many else None,
        explode=True if many else None,
    )


FILTER_PARAMETERS = [
    _filter_parameter(name, str(f.label)) for name, f in IncidentFilterSet.base_filters.items()
]


def allow_empty_filters(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Post-processing hook (``SPECTACULAR_SETTINGS``): a filter sent empty
    (``?hour_to=``, as a page's form sends it) means "no filter", so the schema says
    ``allowEmptyValue`` for each."""
    names = {
        name
        for name, f in IncidentFilterSet.base_filters.items()
        if not isinstance(f, MultipleChoiceFilter)  # borough=, weekday=: not a choice, 400
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") in names:
                    parameter["allowEmptyValue"] = True
    return result


# What a saved query's ``params`` may hold: the filters as lists of strings (the release is
# given separately), each value as the query parameter would be sent.
_AS_TEXT: dict[str, dict[str, Any]] = {
    "weekday": {"enum": [day for day, _label in WEEKDAYS]},
    "hour_from": {"pattern": "^([01]?[0-9]|2[0-3])$"},
    "hour_to": {"pattern": "^([01]?[0-9]|2[0-3])$"},
}


def _as_text(name: str) -> dict[str, Any]:
    """One value of a filter as text: its format, or at least not blank (values are
    trimmed)."""
    rules = {k: v for k, v in _SCHEMAS.get(name, {}).items() if k != "type"}
    rules.update(_AS_TEXT.get(name, {}))
    if not rules.keys() & {"enum", "pattern"}:
        rules["pattern"] = r"\S"
    return rules


SAVED_QUERY_PARAMS = {
    "type": "object",
    "additionalProperties": False,
    "description": "Filter parameters as on /incidents/: name -> list of values.",
    "properties": {
        name: {
            "type": "array",
            "maxItems": 200,
            "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                **_as_text(name),
            },
        }
        for name in IncidentFilterSet.base_filters
        if name != "release"
    },
}
extend_schema_field(SAVED_QUERY_PARAMS)(FilterParamsField)
extend_schema_field({"type": "string", "maxLength": 120, "pattern": r"\S"})(SavedQueryNameField)

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from `next`."),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        description=f"Rows per page (1-{MAX_PAGE_SIZE}; 100).",
    ),
]
GROUP_BY_PARAMETER = OpenApiParameter(
    "group_by",
    {
        "type": "string",
        "pattern": "^(" + "|".join(DIMENSIONS) + ")(,(" + "|".join(DIMENSIONS) + ")){0,2}$",
    },
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
FIELD_ERRORS = {
    "type": "object",
    "description": "Each invalid parameter (or `non_field_errors`) with its messages.",
    "additionalProperties": {},
    "example": {"borough": ["Select a valid choice."]},
}
ERRORS: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(
        FIELD_ERRORS, description="Invalid parameters: a list of errors per parameter."
    ),
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid token."),
    403: OpenApiResponse(
        ErrorSerializer, description="No access (or aggregate-only access) to this endpoint."
    ),
    404: OpenApiResponse(ErrorSerializer, description="Not found, or outside your scope."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests: try again shortly."),
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
    responses={200: HospitalListSerializer, **ERRORS},
)
releases_list = extend_schema(
    operation_id="releases_list",
    summary="Releases (pin a query with ?release=<number>)",
    responses={200: ReleaseListSerializer, **ERRORS},
)
releases_retrieve = extend_schema(
    operation_id="releases_retrieve",
    summary="One release",
    responses={
        200: ReleaseOutSerializer,
        **ERRORS,
    },
)

# saved queries

saved_queries_list = extend_schema(
    operation_id="saved_queries_list",
    summary="Your saved queries and those shared with your organisation",
    responses={200: SavedQueryListSerializer, **ERRORS},
)
saved_queries_create = extend_schema(
    operation_id="saved_queries_create",
    summary="Save a query (filter + release)",
    # JSON only: ``params`` (a list of values per filter) has no form encoding.
    request={"application/json": SavedQueryInSerializer},
    responses={201: SavedQueryOutSerializer, **ERRORS},
)
saved_queries_retrieve = extend_schema(
    operation_id="saved_queries_retrieve",
    summary="One saved query; open it with its incidents_url / aggregates_url",
    responses={
        200: SavedQueryOutSerializer,
        **ERRORS,
    },
)
saved_queries_destroy = extend_schema(
    operation_id="saved_queries_destroy",
    summary="Delete one of your own saved queries",
    responses={204: None, **ERRORS},
)

# exports


def _downloads(*formats: type[Any]) -> dict[tuple[int, str], Any]:
    """A 200 per media type the endpoint streams (its formats, and ``?package=zip``)."""
    types = [fmt.content_type.split(";")[0] for fmt in formats] + [ZIP_CONTENT_TYPE]
    return {(200, media_type): OpenApiTypes.BINARY for media_type in types}


exports_incidents = extend_schema(
    operation_id="exports_incidents",
    summary="Download incidents (CSV, XLSX or GeoJSON), streamed",
    description="Record level with download rights only (in boroughs where you have "
    "both); `purpose` is required. Aggregate-only users: `/api/v1/exports/aggregates.csv`.",
    parameters=[PURPOSE_PARAMETER, PACKAGE_PARAMETER, *FILTER_PARAMETERS],
    responses={**_downloads(CsvExport, XlsxExport, GeoJsonExport), **ERRORS},
)
exports_aggregates = extend_schema(
    operation_id="exports_aggregates",
    summary="Download grouped counts (CSV or XLSX) with disclosure control as on aggregates/",
    parameters=[GROUP_BY_PARAMETER, PURPOSE_PARAMETER, PACKAGE_PARAMETER, *FILTER_PARAMETERS],
    responses={**_downloads(CsvExport, XlsxExport), **ERRORS},
)
