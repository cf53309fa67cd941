"""Loading gazetteer files into the database, fast and idempotently.

Each file is recognised by its name and header (see ``LAYOUTS``); rows go in with
PostgreSQL COPY through psycopg's ``cursor.copy``. Re-loading a file replaces what that
file loaded before (places are keyed by their source; postcodes and areas are upserted),
so running the command twice gives the same tables.

Every load records the folder's version (``GazetteerVersion``): its ``VERSION`` label and
a digest over the SHA-256 of each file it loads. ``gazetteer_load_if_changed`` skips a
folder whose digest is the one already loaded. A folder with a ``SHA256SUMS`` manifest
(the shipped ``data/gazetteer``) is checked against it before anything is loaded.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import shapely
from django.conf import settings
from django.db import connection, transaction
from pyproj import Transformer

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from incidents.geocoding.models import GazetteerVersion
from incidents.geocoding.normalise import name_key
from incidents.geocoding.postcodes import normalise_postcode

# The London gazetteer shipped with the project (data/gazetteer/README.md: sources,
# licences, refreshing); the GAZETTEER_DIR setting defaults to it.
SHIPPED_DIR = Path(settings.BASE_DIR) / "data" / "gazetteer"
VERSION_FILE = "VERSION"
MANIFEST_FILE = "SHA256SUMS"
_LOAD_LOCK = 0x15_7A_6A_2E  # pg_advisory_xact_lock key: one gazetteer load at a time

_BNG_TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
# OS Open Names CSVs ship without a header; this is the documented column order.
OPEN_NAMES_COLUMNS = [
    "ID",
    "NAMES_URI",
    "NAME1",
    "NAME1_LANG",
    "NAME2",
    "NAME2_LANG",
    "TYPE",
    "LOCAL_TYPE",
    "GEOMETRY_X",
    "GEOMETRY_Y",
    "MOST_DETAIL_VIEW_RES",
    "LEAST_DETAIL_VIEW_RES",
    "MBR_XMIN",
    "MBR_YMIN",
    "MBR_XMAX",
    "MBR_YMAX",
    "POSTCODE_DISTRICT",
    "POSTCODE_DISTRICT_URI",
    "POPULATED_PLACE",
    "POPULATED_PLACE_URI",
    "POPULATED_PLACE_TYPE",
    "DISTRICT_BOROUGH",
    "DISTRICT_BOROUGH_URI",
    "DISTRICT_BOROUGH_TYPE",
    "COUNTY_UNITARY",
    "COUNTY_UNITARY_URI",
    "COUNTY_UNITARY_TYPE",
    "REGION",
    "REGION_URI",
    "COUNTRY",
    "COUNTRY_URI",
    "RELATED_SPATIAL_OBJECT",
    "SAME_AS_DBPEDIA",
    "SAME_AS_GEONAMES",
]
OPEN_NAMES_KINDS = {
    "Named Road": "street",
    "Railway Station": "station",
    "Bus Station": "station",
    "Suburban Area": "locality",
    "Village": "locality",
    "Town": "locality",
    "City": "locality",
    "Hamlet": "locality",
    "Other Settlement": "locality",
}


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    file_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, kind: str, n: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n


def _open_text(path: Path) -> TextIO:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _header(path: Path) -> list[str]:
    with _open_text(path) as fh:
        return next(csv.reader(fh), [])


def _rows(path: Path, fieldnames: list[str] | None = None) -> Iterator[dict[str, str]]:
    with _open_text(path) as fh:
        yield from csv.DictReader(fh, fieldnames=fieldnames)


def _copy(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Stream rows into ``table`` with COPY on Django's own connection (same transaction)."""
    connection.ensure_connection()
    n = 0
    with (
        connection.connection.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


# --- postcodes -------------------------------------------------------------------------


def _load_postcode_rows(rows: Iterable[tuple[Any, ...]]) -> int:
    """COPY into a temporary table, then upsert: idempotent and merges several files."""
    cols = [
        "postcode",
        "lat",
        "lon",
        "easting",
        "northing",
        "lsoa_code",
        "ward_code",
        "borough_code",
        "is_live",
        "positional_quality",
    ]
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _pc_stage "
            "(LIKE geocoding_postcode INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        cur.execute("TRUNCATE _pc_stage")
        cur.execute("ALTER TABLE _pc_stage ALTER COLUMN id DROP NOT NULL")
    n = _copy("_pc_stage", cols, rows)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols[1:])
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO geocoding_postcode ({', '.join(cols)}) "  # noqa: S608 - fixed names
            f"SELECT DISTINCT ON (postcode) {', '.join(cols)} FROM _pc_stage "
            f"ON CONFLICT (postcode) DO UPDATE SET {updates} "
            # A re-load of an unchanged file writes nothing (no dead tuples, no WAL).
            f"WHERE ({', '.join(f'geocoding_postcode.{c}' for c in cols[1:])}) "
            f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in cols[1:])})"
        )
        cur.execute("DROP TABLE _pc_stage")
    return n


