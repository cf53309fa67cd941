"""File intake: decide the type by content, enforce size and archive limits.

Nothing here trusts the file name beyond its extension (which must agree with the
content). The original name is sanitised and kept as metadata only, never as a path.
Checks run cheapest first: name, size (from the file system, before reading), magic
bytes, then archive structure, all before any parser sees the content.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from .delimiters import delimiter_of
from .errors import FileErrorCode as E
from .errors import PipelineFileError
from .limits import Limits
from .types import FileFormat, IntakeResult

# The format each extension claims. ``.txt`` is Excel's "Unicode Text" export (UTF-16
# with a BOM, tab-separated) or any other delimited text: CSV or TSV by its content.
ALLOWED_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": FileFormat.CSV,
    ".tsv": FileFormat.TSV,
    ".txt": FileFormat.CSV,
    ".xlsx": FileFormat.XLSX,
    ".xml": FileFormat.XML,
}
# The accepted formats as a person knows them (the upload page, the API, refusals).
ACCEPTED_FORMATS_TEXT = (
    "CSV (.csv), Excel workbook (.xlsx), Excel Unicode text (.txt or .tsv) or ISTV XML (.xml)"
)
# Extensions that say little about the content: the text must show columns (a
# delimiter on at least half of its first lines) before it is accepted.
_TABLE_REQUIRED = frozenset({".txt", ".tsv"})
# Inner extensions that make a double extension suspicious (x.exe.csv, x.csv.exe is
# caught by the final extension anyway).
_DANGEROUS_INNER = frozenset(
    [
        "exe",
        "dll",
        "com",
        "bat",
        "cmd",
        "scr",
        "msi",
        "ps1",
        "vbs",
        "js",
        "jar",
        "sh",
        "php",
        "asp",
        "aspx",
        "jsp",
        "html",
        "htm",
        "svg",
        "xlsm",
        "xlsb",
        "xltm",
        "docm",
        "pptm",
        "hta",
        "lnk",
    ]
)
_ZIP_MAGIC = b"PK\x03\x04"
_MACRO_CONTENT_TYPES = (b"macroenabled", b"vbaproject", b"application/vnd.ms-office.vba")
_XLSX_MAIN_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_FORBIDDEN_XML = re.compile(rb"<!(?:doctype|entity)", re.IGNORECASE)
_MARKUP_START = re.compile(r"^\s*<(?:!doctype|html|\?xml|head|body|script|svg)", re.IGNORECASE)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._() -]+")


@dataclass(slots=True)
class Upload:
    """A checked upload: metadata, the bytes, and decoded text for CSV/TSV."""

    info: IntakeResult
    data: bytes
    text: str | None = None


def sanitise_filename(name: str) -> str:
    """A display-only version of the original name: no path, no control characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKC", base)
    base = _SAFE_NAME.sub("_", base).strip(" .")
    return (base or "upload")[:120]


def check_filename(name: str) -> FileFormat:
    """Extension rules for uploaded file names. Returns the format the name claims."""
    if (
        not name
        or "\x00" in name
        # A printable name has no control character: only others are looked at one by one.
        or (not name.isprintable() and any(unicodedata.category(c) == "Cc" for c in name))
    ):
        raise PipelineFileError(
            E.BAD_FILENAME, "The file name contains characters that are not allowed."
        )
    suffixes = _suffixes(name)
    if not suffixes or suffixes[-1] not in ALLOWED_EXTENSIONS:
        raise PipelineFileError(
            E.EXTENSION_NOT_ALLOWED,
            f"Only {ACCEPTED_FORMATS_TEXT} files can be uploaded.",
        )
    if any(s.lstrip(".") in _DANGEROUS_INNER for s in suffixes[:-1]):
        raise PipelineFileError(
            E.EXTENSION_NOT_ALLOWED,
            "The file name has a double extension (for example 'x.exe.csv'); rename the "
            "file and upload the original export.",
        )
    return ALLOWED_EXTENSIONS[suffixes[-1]]


@lru_cache(maxsize=1024)
def _suffixes(name: str) -> tuple[str, ...]:
    # Cached: called twice per upload (name check, then extension), and PurePosixPath is slow.
    return tuple(s.lower() for s in PurePosixPath(re.split(r"[\\/]", name)[-1].strip()).suffixes)


