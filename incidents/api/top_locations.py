"""``GET /api/v1/top-locations/``: the top locations page's ranking as JSON, with its
OpenAPI declaration (incidents.workspace.top_locations has the rules)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit.patterns import check_aggregate_pattern
from incidents.api import schema
from incidents.api.views import DataAPIView
from incidents.selectors import Purpose
from incidents.workspace import top_locations as ws_top


class _MethodSerializer(serializers.Serializer[dict[str, object]]):
    method = serializers.CharField(help_text="Harmonised assault method code.")
    count = serializers.IntegerField(required=False, help_text="Absent where suppressed.")


class _PlaceSerializer(serializers.Serializer[dict[str, object]]):
    name = serializers.CharField(help_text="The geocoder's matched place name.")
    kind = serializers.ChoiceField(choices=sorted(ws_top.KINDS))
    count = serializers.IntegerField(
        required=False,
        help_text="Incidents in the period; absent under the threshold for aggregate users "
        "(such places are not listed at all).",
    )
    previous_count = serializers.IntegerField(
        required=False, help_text="Incidents in the previous equal period; absent if hidden."
    )
    change = serializers.IntegerField(
        allow_null=True, help_text="count - previous_count, null where either is hidden."
    )
    methods = _MethodSerializer(many=True)
    hour_of_week = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(allow_null=True)),
        help_text="7 weekday rows (Monday first) x 9 columns: hour bands 00-03 ... 21-24 "
        "and time not known; null where hidden.",
    )


class _DisclosureSerializer(serializers.Serializer[dict[str, object]]):
    applied = serializers.BooleanField()
    threshold = serializers.IntegerField()
    note = serializers.CharField(allow_null=True)


class TopLocationsResponseSerializer(serializers.Serializer[dict[str, object]]):
    period = serializers.ListField(child=serializers.DateField(), min_length=2, max_length=2)
    previous_period = serializers.ListField(
        child=serializers.DateField(), min_length=2, max_length=2
    )
    results = _PlaceSerializer(many=True)
    disclosure_control = _DisclosureSerializer()


top_locations_list = extend_schema(
    operation_id="top_locations_list",
    summary="Named places ranked by incident count",
    description="Places the geocoder matched (venues, licensed premises, stations and stops, "
    "streets, junctions) for the incident filters, ranked by count, with the previous equal "
    "period (the last 12 complete months and the 12 before when no date range is given), "
    "weapon and hour-of-week profiles. Aggregate-level users (and record-level users at "
    "LSOA precision) see only places with at least `TOP_LOCATIONS_MIN_COUNT` incidents "
    "(default 10), every figure by the cell-key method; `place` in the filters lists one "
    "place's incidents.",
    parameters=schema.FILTER_PARAMETERS,
    responses={
        200: TopLocationsResponseSerializer,
        **schema.ERRORS,
        404: OpenApiResponse(description="Not found."),
    },
    examples=[
        OpenApiExample(
            "Aggregate-only user",
            response_only=True,
            value={
                "period": ["2025-01-01", "2025-12-31"],
                "previous_period": ["2024-01-01", "2024-12-31"],
                "results": [
                    {
                        "name": "High Street",
                        "kind": "street",
                        "count": 25,
                        "previous_count": 15,
                        "change": 10,
                        "methods": [{"method": "body"}],
                        "hour_of_week": [[None] * 9] * 7,
                    }
                ],
                "disclosure_control": {"applied": True, "threshold": 10, "note": "..."},
            },
        )
    ],
)


class TopLocationsView(DataAPIView):
    """Top locations over the caller's scope (disclosure control as on the page)."""

    @top_locations_list
    def get(self, request: Request) -> Response:
        fs = self.filterset(purpose=Purpose.COUNTS)
        result = ws_top.top_locations(fs)
        self.audit(
            endpoint="top-locations",
            filters=fs.applied(),
            rows=len(result.places),
            extra={"disclosure_control": result.protected},
        )
        if result.protected:  # query auditing (docs/audit.md)
            check_aggregate_pattern(self.request.user, request=request._request)  # type: ignore[arg-type]
        return Response(
            {
                "period": [result.period.first, result.period.last],
                "previous_period": [result.previous.first, result.previous.last],
                "results": [place.as_json() for place in result.places],
                "disclosure_control": result.disclosure_control,
            }
        )
