"""Realistic synthetic ISTV submissions for demos, tests and benchmarks.

One file per hospital per month, in the layouts London trusts actually send (several
column-naming styles; CSV in UTF-8, UTF-8 with BOM and Windows-1252; Excel "Unicode text"
TSV in UTF-16; XLSX with title rows; ISTV XML; an ECDS-shaped extract). Location text is
drawn from the open London data near each hospital (stations, bus stops, streets, pubs,
postcodes) with the messiness of real ED free text. Volumes follow weekly, daily and
seasonal patterns. Nothing resembles real personal data unless ``with_pii`` is set, and
then only obviously fake values (NHS numbers in the 999 test range, Ofcom drama phone
numbers, example.com addresses) for testing the guard.

Deterministic: the same seed gives the same rows (each file has its own seeded stream,
so files do not depend on generation order).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook

from incidents import codes
from incidents.codes import LocationType as L
from incidents.codes import Method as M
from ingest.pipeline.parsers.xml_istv import DEFAULT_LAYOUT
from ingest.pipeline.pii import nhs_number_valid
from ingest.pipeline.sites import TYPE1_SITES, Site
from ingest.pipeline.template import ISTV_TEMPLATE
from ingest.pipeline.types import Field
from istv_portal.periods import Period

LONDON_MONTHLY_RECORDS = 2200  # London's EDs see roughly 1,500-3,000 a month
_GRID = 0.02  # degrees; ~2 km cells for the nearby-places index

METHOD_SHARES: dict[str, float] = {
    M.BODY_PART: 0.50,
    M.KNIFE_SHARP: 0.12,
    M.BLUNT_OBJECT: 0.09,
    M.GLASS_BOTTLE: 0.06,
    M.FIREARM: 0.01,
    M.CORROSIVE: 0.01,
    M.OTHER: 0.05,
    M.NOT_KNOWN: 0.16,
}
LOCATION_SHARES: dict[str, float] = {
    L.STREET: 0.36,
    L.DWELLING: 0.22,
    L.LICENSED_PREMISES: 0.10,
    L.PUBLIC_TRANSPORT: 0.07,
    L.COMMERCIAL: 0.06,
    L.PARK: 0.04,
    L.WORKPLACE: 0.03,
    L.SCHOOL: 0.02,
    L.HEALTHCARE_CUSTODY: 0.02,
    L.OTHER: 0.02,
    L.NOT_KNOWN: 0.06,
}
WEEKDAY_WEIGHT = (0.8, 0.78, 0.82, 0.9, 1.2, 1.55, 1.35)
HOUR_WEIGHT = (
    6,
    5,
    4,
    3,
    2,
    1.2,
    1,
    1,
    1.2,
    1.5,
    1.8,
    2,
    2.4,
    2.6,
    2.8,
    3,
    3.4,
    3.8,
    4.2,
    4.6,
    5.2,
    6,
    6.6,
    6.8,
)

METHOD_LABELS: dict[str, tuple[str, ...]] = {
    M.BODY_PART: (
        "Fist",
        "Feet",
        "Kicked",
        "Punched",
        "Head butt",
        "Fists/feet",
        "Bite",
        "Body part",
    ),
    M.BLUNT_OBJECT: ("Bat", "Blunt object", "Hammer", "Stick", "Brick", "Metal bar"),
    M.KNIFE_SHARP: ("Knife", "Stabbed", "Sharp object", "Machete", "Blade", "Screwdriver"),
    M.GLASS_BOTTLE: ("Bottle", "Glass", "Glassed", "Glass/bottle"),
    M.FIREARM: ("Firearm", "Gun", "Shot"),
    M.CORROSIVE: ("Acid", "Corrosive substance", "Ammonia", "Spray"),
    M.OTHER: ("Other",),
    M.NOT_KNOWN: ("Not known", "Unknown", "n/k", "U/K"),
}
METHOD_FREE_TEXT: dict[str, tuple[str, ...]] = {
    M.BODY_PART: (
        "punched in face",
        "kicked and punched",
        "assaulted with fists",
        "headbutted",
        "stamped on",
    ),
    M.BLUNT_OBJECT: ("hit with bat", "struck with hammer", "hit with a brick"),
    M.KNIFE_SHARP: ("stabbed", "stabbed x2", "slashed with blade", "knife"),
    M.GLASS_BOTTLE: ("hit with bottle", "glassed in pub", "bottle"),
    M.FIREARM: ("shot", "gunshot wound"),
    M.CORROSIVE: ("acid thrown", "sprayed with ammonia"),
    M.OTHER: ("other",),
    M.NOT_KNOWN: ("unknown", "n/k", "pt unable to say"),
}
OTHER_TEXT = (
    "dog set on pt",
    "pushed down stairs",
    "hit by car door",
    "scooter",
    "thrown object",
    "belt",
)
LOCATION_LABELS: dict[str, tuple[str, ...]] = {
    L.DWELLING: ("Home", "Dwelling", "Private address", "House/flat"),
    L.STREET: ("Street", "Public place", "Street/public place", "Road"),
    L.PARK: ("Park", "Open space"),
    L.LICENSED_PREMISES: ("Pub", "Pub/club", "Licensed premises", "Nightclub", "Bar"),
    L.COMMERCIAL: ("Shop", "Commercial premises", "Restaurant", "Takeaway"),
    L.PUBLIC_TRANSPORT: ("Public transport", "Bus", "Train", "Station", "Tube"),
    L.WORKPLACE: ("Workplace", "Work"),
    L.SCHOOL: ("School", "School/college"),
    L.HEALTHCARE_CUSTODY: ("Hospital", "Custody", "Healthcare"),
    L.OTHER: ("Other",),
    L.NOT_KNOWN: ("Not known", "Unknown", "n/k"),
}


@dataclass(frozen=True, slots=True)
class Layout:
    """A trust's export style."""

    name: str
    kind: str  # csv | tsv | xlsx | xml | ecds
    encoding: str
    delimiter: str
    columns: dict[Field, str]  # ordered: column order in the file
    codes: str  # label | national | free_text | snomed
    date_format: str  # strftime for dates (or "iso" / "datetime")
    combined_arrival: bool = False


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "csv_utf8_istv",
        "csv",
        "utf-8",
        ",",
        {c.field: c.header for c in ISTV_TEMPLATE},  # the template on the upload page
        "label",
        "%d/%m/%Y",
    ),
    Layout(
        "csv_cp1252_trust",
        "csv",
        "cp1252",
        ",",
        {
            Field.ARRIVAL_AT: "Attendance Date/Time",
            Field.ASSAULT_DATE: "Date of Assault",
            Field.ASSAULT_TIME: "Time of Assault",
            Field.METHOD: "Weapon",
            Field.METHOD_OTHER: "Weapon (other)",
            Field.LOCATION_TYPE: "Place of incident",
            Field.LOCATION_DESCRIPTION: "Where did the assault happen",
        },
        "label",
        "%d/%m/%Y",
        combined_arrival=True,
    ),
    Layout(
        "tsv_utf16_national",
        "tsv",
        "utf-16",
        "\t",
        {
            Field.ARRIVAL_DATE: "ARRIVAL_DATE",
            Field.ARRIVAL_TIME: "ARRIVAL_TIME",
            Field.ASSAULT_DATE: "ASSAULT_DATE",
            Field.ASSAULT_TIME: "ASSAULT_TIME",
            Field.METHOD: "ASSAULT_METHOD",
            Field.METHOD_OTHER: "ASSAULT_METHOD_OTHER_DESC",
            Field.LOCATION_TYPE: "ASSAULT_LOCATION_TYPE",
            Field.LOCATION_DESCRIPTION: "ASSAULT_LOCATION_DESC",
        },
        "national",
        "%Y-%m-%d",
    ),
    Layout(
        "xlsx_titled",
        "xlsx",
        "",
        "",
        {
            Field.ARRIVAL_AT: "Arrival Date/Time",
            Field.ASSAULT_DATE: "Date of Assault",
            Field.ASSAULT_TIME: "Time of Assault",
            Field.METHOD: "Method",
            Field.METHOD_OTHER: "Other method",
            Field.LOCATION_TYPE: "Location",
            Field.LOCATION_DESCRIPTION: "Location details",
        },
        "label",
        "%d/%m/%Y",
        combined_arrival=True,
    ),
    Layout(
        "istv_xml",
        "xml",
        "utf-8",
        "",
        dict(DEFAULT_LAYOUT.fields),
        "national",
        "iso",
        combined_arrival=True,
    ),
    Layout(
        "ecds_extract",
        "ecds",
        "utf-8-sig",
        ",",
        {
            Field.ARRIVAL_DATE: "EC_ARRIVAL_DATE",
            Field.ARRIVAL_TIME: "EC_ARRIVAL_TIME",
            Field.ASSAULT_DATE: "EC_INJURY_DATE",
            Field.ASSAULT_TIME: "EC_INJURY_TIME",
            Field.INJURY_INTENT: "EC_INJURY_INTENT_SNOMED_CT",
            Field.METHOD: "EC_INJURY_MECHANISM_SNOMED_CT",
            Field.LOCATION_TYPE: "EC_PLACE_OF_INJURY_SNOMED_CT",
            Field.LOCATION_DESCRIPTION: "ASSAULT_LOCATION_DESCRIPTION",
        },
        "snomed",
        "%Y-%m-%d",
    ),
    Layout(
        "csv_semicolon_freetext",
        "csv",
        "utf-8-sig",
        ";",
        {
            Field.ARRIVAL_AT: "Arrival Date/Time",
            Field.ASSAULT_DATE: "Incident Date",
            Field.ASSAULT_TIME: "Incident Time",
            Field.METHOD: "Assault Method",
            Field.METHOD_OTHER: "Method details",
            Field.LOCATION_TYPE: "Location Type",
            Field.LOCATION_DESCRIPTION: "Location",
        },
        "free_text",
        "%d/%m/%Y",
        combined_arrival=True,
    ),
)


