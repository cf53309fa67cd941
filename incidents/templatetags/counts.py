"""Counts in words on the workspace pages, with the noun and verb agreeing and a hidden
count always in the same form ("0 to 7 incidents"), never "* incidents" or "1 incidents".

``{% load counts %}``, then:

* ``{{ total|incidents }}``: "1 incident", "24 incidents", "0 to 7 incidents";
* ``{{ total|count_words }}``: the number part alone ("24", "0 to 7"), with
  ``{{ total|agree:"incident matches,incidents match" }}`` for the words after it (the
  singular only for exactly 1: a hidden count stands for a range, so it takes the plural);
* ``{{ count|suppressed_reason }}``: the API's reason for a hidden cell, or "";
* ``{{ count|figure }}``: a count as a table shows it, with thousands separators
  ("13,204"), and the marker of a hidden count as it is;
* ``{% count_cell count %}``: the numeric table cell of a count, a hidden one carrying
  ``data-suppressed`` and its meaning for screen readers.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from incidents.disclosure import SUPPRESSED, incidents_phrase, suppression_reason

register = template.Library()


@register.filter
def incidents(value: object) -> str:
    if value == SUPPRESSED:
        return incidents_phrase(SUPPRESSED)
    if isinstance(value, int) and not isinstance(value, bool):
        return incidents_phrase(value)
    return ""  # nothing to say (a missing value)


@register.filter
def count_words(value: object) -> str:
    """The number part of ``incidents``: "1,250", or "0 to 7" for a hidden count."""
    phrase = incidents(value)
    return phrase.rsplit(" ", 1)[0] if phrase else ""


@register.filter
def agree(value: object, forms: str) -> str:
    singular, _, plural = forms.partition(",")
    return singular if value != SUPPRESSED and value == 1 else plural


@register.filter
def suppressed_reason(value: object) -> str:
    """The reason a cell is hidden ("small_count"), as the API gives it, or "" when shown."""
    return (suppression_reason(SUPPRESSED) if value == SUPPRESSED else None) or ""


@register.filter
def figure(value: object) -> object:
    """A count with thousands separators ("13,204"); anything else (the marker) as it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value


@register.simple_tag
def count_cell(count: object) -> SafeString:
    """The ``<td>`` of one count. A tag rather than an included template: trend tables
    hold a cell per week, and an include per cell was most of the charts page's
    rendering time."""
    reason = suppressed_reason(count)
    if reason:
        return format_html(
            '<td class="govuk-table__cell govuk-table__cell--numeric" data-suppressed="{}"'
            ' aria-label="{}, hidden">{}</td>',
            reason,
            incidents(count),
            figure(count),
        )
    return format_html(
        '<td class="govuk-table__cell govuk-table__cell--numeric">{}</td>', figure(count)
    )