def _int_or_none(value: str) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def load_codepoint(path: Path) -> int:
    """Code-Point Open style (this project's London extract, WGS84 columns added)."""

    def rows() -> Iterator[tuple[Any, ...]]:
        for r in _rows(path):
            yield (
                normalise_postcode(r["postcode"]),
                float(r["lat"]),
                float(r["lon"]),
                _int_or_none(r.get("easting", "")),
                _int_or_none(r.get("northing", "")),
                r.get("lsoa21cd_derived", ""),
                r.get("ward_code", ""),
                r.get("lad_code", ""),
                True,
                _int_or_none(r.get("positional_quality", "")),
            )

    return _load_postcode_rows(rows())


def load_onspd(path: Path, *, region: str = "E12000007") -> int:
    """ONS Postcode Directory (ONSPD/NSPL layout): official LSOA, ward and terminations.

    Only rows in ``region`` (London by default) with a grid reference are kept.
    """

    def rows() -> Iterator[tuple[Any, ...]]:
        for r in _rows(path):
            if region and r.get("rgn") != region:
                continue
            lat, lon = r.get("lat", ""), r.get("long", "")
            if not lat or not lon or float(lat) > 90:  # 99.999999 = no grid reference
                continue
            lsoa = r.get("lsoa21") or r.get("lsoa21cd") or r.get("lsoa11", "")
            yield (
                normalise_postcode(r["pcds"]),
                float(lat),
                float(lon),
                _int_or_none(r.get("oseast1m", "")),
                _int_or_none(r.get("osnrth1m", "")),
                lsoa,
                r.get("osward", ""),
                r.get("oslaua", ""),
                not r.get("doterm"),
                _int_or_none(r.get("osgrdind", "")),
            )

    return _load_postcode_rows(rows())


# --- areas -----------------------------------------------------------------------------

_AREA_KEYS = (
    ("lsoa", re.compile(r"^LSOA\d\dCD$"), re.compile(r"^LSOA\d\dNM$"), re.compile(r"^LAD\d\dCD$")),
    ("ward", re.compile(r"^WD\d\dCD$"), re.compile(r"^WD\d\dNM$"), re.compile(r"^LAD\d\dCD$")),
    ("borough", re.compile(r"^LAD\d\dCD$"), re.compile(r"^LAD\d\dNM$"), None),
)


