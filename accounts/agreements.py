"""Whether a data-sharing agreement is in force, and whether a grant fits its agreement.

Access rests on agreements: ``accounts.access`` ignores grants naming a registered
agreement that is not in force, and the grant form refuses a grant that does not fit its
agreement. The register itself (pages, writes, reminders) belongs to the programme tools,
which build on these rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import AccessGrant, DataSharingAgreement


def in_force_q(day: date) -> Q:
    """Agreements in force on ``day``: active and not past their end date."""
    return Q(status=DataSharingAgreement.Status.ACTIVE, ends_on__gte=day)


def inactive_agreement_references_qs(*, on: date | None = None) -> QuerySet[Any]:
    """References of registered agreements not in force on ``on`` (a lazy subquery).

    Used inside ``__in`` lookups it costs no extra query. A reference that is not in the
    register at all is not listed (``grant_agreement_check`` catches it on the form).
    """
    day = on or timezone.localdate()
    return DataSharingAgreement.objects.exclude(in_force_q(day)).values_list("reference", flat=True)


def inactive_agreement_references(*, on: date | None = None) -> set[str]:
    return set(inactive_agreement_references_qs(on=on))


def agreement_registered(reference: str) -> bool:
    """Whether an agreement with this reference is in the register."""
    return DataSharingAgreement.objects.filter(reference=(reference or "").strip()).exists()


def grant_agreement_check(grant: AccessGrant) -> list[str]:
    """Why ``grant`` does not fit its agreement (empty when it does). For the grant form."""
    reference = (grant.agreement_reference or "").strip()
    agreement = (
        DataSharingAgreement.objects.filter(reference=reference)
        .prefetch_related("recipients")
        .first()
    )
    if agreement is None:
        return [f"No data-sharing agreement with reference {reference!r} is in the register."]
    errors = []
    if agreement.status != DataSharingAgreement.Status.ACTIVE:
        errors.append(
            f"Agreement {agreement.reference} is {agreement.get_status_display().lower()}, "
            "not active."
        )
    if grant.valid_until and grant.valid_until > agreement.ends_on:
        errors.append(
            f"The grant cannot run past the agreement's end date ({agreement.ends_on:%d %B %Y})."
        )
    if agreement.signed_on and grant.valid_from and grant.valid_from < agreement.signed_on:
        errors.append(
            f"The grant cannot start before the agreement was signed "
            f"({agreement.signed_on:%d %B %Y})."
        )
    recipient_ids = {org.pk for org in agreement.recipients.all()}
    if grant.organisation_id and grant.organisation_id not in recipient_ids:
        errors.append(f"The organisation is not a recipient under {agreement.reference}.")
    return errors
