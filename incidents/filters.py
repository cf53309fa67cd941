"""The one filter definition for incident data: pages, the API and exports all use it.

``IncidentFilterSet`` always starts from the one door (``visible_to``)
(:func:`incidents.selectors.visible_to`) for the user it is given, never from the
queryset a caller passes in, so no filter can widen what someone sees. A filter value
outside the user's scope (a borough they have no grant for, another hospital) narrows the
result to nothing; it never returns data and never says whether such data exists.

Repeatable parameters (``borough``, ``ward``, ``lsoa``, ``hospital``, ``method``,
``location_type``, ``weekday``, ``precision``, ``geo_class``) take the parameter once per
value: ``?borough=E09000028&borough=E09000022``.

Free-text search (``q``) is applied only where the grant allows the free text: a user
with free text in no visible borough gets a validation error (400 in the API) rather than
a silently ignored filter, whose unfiltered result would look like matches. A user with
free text in some boroughs only gets matches from those boroughs, since searching text
they may not read would reveal it one query at a time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from accounts.access import EffectiveAccess, effective_access
from accounts.geography import LONDON_BOROUGHS
from accounts.models import User
from incidents.models import Incident, Release
from incidents.rollup import CountQuestion, mark
from incidents.selectors import Purpose, no_incidents, scope_q, visible_to

GSS_WARD = re.compile(r"^E05\d{6}$")
GSS_LSOA = re.compile(r"^E01\d{6}$")
SITE_CODE = re.compile(r"^[A-Z0-9]{3,12}$")
SLUG = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_VALUES = 200  # per repeatable parameter: bounds the SQL IN list
Q_MAX_LENGTH = 100
# Error messages in the GOV.UK style (they are shown beside the field on the pages).
DATE_INVALID = "Enter a real date, for example 2026-06-01"
RANGE_ORDER = "The end date must be the same as or after the start date"


class CodeListField(forms.Field):
    """A repeatable parameter: a list of codes, each checked against a pattern."""

    widget = forms.SelectMultiple

    def __init__(self, *, pattern: re.Pattern[str], upper: bool = False, **kwargs: Any) -> None:
        self.pattern = pattern
        self.upper = upper
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        if value in (None, "", [], ()):
            return []
        values = [value] if isinstance(value, str) else list(value)
        cleaned = []
        for item in values:
            text = str(item).strip()
            if self.upper:
                text = text.upper()
            if not text:
                continue
            if not self.pattern.match(text):
                # The value is echoed neither here nor in logs: it may be anything.
                raise ValidationError("Enter valid codes.", code="invalid_code")
            cleaned.append(text)
        if len(cleaned) > MAX_VALUES:
            raise ValidationError(f"At most {MAX_VALUES} values.", code="too_many")
        return sorted(set(cleaned))


class CodeListFilter(filters.Filter):
    """``field_name IN (values)``; no values means no filter."""

    field_class = CodeListField

    def filter(self, qs: QuerySet[Incident], value: list[str]) -> QuerySet[Incident]:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class WeekdayFilter(filters.MultipleChoiceFilter):
    def filter(self, qs: QuerySet[Incident], value: list[str]) -> QuerySet[Incident]:
        if not value:
            return qs
        return qs.filter(assault_weekday__in=sorted({int(v) for v in value}))


WEEKDAYS = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("7", "Sunday"),
]


def _start_of_local_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def as_query_dict(data: Mapping[str, Any] | None) -> QueryDict:
    """Any mapping (a QueryDict, or a plain dict of values or lists) as a QueryDict, so
    repeatable parameters read the same from a URL, a saved query or Python code."""
    if isinstance(data, QueryDict):
        return data
    query = QueryDict(mutable=True)
    for key, value in (data or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        query.setlist(key, [str(v) for v in values if v is not None])
    return query


class IncidentFilterSet(filters.FilterSet):
    """Every incident filter, declared and labelled. See the module docstring."""

    assault_date_from = filters.DateFilter(
        field_name="assault_date",
        lookup_expr="gte",
        label="Assault date from (inclusive, YYYY-MM-DD)",
        error_messages={"invalid": DATE_INVALID},
    )
    assault_date_to = filters.DateFilter(
        field_name="assault_date",
        lookup_expr="lte",
        label="Assault date to (inclusive, YYYY-MM-DD)",
        error_messages={"invalid": DATE_INVALID},
    )
    arrival_date_from = filters.DateFilter(
        method="filter_arrival_from",
        label="Arrival date from (inclusive, YYYY-MM-DD)",
        error_messages={"invalid": DATE_INVALID},
    )
    arrival_date_to = filters.DateFilter(
        method="filter_arrival_to",
        label="Arrival date to (inclusive, YYYY-MM-DD)",
        error_messages={"invalid": DATE_INVALID},
    )
    hospital = CodeListFilter(
        field_name="site__site_code",
        pattern=SITE_CODE,
        upper=True,
        label="Hospital site (ODS site code; repeatable)",
    )
    borough = filters.MultipleChoiceFilter(
        field_name="borough_code",
        choices=sorted(LONDON_BOROUGHS.items()),
        # Incident's own column: no row can repeat, and DISTINCT would make PostgreSQL sort
        # the whole result (a borough count went from ~10 ms to ~160 ms with it).
        distinct=False,
        label="Borough (GSS code, e.g. E09000028; repeatable)",
    )
    ward = CodeListFilter(
        field_name="ward_code", pattern=GSS_WARD, upper=True, label="Ward (GSS code; repeatable)"
    )
    lsoa = CodeListFilter(
        field_name="lsoa_code",
        pattern=GSS_LSOA,
        upper=True,
        label="LSOA 2021 (GSS code; repeatable)",
    )
    method = CodeListFilter(
        field_name="method_code", pattern=SLUG, label="Assault method (harmonised code; repeatable)"
    )
    location_type = CodeListFilter(
        field_name="location_type_code",
        pattern=SLUG,
        label="Location type (harmonised code; repeatable)",
    )
    weekday = WeekdayFilter(
        choices=WEEKDAYS, label="Weekday of the assault (1 = Monday ... 7 = Sunday; repeatable)"
    )
    hour_from = filters.NumberFilter(
        method="filter_hours", label="Hour of the assault from (0-23, inclusive)"
    )
    hour_to = filters.NumberFilter(
        method="filter_hours",
        label="Hour of the assault to (0-23, inclusive; below hour_from wraps past midnight)",
    )
    precision = CodeListFilter(
        field_name="geo_precision",
        pattern=SLUG,
        label="Geocode precision (e.g. postcode_unit, venue, street; repeatable)",
    )
    geo_class = CodeListFilter(
        field_name="geo_class",
        pattern=SLUG,
        label="Geocode class (place, home, vague, unknown ...; repeatable)",
    )
    place = filters.CharFilter(
        field_name="geo_matched",
        max_length=255,
        label="Matched place name, exactly as the top locations list shows it",
    )
    q = filters.CharFilter(
        method="filter_text",
        max_length=Q_MAX_LENGTH,
        label="Text in the location description (only where your access allows free text)",
    )
    release = filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="number",
        method="filter_release",
        label="Release number: pin the query to the data of a past release",
    )

    class Meta:
        model = Incident
        fields: list[str] = []

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        queryset: QuerySet[Incident] | None = None,
        *,
        user: User | None = None,
        access: EffectiveAccess | None = None,
        purpose: Purpose = Purpose.COUNTS,
        request: Any = None,
        prefix: str | None = None,
    ) -> None:
        # Always bound: an empty filter is a valid query (everything in scope).
        super().__init__(
            as_query_dict(data),
            queryset if queryset is not None else no_incidents(),
            request=request,
            prefix=prefix,
        )
        if user is None and request is not None:
            user = request.user
        self.user = user
        self.access = (
            access if access is not None else (effective_access(user) if user is not None else None)
        )
        self.purpose = Purpose(purpose)

    # --- the base queryset ------------------------------------------------------------

    def filter_queryset(self, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        """Start again from the one door (pinned to the release, if one was chosen)."""
        if self.user is None or self.access is None or self.form.errors:
            return no_incidents()
        base = visible_to(
            self.user,
            release=self.form.cleaned_data.get("release"),
            purpose=self.purpose,
            access=self.access,
        )
        filtered: QuerySet[Incident] = super().filter_queryset(base)  # django-filter is untyped
        # Counts of exactly this queryset may come from the rollups (incidents/rollup.py).
        return mark(
            filtered,
            CountQuestion(
                user=self.user,
                access=self.access,
                purpose=self.purpose,
                filters=dict(self.form.cleaned_data),
            ),
        )

    def get_form_class(self) -> type[forms.Form]:
        """The generated form, plus the cross-field checks (which need the user's access)."""
        base = super().get_form_class()
        check = self._check_form

        class IncidentFilterForm(base):  # type: ignore[misc,valid-type]
            def clean(self) -> dict[str, Any]:
                cleaned: dict[str, Any] = super().clean()
                check(self, cleaned)
                return cleaned

        return IncidentFilterForm

    def _check_form(self, form: forms.Form, data: dict[str, Any]) -> None:
        """Ranges in order, whole hours, ``q`` only where free text is allowed."""
        for low, high in (
            ("assault_date_from", "assault_date_to"),
            ("arrival_date_from", "arrival_date_to"),
        ):
            if data.get(low) and data.get(high) and data[low] > data[high]:
                form.add_error(high, RANGE_ORDER)
        for name in ("hour_from", "hour_to"):
            hour = data.get(name)
            if hour is not None and (hour != int(hour) or not 0 <= hour <= 23):
                form.add_error(name, "Enter a whole hour from 0 to 23.")
        if data.get("q") and (self.access is None or scope_q(self.access, "free_text") is None):
            form.add_error(
                "q", "Your access does not include free-text locations, so q cannot be used."
            )

    # --- filter methods -----------------------------------------------------------------

    def filter_arrival_from(
        self, qs: QuerySet[Incident], name: str, value: dt.date
    ) -> QuerySet[Incident]:
        return qs.filter(arrival_at__gte=_start_of_local_day(value))

    def filter_arrival_to(
        self, qs: QuerySet[Incident], name: str, value: dt.date
    ) -> QuerySet[Incident]:
        return qs.filter(arrival_at__lt=_start_of_local_day(value + dt.timedelta(days=1)))

    def filter_hours(self, qs: QuerySet[Incident], name: str, value: Any) -> QuerySet[Incident]:
        # Both bounds are applied together, once, when the second is seen (or the only one).
        data = self.form.cleaned_data
        low, high = data.get("hour_from"), data.get("hour_to")
        if name == "hour_from" and high is not None:
            return qs  # applied with hour_to
        if low is None:
            return qs.filter(assault_hour__lte=int(high))
        if high is None:
            return qs.filter(assault_hour__gte=int(low))
        low, high = int(low), int(high)
        if low <= high:
            return qs.filter(assault_hour__gte=low, assault_hour__lte=high)
        return qs.filter(Q(assault_hour__gte=low) | Q(assault_hour__lte=high))

    def filter_text(self, qs: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        allowed = scope_q(self.access, "free_text") if self.access is not None else None
        if allowed is None:
            return qs.none()
        return qs.filter(allowed, location_description__icontains=value.strip())

    def filter_release(
        self, qs: QuerySet[Incident], name: str, value: Release
    ) -> QuerySet[Incident]:
        return qs  # applied by the one door in filter_queryset

    # --- the filter as applied, for audit rows, manifests and saved queries --------------

    def applied(self) -> dict[str, list[str]]:
        """The non-empty parameters, normalised: name -> list of text values (sorted keys).

        Safe to store and to audit: every value has passed validation (``q`` is stored
        as typed; it is a search term, not the free text itself).
        """
        out: dict[str, list[str]] = {}
        cleaned = self.form.cleaned_data if self.is_valid() else {}
        for name, value in sorted(cleaned.items()):
            if value in (None, "", [], ()):
                continue
            if isinstance(value, Release):
                out[name] = [str(value.number)]
            elif isinstance(value, list | tuple | set):
                out[name] = [str(v) for v in sorted(value)]
            elif isinstance(value, float) and value.is_integer():
                out[name] = [str(int(value))]
            elif isinstance(value, dt.date):
                out[name] = [value.isoformat()]
            else:
                out[name] = [str(value)]
        return out

    def filter_awaiting_geocode(
        self, queryset: QuerySet[Incident], *, period_only: bool
    ) -> QuerySet[Incident]:
        """Apply to rows still awaiting geocoding only the filters that do not depend on
        place (they have no borough, ward, LSOA, point or geocode yet): the period, or
        with ``period_only=False`` also hospital, method, times and so on."""
        if not self.is_valid():
            return queryset.none()
        names = PERIOD_FILTERS if period_only else NON_GEOGRAPHIC_FILTERS
        for name in names:
            queryset = self.filters[name].filter(queryset, self.form.cleaned_data.get(name))
        return queryset

    @property
    def release_obj(self) -> Release | None:
        release = self.form.cleaned_data.get("release") if self.is_valid() else None
        return release if isinstance(release, Release) else None


FILTER_NAMES: tuple[str, ...] = tuple(IncidentFilterSet.base_filters)
# The filters that can apply to rows still awaiting geocoding (see filter_awaiting_geocode).
PERIOD_FILTERS: tuple[str, ...] = ("assault_date_from", "assault_date_to")
NON_GEOGRAPHIC_FILTERS: tuple[str, ...] = (
    *PERIOD_FILTERS,
    "arrival_date_from",
    "arrival_date_to",
    "hospital",
    "method",
    "location_type",
    "weekday",
    "hour_from",
    "hour_to",
)