def area_kind(properties: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """(kind, code key, name key, parent key) for a boundary feature's properties."""
    for kind, code_re, name_re, parent_re in _AREA_KEYS:
        code = next((k for k in properties if code_re.match(k)), None)
        if code:
            name = next((k for k in properties if name_re.match(k)), code)
            parent = next((k for k in properties if parent_re and parent_re.match(k)), "")
            return kind, code, name, parent
    return None


def load_boundaries(path: Path) -> tuple[str, int]:
    with _open_text(path) as fh:
        data = json.load(fh)
    features = data.get("features", [])
    if not features:
        return "", 0
    keys = area_kind(features[0]["properties"])
    if keys is None:
        return "", 0
    kind, code_key, name_key_, parent_key = keys
    geoms = [json.dumps(f["geometry"], separators=(",", ":")) for f in features]
    points = shapely.point_on_surface(shapely.from_geojson(geoms))
    with connection.cursor() as cur:
        cur.execute("DELETE FROM geocoding_area WHERE kind = %s", [kind])
    rows = (
        (
            kind,
            f["properties"][code_key],
            f["properties"].get(name_key_, ""),
            f["properties"].get(parent_key, "") if parent_key else "",
            geom,
            shapely.get_y(pt),
            shapely.get_x(pt),
        )
        for f, geom, pt in zip(features, geoms, points, strict=True)
    )
    n = _copy(
        "geocoding_area",
        ["kind", "code", "name", "parent_code", "geometry", "centroid_lat", "centroid_lon"],
        rows,
    )
    return kind, n


# --- named places ------------------------------------------------------------------------

PlaceRow = tuple[str, str, float, float, str, str, int]  # kind, name, lat, lon, boro, ref, weight


def _load_places(source: str, rows: Iterable[PlaceRow]) -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM geocoding_place WHERE source = %s", [source])
    counts: dict[str, int] = {}

    def with_keys() -> Iterator[tuple[Any, ...]]:
        for kind, name, lat, lon, boro, ref, weight in rows:
            counts[kind] = counts.get(kind, 0) + 1
            yield kind, name, name_key(name), lat, lon, boro, source, ref, weight

    _copy(
        "geocoding_place",
        [
            "kind",
            "name",
            "name_key",
            "lat",
            "lon",
            "borough_code",
            "source",
            "source_ref",
            "weight",
        ],
        with_keys(),
    )
    return counts


def _place_file(
    kind: str, name_col: str, ref_col: str, weight_col: str = ""
) -> Callable[[Path], Iterator[PlaceRow]]:
    def read(path: Path) -> Iterator[PlaceRow]:
        for r in _rows(path):
            if not r.get(name_col) or not r.get("lat"):
                continue
            weight = _int_or_none(r.get(weight_col, "")) or 0 if weight_col else 0
            yield (
                kind,
                r[name_col].strip(),
                float(r["lat"]),
                float(r["lon"]),
                r.get("lad_code_pip") or r.get("lad_code", ""),
                r.get(ref_col, ""),
                weight,
            )

    return read


def _snap_points(path: Path) -> Iterator[PlaceRow]:
    for r in _rows(path):
        if r["kind"] == "street" and r["location"]:
            kind = "street_point"
        elif r["kind"] == "poi_type":
            kind = "poi"
        else:
            continue
        name = r["location"].replace("'S ", "'s ")
        yield (
            kind,
            name,
            float(r["lat"]),
            float(r["lon"]),
            r.get("lad_code_pip", ""),
            r.get("lsoa_code", ""),
            _int_or_none(r.get("n_burglaries", "")) or 0,
        )


def _uec_sites(path: Path) -> Iterator[PlaceRow]:
    for r in _rows(path):
        yield (
            "hospital",
            r["site"],
            float(r["lat"]),
            float(r["lon"]),
            r.get("lad_code_pip", ""),
            r["site_code"],
            10,
        )


def _open_names(path: Path) -> Iterator[PlaceRow]:
    header = _header(path)
    fieldnames = None if "NAME1" in header else OPEN_NAMES_COLUMNS
    for r in _rows(path, fieldnames):
        kind = OPEN_NAMES_KINDS.get(r.get("LOCAL_TYPE", ""))
        if kind is None:
            continue
        lon, lat = _BNG_TO_WGS84.transform(float(r["GEOMETRY_X"]), float(r["GEOMETRY_Y"]))
        yield (kind, r["NAME1"], round(lat, 6), round(lon, 6), "", r["ID"], 0)


def load_hospital_points(path: Path) -> int:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM geocoding_hospitalpoint")
    seen: set[str] = set()

    def rows() -> Iterator[tuple[Any, ...]]:
        for r in _rows(path):
            if r["site_code"] in seen:
                continue
            seen.add(r["site_code"])
            yield (
                r["site_code"],
                r["site"],
                float(r["lat"]),
                float(r["lon"]),
                r.get("lad_code_pip", ""),
            )

    return _copy(
        "geocoding_hospitalpoint", ["site_code", "name", "lat", "lon", "borough_code"], rows()
    )


# --- recognition -----------------------------------------------------------------------

PLACE_LAYOUTS: list[tuple[str, set[str], Callable[[Path], Iterator[PlaceRow]]]] = [
    ("tfl_stations", {"id", "ics_code", "name", "lines"}, _place_file("station", "name", "id")),
    ("national_rail", {"naptan_id", "name", "lat"}, _place_file("station", "name", "naptan_id")),
    (
        "tfl_bus_stops",
        {"Stop_Name", "Naptan_Atco", "lat"},
        _place_file("bus_stop", "Stop_Name", "Naptan_Atco"),
    ),
    ("uec_sites", {"site_code", "site", "lat"}, _uec_sites),
    (
        "nhs_hospitals",
        {"OrganisationName", "OrganisationCode", "lat"},
        _place_file("hospital", "OrganisationName", "OrganisationCode"),
    ),
    ("police_snap_points", {"location", "kind", "n_burglaries"}, _snap_points),
    (
        "police_streets",
        {"name", "name_key", "lad_code", "n_points"},
        _place_file("street", "name", "lad_code", "n_burglaries"),
    ),
    ("osm_pubs", {"name", "osm_node_id", "lat"}, _place_file("pub", "name", "osm_node_id")),
    ("os_open_names", {"NAME1", "LOCAL_TYPE", "GEOMETRY_X"}, _open_names),
]


def _is_open_names_headerless(header: list[str]) -> bool:
    return len(header) == len(OPEN_NAMES_COLUMNS) and header[0].startswith("osgb")


def recognise(path: Path) -> str | None:
    """The layout name of a file, or None when it is not a gazetteer file we load."""
    name = path.name.lower()
    if name.endswith((".geojson", ".geojson.gz", ".json.gz")) or (
        name.endswith(".json") and "boundar" in name
    ):
        return "boundaries"
    if not name.endswith((".csv", ".csv.gz")):
        return None
    header = _header(path)
    cols = set(header)
    if {"postcode", "lat", "lon", "lad_code"} <= cols:
        return "codepoint"
    if {"pcds", "lat", "long"} <= cols:
        return "onspd"
    if _is_open_names_headerless(header):
        return "os_open_names"
    for layout, required, _ in PLACE_LAYOUTS:
        if required <= cols:
            return layout
    return None


# --- versions ----------------------------------------------------------------------------


class GazetteerFolderError(ValueError):
    """The folder does not match its ``SHA256SUMS`` manifest."""


@dataclass(frozen=True)
class FolderVersion:
    """What a gazetteer folder holds: its label and a digest over the files it loads."""

    label: str
    digest: str
    files: dict[str, str]  # file name -> SHA-256, for every file the loader recognises


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: Path) -> dict[str, str]:
    """File name -> SHA-256 from a ``sha256sum``-style manifest (``HEX  NAME`` lines)."""
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](\S.*)", line.strip())
        if not match:
            raise GazetteerFolderError(f"{path.name} line {number} is not 'SHA256  NAME'.")
        entries[match.group(2)] = match.group(1)
    return entries


