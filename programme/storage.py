"""Private files for the programme tools: signed agreements and case-study images.

Stored under ``PRIVATE_STORAGE_ROOT/<area>`` with generated names (never the uploaded
name), created ``0600``, and served only through permission-checked views.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

AGREEMENTS = "agreements"
CASE_STUDY_IMAGES = "case_study_images"
_AREAS = frozenset({AGREEMENTS, CASE_STUDY_IMAGES})
FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass(frozen=True)
class Stored:
    name: str
    sha256: str


def _area_root(area: str) -> Path:
    if area not in _AREAS:
        raise ValueError("unknown storage area")
    root = Path(settings.PRIVATE_STORAGE_ROOT) / area
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return root


def path_for(area: str, name: str) -> Path:
    """The path of a stored file; only names this module generated become paths."""
    if len(name) != 32 or any(c not in "0123456789abcdef" for c in name):
        raise ValueError("not a stored file name")
    return _area_root(area) / name


def store_upload(area: str, upload: UploadedFile) -> Stored:
    name = uuid.uuid4().hex
    digest = hashlib.sha256()
    path = path_for(area, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            out.write(chunk)
    return Stored(name=name, sha256=digest.hexdigest())


def remove(area: str, name: str) -> None:
    if name:
        path_for(area, name).unlink(missing_ok=True)