def read_limited(source: Path | str | bytes, *, max_bytes: int) -> bytes:
    """Read the upload, refusing anything over ``max_bytes`` before loading it."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        return data
    path = Path(source)
    size = path.stat().st_size
    if size > max_bytes:
        raise _too_large(max_bytes)
    with path.open("rb") as fh:
        # The size stat() gave, plus a byte: asking for the whole limit at once would
        # allocate that much for every file. A file that grew after stat() is read on,
        # up to the limit and one byte more (then refused below), as before.
        data = fh.read(size + 1)
        if len(data) > size:
            data += fh.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _too_large(max_bytes: int) -> PipelineFileError:
    mb = max_bytes / (1024 * 1024)
    return PipelineFileError(E.TOO_LARGE, f"The file is larger than the {mb:g} MB limit.")


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV/TSV bytes: BOMs first, then strict UTF-8, then Windows-1252.

    Returns (text, encoding name). Raises NOT_TEXT for binary content.
    """
    if data.startswith(codecs.BOM_UTF8):
        enc, body = "utf-8-sig", data[len(codecs.BOM_UTF8) :]
        text = _strict(body, "utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"
        text = _strict(data, "utf-16")
    elif _looks_utf16_without_bom(data):
        enc = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        text = _strict(data, enc)
    else:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, enc = _strict(data, "cp1252"), "cp1252"
    if "\x00" in text:
        raise PipelineFileError(
            E.NOT_TEXT, "The file contains binary data; it is not a text (CSV) export."
        )
    return text, enc


def _looks_utf16_without_bom(data: bytes) -> bool:
    sample = data[:400]
    if len(sample) < 4:
        return False
    odd_nuls = sample[1::2].count(0)
    even_nuls = sample[0::2].count(0)
    half = len(sample) // 2
    # Mostly-ASCII UTF-16 text has a NUL in every other byte and none in the rest.
    return (odd_nuls > 0.8 * half and even_nuls == 0) or (even_nuls > 0.8 * half and odd_nuls == 0)


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise PipelineFileError(
            E.NOT_TEXT,
            "The file could not be read as text (UTF-8, UTF-16 or Windows-1252).",
        ) from exc


def check_xlsx_archive(data: bytes, limits: Limits) -> None:
    """Zip-bomb and content checks for an XLSX, before any spreadsheet parser runs.

    Rejects: not a zip, no [Content_Types].xml, macro-enabled content types, too many
    members, declared or actual uncompressed size over the limit, any large member
    compressed more than ``xlsx_max_ratio`` times, and any XML part with a DTD or entity
    declaration (spreadsheet XML never needs one; refusing it closes XXE and
    billion-laughs whatever parser reads the sheet later).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as exc:
        raise PipelineFileError(
            E.ZIP_CORRUPT, "The .xlsx file is damaged or not an Excel workbook."
        ) from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.xlsx_max_members:
            raise PipelineFileError(
                E.ZIP_TOO_MANY_MEMBERS,
                f"The workbook has more than {limits.xlsx_max_members} internal parts; "
                "it cannot be processed safely.",
            )
        total = sum(i.file_size for i in infos)
        if total > limits.xlsx_max_uncompressed:
            raise PipelineFileError(
                E.ZIP_TOO_LARGE_UNCOMPRESSED,
                "The workbook expands to more than "
                f"{limits.xlsx_max_uncompressed // (1024 * 1024)} MB; it cannot be processed "
                "safely.",
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= limits.xlsx_ratio_floor and ratio > limits.xlsx_max_ratio:
                raise PipelineFileError(
                    E.ZIP_BOMB,
                    f"Part of the workbook is compressed {ratio:.0f} times (limit "
                    f"{limits.xlsx_max_ratio:g}); this looks like a zip bomb.",
                )
        names = {i.filename for i in infos}
        if "[Content_Types].xml" not in names:
            raise PipelineFileError(
                E.CONTENT_MISMATCH, "The file is a zip archive, not an Excel workbook."
            )
        remaining = limits.xlsx_max_uncompressed
        for info in infos:
            if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                if info.filename.lower().endswith(".bin"):
                    raise PipelineFileError(
                        E.MACRO_ENABLED,
                        "The workbook contains macros or binary parts; save it as a plain "
                        ".xlsx workbook.",
                    )
                continue
            try:
                with zf.open(info) as fh:
                    # Read at most what the header declares (+1 to catch lying headers).
                    part = fh.read(min(info.file_size, remaining) + 1)
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                EOFError,
                RuntimeError,
                NotImplementedError,
                ValueError,
            ) as exc:
                # Corrupt deflate data, bad CRCs and encrypted parts all land here.
                raise PipelineFileError(E.ZIP_CORRUPT, "The .xlsx file is damaged.") from exc
            if len(part) > info.file_size or len(part) > remaining:
                raise PipelineFileError(
                    E.ZIP_BOMB, "The workbook's declared sizes do not match its content."
                )
            remaining -= len(part)
            if _FORBIDDEN_XML.search(part):
                raise PipelineFileError(
                    E.XML_FORBIDDEN,
                    "The workbook contains an XML document type declaration or entity; "
                    "these are refused for safety.",
                )
            if info.filename == "[Content_Types].xml":
                ct = part.lower()
                if any(tok in ct for tok in _MACRO_CONTENT_TYPES):
                    raise PipelineFileError(
                        E.MACRO_ENABLED,
                        "The workbook is macro-enabled (.xlsm); save it as a plain .xlsx workbook.",
                    )
                if _XLSX_MAIN_TYPE not in ct:
                    raise PipelineFileError(
                        E.CONTENT_MISMATCH, "The archive is not an Excel (.xlsx) workbook."
                    )


def accept_upload(
    source: Path | str | bytes, *, filename: str, limits: Limits | None = None
) -> Upload:
    """Run every intake check and return the checked upload.

    Raises :class:`PipelineFileError` with a stable code when the file is refused.
    """
    limits = limits or Limits.from_settings()
    claimed = check_filename(filename)
    data = read_limited(source, max_bytes=limits.max_bytes)
    if not data.strip():
        raise PipelineFileError(E.EMPTY, "The file is empty.")
    digest = hashlib.sha256(data).hexdigest()
    name = sanitise_filename(filename)
    is_zip = data.startswith(_ZIP_MAGIC)

    if claimed is FileFormat.XLSX:
        if not is_zip:
            raise PipelineFileError(
                E.CONTENT_MISMATCH, "The file is named .xlsx but is not an Excel workbook."
            )
        check_xlsx_archive(data, limits)
        return Upload(IntakeResult(FileFormat.XLSX, len(data), digest, name), data)

    if is_zip:
        raise PipelineFileError(
            E.CONTENT_MISMATCH,
            f"The file is named {PurePosixPath(name).suffix or 'as text'} but is a zip archive "
            "(for example an Excel workbook); upload it as .xlsx.",
        )
    text, encoding = decode_text(data)
    if claimed is FileFormat.XML:
        # Full parsing (defusedxml, root element, XSD) happens in the XML parser.
        if not text.lstrip("\ufeff \t\r\n").startswith("<"):
            raise PipelineFileError(E.CONTENT_MISMATCH, "The file is named .xml but is not XML.")
        return Upload(IntakeResult(FileFormat.XML, len(data), digest, name, encoding), data, text)
    extension = _suffixes(filename)[-1]
    if _MARKUP_START.match(text[:512]):
        raise PipelineFileError(
            E.CONTENT_MISMATCH,
            f"The file is named {extension} but contains markup (HTML or XML), not delimited text.",
        )
    fmt = FileFormat.TSV if claimed is FileFormat.TSV else FileFormat.CSV
    if extension in _TABLE_REQUIRED:
        delimiter = delimiter_of(text)
        if delimiter is None:
            raise PipelineFileError(
                E.CONTENT_MISMATCH,
                f"The file is named {extension} but is not a table: its lines are not "
                "split into columns by tabs, commas or semicolons.",
            )
        if extension == ".txt" and delimiter == "\t":
            fmt = FileFormat.TSV
    return Upload(IntakeResult(fmt, len(data), digest, name, encoding), data, text)