def folder_version(directory: Path) -> FolderVersion:
    """The version of a gazetteer folder, checked against its manifest when it has one.

    The digest is the SHA-256 of the sorted ``SHA256  NAME`` lines of the files the
    loader recognises, so it changes exactly when what a load would read changes (not
    for a README). The label is the first line of ``VERSION`` (``unversioned`` without
    one). With a ``SHA256SUMS`` manifest, every file it lists must be present with that
    hash and every recognised file must be listed: a half-finished refresh stops here.
    """
    files = {
        path.name: _sha256(path)
        for path in sorted(p for p in directory.iterdir() if p.is_file())
        if recognise(path) is not None
    }
    manifest_path = directory / MANIFEST_FILE
    if manifest_path.is_file():
        problems = []
        listed = read_manifest(manifest_path)
        for name, expected in sorted(listed.items()):
            path = directory / name
            if not path.is_file():
                problems.append(f"{name} is listed but missing")
            elif files.get(name, "") != expected and _sha256(path) != expected:
                problems.append(f"{name} does not match its SHA-256")
        problems += [f"{name} is not listed" for name in sorted(set(files) - set(listed))]
        if problems:
            raise GazetteerFolderError(
                f"{directory} does not match {MANIFEST_FILE}: " + "; ".join(problems)
            )
    version_path = directory / VERSION_FILE
    label = ""
    if version_path.is_file():
        label = next(iter(version_path.read_text(encoding="utf-8").split()), "")
    lines = "".join(f"{sha}  {name}\n" for name, sha in sorted(files.items()))
    return FolderVersion(
        label=label[:100] or "unversioned",
        digest=hashlib.sha256(lines.encode("utf-8")).hexdigest(),
        files=files,
    )


