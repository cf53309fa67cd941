from __future__ import annotations

from typing import Any

from django import forms

from incidents.geocoding.services import DECISIONS


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[(d, d) for d in DECISIONS])
    candidate = forms.IntegerField(required=False, min_value=0)
    lat = forms.FloatField(required=False, min_value=50.5, max_value=52.5, label="Latitude")
    lon = forms.FloatField(required=False, min_value=-1.5, max_value=1.5, label="Longitude")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        decision = data.get("decision")
        if decision == "accept" and data.get("candidate") is None:
            raise forms.ValidationError("Choose a candidate to accept.")
        if decision == "point" and (data.get("lat") is None or data.get("lon") is None):
            raise forms.ValidationError("Give both latitude and longitude to place a point.")
        return data
