"""Writes of hospital upload rights: django-guardian object permissions per hospital site.

A liaison uploads only for the sites they hold ``hospitals.upload_submission`` on. Access
administrators give and remove the right (``hospitals.upload_right_views``); each change
is audited in its own transaction, and removing one ends the liaison's sessions and API
tokens on their next request, like any other shrinking of access.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from guardian.shortcuts import assign_perm, remove_perm

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import Membership, Organisation, User
from accounts.services import access_epochs_bump
from hospitals.models import HospitalSite
from hospitals.selectors import UPLOAD_PERMISSION


def _check_liaison(user: User, site: HospitalSite) -> None:
    is_liaison = Membership.objects.filter(
        user=user,
        role=Membership.Role.LIAISON,
        is_active=True,
        organisation__kind=Organisation.Kind.HOSPITAL,
    )
    if site.organisation_id is not None:
        is_liaison = is_liaison.filter(organisation_id=site.organisation_id)
    if not is_liaison.exists():
        raise ValidationError({"user": "Only a liaison of this site's trust can upload for it."})


@transaction.atomic
def upload_right_grant(
    *, actor: User | None, user: User, site: HospitalSite, request: HttpRequest | None = None
) -> None:
    _check_liaison(user, site)
    assign_perm(UPLOAD_PERMISSION, user, site)
    audit_record(
        action=Action.UPLOAD_RIGHT_GRANTED,
        actor=actor,
        organisation=site.organisation,
        obj=site,
        details={"user_id": user.pk, "site_code": site.site_code},
        request=request,
    )


@transaction.atomic
def upload_right_revoke(
    *, actor: User, user: User, site: HospitalSite, request: HttpRequest | None = None
) -> None:
    remove_perm(UPLOAD_PERMISSION, user, site)
    access_epochs_bump(user_ids=[user.pk])
    audit_record(
        action=Action.UPLOAD_RIGHT_REVOKED,
        actor=actor,
        organisation=site.organisation,
        obj=site,
        details={"user_id": user.pk, "site_code": site.site_code},
        request=request,
    )
