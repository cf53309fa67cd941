"""Forms for the access-administration screens (drawn by templates/manage/_field.html).

Forms validate input only; every write goes through ``accounts.services``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.validators import MaxValueValidator
from django.utils import timezone

from accounts.agreements import agreement_registered, grant_agreement_check
from accounts.geography import BOROUGH_CHOICES, LONDON_BOROUGHS
from accounts.models import AccessGrant, Membership, Organisation, User
from accounts.services import GRANT_FIELDS, MEMBERSHIP_FIELDS, ORGANISATION_FIELDS

if TYPE_CHECKING:
    # django-stubs makes ModelForm generic in its model (typing ``instance``), but
    # Django's class takes no parameter at run time: the parameters are for mypy only.
    _OrganisationModelForm = forms.ModelForm[Organisation]
    _MembershipModelForm = forms.ModelForm[Membership]
    _GrantModelForm = forms.ModelForm[AccessGrant]
else:
    _OrganisationModelForm = _MembershipModelForm = _GrantModelForm = forms.ModelForm


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    full_name = forms.CharField(label="Full name", max_length=150)
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.filter(is_active=True).order_by("name")
    )
    role = forms.ChoiceField(choices=Membership.Role.choices)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Why?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text="Recorded in the audit log.",
    )


class OptionalReasonForm(ReasonForm):
    reason = forms.CharField(
        label="Reason (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        required=False,
        help_text="Recorded in the audit log.",
    )


class OrganisationForm(_OrganisationModelForm):
    gss_code = forms.ChoiceField(
        label="Borough (CSPs only)",
        choices=[("", "Not a CSP"), *BOROUGH_CHOICES],
        required=False,
    )

    class Meta:
        model = Organisation
        fields = list(ORGANISATION_FIELDS)
        labels = {"kind": "Type", "is_active": "Active"}


class MembershipForm(_MembershipModelForm):
    narrowed_boroughs = forms.MultipleChoiceField(
        label="Narrow to these boroughs",
        choices=BOROUGH_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty for everything the organisation's grants allow.",
    )

    class Meta:
        model = Membership
        fields = ["user", "organisation", *MEMBERSHIP_FIELDS]
        labels = {
            "is_active": "Active",
            "narrowed_to_aggregate": "Aggregate only, even where the grant allows records",
            "narrowed_no_download": "No downloads",
            "narrowed_no_free_text": "Hide free-text locations",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.exclude(  # type: ignore[attr-defined]
            status=User.Status.DEACTIVATED
        ).order_by("email")
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            is_active=True
        ).order_by("name")
        if self.instance.pk:
            # Who and where are fixed; to move someone, remove and add a membership.
            del self.fields["user"]
            del self.fields["organisation"]

    def narrowing(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in MEMBERSHIP_FIELDS}


class GrantForm(_GrantModelForm):
    level = forms.ChoiceField(choices=AccessGrant.Level.choices, widget=forms.RadioSelect)
    boroughs = forms.MultipleChoiceField(
        label="Boroughs",
        choices=BOROUGH_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Only when the grant is not pan-London.",
    )

    class Meta:
        model = AccessGrant
        fields = list(GRANT_FIELDS)
        labels = {
            "pan_london": "Pan-London (all 33 boroughs)",
            "download_allowed": "Downloads allowed",
            "free_text_visible": "Free-text location visible (record level only)",
            "include_unlocated": "Also incidents with no mappable place treated at EDs in "
            "these boroughs",
        }
        help_texts = {
            "include_unlocated": "Assaults at home, or where the place is vague or unknown, "
            "have no borough. A pan-London grant always sees them; a borough grant sees "
            "them only with this option, for the EDs sited in its boroughs.",
        }
        widgets = {
            "valid_from": _date_widget(),
            "valid_until": _date_widget(),
            "reason": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("valid_from", timezone.localdate())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("pan_london") and not data.get("boroughs"):
            self.add_error("boroughs", "Choose pan-London or at least one borough.")
        unknown = [c for c in data.get("boroughs") or [] if c not in LONDON_BOROUGHS]
        if unknown:
            self.add_error("boroughs", "Choose London boroughs only.")
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", "The end date must be on or after the start date.")
        if not self.errors:
            for message in self._agreement_errors(data):
                self.add_error("agreement_reference", message)
        return data

    def _agreement_errors(self, data: dict[str, Any]) -> list[str]:
        """A grant must fit its data-sharing agreement (dates, status, recipient) once that
        agreement is in the register; references not registered yet are accepted while
        the register is being filled in."""
        if not agreement_registered(data.get("agreement_reference") or ""):
            return []
        candidate = AccessGrant(
            organisation_id=self.instance.organisation_id,
            **{name: data.get(name) for name in self.Meta.fields},
        )
        return grant_agreement_check(candidate)

    def grant_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Token name", max_length=100, help_text="What will use it, e.g. 'R script'."
    )
    days = forms.IntegerField(label="Valid for (days)", min_value=1, initial=90)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        days = self.fields["days"]
        assert isinstance(days, forms.IntegerField)
        days.max_value = settings.API_TOKEN_MAX_DAYS
        days.validators.append(MaxValueValidator(settings.API_TOKEN_MAX_DAYS))
        days.help_text = f"At most {settings.API_TOKEN_MAX_DAYS} days."


class SetPasswordForm(forms.Form):
    """The invitee chooses a password; Django's validators apply (length, common list)."""

    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = " ".join(password_validators_help_texts())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords do not match.")
        elif first:
            try:
                validate_password(first, self.user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data
