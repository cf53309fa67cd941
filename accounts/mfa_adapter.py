"""allauth MFA adapter: TOTP secrets and recovery-code seeds are encrypted at rest.

allauth stores the TOTP secret and the seed the recovery codes are derived from in
``Authenticator.data`` and passes them through ``encrypt`` / ``decrypt`` on the adapter,
which by default do nothing. Here they are Fernet tokens (AES-128-CBC + HMAC-SHA256), so
a copy of the database alone does not give anyone a working second factor.

Keys come from ``MFA_ENCRYPTION_KEY``: a comma-separated list of Fernet keys, the first
used to encrypt and all of them tried to decrypt, so a key can be rotated by putting the
new one first and re-encrypting (``reencrypt_authenticators``) before dropping the old.
Without it (development and tests only; production settings refuse to start) the key
is derived from ``SECRET_KEY`` with HKDF, under a purpose label of its own so it is not
the key Django signs cookies with.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from accounts.mfa import PRIMARY_MFA_TYPES

# Which fields of Authenticator.data hold secrets, per authenticator type.
_SECRET_FIELDS = {
    Authenticator.Type.TOTP: ("secret",),
    Authenticator.Type.RECOVERY_CODES: ("seed",),
}
_HKDF_INFO = b"istv-portal mfa-secrets-at-rest v1"


def derive_key_from_secret(secret_key: str) -> bytes:
    """A Fernet key derived from Django's SECRET_KEY, for development only."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


@lru_cache(maxsize=4)
def _fernet_for(configured: str, secret_key: str) -> MultiFernet:
    raw_keys = [key.strip() for key in configured.split(",") if key.strip()]
    if not raw_keys:
        raw_keys = [derive_key_from_secret(secret_key).decode()]
    try:
        return MultiFernet([Fernet(key) for key in raw_keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "MFA_ENCRYPTION_KEY must be a comma-separated list of Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from exc


def mfa_fernet() -> MultiFernet:
    """The Fernet set for the current settings (cached per key configuration)."""
    return _fernet_for(settings.MFA_ENCRYPTION_KEY, settings.SECRET_KEY)


class EncryptingMFAAdapter(DefaultMFAAdapter):
    """Encrypts the TOTP secret and the recovery-code seed before they reach the database."""

    def encrypt(self, text: str) -> str:
        return mfa_fernet().encrypt(text.encode()).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        try:
            return mfa_fernet().decrypt(encrypted_text.encode("ascii")).decode()
        except (InvalidToken, UnicodeEncodeError) as exc:
            # Fail closed: a secret we cannot decrypt never validates a code.
            raise ImproperlyConfigured(
                "An MFA secret could not be decrypted: MFA_ENCRYPTION_KEY does not hold "
                "the key it was encrypted with."
            ) from exc

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """MFA is mandatory: the last TOTP or WebAuthn authenticator cannot be removed."""
        if authenticator.type not in PRIMARY_MFA_TYPES:
            return True
        others: bool = (
            Authenticator.objects.filter(user_id=authenticator.user_id, type__in=PRIMARY_MFA_TYPES)
            .exclude(pk=authenticator.pk)
            .exists()
        )
        return others


@transaction.atomic
def reencrypt_authenticators() -> int:
    """Re-encrypt every stored MFA secret with the first configured key; returns the count."""
    fernet = mfa_fernet()
    changed = 0
    for authenticator in Authenticator.objects.select_for_update().filter(
        type__in=list(_SECRET_FIELDS)
    ):
        for field in _SECRET_FIELDS[Authenticator.Type(authenticator.type)]:
            value = authenticator.data.get(field)
            if value:
                authenticator.data[field] = fernet.rotate(value.encode("ascii")).decode("ascii")
        authenticator.save(update_fields=["data"])
        changed += 1
    return changed
