"""Re-encrypt stored MFA secrets after MFA_ENCRYPTION_KEY has been rotated.

Put the new key first in MFA_ENCRYPTION_KEY (comma-separated, old keys after it), run
this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.mfa_adapter import reencrypt_authenticators


class Command(BaseCommand):
    help = "Re-encrypt every stored TOTP secret and recovery seed with the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            count = reencrypt_authenticators()
        self.stdout.write(f"{count} authenticator(s) re-encrypted with the newest key.")
