"""Builders for submission tests: small CSV files generated in code (never committed)."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from hospitals.models import HospitalSite, MappingProfile
from ingest.synthetic import fake_nhs_number

HEADER = [
    "Arrival Date",
    "Arrival Time",
    "Assault Date",
    "Assault Time",
    "Assault Method",
    "Method Other",
    "Location Type",
    "Location Description",
]
# The profile a confirmed mapping of HEADER produces (source column -> field).
PROFILE_COLUMNS = {
    "Arrival Date": "arrival_date",
    "Arrival Time": "arrival_time",
    "Assault Date": "assault_date",
    "Assault Time": "assault_time",
    "Assault Method": "method",
    "Method Other": "method_other",
    "Location Type": "location_type",
    "Location Description": "location_description",
}
METHODS = ("Fist", "Knife", "Bottle", "Bat", "Kicked")
PLACES = ("Street", "Pub", "Park", "Bus", "Shop")
STREETS = ("o/s Brixton stn", "Mare St", "nr Elephant and Castle", "High St", "Walworth Rd")


@dataclass(frozen=True)
class CsvSpec:
    rows: int = 20
    period: date = date(2025, 5, 1)
    bad_rows: int = 0  # rows with an unparseable assault date (V002)
    seed: int = 0  # changes the bytes (a different file for the same month)
    nhs_column: bool = False  # a personal-data column (quarantine)


DEFAULT_SPEC = CsvSpec()


def csv_bytes(spec: CsvSpec = DEFAULT_SPEC) -> bytes:
    rng = random.Random(spec.seed)
    lines = [",".join(HEADER + (["NHS Number"] if spec.nhs_column else []))]
    for i in range(spec.rows):
        day = spec.period + timedelta(days=(i + spec.seed) % 27)
        d = f"{day:%d/%m/%Y}"
        assault = "31/31/2025" if i < spec.bad_rows else d
        hour = (i * 7 + spec.seed) % 24
        row = [
            d,
            f"{hour:02d}:{(i * 13) % 60:02d}",
            assault,
            f"{hour:02d}:00",
            METHODS[i % len(METHODS)],
            "",
            PLACES[i % len(PLACES)],
            f"{STREETS[i % len(STREETS)]} {i}",
        ]
        if spec.nhs_column:
            row.append(fake_nhs_number(rng))  # 999 range: never a real patient
        lines.append(",".join(row))
    return ("\r\n".join(lines) + "\r\n").encode()


# A new ED system's export of the same items: four columns renamed, one of them to a name
# that says nothing (only its values tell what it holds).
RENAMED_COLUMNS = {
    "Assault Date": "Incident Dt",
    "Assault Method": "Weapon used",
    "Location Type": "Col7",
    "Location Description": "Where it happened",
}


def changed_layout_csv(
    spec: CsvSpec = DEFAULT_SPEC,
    *,
    renames: dict[str, str] = RENAMED_COLUMNS,
    drop: tuple[str, ...] = (),
) -> bytes:
    """The test CSV with columns renamed (``renames``) and ``drop`` columns removed."""
    table = list(csv.reader(io.StringIO(csv_bytes(spec).decode())))
    keep = [i for i, name in enumerate(table[0]) if name not in drop]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([renames.get(table[0][i], table[0][i]) for i in keep])
    writer.writerows([[row[i] for i in keep] for row in table[1:]])
    return out.getvalue().encode()


# A layout the portal has not seen: the test CSV with its method column named as a trust
# export might ("Weapon"). (A file in the ISTV template's own layout needs no mapping.)
UNSEEN_RENAMES = {"Assault Method": "Weapon"}


def unseen_layout_csv(spec: CsvSpec = DEFAULT_SPEC) -> bytes:
    return changed_layout_csv(spec, renames=UNSEEN_RENAMES)


def upload(data: bytes, name: str = "may.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def zip_bomb_xlsx() -> bytes:
    """A .xlsx whose sheet part compresses ~1000x (refused at intake as a zip bomb)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types><Override ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b"0" * (8 * 1024 * 1024) + b"</a>")
    return out.getvalue()


XXE_XML = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b"<ISTVSubmission><SubmissionHeader><SiteCode>&x;</SiteCode></SubmissionHeader>"
    b"</ISTVSubmission>\n"
)


def use_private_storage(settings: Any, root: Path) -> Path:
    """Originals and quarantine under ``root`` (a test's tmp_path)."""
    settings.PRIVATE_STORAGE_ROOT = root / "private"
    settings.QUARANTINE_STORAGE_ROOT = root / "quarantine"
    return root


def confirm_test_layout(site: HospitalSite) -> HospitalSite:
    """Give ``site`` a confirmed mapping for the test CSV layout."""
    MappingProfile.objects.create(
        site=site,
        columns=PROFILE_COLUMNS,
        source_columns=list(PROFILE_COLUMNS),
        detected_format="csv",
        confirmed_at=timezone.now(),
    )
    return site
