"""Whether a data-sharing agreement is in force, and whether a grant fits its agreement.

Access rests on agreements: ``accounts.access`` ignores grants naming a registered
agreement that is not in force, and ``accounts.services`` refuses to write a grant that
does not name an agreement in force covering its organisation, or does not fit its
dates. The register itself (pages, writes, reminders) belongs to the programme tools,
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
    register at all is not listed: no grant can be written naming one
    (``grant_agreement_errors``), and older grants that do are listed for the
    administrators (``accounts.selectors.grants_without_agreement``).
    """
    day = on or timezone.localdate()
    return DataSharingAgreement.objects.exclude(in_force_q(day)).values_list("reference", flat=True)


def reference_key(reference: str) -> str:
    """How references are compared: case and whitespace do not make a new agreement."""
    return "".join((reference or "").split()).casefold()


def registered_agreement(reference: str) -> DataSharingAgreement | None:
    """The register's agreement for ``reference``, ignoring case and whitespace."""
    reference = (reference or "").strip()
    if not reference:
        return None
    exact = DataSharingAgreement.objects.filter(reference=reference).first()
    if exact is not None:
        return exact
    key = reference_key(reference)
    for candidate in DataSharingAgreement.objects.only("pk", "reference"):
        if reference_key(candidate.reference) == key:
            return DataSharingAgreement.objects.get(pk=candidate.pk)
    return None


def agreements_for(organisation_id: int | None, *, on: date | None = None) -> QuerySet[Any]:
    """Agreements a grant to this organisation may name: in force, with it as a recipient."""
    day = on or timezone.localdate()
    if organisation_id is None:
        return DataSharingAgreement.objects.none()
    return (
        DataSharingAgreement.objects.filter(in_force_q(day), recipients__pk=organisation_id)
        .distinct()
        .order_by("reference")
    )


def grant_agreement_errors(grant: AccessGrant, *, on: date | None = None) -> dict[str, list[str]]:
    """Why ``grant`` cannot stand under the agreement it names, by form field.

    A grant must name an agreement in the register that is in force and lists the
    grant's organisation among its recipients, and must lie within the agreement's
    dates. Applied by ``accounts.services`` to every grant written, and by the grant
    form. Empty when the grant fits.
    """
    day = on or timezone.localdate()
    reference = (grant.agreement_reference or "").strip()
    if not reference:
        return {"agreement_reference": ["Choose the data-sharing agreement this grant is under."]}
    agreement = registered_agreement(reference)
    if agreement is None:
        return {
            "agreement_reference": [
                f"Choose an agreement from the register: {reference} is not in it. "
                "Register the agreement first if it is new."
            ]
        }
    errors: dict[str, list[str]] = {}
    if not agreement.is_active_on(day):
        state = (
            "past its end date"
            if agreement.status == DataSharingAgreement.Status.ACTIVE
            else agreement.get_status_display().lower()
        )
        errors.setdefault("agreement_reference", []).append(
            f"Choose an agreement that is in force: {agreement.reference} is {state}."
        )
    recipient_ids = set(agreement.recipients.values_list("pk", flat=True))
    if grant.organisation_id and grant.organisation_id not in recipient_ids:
        errors.setdefault("agreement_reference", []).append(
            f"Choose an agreement that covers this organisation: it is not a recipient "
            f"under {agreement.reference}."
        )
    if grant.valid_until and grant.valid_until > agreement.ends_on:
        errors.setdefault("valid_until", []).append(
            f"The end date must be on or before {agreement.ends_on:%-d %B %Y}, when "
            f"{agreement.reference} ends."
        )
    if agreement.signed_on and grant.valid_from and grant.valid_from < agreement.signed_on:
        errors.setdefault("valid_from", []).append(
            f"The start date must be on or after {agreement.signed_on:%-d %B %Y}, when "
            f"{agreement.reference} was signed."
        )
    return errors
