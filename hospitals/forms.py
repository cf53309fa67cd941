"""The form for giving a liaison the right to upload for a hospital site."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import User
from accounts.selectors import liaison_users
from hospitals.models import HospitalSite


class UploadRightForm(forms.Form):
    """An access administrator gives a liaison the right to upload for a site."""

    site = forms.ModelChoiceField(
        label="Hospital site",
        queryset=HospitalSite.objects.order_by("name"),
    )
    user = forms.ModelChoiceField(label="Liaison", queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = liaison_users()  # type: ignore[attr-defined]
