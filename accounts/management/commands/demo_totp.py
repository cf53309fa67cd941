"""Print the current one-time code for the demo accounts (local use only).

Every demo account created by ``seed_demo`` shares the published DEMO_TOTP_SECRET, so
this needs nothing from the database; it refuses under production settings like
``seed_demo`` does.
"""

from __future__ import annotations

import os
import time
from typing import Any

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_TOTP_SECRET

TOTP_PERIOD_SECONDS = 30


class Command(BaseCommand):
    help = "Print the current TOTP code of the demo accounts (never in production)."

    def handle(self, *args: Any, **options: Any) -> None:
        if "production" in os.environ.get("DJANGO_SETTINGS_MODULE", ""):
            raise CommandError("demo_totp refuses to run with production settings.")
        now = int(time.time())
        code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, now // TOTP_PERIOD_SECONDS))
        remaining = TOTP_PERIOD_SECONDS - now % TOTP_PERIOD_SECONDS
        self.stdout.write(f"{code}  (valid for {remaining} more seconds)")
