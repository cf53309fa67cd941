"""The append-only, hash-chained audit log.

Rows are only ever inserted, by ``accounts.audit.services.audit_record``; a PostgreSQL
trigger refuses UPDATE and DELETE. Each row's ``hash`` is SHA-256 over its canonical
serialisation plus the previous row's hash, so an altered, removed or re-ordered row
breaks the chain that ``manage.py verify_audit`` walks.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models


class Action(models.TextChoices):
    LOGIN_SUCCESS = "auth.login", "Signed in"
    LOGIN_FAILURE = "auth.login_failed", "Sign-in failed"
    LOGOUT = "auth.logout", "Signed out"
    LOCKOUT = "auth.lockout", "Locked out after repeated failures"
    MFA_FAILURE = "auth.mfa_failed", "MFA code refused"
    MFA_ADDED = "mfa.added", "MFA method added"
    MFA_REMOVED = "mfa.removed", "MFA method removed"
    RECOVERY_CODES_GENERATED = "mfa.recovery_codes", "Recovery codes generated"
    PASSWORD_CHANGED = "auth.password_changed", "Password changed"
    PASSWORD_RESET = "auth.password_reset", "Password reset"
    SESSION_ENDED = "auth.session_ended", "Session ended by policy"
    ACCESS_DENIED = "auth.denied", "Request denied"
    INVITATION_SENT = "user.invited", "Invitation sent"
    INVITATION_ACCEPTED = "user.invitation_accepted", "Invitation accepted"
    USER_CHANGED = "user.changed", "User changed"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    ORGANISATION_CREATED = "org.created", "Organisation created"
    ORGANISATION_CHANGED = "org.changed", "Organisation changed"
    MEMBERSHIP_ADDED = "membership.added", "Membership added"
    MEMBERSHIP_CHANGED = "membership.changed", "Membership changed"
    MEMBERSHIP_REMOVED = "membership.removed", "Membership removed"
    GRANT_CREATED = "grant.created", "Access granted"
    GRANT_CHANGED = "grant.changed", "Access grant changed"
    GRANT_REVOKED = "grant.revoked", "Access revoked"
    GRANT_EXPIRED = "grant.expired", "Access grant expired"
    GRANT_EXPIRY_WARNED = "grant.expiry_warned", "Grant expiry warning sent"
    UPLOAD_RIGHT_GRANTED = "hospital.upload_right_granted", "Upload right granted"
    UPLOAD_RIGHT_REVOKED = "hospital.upload_right_revoked", "Upload right revoked"
    TOKEN_CREATED = "token.created", "API token created"
    TOKEN_REVOKED = "token.revoked", "API token revoked"
    AUDIT_VIEWED = "audit.viewed", "Audit log viewed"
    AUDIT_EXPORTED = "audit.exported", "Audit log exported"
    ACCESS_REVIEW_EXPORTED = "access_review.exported", "Access review exported"
    QUERY_PATTERN_FLAGGED = "access.pattern_flagged", "Query pattern flagged for access review"
    QUERY_PATTERN_REVIEWED = "access.pattern_reviewed", "Query pattern flag reviewed"
    # Data access and submissions (used by later capabilities).
    DATA_VIEWED = "data.viewed", "Incident data viewed"
    DATA_DOWNLOADED = "data.downloaded", "Incident data downloaded"
    API_CALLED = "api.called", "API called"
    SUBMISSION_UPLOADED = "submission.uploaded", "Submission uploaded"
    SUBMISSION_QUARANTINED = "submission.quarantined", "Submission quarantined"
    SUBMISSION_PROCESSED = "submission.processed", "Submission processed"
    SUBMISSION_PUBLISHED = "submission.published", "Submission published"
    SUBMISSION_REJECTED = "submission.rejected", "Submission rejected"
    MAPPING_CHANGED = "mapping.changed", "Mapping changed"
    GEOCODE_CORRECTED = "geocode.corrected", "Geocode corrected"
    GAZETTEER_LOADED = "gazetteer.loaded", "Gazetteer loaded"
    GEOCODE_RETRIED = "geocode.retried", "Pending geocodes completed"
    PERSONAL_DATA_RESCANNED = (
        "data.personal_data_rescanned",
        "Stored free text rescanned for personal data",
    )
    # Programme tools (programme/).
    AGREEMENT_CREATED = "agreement.created", "Data-sharing agreement created"
    AGREEMENT_CHANGED = "agreement.changed", "Data-sharing agreement changed"
    AGREEMENT_SUSPENDED = "agreement.suspended", "Data-sharing agreement suspended"
    AGREEMENT_ENDED = "agreement.ended", "Data-sharing agreement ended"
    AGREEMENT_REMINDED = "agreement.reminded", "Agreement review or end reminder sent"
    AGREEMENT_DOCUMENT_DOWNLOADED = "agreement.document_downloaded", "Agreement document downloaded"
    RELEASE_NOTES_SAVED = "release_notes.saved", "Release notes saved"
    RELEASE_NOTES_PUBLISHED = "release_notes.published", "Release notes published"
    CASE_STUDY_CREATED = "case_study.created", "Case study created"
    CASE_STUDY_CHANGED = "case_study.changed", "Case study changed"
    CASE_STUDY_SUBMITTED = "case_study.submitted", "Case study submitted for review"
    CASE_STUDY_RETURNED = "case_study.returned", "Case study returned to its author"
    CASE_STUDY_PUBLISHED = "case_study.published", "Case study published"
    IMPACT_EXPORTED = "impact.exported", "Impact dashboard exported"
    POLICE_CRIME_IMPORTED = "police_crime.imported", "Police-recorded crime imported"
    # Alerts on saved queries (incidents.alert_digests).
    ALERT_SUBSCRIBED = "alert.subscribed", "Alert on a saved query started"
    ALERT_STOPPED = "alert.stopped", "Alert on a saved query stopped"
    ALERT_SENT = "alert.sent", "Alert digest sent"


def audit_object_type(model: Any) -> str:
    """How events name objects of ``model`` (a model class or instance): its
    ``app_label.modelname``, unless the model declares ``audit_object_type``. A model that
    moved between apps declares the name its earlier events carry, so one object's history
    stays under one name."""
    return str(getattr(model, "audit_object_type", "") or model._meta.label_lower)


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=64, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["actor", "occurred_at"]),
            models.Index(fields=["organisation", "occurred_at"]),
            models.Index(fields=["action", "occurred_at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_email or '-'}"

    @property
    def details_items(self) -> list[tuple[str, str]]:
        """Details as (label, value) pairs for a description list: nested keys are joined
        into one label ("filters: borough"), lists read as comma-separated values. Raw
        JSON was unreadable and, as one long word, widened the page on a phone."""
        return _flatten_details(self.details if isinstance(self.details, dict) else {})


class QueryPatternFlag(models.Model):
    """An access-review flag: one aggregate-level user made many narrow, overlapping
    aggregate queries in a short time (``accounts.audit.patterns``; docs/audit.md).

    It holds counts only; the queries themselves are the user's audit events. At most one
    flag per user is open (not yet reviewed) at a time.
    """

    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    raised_at = models.DateTimeField()
    first_query_at = models.DateTimeField()
    last_query_at = models.DateTimeField()
    window_minutes = models.PositiveIntegerField()
    queries = models.PositiveIntegerField(help_text="Distinct aggregate answers counted.")
    narrow_overlapping = models.PositiveIntegerField(
        help_text="How many of them were narrow and overlapped another."
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(reviewed_at__isnull=True),
                name="audit_one_open_pattern_flag_per_user",
            )
        ]
        indexes = [models.Index(fields=["user", "raised_at"])]

    def __str__(self) -> str:
        return f"Query pattern of user {self.user_id} flagged {self.raised_at:%Y-%m-%d %H:%M}"

    @property
    def share_percent(self) -> int:
        """Narrow and overlapping answers as a whole percentage of those counted."""
        return round(100 * self.narrow_overlapping / self.queries) if self.queries else 0


def _flatten_details(details: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key in sorted(details):
        label = f"{prefix}{key.replace('_', ' ')}"
        value = details[key]
        if isinstance(value, dict) and value:
            items.extend(_flatten_details(value, f"{label}: "))
        else:
            items.append((label, _detail_value(value)))
    return items


def _detail_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_detail_value(item) for item in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(", ", ": ")) if value else "none"
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
