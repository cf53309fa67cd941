"""``GET /api/v1/police-gap/``: ED-recorded assaults against police-recorded violence.

The same question as the workspace's "Police gap" page (``incidents.views.police_gap``),
answered by the same function (``incidents.police_gap.police_gap``), so the two always
agree. The ED side goes through the one door and the filter set with disclosure control
as on ``aggregates/``; see that module for the ratio and the funnel-plot flag.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit.patterns import check_aggregate_pattern
from incidents.aggregates import AggregateTimeout, GroupByError
from incidents.api.schema import ERRORS, FILTER_PARAMETERS
from incidents.api.serializers import DisclosureControlSerializer
from incidents.api.views import AggregateTooSlow, DataAPIView, _user
from incidents.police_gap import SERIES, GapResult, parse_gap_group_by, police_gap
from incidents.selectors import Purpose


class PoliceGapResponseSerializer(serializers.Serializer[dict[str, Any]]):
    group_by = serializers.ListField(child=serializers.CharField())
    series = serializers.ChoiceField(choices=list(SERIES))
    overall_ed_share = serializers.FloatField(
        allow_null=True,
        help_text="ED / (ED + police) over every located area in the answer: the funnel's centre.",
    )
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text='One object per area (and month): the area code ("not_located" for ED '
        'incidents without a place), "ed_count" (a number, or "*" under disclosure '
        'control), "ed_suppressed", "police_count" (null for not_located), "ratio" '
        '(ED / police, null when either is hidden or police is 0), "ed_share", "flag" '
        '("ED unusually high", "ED unusually low" or "") and "limit" ("95%", "99.8%" or null).',
    )
    disclosure_control = DisclosureControlSerializer()


police_gap_list = extend_schema(
    operation_id="police_gap_list",
    summary="ED-recorded assaults against police-recorded violence, with a funnel-plot flag",
    description="ED counts over your scope (disclosure control as on aggregates/) beside "
    "police-recorded counts from data.police.uk for the same areas and months, their ratio "
    "and a flag where the ED share is outside the 95% (or 99.8%) binomial funnel limits "
    "around the overall share.",
    parameters=[
        OpenApiParameter(
            "group_by",
            OpenApiTypes.STR,
            description="One of borough, ward, lsoa, optionally with month (default borough).",
            examples=[OpenApiExample("Borough by month", value="borough,month")],
        ),
        OpenApiParameter(
            "series",
            OpenApiTypes.STR,
            enum=list(SERIES),
            description="Police series: violence (default) or robbery.",
        ),
        *FILTER_PARAMETERS,
    ],
    responses={200: PoliceGapResponseSerializer, **ERRORS},
)


def gap_for(fs: Any, raw_group_by: list[str], raw_series: str) -> GapResult:
    """The comparison, with bad parameters as field errors (shared with the page)."""
    series = raw_series or "violence"
    if series not in SERIES:
        raise ValidationError({"series": [f"Choose from: {', '.join(SERIES)}."]})
    try:
        return police_gap(fs, parse_gap_group_by(raw_group_by), series)
    except GroupByError as refused:
        raise ValidationError({"group_by": [str(refused)]}) from None
    except AggregateTimeout as slow:
        raise AggregateTooSlow(str(slow)) from None


class PoliceGapView(DataAPIView):
    """The police gap over the caller's scope."""

    @police_gap_list
    def get(self, request: Request) -> Response:
        fs = self.filterset(purpose=Purpose.COUNTS)
        result = gap_for(
            fs, request.query_params.getlist("group_by"), request.query_params.get("series", "")
        )
        self.audit(
            endpoint="police-gap",
            filters=fs.applied(),
            rows=len(result.results),
            extra={
                "group_by": result.group_by,
                "series": result.series,
                "disclosure_control": result.disclosure_control["applied"],
            },
        )
        if result.disclosure_control["applied"]:  # query auditing (docs/audit.md)
            check_aggregate_pattern(_user(request), request=request._request)
        return Response(result.body())
