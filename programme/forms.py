"""Forms for the programme tools. They validate input; services do the writing."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.geography import LONDON_BOROUGHS
from accounts.models import Organisation
from incidents.models import SavedQuery
from incidents.selectors import saved_queries_visible_to
from programme.models import CaseStudy, ChartDimension

BOROUGH_CHOICES = sorted(LONDON_BOROUGHS.items(), key=lambda item: item[1])


class AgreementForm(forms.Form):
    reference = forms.CharField(max_length=100, help_text="As named on access grants.")
    title = forms.CharField(max_length=200)
    providers = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.filter(kind=Organisation.Kind.HOSPITAL, is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Hospital trusts supplying data.",
    )
    recipients = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.filter(is_active=True).exclude(
            kind=Organisation.Kind.HOSPITAL
        ),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Organisations receiving data.",
    )
    legal_basis = forms.CharField(max_length=300)
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    signed_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    review_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    document = forms.FileField(
        required=False, help_text="The signed agreement as a PDF (kept privately)."
    )
    activate = forms.BooleanField(required=False, label="The agreement is signed and in force")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("providers") and not data.get("recipients"):
            raise forms.ValidationError("Name at least one provider or recipient.")
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class ReleaseNoteForm(forms.Form):
    body = forms.CharField(
        label="Release notes (Markdown)",
        widget=forms.Textarea(attrs={"rows": 24}),
        max_length=50_000,
        help_text=(
            "Headings with #, lists with -, links as [text](https://...). HTML is not allowed."
        ),
    )


class CaseStudyForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    title = forms.CharField(max_length=200)
    summary = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}),
        max_length=50_000,
        help_text="Markdown. HTML is not allowed.",
    )
    boroughs = forms.MultipleChoiceField(
        choices=BOROUGH_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    themes = forms.MultipleChoiceField(
        choices=CaseStudy.Theme.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    chart_query = forms.ModelChoiceField(
        queryset=SavedQuery.objects.none(),
        required=False,
        label="Chart from a saved query (optional)",
        help_text="Counts only, with small numbers suppressed; readers see their own access.",
    )
    chart_group_by = forms.ChoiceField(
        choices=ChartDimension.choices, initial=ChartDimension.MONTH, label="Count by"
    )

    def __init__(self, *args: Any, organisation_ids: set[int], user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Organisation.objects.filter(pk__in=organisation_ids)
        chart = self.fields["chart_query"]
        assert isinstance(chart, forms.ModelChoiceField)
        chart.queryset = saved_queries_visible_to(user)


class ReturnForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="What to change"
    )


class CaseStudyImageForm(forms.Form):
    image = forms.FileField(help_text="PNG or JPEG, under 2 MB.")
    alt_text = forms.CharField(max_length=300, label="Description of the image")


class CaseStudyFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=200)
    borough = forms.ChoiceField(choices=[("", "Any borough"), *BOROUGH_CHOICES], required=False)
    theme = forms.ChoiceField(choices=[("", "Any theme"), *CaseStudy.Theme.choices], required=False)
