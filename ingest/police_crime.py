"""Import police-recorded crime from data.police.uk's monthly street-level CSV.

The published columns are ``Crime ID, Month, Reported by, Falls within, Longitude,
Latitude, Location, LSOA code, LSOA name, Crime type, Last outcome category, Context``.
Only two series are kept, as counts by LSOA and month
(``incidents.models.PoliceRecordedCount``): "Violence and sexual offences" (``violence``)
and "Robbery" (``robbery``). Nothing else in a row is stored.

Idempotent per force ("Reported by") and month: every force and month a file holds is
replaced as a whole, so importing the same file twice, or a corrected one, leaves one
copy. Rows are never fatal: a malformed row (no month, no force, a month that is not
YYYY-MM) is reported with its row number and reason; a row with no LSOA is counted as
"no LSOA"; an LSOA outside London (not in the gazetteer's LSOAs) as "outside London".
The import is audited with counts only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any, cast

from django.db import transaction
from django.db.models import Count

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import User
from incidents.geocoding.models import Area, Postcode
from incidents.models import PoliceRecordedCount

COLUMNS = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)
SERIES_BY_CRIME_TYPE = {
    "Violence and sexual offences": PoliceRecordedCount.Series.VIOLENCE,
    "Robbery": PoliceRecordedCount.Series.ROBBERY,
}
REQUIRED = ("Month", "Reported by", "LSOA code", "Crime type")
# Reported row numbers are capped: a file of bad rows says how many, not all of them.
MAX_REPORTED_ROWS = 50


class PoliceCrimeFileError(ValueError):
    """A file that is not in the street-level format at all (no header we recognise)."""


@dataclass
class ImportReport:
    """What an import did, in counts (no row content: rows are never echoed back)."""

    files: int = 0
    rows: int = 0
    kept: Counter[str] = field(default_factory=Counter)
    other_categories: int = 0
    no_lsoa: int = 0
    outside_london: int = 0
    malformed: int = 0
    malformed_rows: list[tuple[str, int, str]] = field(default_factory=list)
    force_months: list[tuple[str, str]] = field(default_factory=list)
    stored: int = 0

    def add_malformed(self, name: str, row: int, reason: str) -> None:
        self.malformed += 1
        if len(self.malformed_rows) < MAX_REPORTED_ROWS:
            self.malformed_rows.append((name, row, reason))

    def summary(self) -> dict[str, Any]:
        """The audit record's details and the command's and page's figures."""
        return {
            "files": self.files,
            "rows": self.rows,
            "violence": self.kept[PoliceRecordedCount.Series.VIOLENCE],
            "robbery": self.kept[PoliceRecordedCount.Series.ROBBERY],
            "other_categories": self.other_categories,
            "no_lsoa": self.no_lsoa,
            "outside_london": self.outside_london,
            "malformed": self.malformed,
            "force_months": len(self.force_months),
            "stored_counts": self.stored,
        }


def london_lsoas() -> dict[str, tuple[str, str]]:
    """LSOA code → (ward code, borough code) for every London LSOA in the gazetteer. The
    ward is the one most of the LSOA's postcodes fall in (LSOAs are not nested in wards)."""
    boroughs = dict(Area.objects.filter(kind=Area.Kind.LSOA).values_list("code", "parent_code"))
    wards: dict[str, tuple[str, int]] = {}
    rows = (
        Postcode.objects.exclude(lsoa_code="")
        .exclude(ward_code="")
        .values("lsoa_code", "ward_code")
        .annotate(n=Count("id"))
    )
    for row in rows:
        best = wards.get(row["lsoa_code"])
        if best is None or (row["n"], row["ward_code"]) > (best[1], best[0]):
            wards[row["lsoa_code"]] = (row["ward_code"], row["n"])
    return {code: (wards.get(code, ("", 0))[0], borough) for code, borough in boroughs.items()}


def _month(value: str) -> dt.date | None:
    year, _, month = value.strip().partition("-")
    if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        return None
    try:
        return dt.date(int(year), int(month), 1)
    except ValueError:
        return None


def _read(
    name: str,
    handle: IO[str],
    report: ImportReport,
    lsoas: dict[str, tuple[str, str]],
    counts: Counter[tuple[str, dt.date, str, str]],
    seen: set[tuple[str, dt.date]],
) -> None:
    reader = csv.DictReader(handle)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise PoliceCrimeFileError(
            f"{name}: not a data.police.uk street-level file (missing {', '.join(missing)})."
        )
    reader.fieldnames = header
    report.files += 1
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        report.rows += 1
        if None in row or any(row.get(c) is None for c in REQUIRED):
            report.add_malformed(name, number, "wrong number of columns")
            continue
        month = _month(row["Month"])
        force = row["Reported by"].strip()
        if month is None:
            report.add_malformed(name, number, "Month is not YYYY-MM")
            continue
        if not force:
            report.add_malformed(name, number, "no Reported by")
            continue
        seen.add((force, month))
        series = SERIES_BY_CRIME_TYPE.get(row["Crime type"].strip())
        if series is None:
            report.other_categories += 1
            continue
        lsoa = row["LSOA code"].strip()
        if not lsoa:
            report.no_lsoa += 1
            continue
        if lsoa not in lsoas:
            report.outside_london += 1
            continue
        report.kept[series] += 1
        counts[(force, month, series, lsoa)] += 1


def _text(handle: IO[str] | IO[bytes]) -> IO[str]:
    """A text view of an uploaded (binary) or opened (text) file."""
    if isinstance(handle, io.TextIOBase):
        return cast(IO[str], handle)
    return io.TextIOWrapper(cast(IO[bytes], handle), encoding="utf-8-sig", newline="")


def import_police_crime(
    files: Iterable[tuple[str, IO[str] | IO[bytes]]],
    *,
    actor: User | None = None,
    request: Any = None,
) -> ImportReport:
    """Read every file, then replace the force-months they hold, in one transaction.

    ``files`` are ``(name, handle)`` pairs; byte handles are read as UTF-8 (with or
    without a byte-order mark). Raises :class:`PoliceCrimeFileError` only for a file
    with no recognisable header; row problems are in the report.
    """
    report = ImportReport()
    lsoas = london_lsoas()
    counts: Counter[tuple[str, dt.date, str, str]] = Counter()
    seen: set[tuple[str, dt.date]] = set()
    for name, handle in files:
        text = _text(handle)
        _read(name, text, report, lsoas, counts, seen)
    report.force_months = sorted((force, f"{month:%Y-%m}") for force, month in seen)
    with transaction.atomic():
        for force, month in sorted(seen):
            PoliceRecordedCount.objects.filter(force=force, month=month).delete()
        PoliceRecordedCount.objects.bulk_create(
            PoliceRecordedCount(
                force=force,
                month=month,
                series=series,
                lsoa_code=lsoa,
                ward_code=lsoas[lsoa][0],
                borough_code=lsoas[lsoa][1],
                count=n,
            )
            for (force, month, series, lsoa), n in sorted(counts.items())
        )
        report.stored = len(counts)
        audit_record(
            action=Action.POLICE_CRIME_IMPORTED,
            actor=actor,
            object_type="incidents.policerecordedcount",
            details=report.summary(),
            request=request,
        )
    return report


def street_level_csv(rows: Iterable[dict[str, str]]) -> str:
    """A file in the street-level format from partial rows (missing columns empty): for
    the synthetic demo sample and tests, so nothing is ever downloaded."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return out.getvalue()
