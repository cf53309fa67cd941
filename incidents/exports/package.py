"""A zip that streams: the data file, its data dictionary and the manifest.

``zipfile`` writes to a non-seekable file object by putting each entry's sizes and CRC
in a data descriptor after its data, so nothing needs to go back and patch a header. The
archive is written into a small sink that the generator drains after every write: this is
true streaming (no temporary file), and memory is bounded by the compressor's buffers and
one data chunk. The manifest goes last because it carries the data file's SHA-256, which
is known only once the data has streamed through.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Final, Self

from incidents.exports.streams import ExportStream, HashedStream

ZIP_CONTENT_TYPE: Final = "application/zip"
DICTIONARY_NAME: Final = "data-dictionary.csv"
MANIFEST_NAME: Final = "manifest.json"


class _Sink:
    """The write-only file ``zipfile`` writes into; the generator empties it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """zipfile flushes; there is nothing to do."""

    def close(self) -> None:
        """Part of the writable-file protocol; the generator owns the data."""

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class ZipPackage(HashedStream):
    """Streams ``<base>.<ext>`` + ``data-dictionary.csv`` + ``manifest.json`` as a zip.

    ``manifest`` is called with the finished data stream (so it can read ``sha256``,
    ``row_count`` and ``size``) and returns the manifest bytes. Like the data streams,
    the package keeps a SHA-256 and size of the bytes it emits.
    """

    content_type = ZIP_CONTENT_TYPE
    extension = "zip"

    def __init__(
        self,
        data: ExportStream,
        *,
        base_name: str,
        dictionary: bytes,
        manifest: Callable[[ExportStream], bytes],
        timestamp: datetime | None = None,
        on_complete: Callable[[Self], None] | None = None,
    ) -> None:
        super().__init__(on_complete=on_complete)
        self.data = data
        self.data_name = f"{base_name}.{data.extension}"
        self.dictionary = dictionary
        self.manifest = manifest
        self.timestamp = timestamp

    def close(self) -> None:
        """Stop reading the package and the data stream inside it."""
        super().close()
        self.data.close()

    def _info(self, name: str) -> zipfile.ZipInfo:
        stamp = self.timestamp or datetime.now().astimezone()
        info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return info

    def _chunks(self) -> Iterator[bytes]:
        sink = _Sink()
        with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
            # force_zip64: the data size is unknown up front and may pass 4 GiB.
            with archive.open(self._info(self.data_name), mode="w", force_zip64=True) as entry:
                for chunk in self.data:
                    entry.write(chunk)
                    yield sink.drain()
            archive.writestr(self._info(DICTIONARY_NAME), self.dictionary)
            archive.writestr(self._info(MANIFEST_NAME), self.manifest(self.data))
            yield sink.drain()
        yield sink.drain()
