"""Forms for the reference-data pages: code edits, synonym filters and new synonyms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django import forms

from hospitals.models import HospitalSite
from incidents.models import HarmonisedCode

KIND_CHOICES = HarmonisedCode.Kind.choices
ALL_HOSPITALS = ""

if TYPE_CHECKING:
    # django-stubs makes ModelForm generic in its model (typing ``instance``), but
    # Django's class takes no parameter at run time: the parameter is for mypy only.
    _CodeModelForm = forms.ModelForm[HarmonisedCode]
else:
    _CodeModelForm = forms.ModelForm


def _source_choices() -> list[tuple[str, str]]:
    sites = HospitalSite.objects.order_by("name").values_list("site_code", "name")
    return [(ALL_HOSPITALS, "All hospitals"), *((c, f"{n} ({c})") for c, n in sites)]


class CodeForm(_CodeModelForm):
    """Label, description and active flag; the code itself never changes."""

    class Meta:
        model = HarmonisedCode
        fields = ["label", "description", "is_active"]
        labels = {"is_active": "In use (new rows may be given this category)"}


class SynonymFilterForm(forms.Form):
    kind = forms.ChoiceField(label="Item", required=False, choices=[("", "All"), *KIND_CHOICES])
    source = forms.ChoiceField(label="Applies to", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = self.fields["source"]
        assert isinstance(source, forms.ChoiceField)
        source.choices = [("*", "Any"), *_source_choices()]


class SynonymForm(forms.Form):
    """A source value → an active code of the same kind (checked again by the service)."""

    kind = forms.ChoiceField(label="Item", choices=KIND_CHOICES)
    source = forms.ChoiceField(label="Applies to", required=False)
    value = forms.CharField(
        label="Value in the hospital's file",
        max_length=200,
        help_text="Compared without regard to case or extra spaces.",
    )
    code = forms.ChoiceField(label="Harmonised category")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source, code_field = self.fields["source"], self.fields["code"]
        assert isinstance(source, forms.ChoiceField) and isinstance(code_field, forms.ChoiceField)
        source.choices = _source_choices()
        active = HarmonisedCode.objects.filter(is_active=True)
        code_field.choices = [
            (f"{c.kind}:{c.code}", f"{c.get_kind_display()}: {c.label}") for c in active
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, _, code = str(data.get("code") or "").partition(":")
        if data.get("kind") and kind and kind != data["kind"]:
            self.add_error("code", "Choose a category of the same item.")
        data["code"] = code
        return data


LEAVE_UNMAPPED = ""


class ValueMappingForm(forms.Form):
    """A category for each source value of a coded field that no rule maps.

    Fields are named by position (``value_method_0`` …) so values from the file never
    become field names. Only active categories of the field's own kind are offered.
    """

    def __init__(
        self, *args: Any, unmapped: Mapping[str, Sequence[str]] | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.values: list[tuple[str, str, str]] = []  # (form field, coded field, value)
        choices: dict[str, list[tuple[str, str]]] = {kind: [] for kind in HarmonisedCode.Kind}
        for code in HarmonisedCode.objects.filter(is_active=True):
            choices.setdefault(code.kind, []).append((code.code, code.label))
        for kind, label in HarmonisedCode.Kind.choices:
            for index, value in enumerate((unmapped or {}).get(kind) or ()):
                name = f"value_{kind}_{index}"
                self.values.append((name, kind, str(value)))
                self.fields[name] = forms.ChoiceField(
                    label=f"{label}: “{value}”",
                    choices=[(LEAVE_UNMAPPED, "Leave unmapped"), *choices[kind]],
                    required=False,
                )

    @property
    def value_mappings(self) -> dict[str, dict[str, str]]:
        """Field → {source value → code} for the values given a category."""
        out: dict[str, dict[str, str]] = {}
        for name, kind, value in self.values:
            code = self.cleaned_data.get(name) or LEAVE_UNMAPPED
            if code != LEAVE_UNMAPPED:
                out.setdefault(kind, {})[value] = code
        return out
