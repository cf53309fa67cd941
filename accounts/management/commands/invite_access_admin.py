"""Invite the first access administrator of a new deployment.

The Django admin is read-only for identity, and every other route to access runs through
an existing access administrator, so a fresh installation needs this one bootstrap step.
It refuses once any active access administrator exists, so it cannot be used to widen
access later.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.models import Membership, Organisation

GLA_NAME = "Greater London Authority"


class Command(BaseCommand):
    help = "Invite the first access administrator (GLA). Refuses if one already exists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True, help="The person's full name.")

    def handle(self, *args: Any, **options: Any) -> None:
        if Membership.objects.filter(
            role=Membership.Role.ACCESS_ADMIN,
            is_active=True,
            user__is_active=True,
            organisation__kind=Organisation.Kind.GLA,
        ).exists():
            raise CommandError(
                "An access administrator already exists: invite people from the portal."
            )
        organisation = Organisation.objects.filter(kind=Organisation.Kind.GLA).first()
        if organisation is None:
            organisation = services.organisation_create(
                actor=None, name=GLA_NAME, kind=Organisation.Kind.GLA
            )
        sent = services.user_invite(
            actor=None,
            email=options["email"],
            full_name=options["name"],
            organisation=organisation,
            role=Membership.Role.ACCESS_ADMIN,
        )
        self.stdout.write(
            f"Invitation e-mailed to {sent.invitation.user.email}; "
            f"it expires at {sent.invitation.expires_at:%Y-%m-%d %H:%M %Z}."
        )