def loaded_version() -> GazetteerVersion | None:
    """The version in the gazetteer tables now (the newest load), if any."""
    return GazetteerVersion.objects.order_by("-loaded_at", "-id").first()


@dataclass
class LoadOutcome:
    version: FolderVersion
    report: LoadReport | None  # None: skipped, this version was already loaded
    previous: GazetteerVersion | None


@transaction.atomic
def gazetteer_load_if_changed(
    *, directory: Path, force: bool = False, actor: Any = None
) -> LoadOutcome:
    """Load ``directory`` unless its version is the one already loaded (or ``force``).

    Concurrent calls queue on an advisory lock, so two processes starting at once load
    the folder once and the second one skips.
    """
    version = folder_version(directory)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOAD_LOCK])
    previous = loaded_version()
    if previous is not None and previous.digest == version.digest and not force:
        return LoadOutcome(version, None, previous)
    report = gazetteer_load(directory=directory, actor=actor, version=version)
    return LoadOutcome(version, report, previous)


@transaction.atomic
def gazetteer_load(
    *, directory: Path, actor: Any = None, version: FolderVersion | None = None
) -> LoadReport:
    """Load every recognised file in ``directory``; audit one ``gazetteer.loaded`` event
    and record the folder's version (``GazetteerVersion``) in the same transaction."""
    started = time.perf_counter()
    version = version or folder_version(directory)
    report = LoadReport()
    readers = {layout: reader for layout, _, reader in PLACE_LAYOUTS}
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        file_started = time.perf_counter()
        layout = recognise(path)
        if layout is None:
            report.skipped.append(path.name)
            continue
        if layout == "boundaries":
            kind, n = load_boundaries(path)
            if not kind:
                report.skipped.append(path.name)
                continue
            report.add(f"area:{kind}", n)
        elif layout == "codepoint":
            report.add("postcode", load_codepoint(path))
        elif layout == "onspd":
            report.add("postcode", load_onspd(path))
        else:
            for kind, n in _load_places(layout, readers[layout](path)).items():
                report.add(kind, n)
            if layout == "uec_sites":
                report.add("hospital_point", load_hospital_points(path))
        report.files.append(path.name)
        report.file_seconds[path.name] = round(time.perf_counter() - file_started, 2)
    with connection.cursor() as cur:
        cur.execute("ANALYZE geocoding_postcode; ANALYZE geocoding_place; ANALYZE geocoding_area")
    report.seconds = round(time.perf_counter() - started, 2)
    GazetteerVersion.objects.create(
        label=version.label,
        digest=version.digest,
        files=version.files,
        counts=report.counts,
        seconds=report.seconds,
    )
    audit_record(
        action=Action.GAZETTEER_LOADED,
        actor=actor,
        object_type="geocoding.gazetteer",
        details={
            "counts": report.counts,
            "files": report.files,
            "seconds": report.seconds,
            "version": version.label,
            "digest": version.digest,
        },
    )
    return report
