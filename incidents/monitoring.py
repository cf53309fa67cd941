"""The monthly monitoring report for MOPAC and the VRU, generated after each release.

A report is a standalone HTML page plus one CSV per table, all computed from exactly the
submissions of one release (so it can be reproduced) and all with disclosure control
(the data standard's disclosure rules): these outputs are marked aggregate whoever reads them.

Reports are archived as files under ``PRIVATE_STORAGE_ROOT / "monitoring" / <release>``,
with ``index.json`` listing them (release, label, when, files and their SHA-256). They
are never served by URL from storage; the workspace streams them to entitled users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypedDict

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.access import user_role_kinds
from accounts.geography import LONDON_BOROUGHS
from accounts.models import User
from accounts.roles import reads_monitoring_reports
from incidents.aggregates import (
    DIMENSIONS,
    GEO_CLASSES,
    NOT_LOCATED,
    GridScope,
    aggregate_counts,
)
from incidents.disclosure import Published
from incidents.exports import EXPORT_FORMATS, FieldSpec
from incidents.models import Release
from incidents.selectors import monitoring_incidents
from incidents.workspace.labels import code_labels
from istv_portal.periods import add_months


@dataclass(frozen=True)
class TableSpec:
    slug: str
    title: str
    group_by: tuple[str, ...]
    months: int  # how many months up to the release's latest month


TABLES: tuple[TableSpec, ...] = (
    TableSpec("incidents_by_month", "Incidents per month, London", ("month",), 24),
    TableSpec("incidents_by_borough", "Incidents by borough, last 12 months", ("borough",), 12),
    TableSpec(
        "incidents_by_borough_and_month",
        "Incidents by borough and month, last 12 months",
        ("borough", "month"),
        12,
    ),
    TableSpec(
        "incidents_by_method", "Incidents by assault method, last 12 months", ("method",), 12
    ),
    TableSpec(
        "incidents_by_location_type",
        "Incidents by location type, last 12 months",
        ("location_type",),
        12,
    ),
    TableSpec(
        "incidents_by_location_class",
        "Incidents by location class (place, home, not located), last 12 months",
        ("geo_class",),
        12,
    ),
)


class MonitoringTable(TypedDict):
    """One table of the report (``build_tables``), drawn in the HTML and written as CSV."""

    spec: TableSpec
    # The group-by codes, their ``<dimension>_name`` labels and ``count``.
    rows: list[dict[str, Any]]
    total: Published
    note: str | None
    columns: list[str]  # the rows' keys, in CSV column order


@dataclass
class ArchivedReport:
    release: int
    label: str
    generated_at: str
    files: dict[str, str]  # file name -> SHA-256


def archive_root() -> Path:
    return Path(settings.PRIVATE_STORAGE_ROOT) / "monitoring"


def _label(dimension: str, value: Any, labels: dict[str, dict[str, str]]) -> str:
    if value is None:
        return "Not recorded"
    if value == NOT_LOCATED:
        return "Not located"
    if dimension == "geo_class":
        return str(GEO_CLASSES.get(value, value))
    if dimension == "borough":
        return str(LONDON_BOROUGHS.get(value, value))
    if dimension in ("method", "location_type"):
        return str(labels.get(dimension, {}).get(value, value))
    return str(value)


def build_tables(release: Release) -> list[MonitoringTable]:
    """The report's tables, each protected, with rows ready for HTML and CSV."""
    base = monitoring_incidents(release)
    latest = base.order_by("-assault_month").values_list("assault_month", flat=True).first()
    labels = code_labels()
    tables: list[MonitoringTable] = []
    for spec in TABLES:
        queryset = base
        window: dict[str, Any] = {}
        if latest is not None:
            first = add_months(latest, 1 - spec.months)
            queryset = base.filter(assault_month__gte=first)
            last = add_months(latest, 1) - dt.timedelta(days=1)
            window = {"assault_date_from": first, "assault_date_to": last}
        # A published table, London-wide: the full grid of its months, never refused.
        result = aggregate_counts(
            queryset,
            list(spec.group_by),
            protect=True,
            scope=GridScope(filters=window),
            refuse_sparse=False,
        )
        rows = [
            {
                **{d: r[d] for d in spec.group_by},
                **{
                    f"{d}_name": _label(d, r[d], labels)
                    for d in spec.group_by
                    if d in ("borough", "method", "location_type", "geo_class")
                },
                "count": r["count"],
            }
            for r in result.results
        ]
        tables.append(
            {
                "spec": spec,
                "rows": rows,
                "total": result.total,
                "note": result.note,
                "columns": [
                    *spec.group_by,
                    *(
                        f"{d}_name"
                        for d in spec.group_by
                        if d in ("borough", "method", "location_type", "geo_class")
                    ),
                    "count",
                ],
            }
        )
    return tables


def _csv_bytes(table: MonitoringTable) -> bytes:
    fields = [
        FieldSpec(
            name,
            name.replace("_", " ").capitalize(),
            DIMENSIONS[name].label if name in DIMENSIONS else "Name of the code to its left",
            "code",
        )
        for name in table["columns"]
        if name != "count"
    ] + [
        FieldSpec(
            "count", "Count", 'Incidents; "*" where suppressed by disclosure control.', "integer"
        )
    ]
    stream = EXPORT_FORMATS["csv"](iter(table["rows"]), fields)
    return b"".join(stream)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(data)
        temp = Path(handle.name)
    temp.replace(path)


def read_index() -> list[ArchivedReport]:
    path = archive_root() / "index.json"
    if not path.exists():
        return []
    return [ArchivedReport(**item) for item in json.loads(path.read_text(encoding="utf-8"))]


def monitoring_report_generate(
    *, release: Release, now: dt.datetime | None = None
) -> ArchivedReport:
    """Write (or rewrite) the report of ``release`` and record it in the index. Idempotent."""
    generated_at = now or timezone.now()
    tables = build_tables(release)
    folder = archive_root() / f"release-{release.number}"
    files: dict[str, str] = {}
    for table in tables:
        data = _csv_bytes(table)
        name = f"{table['spec'].slug}.csv"
        _write_atomic(folder / name, data)
        files[name] = hashlib.sha256(data).hexdigest()
    html = render_to_string(
        "incidents/monitoring_report.html",
        {"release": release, "tables": tables, "generated_at": generated_at, "files": files},
    ).encode()
    _write_atomic(folder / "report.html", html)
    files["report.html"] = hashlib.sha256(html).hexdigest()
    entry = ArchivedReport(release.number, release.label, generated_at.isoformat(), files)
    index = [e for e in read_index() if e.release != release.number] + [entry]
    index.sort(key=lambda e: -e.release)
    _write_atomic(
        archive_root() / "index.json",
        json.dumps([asdict(e) for e in index], indent=2).encode(),
    )
    return entry


def monitoring_reports_missing() -> list[int]:
    """Release ids that have no archived report yet (the scheduled task fills them in)."""
    done = {e.release for e in read_index()}
    return [pk for pk, number in Release.objects.values_list("pk", "number") if number not in done]


def can_read_reports(user: User) -> bool:
    """Who reads the reports is a role rule (``accounts.roles``), shared with the
    navigation so the link never leads to a 404."""
    if not user.is_authenticated:
        return False
    return reads_monitoring_reports(user_role_kinds(user))


def report_file(release_number: int, name: str) -> Path | None:
    """The archived file, if it is listed in the index (never a path from the request)."""
    for entry in read_index():
        if entry.release == release_number and name in entry.files:
            return archive_root() / f"release-{release_number}" / name
    return None
