"""Builders for pipeline test fixtures (generated in tmp_path by code, never committed)."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook

ISTV_HEADER = [
    "Arrival Date",
    "Arrival Time",
    "Assault Date",
    "Assault Time",
    "Assault Method",
    "Method Other",
    "Location Type",
    "Location Description",
]
GOOD_ROW = ["03/05/2025", "23:40", "03/05/2025", "23:10", "Fist", "", "Street", "o/s Brixton stn"]


def csv_text(
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = ISTV_HEADER,
    sep: str = ",",
    title: Sequence[str] = (),
) -> str:
    lines = [*title, sep.join(header)]
    lines += [sep.join(r) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def excel_unicode_text(
    rows: Sequence[Sequence[str]], header: Sequence[str] = ISTV_HEADER, title: Sequence[str] = ()
) -> bytes:
    """A table as Excel's "Save As > Unicode Text" writes it: UTF-16 little-endian with a
    BOM, tab-separated, CRLF line ends, a cell holding a tab, quote or line break quoted
    (quotes doubled). The file name Excel gives it ends in .txt."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for line in title:
        writer.writerow([line])
    writer.writerow(header)
    writer.writerows(rows)
    return codecs.BOM_UTF16_LE + buf.getvalue().encode("utf-16-le")


def xlsx_bytes(
    sheets: dict[str, list[list[object]]], merges: dict[str, list[str]] | None = None
) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        for rng in (merges or {}).get(name, []):
            ws.merge_cells(rng)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rezip(
    data: bytes,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """Copy a zip, replacing or adding members."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as dst:
        for info in src.infolist():
            body = (replace or {}).get(info.filename, src.read(info.filename))
            dst.writestr(info.filename, body)
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def istv_xml(
    records: list[dict[str, str]],
    *,
    site: str = "RJ122",
    start: str = "2025-05-01",
    end: str = "2025-05-31",
    prolog: str = "",
    ns: str = "",
) -> bytes:
    ns_attr = f' xmlns="{ns}"' if ns else ""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<ISTVSubmission{ns_attr}>',
        "<SubmissionHeader>",
        f"<ReportingPeriodStartDate>{start}</ReportingPeriodStartDate>",
        f"<ReportingPeriodEndDate>{end}</ReportingPeriodEndDate>",
        f"<SiteCode>{site}</SiteCode></SubmissionHeader>",
    ]
    for rec in records:
        parts.append(
            "<AssaultRecord>"
            + "".join(f"<{k}>{v}</{k}>" for k, v in rec.items())
            + "</AssaultRecord>"
        )
    parts.append("</ISTVSubmission>")
    return "".join(parts).encode()


GOOD_RECORD = {
    "ArrivalDateTime": "2025-05-03T23:40:00",
    "AssaultDateTime": "2025-05-03T23:10:00",
    "AssaultMethod": "01",
    "AssaultLocationType": "02",
    "AssaultLocationDescription": "o/s Brixton stn",
}

NOW = datetime(2025, 5, 3, 23, 40)
