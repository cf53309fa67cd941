"""Print a new personal API token for a user (for automation and tests)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Create a personal API token for an active user and print its key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="The token owner's e-mail address.")
        parser.add_argument(
            "--days",
            type=int,
            default=30,
            help=f"Days until it expires (1 to {settings.API_TOKEN_MAX_DAYS}).",
        )
        parser.add_argument("--name", default="Command-line token", help="A label for it.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError("No user with that e-mail address.")
        try:
            created = services.api_token_create(
                actor=user, name=options["name"], days=options["days"]
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(created.key)
