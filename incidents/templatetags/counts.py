"""Counts in words on the workspace pages, with the noun and verb agreeing and a hidden
count always in the same form ("0 to 7 incidents"), never "* incidents" or "1 incidents".

``{% load counts %}``, then:

* ``{{ total|incidents }}``: "1 incident", "24 incidents", "0 to 7 incidents";
* ``{{ total|count_words }}``: the number part alone ("24", "0 to 7"), with
  ``{{ total|agree:"incident matches,incidents match" }}`` for the words after it (the
  singular only for exactly 1: a hidden count stands for a range, so it takes the plural);
* ``{{ count|suppressed_reason }}``: the API's reason for a hidden cell, or "";
* ``{{ count|figure }}``: a count as a table shows it, with thousands separators
  ("13,204"), and the marker of a hidden count as it is.
"""

from __future__ import annotations

from django import template

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
