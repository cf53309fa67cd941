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
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.agreements import agreements_for, grant_agreement_errors, registered_agreement
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


def _text_field(label: str, max_length: int, *, required: str, **kwargs: Any) -> forms.CharField:
    """A required text field whose messages say what to do: ``required`` when it is left
    empty, and the limit, named by its label, when it is too long."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        error_messages={
            "required": required,
            "max_length": f"{label} must be {max_length} characters or fewer",
        },
        **kwargs,
    )


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        error_messages={
            "required": "Enter the person's e-mail address",
            "invalid": "Enter an e-mail address in the correct format, like name@example.org",
        },
    )
    full_name = _text_field("Full name", 150, required="Enter the person's full name")
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.filter(is_active=True).order_by("name"),
        empty_label="Choose an organisation",
        error_messages={
            "required": "Choose the organisation the person will join",
            "invalid_choice": "Choose an active organisation from the list",
        },
    )
    # Radios with nothing chosen: the person inviting decides the role, never a default.
    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a role for the person",
            "invalid_choice": "Choose a role from the list",
        },
    )


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
        error_messages = {
            "name": {
                "required": "Enter the organisation's name",
                "unique": "An organisation with this name already exists: enter another name",
                "max_length": "Name must be 200 characters or fewer",
            },
            "kind": {"required": "Choose the type of organisation"},
            "ods_code": {"max_length": "ODS code must be 12 characters or fewer"},
        }

    def clean(self) -> dict[str, Any]:
        # Said at the field rather than as the model's unnamed constraint failure (a CSP's
        # missing borough is the model's own ``clean``).
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == Organisation.Kind.HOSPITAL and not (data.get("ods_code") or "").strip():
            self.add_error("ods_code", "Enter the ODS code of the hospital trust or site")
        return data


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


class _AgreementChoiceField(forms.ChoiceField):
    """A select of the agreements the grant may name. Any posted reference reaches the
    form's ``clean``, which says what is wrong with it (not registered, not in force, not
    covering the organisation) rather than a bare "not one of the choices"."""

    def valid_value(self, value: Any) -> bool:
        return True


class GrantForm(_GrantModelForm):
    level = forms.ChoiceField(
        label="Level",
        choices=AccessGrant.Level.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the level of access",
            "invalid_choice": "Choose record level or aggregate only",
        },
    )
    boroughs = forms.MultipleChoiceField(
        label="Boroughs",
        choices=BOROUGH_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Only when the grant is not pan-London.",
        error_messages={"invalid_choice": "Choose London boroughs only."},
    )
    agreement_reference = _AgreementChoiceField(
        label="Data-sharing agreement",
        error_messages={"required": "Choose the data-sharing agreement this grant is under"},
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
        error_messages = {
            "location_precision": {
                "required": "Choose how precisely places are shown",
                "invalid_choice": "Choose how precisely places are shown",
            },
            "valid_from": {
                "required": "Enter the date the access starts",
                "invalid": "The start date must be a real date",
            },
            "valid_until": {
                "required": "Enter the date the access ends",
                "invalid": "The end date must be a real date",
            },
            "reason": {"required": "Enter why the organisation needs this access"},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("valid_from", timezone.localdate())
        field = self.fields["agreement_reference"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", "Choose an agreement"),
            *(
                (a.reference, f"{a.reference}: {a.title} (ends {a.ends_on:%-d %b %Y})")
                for a in agreements_for(self.instance.organisation_id)
            ),
        ]
        field.help_text = format_html(
            "Agreements in force that name this organisation as a recipient. If the "
            'agreement is not listed, add it to the <a class="govuk-link" href="{}">'
            "agreement register</a> first.",
            reverse("programme:agreement_list"),
        )

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
        if data.get("agreement_reference"):
            self._check_agreement(data)
        return data

    def _check_agreement(self, data: dict[str, Any]) -> None:
        """The grant must name an agreement in the register, in force, covering the
        organisation, and lie within its dates (the rule ``accounts.services`` applies
        to every grant written; checked here to show the errors at their fields)."""
        agreement = registered_agreement(data["agreement_reference"])
        if agreement is not None:
            data["agreement_reference"] = agreement.reference
        candidate = AccessGrant(
            organisation_id=self.instance.organisation_id,
            **{name: data.get(name) for name in self.Meta.fields},
        )
        for name, messages in grant_agreement_errors(candidate).items():
            if name not in self.errors:
                for message in messages:
                    self.add_error(name, message)

    def grant_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ApiTokenForm(forms.Form):
    name = _text_field(
        "Token name",
        100,
        required="Enter a name for the token",
        help_text="What will use it, e.g. 'R script'.",
    )
    days = forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        initial=90,
        error_messages={
            "required": "Enter how many days the token is valid for",
            "invalid": "Valid for must be a whole number of days",
            "min_value": "Valid for must be at least 1 day",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        days = self.fields["days"]
        assert isinstance(days, forms.IntegerField)
        days.max_value = settings.API_TOKEN_MAX_DAYS
        days.validators.append(MaxValueValidator(settings.API_TOKEN_MAX_DAYS))
        days.error_messages["max_value"] = (
            f"Valid for must be {settings.API_TOKEN_MAX_DAYS} days or fewer"
        )
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
