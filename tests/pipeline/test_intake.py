"""Intake: type by content, names, size, archive limits."""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

import pytest

from ingest.pipeline.errors import FileErrorCode as E
from ingest.pipeline.errors import PipelineFileError
from ingest.pipeline.intake import accept_upload, decode_text, sanitise_filename
from ingest.pipeline.limits import Limits
from ingest.pipeline.types import FileFormat

from .helpers import GOOD_ROW, csv_text, excel_unicode_text, rezip, xlsx_bytes

CSV = csv_text([GOOD_ROW]).encode()


def refused(data: bytes | Path, name: str, limits: Limits | None = None) -> PipelineFileError:
    with pytest.raises(PipelineFileError) as info:
        accept_upload(data, filename=name, limits=limits or Limits())
    return info.value


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("may.csv", FileFormat.CSV),
        ("MAY.CSV", FileFormat.CSV),
        ("x.tsv", FileFormat.TSV),
        ("report.2025.05.csv", FileFormat.CSV),
    ],
)
def test_allowed_text_names(name: str, fmt: FileFormat) -> None:
    up = accept_upload(CSV, filename=name, limits=Limits())
    assert up.info.format is fmt
    assert up.text is not None and "Brixton" in up.text
    assert len(up.info.sha256) == 64


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("x.exe", E.EXTENSION_NOT_ALLOWED),
        ("x.xlsm", E.EXTENSION_NOT_ALLOWED),
        ("x.html", E.EXTENSION_NOT_ALLOWED),
        ("x.csv.exe", E.EXTENSION_NOT_ALLOWED),
        ("x.exe.csv", E.EXTENSION_NOT_ALLOWED),
        ("x.html.xlsx", E.EXTENSION_NOT_ALLOWED),
        ("noextension", E.EXTENSION_NOT_ALLOWED),
        ("x.csv\x00.exe", E.BAD_FILENAME),
        ("x\n.csv", E.BAD_FILENAME),
        ("", E.BAD_FILENAME),
    ],
)
def test_refused_names(name: str, code: E) -> None:
    assert refused(CSV, name).code is code


# --- text files named .txt / .tsv: accepted by content ----------------------------------

CAFE_ROW = [*GOOD_ROW[:-1], "o/s Café Nero, Brixton Rd"]  # a comma and an accent


def test_excel_unicode_text_txt_is_accepted_as_tsv() -> None:
    data = excel_unicode_text([GOOD_ROW, CAFE_ROW], title=["ISTV return May 2025"])
    assert data[:2] == b"\xff\xfe" and data[3:4] == b"\x00"  # BOM, then UTF-16 LE
    up = accept_upload(data, filename="ED assaults May 2025.txt", limits=Limits())
    assert up.info.format is FileFormat.TSV
    assert up.info.encoding == "utf-16"
    assert up.text is not None and "o/s Café Nero, Brixton Rd" in up.text
    assert not up.text.startswith("\ufeff")


@pytest.mark.parametrize(
    ("data", "name", "fmt", "encoding"),
    [
        (csv_text([GOOD_ROW, CAFE_ROW]).encode(), "may.txt", FileFormat.CSV, "utf-8"),
        (csv_text([CAFE_ROW], sep="\t").encode(), "may.TXT", FileFormat.TSV, "utf-8"),
        (csv_text([CAFE_ROW], sep=";").encode("cp1252"), "may.txt", FileFormat.CSV, "cp1252"),
        (csv_text([CAFE_ROW], sep="\t").encode("cp1252"), "may.tsv", FileFormat.TSV, "cp1252"),
        (
            codecs.BOM_UTF8 + csv_text([CAFE_ROW], sep="\t").encode(),
            "may.tsv",
            FileFormat.TSV,
            "utf-8-sig",
        ),
    ],
)
def test_delimited_text_in_a_supported_encoding_is_accepted(
    data: bytes, name: str, fmt: FileFormat, encoding: str
) -> None:
    up = accept_upload(data, filename=name, limits=Limits())
    assert (up.info.format, up.info.encoding) == (fmt, encoding)
    assert up.text is not None and "Café Nero" in up.text


