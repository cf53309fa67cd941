"""People, organisations, memberships, access grants and API tokens.

A user's effective access is never read from these models directly by views: it is
computed in one place, ``accounts.access.effective_access``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.geography import LONDON_BOROUGHS


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        # Created at the command line with a password: nothing left to accept.
        extra.setdefault("status", User.Status.ACTIVE)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. E-mail is the login; there are no shared accounts."""

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        ACTIVE = "active", "Active"
        DEACTIVATED = "deactivated", "Deactivated"

    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVITED)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(null=True, blank=True)
    last_data_access = models.DateTimeField(null=True, blank=True)
    # Bumped whenever access shrinks (revocation, deactivation): sessions and tokens
    # that carry an older value are refused on their next request.
    access_epoch = models.PositiveIntegerField(default=0)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organisation(models.Model):
    """A member organisation: a hospital trust or site, the MPS, a CSP, the VRU, MOPAC or GLA."""

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", "Hospital"
        MPS = "mps", "Metropolitan Police Service"
        CSP = "csp", "Community Safety Partnership"
        VRU = "vru", "Violence Reduction Unit"
        MOPAC = "mopac", "MOPAC"
        GLA = "gla", "Greater London Authority"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    gss_code = models.CharField(
        "GSS code", max_length=9, blank=True, help_text="The borough a CSP serves."
    )
    ods_code = models.CharField(
        "ODS code", max_length=12, blank=True, help_text="Trust or site code of a hospital."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["gss_code"], condition=Q(kind="csp"), name="one_csp_per_borough"
            ),
            models.CheckConstraint(
                condition=~Q(kind="csp") | ~Q(gss_code=""), name="csp_has_gss_code"
            ),
            models.CheckConstraint(
                condition=~Q(kind="hospital") | ~Q(ods_code=""), name="hospital_has_ods_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.CSP and self.gss_code not in LONDON_BOROUGHS:
            raise ValidationError({"gss_code": "Choose the borough the CSP serves"})


class Membership(models.Model):
    """A person's role in an organisation. A person may belong to more than one."""

    class Role(models.TextChoices):
        LIAISON = "liaison", "Hospital liaison"
        ANALYST = "analyst", "Analyst"
        DATA_MANAGER = "data_manager", "Data manager"
        ACCESS_ADMIN = "access_admin", "Access administrator"
        ORG_LEAD = "org_lead", "Organisation lead"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    # A member can be narrowed below the organisation's grants, never widened.
    narrowed_boroughs = ArrayField(
        models.CharField(max_length=9),
        default=list,
        blank=True,
        help_text="If set, this member sees only these boroughs of the organisation's grants.",
    )
    narrowed_to_aggregate = models.BooleanField(default=False)
    narrowed_no_download = models.BooleanField(default=False)
    narrowed_no_free_text = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="unique_membership_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} at {self.organisation}"


class AccessGrant(models.Model):
    """What an organisation may see of the incident data, under which agreement, until when."""

    class Level(models.TextChoices):
        RECORD = "record", "Record level"
        AGGREGATE = "aggregate", "Aggregate only"

    class Precision(models.TextChoices):
        EXACT = "exact", "Exact point"
        SNAPPED = "snapped", "Snapped to a coarser point"
        LSOA = "lsoa", "LSOA only"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="grants")
    level = models.CharField(max_length=20, choices=Level.choices)
    pan_london = models.BooleanField(default=False)
    boroughs = ArrayField(models.CharField(max_length=9), default=list, blank=True)
    download_allowed = models.BooleanField(default=False)
    free_text_visible = models.BooleanField(default=False)
    # Borough grants only (a pan-London grant already sees every incident): also the
    # incidents with no mappable place (home, vague, unknown, ...) treated at EDs sited in
    # the grant's boroughs. See incidents/selectors.py for the whole scope rule.
    include_unlocated = models.BooleanField(
        "include unlocated incidents treated at EDs in these boroughs", default=False
    )
    location_precision = models.CharField(
        max_length=20, choices=Precision.choices, default=Precision.LSOA
    )
    valid_from = models.DateField()
    valid_until = models.DateField()
    # The reference of an agreement in the register, as the register spells it: checked
    # on every write (``accounts.services``, ``accounts.agreements.grant_agreement_errors``).
    agreement_reference = models.CharField("data-sharing agreement reference", max_length=100)
    reason = models.TextField()
    granted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    revoked_reason = models.TextField(blank=True)
    expiry_warning_sent_at = models.DateTimeField(null=True, blank=True)
    # Set by the nightly job once a grant has passed its end date (audited, epochs bumped).
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation__name", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")), name="grant_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(pan_london=True) | ~Q(boroughs=[]), name="grant_has_geography"
            ),
        ]

    def __str__(self) -> str:
        where = "pan-London" if self.pan_london else f"{len(self.boroughs)} borough(s)"
        return f"{self.organisation}: {self.get_level_display()}, {where}"

    def is_active_on(self, day: Any) -> bool:
        return self.revoked_at is None and self.valid_from <= day <= self.valid_until

    def clean(self) -> None:
        unknown = [code for code in self.boroughs if code not in LONDON_BOROUGHS]
        if unknown:
            raise ValidationError({"boroughs": f"Not London borough codes: {', '.join(unknown)}"})


class DataSharingAgreement(models.Model):
    """A signed agreement between data providers (hospital trusts) and recipients.

    Access grants name their agreement by ``reference`` (``AccessGrant.agreement_reference``);
    an agreement that is not in force switches off every grant that names it
    (``accounts.agreements``). The register pages and their services are the programme
    tools'; the model lives here because access depends on it.
    """

    # The table and the audit log keep the names they had when the register began in the
    # programme app: no data moved, and each agreement's audit history stays under one
    # object type (see ``accounts.audit.models.audit_object_type``).
    audit_object_type = "programme.datasharingagreement"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        ENDED = "ended", "Ended"

    reference = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    providers = models.ManyToManyField(
        Organisation,
        related_name="agreements_as_provider",
        blank=True,
        help_text="Hospital trusts that supply data under this agreement.",
    )
    recipients = models.ManyToManyField(
        Organisation,
        related_name="agreements_as_recipient",
        blank=True,
        help_text="Organisations that receive data under this agreement.",
    )
    legal_basis = models.CharField(max_length=300)
    purpose = models.TextField()
    signed_on = models.DateField(null=True, blank=True)
    review_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.TextField(blank=True)
    # The signed document: a generated name under PRIVATE_STORAGE_ROOT/agreements; the
    # uploaded name is metadata only.
    document_name = models.CharField(max_length=64, blank=True)
    document_original_name = models.CharField(max_length=255, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    # Reminders already sent, by the date they were about (a moved date is reminded again).
    review_reminder_for = models.DateField(null=True, blank=True)
    end_reminder_for = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "programme_datasharingagreement"
        ordering = ["reference"]
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_on__isnull=True) | Q(ends_on__gte=models.F("signed_on")),
                name="agreement_ends_after_signing",
            ),
        ]
        indexes = [models.Index(fields=["status", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    def is_active_on(self, day: date) -> bool:
        return self.status == self.Status.ACTIVE and day <= self.ends_on


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 digest of the secret is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    access_epoch = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Invitation(models.Model):
    """A one-time, expiring link that lets an invited person set their password.

    Only a SHA-256 digest of the token is stored; the token itself exists only in the
    e-mail sent to the invitee.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Set when a newer invitation replaces this one, so only the latest link works.
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.user} ({self.created_at:%Y-%m-%d})"

    def is_usable(self, now: Any) -> bool:
        return self.accepted_at is None and self.superseded_at is None and self.expires_at > now
