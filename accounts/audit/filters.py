"""The one filter over audit events: the viewer, its CSV export and their audit rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from accounts.audit.models import Action, AuditEvent
from accounts.models import Organisation


class DateInput(forms.DateInput):
    """The browser's date picker (the shared field template keys on the class name)."""

    input_type = "date"


def _start_of(day: date) -> datetime:
    # Dates are the portal's local (London) days; the column is compared in UTC.
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditEventFilter(django_filters.FilterSet):
    person = django_filters.CharFilter(
        field_name="actor_email",
        lookup_expr="icontains",
        label="Person (e-mail address contains)",
        max_length=254,
    )
    organisation = django_filters.ModelChoiceFilter(
        queryset=Organisation.objects.order_by("name"),
        label="Organisation",
        empty_label="Any organisation",
    )
    action = django_filters.ChoiceFilter(
        choices=Action.choices, label="Action", empty_label="Any action"
    )
    object_type = django_filters.CharFilter(
        label="Object type (for example accounts.accessgrant)", max_length=64
    )
    object_id = django_filters.CharFilter(label="Object id", max_length=64)
    occurred_from = django_filters.DateFilter(
        label="From (date)",
        method="filter_from",
        widget=DateInput,
    )
    occurred_to = django_filters.DateFilter(
        label="To (date, inclusive)",
        method="filter_to",
        widget=DateInput,
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []  # every filter is declared above

    def filter_from(
        self, queryset: QuerySet[AuditEvent], name: str, value: date
    ) -> QuerySet[AuditEvent]:
        return queryset.filter(occurred_at__gte=_start_of(value))

    def filter_to(
        self, queryset: QuerySet[AuditEvent], name: str, value: date
    ) -> QuerySet[AuditEvent]:
        return queryset.filter(occurred_at__lt=_start_of(value + timedelta(days=1)))

    def summary(self) -> dict[str, str | int]:
        """The applied filter as plain JSON values, for audit details and the page."""
        if not self.form.is_valid():
            return {}
        out: dict[str, str | int] = {}
        for name, value in self.form.cleaned_data.items():
            if value in (None, ""):
                continue
            if isinstance(value, Organisation):
                out[name] = value.pk
            elif isinstance(value, date):
                out[name] = value.isoformat()
            else:
                out[name] = str(value)
        return out