def _zip_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "a\tb\r\n1\t2\r\n")
    return buf.getvalue()


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
    b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.mark.parametrize("name", ["data.txt", "data.tsv"])
@pytest.mark.parametrize(
    ("data", "code"),
    [
        (PNG, E.NOT_TEXT),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200), E.NOT_TEXT),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), E.NOT_TEXT),  # old .xls (OLE)
        (xlsx_bytes({"S": [["a", "b"], [1, 2]]}), E.CONTENT_MISMATCH),
        (_zip_archive(), E.CONTENT_MISMATCH),
        (
            b"<!DOCTYPE html><html><body><table><tr><td>a</td></tr></table></body></html>",
            E.CONTENT_MISMATCH,
        ),
        ("<html>\t<body>\tx</body></html>".encode("utf-16"), E.CONTENT_MISMATCH),
        (b"<?xml version='1.0'?><ISTVSubmission/>", E.CONTENT_MISMATCH),
        (b"Dear team\r\nPlease find attached the figures\r\nThanks\r\n", E.CONTENT_MISMATCH),
    ],
)
def test_renamed_binaries_markup_and_prose_are_refused_as_text(
    data: bytes, code: E, name: str
) -> None:
    assert refused(data, name).code is code


@pytest.mark.parametrize(
    "name", ["x.exe.txt", "x.html.txt", "x.xlsm.txt", "x.txt.exe", "x.txt.html"]
)
def test_double_extensions_with_txt_are_refused(name: str) -> None:
    data = excel_unicode_text([GOOD_ROW])
    assert refused(data, name).code is E.EXTENSION_NOT_ALLOWED


def test_the_refusal_names_the_formats_as_people_know_them() -> None:
    message = refused(CSV, "may.docx").message
    for known in ("CSV", "Excel workbook", "Excel Unicode text", "ISTV XML", ".txt"):
        assert known in message


def test_path_traversal_name_is_metadata_only() -> None:
    up = accept_upload(CSV, filename="../../etc/x.csv", limits=Limits())
    assert up.info.original_name == "x.csv"
    assert (
        sanitise_filename("..\\..\\win\\évil <b>.csv") == "_vil _b_.csv"
    )  # ASCII only: safe in headers


def test_renamed_exe_as_csv_is_not_text() -> None:
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)
    assert refused(exe, "data.csv").code is E.NOT_TEXT


def test_renamed_html_as_csv() -> None:
    assert (
        refused(b"<!DOCTYPE html><html><body>x</body></html>", "a.csv").code is E.CONTENT_MISMATCH
    )


def test_renamed_xlsx_as_csv() -> None:
    data = xlsx_bytes({"S": [["a", "b"]]})
    assert refused(data, "a.csv").code is E.CONTENT_MISMATCH


def test_text_named_xlsx() -> None:
    assert refused(CSV, "a.xlsx").code is E.CONTENT_MISMATCH


def test_text_named_xml() -> None:
    assert refused(CSV, "a.xml").code is E.CONTENT_MISMATCH


def test_empty_file() -> None:
    assert refused(b"  \r\n", "a.csv").code is E.EMPTY


def test_size_limit_on_bytes() -> None:
    limits = Limits(max_bytes=1024)
    assert refused(b"a,b\r\n" * 400, "a.csv", limits).code is E.TOO_LARGE


def test_size_limit_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as fh:  # sparse: 30 MB on paper, nothing to read
        fh.truncate(30 * 1024 * 1024)

    def no_open(*a: object, **k: object) -> None:
        raise AssertionError("file was opened before the size check")

    monkeypatch.setattr(Path, "open", no_open)
    err = refused(big, "big.csv")
    assert err.code is E.TOO_LARGE
    assert "20 MB" in err.message


