"""The in-memory gazetteer: indexes built once per process from the database tables.

Every lookup is a dictionary probe or a spatial-index query; nothing scans the tables per
description. Point-in-polygon uses shapely's STRtree (no PostGIS in this project): built
over the 5,731 borough/ward/LSOA polygons in well under a second, it answers one query in
tens of microseconds (measured by ``benchmarks/geocoder.py``).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.db import connection
from shapely.strtree import STRtree

from incidents.geocoding.normalise import name_key

# Places of these kinds are matched by name; streets and street points have own indexes.
_NAMED_ORDER = {"station": 0, "hospital": 1, "landmark": 2, "pub": 3, "bus_stop": 4, "locality": 5}
# Two same-name entries closer than this are one place (stop pairs, duplicate stations).
MERGE_METRES = 300.0


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance; accurate to <0.1% over London-sized distances."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000.0 * math.hypot(x, y)


@dataclass(frozen=True)
class Entry:
    """One gazetteer point that can be a match or an alternative."""

    kind: str
    name: str
    lat: float
    lon: float
    borough: str = ""
    ref: str = ""


@dataclass
class Gazetteer:
    """Read-only indexes. Build with :func:`build_gazetteer`."""

    units: dict[str, tuple[float, float, str, str, str]] = field(default_factory=dict)
    sectors: dict[str, tuple[float, float]] = field(default_factory=dict)
    districts: dict[str, tuple[float, float]] = field(default_factory=dict)
    places: dict[str, list[Entry]] = field(default_factory=dict)  # key → named entries
    streets: dict[str, list[Entry]] = field(default_factory=dict)  # key → street clusters
    street_points: dict[str, np.ndarray] = field(default_factory=dict)  # key → (n, 2) lat/lon
    localities: dict[str, list[Entry]] = field(default_factory=dict)  # area/district names
    # (street key, street key) sorted → named junctions, from "X ROAD / Y STREET" stop names.
    junctions: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)
    # "st georges" → St George's Hospital: used only next to a hospital cue word.
    hospital_short: dict[str, list[Entry]] = field(default_factory=dict)
    borough_names: dict[str, str] = field(default_factory=dict)
    hospitals: dict[str, tuple[float, float]] = field(default_factory=dict)
    vocabulary: dict[str, int] = field(default_factory=dict)  # token → frequency
    # Every proper token prefix of every name key: n-gram scans stop when they leave it.
    prefixes: set[str] = field(default_factory=set)
    area_trees: dict[str, tuple[STRtree, list[str]]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.units and not self.places and not self.streets

    def areas_at(self, lat: float, lon: float) -> tuple[str, str, str]:
        """(lsoa, ward, borough) codes containing the point; '' where none does."""
        point = shapely.Point(lon, lat)
        out = []
        for kind in ("lsoa", "ward", "borough"):
            tree_codes = self.area_trees.get(kind)
            if tree_codes is None:
                out.append("")
                continue
            tree, codes = tree_codes
            idx = tree.query(point, predicate="intersects")
            out.append(codes[int(min(idx))] if len(idx) else "")
        return out[0], out[1], out[2]


def _add(index: dict[Any, list[Entry]], key: Any, entry: Entry) -> None:
    """Add unless a same-key entry already lies within MERGE_METRES (keeps the first)."""
    bucket = index.setdefault(key, [])
    for other in bucket:
        if metres(other.lat, other.lon, entry.lat, entry.lon) < MERGE_METRES:
            return
    bucket.append(entry)


_HOSPITAL_SUFFIX = {
    "hosp",
    "university",
    "general",
    "utc",
    "ucc",
    "a",
    "e",
    "urgent",
    "treatment",
    "centre",
    "nhs",
    "and",
    "site",
    "wing",
}
_STATION_WORDS = {"stn", "underground", "rail", "dlr", "tram", "stop", "overground", "main", "line"}


def station_keys(name: str) -> list[str]:
    """'Highbury & Islington Station' → ['highbury and islington']."""
    toks = name_key(name.replace("<>", " ").replace("#", " ")).split()
    while toks and toks[-1] in _STATION_WORDS:
        toks.pop()
    keys = [" ".join(toks)] if toks else []
    # "Heathrow Terminals 2 & 3" also answers to "heathrow"; "X Main Line" is "X".
    return keys


def build_gazetteer() -> Gazetteer:
    """Read every gazetteer table once and build the indexes (≈2 s for London)."""
    gz = Gazetteer()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT postcode, lat, lon, lsoa_code, ward_code, borough_code "
            "FROM geocoding_postcode WHERE is_live"
        )
        sec_acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        dist_acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for pc, lat, lon, lsoa, ward, boro in cur.fetchall():
            gz.units[pc] = (lat, lon, lsoa, ward, boro)
            for acc in (sec_acc[pc[:-2]], dist_acc[pc.split(" ", 1)[0]]):
                acc[0] += lat
                acc[1] += lon
                acc[2] += 1
        gz.sectors = {k: (v[0] / v[2], v[1] / v[2]) for k, v in sec_acc.items()}
        gz.districts = {k: (v[0] / v[2], v[1] / v[2]) for k, v in dist_acc.items()}

        cur.execute(
            "SELECT kind, code, name, geometry, centroid_lat, centroid_lon FROM geocoding_area"
        )
        by_kind: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for kind, code, name, geometry, clat, clon in cur.fetchall():
            by_kind[kind][0].append(code)
            by_kind[kind][1].append(geometry)
            if kind == "borough":
                gz.borough_names[code] = name
            if kind in ("borough", "ward") and clat is not None:
                entry = Entry("locality", name, clat, clon, code if kind == "borough" else "", code)
                _add(gz.localities, name_key(name), entry)
        for kind, (codes, geoms) in by_kind.items():
            polys = shapely.from_geojson(geoms)
            gz.area_trees[kind] = (STRtree(polys), codes)

        cur.execute(
            "SELECT kind, name, name_key, lat, lon, borough_code, source_ref FROM geocoding_place "
            "ORDER BY kind, weight DESC, id"
        )
        street_pts: dict[str, list[tuple[float, float]]] = defaultdict(list)
        named: list[Entry] = []
        for kind, name, key, lat, lon, boro, ref in cur.fetchall():
            if kind == "street_point":
                street_pts[key].append((lat, lon))
            elif kind == "poi":
                continue  # generic POI points are not matched on
            elif kind == "street":
                gz.streets.setdefault(key, []).append(Entry(kind, name, lat, lon, boro, ref))
            else:
                named.append(Entry(kind, name, lat, lon, boro, ref))
        # Stations before hospitals before bus stops…: the first entry of a key wins merges.
        named.sort(key=lambda e: (_NAMED_ORDER.get(e.kind, 9), e.name, e.lat, e.lon))
        for entry in named:
            if entry.kind == "bus_stop" and entry.name.upper().startswith("HAIL & RIDE"):
                continue  # a stretch of road, not a place
            if entry.kind == "hospital":
                full = name_key(re.sub(r"\(.*?\)", " ", entry.name))
                short = full.split()
                while short and short[-1] in _HOSPITAL_SUFFIX:
                    short.pop()
                if short and " ".join(short) != full:
                    _add(gz.hospital_short, " ".join(short), entry)
                keys = [full]
            elif entry.kind in {"station", "bus_stop"}:
                keys = station_keys(entry.name)
            else:
                keys = [name_key(entry.name)]
            keys += [k[4:] for k in keys if k.startswith("the ") and len(k) > 8]
            for k in keys:
                if k:
                    _add(gz.places, k, entry)
            if entry.kind == "bus_stop" and "/" in entry.name:
                parts = [station_keys(p) for p in entry.name.split("/")]
                if len(parts) == 2 and parts[0] and parts[1] and parts[0][0] != parts[1][0]:
                    pair = (min(parts[0][0], parts[1][0]), max(parts[0][0], parts[1][0]))
                    _add(gz.junctions, pair, entry)
            if entry.kind in {"station", "locality"}:
                for k in keys:
                    _add(
                        gz.localities,
                        k,
                        Entry(
                            "locality", entry.name, entry.lat, entry.lon, entry.borough, entry.ref
                        ),
                    )
        gz.street_points = {k: np.asarray(v, dtype=float) for k, v in street_pts.items()}

        cur.execute("SELECT site_code, lat, lon FROM geocoding_hospitalpoint")
        gz.hospitals.update({code: (lat, lon) for code, lat, lon in cur.fetchall()})
        cur.execute(
            "SELECT site_code, lat, lon FROM hospitals_hospitalsite "
            "WHERE lat IS NOT NULL AND lon IS NOT NULL"
        )
        gz.hospitals.update({code: (lat, lon) for code, lat, lon in cur.fetchall()})

    for district, (lat, lon) in gz.districts.items():
        gz.localities.setdefault(district.lower(), []).append(Entry("district", district, lat, lon))
    for index in (gz.places, gz.streets, gz.localities, gz.hospital_short):
        for key in index:
            toks = key.split()
            for tok in toks:
                gz.vocabulary[tok] = gz.vocabulary.get(tok, 0) + 1
            for n in range(1, len(toks)):
                gz.prefixes.add(" ".join(toks[:n]))
    return gz
