"""Private file storage: files kept on disk, outside the web root, never served by URL.

Everything lives under ``settings.PRIVATE_STORAGE_ROOT``:

- original submission files at the root itself, moved to ``QUARANTINE_STORAGE_ROOT``
  once the personal-data guard trips (a file holding personal data is set apart);
- the programme tools' files in one folder per *area* (``AREAS``): signed data-sharing
  agreements and case-study images.

Every file is named by a generated UUID: the uploaded name is metadata only and never
reaches a path, and only names this module generated (32 lowercase hex digits) are ever
turned into paths. Files are created ``0600`` and folders ``0700``. Files are served only
through permission-checked views that stream them.

This is a project helper, so it imports no app (``pyproject.toml``, import-linter): the
submission services and the programme tools both use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings

FILE_MODE = 0o600
DIR_MODE = 0o700
_NAME_LENGTH = 32  # uuid4().hex

# Areas: a folder under PRIVATE_STORAGE_ROOT each. No area (None) is the submission
# originals at the root, the only files that can be quarantined.
AGREEMENTS = "agreements"
CASE_STUDY_IMAGES = "case_study_images"
AREAS = frozenset({AGREEMENTS, CASE_STUDY_IMAGES})


class StoredFileTooLarge(Exception):
    """The stream grew past the size limit while being written (the file was removed)."""


class Upload(Protocol):
    """What :func:`store_upload` needs of an upload (Django's ``UploadedFile`` has it)."""

    def chunks(self, chunk_size: int | None = None) -> Iterable[bytes]: ...


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    sha256: str
    size: int


def _root(area: str | None, *, quarantined: bool) -> Path:
    if area is None:
        root = Path(
            settings.QUARANTINE_STORAGE_ROOT if quarantined else settings.PRIVATE_STORAGE_ROOT
        )
    elif area not in AREAS:
        raise ValueError("unknown storage area")
    elif quarantined:
        raise ValueError("only submission originals (no area) can be quarantined")
    else:
        root = Path(settings.PRIVATE_STORAGE_ROOT) / area
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return root


def _check_name(name: str) -> str:
    # Only names this module generated are ever turned into paths.
    if len(name) != _NAME_LENGTH or any(c not in "0123456789abcdef" for c in name):
        raise ValueError("not a stored file name")
    return name


def path_for(name: str, *, area: str | None = None, quarantined: bool = False) -> Path:
    """The path of a stored file: in ``area``'s folder, else a submission original (in
    quarantine storage when ``quarantined``)."""
    return _root(area, quarantined=quarantined) / _check_name(name)


def store_stream(
    chunks: Iterable[bytes], *, max_bytes: int | None, area: str | None = None
) -> StoredFile:
    """Write ``chunks`` to a new private file (in ``area``'s folder), hashing as it goes.

    The file is never held in memory as a whole: each chunk is hashed and written.
    Raises :class:`StoredFileTooLarge` past ``max_bytes`` (``None``: the caller has
    already checked the size). A partial file is removed whatever stops the write.
    """
    name = uuid.uuid4().hex
    path = _root(area, quarantined=False) / name
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise StoredFileTooLarge
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return StoredFile(name=name, sha256=digest.hexdigest(), size=size)


def store_upload(area: str, upload: Upload) -> StoredFile:
    """Store an uploaded file in ``area``'s folder; its size and type are the caller's
    checks (the programme services check both before storing)."""
    return store_stream(upload.chunks(), max_bytes=None, area=area)


def delete(name: str, *, area: str | None = None) -> None:
    """Remove a stored file wherever it is (idempotent: a missing file is fine).

    A submission original is looked for in normal and quarantine storage. An empty name
    (no file was ever stored) does nothing.
    """
    if not name:
        return
    places = [(area, False)] if area is not None else [(None, False), (None, True)]
    for place_area, quarantined in places:
        with contextlib.suppress(FileNotFoundError):
            path_for(name, area=place_area, quarantined=quarantined).unlink()


def move_to_quarantine(name: str) -> Path:
    """Move a submission original into quarantine storage (idempotent)."""
    source = path_for(name)
    target = path_for(name, quarantined=True)
    if source.exists():
        # os.replace is atomic on one file system; shutil.move copes with two.
        shutil.move(str(source), str(target))
        target.chmod(FILE_MODE)
    return target


def locate(name: str) -> Path:
    """A submission original's current path, normal storage first, then quarantine."""
    path = path_for(name)
    return path if path.exists() else path_for(name, quarantined=True)