def test_size_limit_from_settings(settings: object) -> None:
    settings.UPLOAD_MAX_BYTES = 2048  # type: ignore[attr-defined]
    assert Limits.from_settings().max_bytes == 2048
    with pytest.raises(PipelineFileError) as info:
        accept_upload(b"x,y\r\n" * 1000, filename="a.csv")
    assert info.value.code is E.TOO_LARGE


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        ("Lieu,Où\r\nCafé,£5\r\n".encode(), "utf-8", "Café"),
        (codecs.BOM_UTF8 + "a,b\r\nCafé,x\r\n".encode(), "utf-8-sig", "Café"),
        ("a,b\r\nSainsbury\u2019s,£5\r\n".encode("cp1252"), "cp1252", "Sainsbury\u2019s"),
        ("a\tb\r\nCafé\tx\r\n".encode("utf-16"), "utf-16", "Café"),
        ("a\tb\r\nCafe\tx\r\n".encode("utf-16-le"), "utf-16-le", "Cafe"),
    ],
)
def test_decode_text(data: bytes, encoding: str, expected: str) -> None:
    text, enc = decode_text(data)
    assert enc == encoding
    assert expected in text
    assert not text.startswith("\ufeff")


def test_xlsx_accepted() -> None:
    up = accept_upload(xlsx_bytes({"S": [["a", "b"], [1, 2]]}), filename="x.xlsx", limits=Limits())
    assert up.info.format is FileFormat.XLSX


def test_xlsm_content_refused_even_when_named_xlsx() -> None:
    data = xlsx_bytes({"S": [["a", "b"]]})
    ct = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml")
    macro = ct.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    assert (
        refused(rezip(data, replace={"[Content_Types].xml": macro}), "x.xlsx").code
        is E.MACRO_ENABLED
    )
    with_vba = rezip(data, add={"xl/vbaProject.bin": b"\x00" * 100})
    assert refused(with_vba, "x.xlsx").code is E.MACRO_ENABLED


def test_zip_that_is_not_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert refused(buf.getvalue(), "x.xlsx").code is E.CONTENT_MISMATCH


def test_corrupt_zip() -> None:
    assert refused(b"PK\x03\x04" + b"\x00" * 100, "x.xlsx").code is E.ZIP_CORRUPT


def test_zip_bomb_ratio_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    data = xlsx_bytes({"S": [["a", "b"]]})
    bomb = rezip(data, add={"xl/media/pad.xml": b"<a/>" + b" " * (8 * 1024 * 1024)})

    def parser_must_not_run(*a: object, **k: object) -> None:
        raise AssertionError("parser ran on a zip bomb")

    monkeypatch.setattr("ingest.pipeline.parsers.xlsx.parse_xlsx", parser_must_not_run)
    err = refused(bomb, "x.xlsx")
    assert err.code is E.ZIP_BOMB
    assert "zip bomb" in err.message


def test_zip_total_uncompressed_limit() -> None:
    data = xlsx_bytes({"S": [["a", "b"]]})
    err = refused(data, "x.xlsx", Limits(xlsx_max_uncompressed=2000))
    assert err.code is E.ZIP_TOO_LARGE_UNCOMPRESSED


def test_zip_member_count_limit() -> None:
    data = xlsx_bytes({"S": [["a", "b"]]})
    many = rezip(data, add={f"xl/extra{i}.xml": b"<a/>" for i in range(30)})
    assert refused(many, "x.xlsx", Limits(xlsx_max_members=20)).code is E.ZIP_TOO_MANY_MEMBERS


def test_benign_workbook_ratio_is_accepted() -> None:
    rows = [["Arrival Date", "Location"]] + [
        [f"0{i % 9 + 1}/05/2025", "street"] for i in range(5000)
    ]
    accept_upload(xlsx_bytes({"S": rows}), filename="x.xlsx", limits=Limits())


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',  # billion laughs
        b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',  # XXE
        b'<!doctype x SYSTEM "http://example.invalid/x.dtd">',
    ],
)
def test_dtd_inside_xlsx_refused(doctype: bytes) -> None:
    data = xlsx_bytes({"S": [["a", "b"]]})
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    if sheet.startswith(b"<?xml"):
        end = sheet.index(b"?>") + 2
        evil = sheet[:end] + doctype + sheet[end:]
    else:
        evil = doctype + sheet
    assert evil != sheet
    err = refused(rezip(data, replace={"xl/worksheets/sheet1.xml": evil}), "x.xlsx")
    assert err.code is E.XML_FORBIDDEN


def test_openpyxl_uses_defusedxml() -> None:
    """openpyxl (used for writing exports) parses with defusedxml when it is installed."""
    from openpyxl import xml as oxml

    assert oxml.DEFUSEDXML is True
