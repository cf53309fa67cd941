"""Forms for the submission pages: the upload, the mapping confirmation and the reason
for publishing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.html import format_html

from hospitals.models import HospitalSite
from ingest.pipeline import Field
from ingest.pipeline.intake import ACCEPTED_FORMATS_TEXT, ALLOWED_EXTENSIONS
from ingest.publish_check import REASON_NEEDED
from ingest.selectors import reporting_month_choices

ACCEPTED_EXTENSIONS = ",".join(ALLOWED_EXTENSIONS)
ON_INVALID_REJECT = "reject"
ON_INVALID_SET_ASIDE = "set_aside"


class UploadForm(forms.Form):
    """One month's file for one of the person's own sites."""

    site = forms.ModelChoiceField(
        queryset=HospitalSite.objects.none(),
        label="Hospital site",
        empty_label=None,
        error_messages={"invalid_choice": "Select one of your hospital sites."},
    )
    period = forms.TypedChoiceField(
        label="Reporting month",
        coerce=date.fromisoformat,
        help_text="The month the assaults in the file happened in.",
        error_messages={"invalid_choice": "Select a reporting month from the list."},
    )
    file = forms.FileField(
        label="File",
        help_text=f"{ACCEPTED_FORMATS_TEXT}.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_EXTENSIONS}),
        error_messages={
            "required": "Choose a file to upload.",
            "empty": "The selected file is empty.",
        },
    )
    on_invalid = forms.ChoiceField(
        label="If some rows are invalid",
        choices=[
            (ON_INVALID_REJECT, "Reject the whole file"),
            (ON_INVALID_SET_ASIDE, "Accept the valid rows and set the others aside"),
        ],
        initial=ON_INVALID_REJECT,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what to do if some rows are invalid."},
    )
    dry_run = forms.BooleanField(
        label="Check only (don't store anything)",
        required=False,
        help_text="The file is checked and you get the report, but no rows are kept.",
    )

    def __init__(self, *args: Any, sites: QuerySet[HospitalSite], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site_field = self.fields["site"]
        assert isinstance(site_field, forms.ModelChoiceField)
        site_field.queryset = sites
        months = reporting_month_choices()
        period_field = self.fields["period"]
        assert isinstance(period_field, forms.TypedChoiceField)
        period_field.choices = [(m.isoformat(), f"{m:%B %Y}") for m in months]
        # Files normally arrive for last month; this month is there for early uploads.
        period_field.initial = months[1].isoformat()

    @classmethod
    def refused(cls, message: str, *, sites: QuerySet[HospitalSite]) -> UploadForm:
        """An empty form carrying one form-wide error (a body refused before parsing)."""
        form = cls(sites=sites)
        form.full_clean()  # unbound: sets an empty error dict, validates nothing
        form.cleaned_data = {}
        form.add_error(None, message)
        return form

    @property
    def set_aside_invalid(self) -> bool:
        return bool(self.cleaned_data.get("on_invalid") == ON_INVALID_SET_ASIDE)


FIELD_LABELS: dict[str, str] = {
    Field.ARRIVAL_AT: "Arrival date and time",
    Field.ARRIVAL_DATE: "Arrival date",
    Field.ARRIVAL_TIME: "Arrival time",
    Field.ASSAULT_AT: "Assault date and time",
    Field.ASSAULT_DATE: "Assault date",
    Field.ASSAULT_TIME: "Assault time",
    Field.METHOD: "Assault method",
    Field.METHOD_OTHER: "Description of 'other' method",
    Field.LOCATION_TYPE: "Location type",
    Field.LOCATION_DESCRIPTION: "Location description",
    Field.INJURY_INTENT: "Injury intent (ECDS)",
}
NOT_USED = ""


def confidence_hint(confidence: float | None) -> str:
    if confidence is None:
        return "No suggestion"
    if confidence >= 0.8:
        return f"Suggested with high confidence ({confidence:.0%})"
    if confidence >= 0.5:
        return f"Suggested with medium confidence ({confidence:.0%}): please check"
    return f"Suggested with low confidence ({confidence:.0%}): please check"


class MappingForm(forms.Form):
    """Source column → standard field, one select per column of the file.

    Fields are named by position (``column_0`` …) so that column headers from the file,
    which can be any text, never become form field names.
    """

    def __init__(
        self,
        *args: Any,
        columns: Sequence[str],
        proposal: Mapping[str, Any] | None,
        notes: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        """``notes``: column → a sentence added to its hint (plain text; escaped here)."""
        super().__init__(*args, **kwargs)
        self.columns = list(columns)
        notes = notes or {}
        proposal = proposal or {}
        proposed = (proposal.get("mapping") or {}).get("columns") or {}
        confidence = proposal.get("confidence") or {}
        field_for_column = {str(column): str(name) for name, column in proposed.items()}
        choices = [(NOT_USED, "Not used"), *((f.value, FIELD_LABELS[f]) for f in Field)]
        for index, column in enumerate(self.columns):
            suggested = field_for_column.get(column, NOT_USED)
            score = confidence.get(suggested) if suggested else None
            hint = confidence_hint(float(score) if score is not None else None)
            if notes.get(column):
                # Hints are rendered as HTML and notes quote the file's column names.
                hint = format_html("{}. {}", hint, notes[column])
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column,
                choices=choices,
                required=False,
                initial=suggested,
                help_text=hint,
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen: dict[str, str] = {}
        for index, column in enumerate(self.columns):
            name = cleaned.get(f"column_{index}") or NOT_USED
            if name == NOT_USED:
                continue
            if name in chosen:
                self.add_error(
                    f"column_{index}",
                    f"{FIELD_LABELS[Field(name)]} is already chosen for column "
                    f"“{chosen[name]}”: choose it for one column only.",
                )
            chosen[name] = column
        missing = []
        if not {Field.ASSAULT_AT, Field.ASSAULT_DATE} & set(chosen):
            missing.append("the assault date")
        if Field.METHOD not in chosen:
            missing.append("the assault method")
        if Field.LOCATION_TYPE not in chosen:
            missing.append("the location type")
        if missing:
            raise forms.ValidationError(f"Choose a column for {', '.join(missing)}.")
        self.source_to_field = {column: name for name, column in chosen.items()}
        return cleaned


REASON_MAX_LENGTH = 500


class PublishForm(forms.Form):
    """The confirmation on the check-your-answers page before publishing. A reason is
    asked for, and required, only when a quality check failed; it goes in the audit log."""

    reason = forms.CharField(
        label="Why are you publishing a file that failed a check?",
        help_text=(
            "Say why the data can still be used, for example that the hospital has "
            "explained the drop. This is kept in the audit log. Do not include names or "
            "other personal details."
        ),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": f"The reason must be {REASON_MAX_LENGTH} characters or fewer",
        },
    )

    def __init__(self, *args: Any, needs_reason: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reason = self.fields["reason"]
        reason.required = needs_reason
        reason.error_messages["required"] = REASON_NEEDED