def layout_for(site: Site) -> Layout:
    """Each hospital keeps one layout (as trusts do), spread over all styles."""
    index = [s.code for s in TYPE1_SITES].index(site.code)
    return LAYOUTS[index % len(LAYOUTS)]


# -- nearby places --------------------------------------------------------------------
@dataclass(slots=True)
class Places:
    """Names near each point, from the open London data (grid index)."""

    grid: dict[str, dict[tuple[int, int], list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add(self, kind: str, name: str, lat: float, lon: float) -> None:
        if name:
            self.grid[kind][(int(lat / _GRID), int(lon / _GRID))].append(name)

    def near(self, kind: str, lat: float, lon: float, radius: int = 1) -> list[str]:
        cells = self.grid.get(kind, {})
        ci, cj = int(lat / _GRID), int(lon / _GRID)
        out: list[str] = []
        for di in range(-radius, radius + 1):
            for dj in range(-radius, radius + 1):
                out.extend(cells.get((ci + di, cj + dj), ()))
        return out


def _rows(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


@lru_cache(maxsize=2)
def load_places(geo_dir: Path | None) -> Places:
    """Load names from the geo data directory (empty index if it is absent)."""
    places = Places()
    if geo_dir is None or not geo_dir.is_dir():
        return places
    sources = (
        ("station", "tfl_london_stations.csv", "name", "lat", "lon", 1),
        ("station", "national_rail_stations_london.csv", "name", "lat", "lon", 1),
        ("bus_stop", "tfl_bus_stops.csv.gz", "Stop_Name", "lat", "lon", 2),
        ("pub", "london_pubs_osm_2022.csv", "name", "lat", "lon", 1),
        ("street", "london_street_names_police.csv.gz", "name", "lat", "lon", 2),
        ("postcode", "london_postcodes_codepoint_2025.csv.gz", "postcode", "lat", "lon", 7),
    )
    for kind, fname, name_col, lat_col, lon_col, every in sources:
        path = geo_dir / fname
        if not path.exists():
            continue
        for i, row in enumerate(_rows(path)):
            if i % every:
                continue
            try:
                places.add(kind, row[name_col].strip(), float(row[lat_col]), float(row[lon_col]))
            except (KeyError, ValueError):
                continue
    return places


_FALLBACK = {
    "station": ["Brixton", "Peckham Rye", "Whitechapel", "Stratford", "Camden Town"],
    "bus_stop": ["HIGH STREET", "TOWN HALL", "MARKET", "CHURCH ROAD"],
    "pub": ["Black Lion", "Red Lion", "Kings Arms", "The George"],
    "street": ["High Street", "Commercial Road", "Mare Street", "Rye Lane", "Church Road"],
    "postcode": ["E1 6AN", "SE15 4ST", "N1 9GU", "SW9 8HE"],
}


# -- text generation ------------------------------------------------------------------
def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 5 or rng.random() > 0.06:
        return text
    i = rng.randrange(1, len(text) - 2)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _abbrev(rng: random.Random, street: str) -> str:
    if rng.random() < 0.5:
        street = street.replace(" Road", " Rd").replace(" Street", " St").replace(" Avenue", " Ave")
    return street.lower() if rng.random() < 0.15 else street


class TextMaker:
    def __init__(self, rng: random.Random, places: Places, site: Site):
        self.rng = rng
        self.site = site
        self.pool: dict[str, list[str]] = {}
        for kind, fallback in _FALLBACK.items():
            names = places.near(kind, site.lat, site.lon, radius=1)
            if len(names) < 5:
                names = places.near(kind, site.lat, site.lon, radius=3) or fallback
            self.pool[kind] = names

    def pick(self, kind: str) -> str:
        return self.rng.choice(self.pool[kind])

    def street(self) -> str:
        return _abbrev(self.rng, self.pick("street").title())

    def location(self, code: str) -> str:
        r, rng = self.rng, self.rng
        if code == L.DWELLING:
            return r.choice(
                (
                    "pt's home",
                    "home address",
                    "friend's flat",
                    "home",
                    "Pts home",
                    "partner's house",
                    "at home",
                    "hostel",
                    "own flat",
                    "HOME",
                )
            )
        if code == L.STREET:
            return r.choice(
                (
                    lambda: f"o/s {rng.randint(1, 200)} {self.street()}",
                    lambda: f"{self.street()} {self.pick('postcode')}",
                    lambda: f"junction of {self.street()} and {self.street()}",
                    lambda: self.street(),
                    lambda: "street",
                    lambda: "outside shop",
                    lambda: f"nr {self.pick('bus_stop').title()} bus stop",
                    lambda: self.pick("postcode"),
                    lambda: f"{self.street().upper()}",
                )
            )()
        if code == L.PARK:
            return r.choice(
                (
                    "park",
                    f"park nr {self.street()}",
                    f"{self.street()} park",
                    "common",
                    "playground on estate",
                )
            )
        if code == L.LICENSED_PREMISES:
            pub = self.pick("pub")
            return r.choice(
                (
                    f"{pub} pub, {self.street()}",
                    pub,
                    f"outside {pub}",
                    f"{pub} PH",
                    "nightclub",
                    f"club on {self.street()}",
                )
            )
        if code == L.COMMERCIAL:
            return r.choice(
                (
                    f"outside Tesco {self.street()} {self.pick('postcode').split()[0]}",
                    "Sainsbury's",
                    f"chicken shop {self.street()}",
                    f"McDonalds {self.street()}",
                    f"bookies on {self.street()}",
                    "off licence",
                    "outside shop",
                )
            )
        if code == L.PUBLIC_TRANSPORT:
            stn = self.pick("station")
            return r.choice(
                (
                    f"o/s {stn} stn",
                    f"{stn} station",
                    f"on bus nr {self.street()}",
                    f"bus stop {self.pick('bus_stop').title()}",
                    f"{stn} tube",
                    f"on the {rng.randint(1, 490)} bus",
                    f"platform at {stn}",
                )
            )
        if code == L.WORKPLACE:
            return r.choice(
                ("at work", f"work - {self.street()}", "pt's workplace", "building site")
            )
        if code == L.SCHOOL:
            return r.choice(("school", f"outside school {self.street()}", "college"))
        if code == L.HEALTHCARE_CUSTODY:
            return r.choice((f"{self.site.acronym} A&E", "police custody", "hospital ward"))
        if code == L.OTHER:
            return r.choice(("on holiday in Spain", "in car", "abroad", "on a boat"))
        return r.choice(("n/k", "- -", "unknown", "", "u/k", "pt unable to say"))


# -- rows -----------------------------------------------------------------------------
@dataclass(slots=True)
class SynthRow:
    arrival: datetime
    assault: datetime
    assault_time_known: bool
    method: str
    location: str
    description: str
    method_other: str
    fault: str = ""


def _weighted(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def monthly_count(site: Site, period: Period, scale: float, rng: random.Random) -> int:
    total_weight = sum(s.weight for s in TYPE1_SITES)
    seasonal = 1 + 0.12 * math.cos(2 * math.pi * (period.month - 7) / 12)
    mean = LONDON_MONTHLY_RECORDS * scale * seasonal * site.weight / total_weight
    return max(0, round(rng.gauss(mean, math.sqrt(max(mean, 1)))))


def make_rows(
    site: Site,
    period: Period,
    *,
    scale: float,
    rng: random.Random,
    places: Places,
    fault_rate: float,
) -> list[SynthRow]:
    text = TextMaker(rng, places, site)
    days = [period.start + timedelta(days=i) for i in range(period.end.day)]
    day_w = [WEEKDAY_WEIGHT[d.weekday()] for d in days]
    rows: list[SynthRow] = []
    for _ in range(monthly_count(site, period, scale, rng)):
        arrival_day = rng.choices(days, weights=day_w)[0]
        hour = rng.choices(range(24), weights=HOUR_WEIGHT)[0]
        arrival = datetime.combine(arrival_day, datetime.min.time()).replace(
            hour=hour, minute=rng.randrange(60)
        )
        delay = timedelta(minutes=min(rng.lognormvariate(4.0, 0.8), 2000))
        if rng.random() < 0.03:
            delay += timedelta(days=rng.randint(1, 5))
        assault = arrival - delay
        method = _weighted(rng, METHOD_SHARES)
        loc = _weighted(rng, LOCATION_SHARES)
        row = SynthRow(
            arrival,
            assault.replace(second=0, microsecond=0),
            rng.random() > 0.08,
            method,
            loc,
            _typo(rng, text.location(loc)),
            rng.choice(OTHER_TEXT) if method == M.OTHER else "",
        )
        if rng.random() < fault_rate:
            row.fault = rng.choice(("bad_date", "unknown_code", "blank_mandatory"))
        rows.append(row)
    rows.sort(key=lambda r: r.arrival)
    return rows


def fake_nhs_number(rng: random.Random) -> str:
    """An NHS number in the 999 test range that passes the modulus-11 check."""
    while True:
        digits = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            number = digits + str(check)
            assert nhs_number_valid(number)
            return f"{number[:3]} {number[3:6]} {number[6:]}"


# -- value formatting per layout ------------------------------------------------------
_NATIONAL_METHOD = {e.code: e.source_code for e in codes.NATIONAL_METHOD_CODES}
_NATIONAL_LOCATION = {e.code: e.source_code for e in codes.NATIONAL_LOCATION_CODES}
_SNOMED_METHOD = {e.code: e.source_code for e in codes.SNOMED_METHOD}
_SNOMED_LOCATION = {e.code: e.source_code for e in codes.SNOMED_LOCATION}
_ASSAULT_INTENT = sorted(codes.SNOMED_ASSAULT_INTENT)[0]


def _code_value(layout: Layout, rng: random.Random, method: str, loc: str) -> tuple[str, str]:
    if layout.codes == "national":
        return _NATIONAL_METHOD[method], _NATIONAL_LOCATION[loc]
    if layout.codes == "snomed":
        return _SNOMED_METHOD[method], _SNOMED_LOCATION[loc]
    if layout.codes == "free_text":
        return rng.choice(METHOD_FREE_TEXT[method]), rng.choice(LOCATION_LABELS[loc])
    return rng.choice(METHOD_LABELS[method]), rng.choice(LOCATION_LABELS[loc])


def _fmt_date(layout: Layout, d: date) -> str:
    return d.isoformat() if layout.date_format == "iso" else d.strftime(layout.date_format)


def row_values(layout: Layout, row: SynthRow, rng: random.Random) -> dict[Field, object]:
    """The row as this layout writes it (text, or datetimes for XLSX)."""
    method_v, loc_v = _code_value(layout, rng, row.method, row.location)
    assault_time = (
        row.assault.strftime("%H:%M")
        if row.assault_time_known
        else rng.choice(("", "n/k", "unknown"))
    )
    v: dict[Field, object] = {}
    if layout.kind == "xml":
        v[Field.ARRIVAL_AT] = row.arrival.strftime("%Y-%m-%dT%H:%M:00")
        v[Field.ASSAULT_AT] = (
            row.assault.strftime("%Y-%m-%dT%H:%M:00")
            if row.assault_time_known
            else row.assault.date().isoformat()
        )
    else:
        if layout.combined_arrival:
            v[Field.ARRIVAL_AT] = (
                row.arrival
                if layout.kind == "xlsx"
                else f"{_fmt_date(layout, row.arrival.date())} {row.arrival:%H:%M}"
            )
        else:
            v[Field.ARRIVAL_DATE] = _fmt_date(layout, row.arrival.date())
            v[Field.ARRIVAL_TIME] = row.arrival.strftime("%H:%M")
        v[Field.ASSAULT_DATE] = _fmt_date(layout, row.assault.date())
        v[Field.ASSAULT_TIME] = assault_time
    v[Field.METHOD] = method_v
    v[Field.METHOD_OTHER] = row.method_other
    v[Field.LOCATION_TYPE] = loc_v
    v[Field.LOCATION_DESCRIPTION] = row.description
    v[Field.INJURY_INTENT] = _ASSAULT_INTENT
    if row.fault == "bad_date":
        key = Field.ASSAULT_AT if layout.kind == "xml" else Field.ASSAULT_DATE
        v[key] = rng.choice(("31/02/2025", "2025-13-45", "32/01/2025", "yesterday"))
    elif row.fault == "unknown_code":
        v[Field.METHOD] = rng.choice(("ZZ", "Spork", "77", "123456789"))
    elif row.fault == "blank_mandatory":
        v[rng.choice((Field.METHOD, Field.LOCATION_TYPE))] = ""
    return v


# -- writers --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GeneratedFile:
    path: Path
    site_code: str
    period: Period
    layout: str
    rows: int
    faults: int


@dataclass(frozen=True, slots=True)
class GeneratorOptions:
    months: int = 1
    start: Period = field(default_factory=lambda: Period(2025, 1))
    scale: float = 1.0
    seed: int = 0
    fault_rate: float = 0.0
    with_pii: bool = False
    geo_dir: Path | None = None
    sites: tuple[str, ...] = ()  # empty = all 28


def _write_delimited(layout: Layout, header: list[str], table: list[list[str]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=layout.delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(table)
    return buf.getvalue().encode(layout.encoding, errors="replace")


def _write_xlsx(site: Site, period: Period, header: list[str], table: list[list[object]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("ISTV")
    ws.append([f"{site.name} Emergency Department - ISTV return"])
    ws.merged_cells.add(f"A1:{chr(ord('A') + len(header) - 1)}1")
    ws.append([f"Reporting period: {period.start:%B %Y}"])
    ws.append([])
    ws.append(header)
    for r in table:
        ws.append(r)
    wb.properties.creator = "ISTV export"
    wb.properties.created = datetime(2000, 1, 1)  # noqa: DTZ001 - fixed metadata for determinism
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _write_xml(site: Site, period: Period, table: list[dict[Field, object]]) -> bytes:
    lay = DEFAULT_LAYOUT
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<{lay.root}>",
        f"  <{lay.header}><{lay.period_start}>{period.start.isoformat()}</{lay.period_start}>"
        f"<{lay.period_end}>{period.end.isoformat()}</{lay.period_end}>"
        f"<{lay.site_code}>{site.code}</{lay.site_code}></{lay.header}>",
    ]
    for values in table:
        parts = [f"  <{lay.record}>"]
        for f, name in lay.fields:
            value = str(values.get(f) or "")
            if value:
                parts.append(f"<{name}>{escape(value)}</{name}>")
        parts.append(f"</{lay.record}>")
        out.append("".join(parts))
    out.append(f"</{lay.root}>")
    return ("\n".join(out) + "\n").encode("utf-8")


def render_file(
    site: Site, period: Period, options: GeneratorOptions
) -> tuple[str, bytes, int, int, str]:
    """(file name, bytes, rows, faulty rows, layout) for one hospital-month."""
    rng = random.Random(f"{options.seed}:{site.code}:{period}")  # noqa: S311 - synthetic data
    layout = layout_for(site)
    rows = make_rows(
        site,
        period,
        scale=options.scale,
        rng=rng,
        places=load_places(options.geo_dir),
        fault_rate=options.fault_rate,
    )
    values = [row_values(layout, r, rng) for r in rows]
    faults = sum(bool(r.fault) for r in rows)
    if options.with_pii:
        for v in values:
            if rng.random() < 0.05:
                v[Field.LOCATION_DESCRIPTION] = (
                    f"{v[Field.LOCATION_DESCRIPTION]} call 07700 900{rng.randrange(1000):03d}"
                )
    stem = f"{site.code}_{period}"
    if layout.kind == "xml":
        return f"{stem}.xml", _write_xml(site, period, values), len(rows), faults, layout.name
    fields = list(layout.columns)
    header = [layout.columns[f] for f in fields]
    if options.with_pii:
        header.append("NHS Number")
    table: list[list[object]] = []
    for v in values:
        line: list[object] = [v.get(f, "") for f in fields]
        if options.with_pii:
            line.append(fake_nhs_number(rng))
        table.append(line)
    if layout.kind == "xlsx":
        data = _write_xlsx(site, period, header, table)
        return f"{stem}.xlsx", data, len(rows), faults, layout.name
    text_table = [[str(c) for c in line] for line in table]
    ext = "tsv" if layout.kind == "tsv" else "csv"
    data = _write_delimited(layout, header, text_table)
    return f"{stem}.{ext}", data, len(rows), faults, layout.name


def generate(out_dir: Path, options: GeneratorOptions) -> list[GeneratedFile]:
    """Write one file per hospital per month into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sites = [s for s in TYPE1_SITES if not options.sites or s.code in options.sites]
    files: list[GeneratedFile] = []
    period = options.start
    for _ in range(options.months):
        for site in sites:
            name, data, n, faults, layout = render_file(site, period, options)
            path = out_dir / name
            path.write_bytes(data)
            files.append(GeneratedFile(path, site.code, period, layout, n, faults))
        period = period.shifted(1)
    return files
