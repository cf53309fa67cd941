"""Personal API tokens: ``Authorization: Token <key>``; only a digest is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, User

TOKEN_PREFIX_LENGTH = 8
# "Last used" is for people reviewing their tokens: to the minute is plenty, and writing
# it on every call would add a write and a commit to each request.
LAST_USED_GRANULARITY = timedelta(seconds=60)


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_token_key() -> str:
    return secrets.token_urlsafe(32)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """A token authenticates only while it is unrevoked and unexpired, its owner is active,
    and the owner's ``access_epoch`` still equals the one it was issued under: revoking a
    grant or deactivating the person bumps the epoch, so the very next call is refused.
    Every refusal gives the same message, which names neither the token nor the reason."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token header.") from None
        token = (
            ApiToken.objects.select_related("user")
            .filter(digest=token_digest(key), revoked_at__isnull=True)
            .first()
        )
        now = timezone.now()
        if token is None or token.expires_at <= now:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        user = token.user
        if (
            not user.is_active
            or user.status == User.Status.DEACTIVATED
            or token.access_epoch != user.access_epoch
        ):
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
