"""Forms of the workspace pages that more than one view renders."""

from __future__ import annotations

from django import forms

SAVED_QUERY_NAME_MAX = 120


class SaveQueryForm(forms.Form):
    """Save the current filter: shown on the explore page, posted to the saved queries."""

    name = forms.CharField(
        label="Name of the query",
        max_length=SAVED_QUERY_NAME_MAX,
        error_messages={
            "required": "Enter a name for this query",
            "max_length": f"Name must be {SAVED_QUERY_NAME_MAX} characters or fewer",
        },
    )
    shared = forms.BooleanField(label="Share with my organisation", required=False)
