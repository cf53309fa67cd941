"""Upload limits shared by the upload page and the API: size and per-user rate.

* ``request_too_large`` looks at ``Content-Length`` before anything reads the body.
* ``SizeLimitUploadHandler`` stops the multipart parser as soon as a file grows past
  the limit (a request without a trustworthy length, or a file just under the request
  slack), so an over-large file is never spooled in full.
* ``UploadRateThrottle`` is the per-user "upload" rate from ``REST_FRAMEWORK``, used by
  both the page and the API so the limit is one limit, whichever way a file comes in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from rest_framework.throttling import UserRateThrottle

# Room for the other form fields and the multipart boundaries around the file.
MULTIPART_SLACK_BYTES = 64 * 1024


def upload_limit_bytes() -> int:
    return int(settings.UPLOAD_MAX_BYTES)


def upload_limit_text() -> str:
    """The limit as people read it: "20 MB" (or "64 KB" for small test limits)."""
    limit = upload_limit_bytes()
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit / 1024:g} KB"


def request_too_large(request: HttpRequest) -> bool:
    """Whether the declared body is larger than any acceptable upload."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > upload_limit_bytes() + MULTIPART_SLACK_BYTES


class SizeLimitUploadHandler(FileUploadHandler):
    """Refuses, mid-stream, any uploaded file larger than ``UPLOAD_MAX_BYTES``.

    Placed first in ``request.upload_handlers``; it passes data on untouched until the
    limit is crossed, then stops the parser (``connection_reset``: the rest of the body
    is not read) and remembers why, so the view can say so.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = upload_limit_bytes()
        self.received = 0
        self.exceeded = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def install_size_limit(request: HttpRequest) -> SizeLimitUploadHandler:
    """Put a fresh size-limit handler first; call before ``request.POST``/``FILES``."""
    handler = SizeLimitUploadHandler(request)
    request.upload_handlers.insert(0, handler)
    return handler


class UploadRateThrottle(UserRateThrottle):
    """Uploads per user per minute (the ``upload`` rate), shared by page and API."""

    scope = "upload"
