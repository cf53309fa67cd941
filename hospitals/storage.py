"""Private storage for original submission files (SECURITY item 29).

Files live under ``settings.PRIVATE_STORAGE_ROOT`` (or ``QUARANTINE_STORAGE_ROOT`` once the
personal-data guard trips), outside the web root and never served by URL. Every file is
named by a generated UUID: the uploaded name is metadata only and never reaches a path.
Files are created ``0600`` and folders ``0700``.
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

from django.conf import settings

FILE_MODE = 0o600
DIR_MODE = 0o700
_NAME_LENGTH = 32  # uuid4().hex


class StoredFileTooLarge(Exception):
    """The stream grew past the size limit while being written (the file was removed)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    sha256: str
    size: int


def _root(quarantined: bool) -> Path:
    root = Path(settings.QUARANTINE_STORAGE_ROOT if quarantined else settings.PRIVATE_STORAGE_ROOT)
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return root


def _check_name(name: str) -> str:
    # Only names this module generated are ever turned into paths.
    if len(name) != _NAME_LENGTH or any(c not in "0123456789abcdef" for c in name):
        raise ValueError("not a stored file name")
    return name


def path_for(name: str, *, quarantined: bool = False) -> Path:
    """The path of a stored file (in quarantine storage when ``quarantined``)."""
    return _root(quarantined) / _check_name(name)


def store_stream(chunks: Iterable[bytes], *, max_bytes: int) -> StoredFile:
    """Write ``chunks`` to a new private file, hashing as it goes.

    The upload is never held in memory as a whole: each chunk is hashed and written.
    Raises :class:`StoredFileTooLarge` (having removed the partial file) past
    ``max_bytes``.
    """
    name = uuid.uuid4().hex
    path = _root(False) / name
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise StoredFileTooLarge
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return StoredFile(name=name, sha256=digest.hexdigest(), size=size)


def delete(name: str) -> None:
    """Remove a stored file wherever it is (missing is fine: deletion is idempotent)."""
    for quarantined in (False, True):
        with contextlib.suppress(FileNotFoundError):
            path_for(name, quarantined=quarantined).unlink()


def move_to_quarantine(name: str) -> Path:
    """Move a file out of normal storage into quarantine storage (idempotent)."""
    source = path_for(name)
    target = path_for(name, quarantined=True)
    if source.exists():
        # os.replace is atomic on one file system; shutil.move copes with two.
        shutil.move(str(source), str(target))
        target.chmod(FILE_MODE)
    return target


def locate(name: str) -> Path:
    """The file's current path, normal storage first, then quarantine."""
    path = path_for(name)
    return path if path.exists() else path_for(name, quarantined=True)
