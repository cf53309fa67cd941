"""``GET /api/v1/hotspots/``: Getis-Ord Gi* hot and cold cells for the incident filters,
the same analysis as the hotspots page (incidents.hotspots has the rules)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit.patterns import check_aggregate_pattern
from incidents import hotspots as hs
from incidents.api.schema import ERRORS, FILTER_PARAMETERS
from incidents.api.views import DataAPIView
from incidents.filters import IncidentFilterSet
from incidents.selectors import Purpose
from incidents.spatial_stats import CLASSES


class _CellSerializer(serializers.Serializer[dict[str, object]]):
    cell = serializers.CharField(
        help_text='The cell: "<size>m:<easting>:<northing>" (its south-west corner in '
        "British National Grid metres) on the grid, the LSOA code with level=lsoa."
    )
    lat = serializers.FloatField(help_text="The cell's centre (an LSOA's interior point).")
    lon = serializers.FloatField()
    count = serializers.IntegerField(
        required=False,
        help_text="Incidents in the cell; absent where disclosure control hides a small count.",
    )
    z = serializers.FloatField(
        required=False, help_text="Gi* z-score; absent for users with disclosure control."
    )
    p = serializers.FloatField(
        required=False,
        help_text="Two-sided p-value before the false-discovery-rate correction; absent for "
        "users with disclosure control.",
    )
    # "class" is a keyword in Python: declared by source below.
    density = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="With kde=1 on the grid: incidents per km², smoothed (descriptive only).",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["class"] = serializers.ChoiceField(
            choices=list(CLASSES),
            help_text="hot99/hot95/hot90 or cold90/cold95/cold99: significant at that "
            "confidence after the false-discovery-rate correction; none otherwise.",
        )
        return fields


class _HotspotDisclosureSerializer(serializers.Serializer[dict[str, object]]):
    applied = serializers.BooleanField()
    note = serializers.CharField(allow_null=True)


class HotspotsResponseSerializer(serializers.Serializer[dict[str, object]]):
    level = serializers.ChoiceField(choices=list(hs.LEVELS))
    cell = serializers.IntegerField(allow_null=True, help_text="Cell size in metres (grid).")
    period = serializers.ListField(child=serializers.DateField(), min_length=2, max_length=2)
    analysed = serializers.IntegerField(
        allow_null=True, help_text="Incidents in the test; null where hidden."
    )
    left_out = serializers.IntegerField(
        allow_null=True, help_text="Incidents of the filter not in the test; null where hidden."
    )
    study_cells = serializers.IntegerField(help_text="Cells (or LSOAs) in the study area.")
    levels_allowed = serializers.ListField(
        child=serializers.CharField(),
        help_text='The levels this user may ask for: ["grid", "lsoa"] or ["lsoa"].',
    )
    results = _CellSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())
    disclosure_control = _HotspotDisclosureSerializer()


hotspots_list = extend_schema(
    operation_id="hotspots_list",
    summary="Hot and cold spots (Getis-Ord Gi*) with a false-discovery-rate correction",
    description="Gi* over a regular grid (`cell` metres, default 250) or LSOAs (`level=lsoa`) "
    "for the incident filters (the last 12 complete months when no date range is given). "
    "The grid is only for users at record level with street-level precision in every "
    "borough of the query; everyone else gets LSOAs. Users with disclosure control get "
    "every LSOA of the study area with its class and, where allowed, its cell-key count, "
    "without z or p. Record-level users get the cells with incidents or a class.",
    parameters=[
        OpenApiParameter(
            "level", OpenApiTypes.STR, enum=list(hs.LEVELS), description="grid (default) or lsoa."
        ),
        OpenApiParameter(
            "cell",
            OpenApiTypes.INT,
            enum=list(hs.CELL_SIZES),
            description="Grid cell size in metres (grid only; default 250).",
        ),
        OpenApiParameter(
            "kde",
            OpenApiTypes.STR,
            enum=["0", "1"],
            description="1: add a descriptive kernel density per cell (grid only).",
        ),
        *FILTER_PARAMETERS,
    ],
    responses={200: HotspotsResponseSerializer, **ERRORS},
    examples=[
        OpenApiExample(
            "Record-level user, 250 m grid",
            response_only=True,
            value={
                "level": "grid",
                "cell": 250,
                "period": ["2025-11-01", "2026-10-31"],
                "analysed": 842,
                "left_out": 3,
                "study_cells": 472,
                "levels_allowed": ["grid", "lsoa"],
                "results": [
                    {
                        "cell": "250m:534000:179500",
                        "lat": 51.4935,
                        "lon": -0.0871,
                        "count": 8,
                        "z": 6.92,
                        "p": 0.0001,
                        "class": "hot95",
                    }
                ],
                "notes": ["..."],
                "disclosure_control": {"applied": False, "note": None},
            },
        )
    ],
)


def hotspots_for(fs: IncidentFilterSet, params: Any) -> hs.Hotspots:
    """The analysis, with parameters the viewer may not use as field errors."""
    assert fs.access is not None
    try:
        level, cell = hs.parse_options(params, fs.access, hs.scope_boroughs(fs))
    except hs.HotspotError as refused:
        raise ValidationError({refused.field: [str(refused)]}) from None
    return hs.hotspots(fs, level=level, cell=cell, kde=params.get("kde") == "1")


def _number(value: object) -> int | None:
    return value if isinstance(value, int) else None


class HotspotsView(DataAPIView):
    """Hotspots over the caller's scope."""

    @hotspots_list
    def get(self, request: Request) -> Response:
        fs = self.filterset(purpose=Purpose.COUNTS)
        result = hotspots_for(fs, request.query_params)
        self.audit(
            endpoint="hotspots",
            filters=fs.applied(),
            rows=len(result.cells),
            extra={
                "level": result.level,
                "cell": result.cell_size,
                "disclosure_control": result.protected,
            },
        )
        if result.protected:  # query auditing (docs/audit.md)
            check_aggregate_pattern(self.request.user, request=request._request)  # type: ignore[arg-type]
        return Response(
            {
                "level": result.level,
                "cell": result.cell_size,
                "period": [result.period.first, result.period.last],
                "analysed": _number(result.analysed),
                "left_out": _number(result.left_out),
                "study_cells": result.study_cells,
                "levels_allowed": list(result.levels_allowed),
                "results": [c.as_json(with_density=result.kde) for c in result.cells],
                "notes": result.notes,
                "disclosure_control": result.disclosure_control,
            }
        )
