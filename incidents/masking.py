"""Location precision and free-text masking, applied at output time from the one stored point.

The database keeps one exact point per incident (``lat``/``lon``, ``easting``/``northing``).
What a user receives depends on the grant in the incident's borough
(``EffectiveAccess.precision_for`` and ``free_text_boroughs``):

``exact``
    the stored point.
``snapped``
    the centre of the ``SNAP_CELL_METRES`` British National Grid cell holding the point,
    **only if that centre lies in the same borough** (checked point-in-polygon against the
    gazetteer's borough boundaries); otherwise, or when no boundaries are loaded, the
    LSOA centroid, which always lies in the incident's borough. A snapped point therefore
    never crosses a borough boundary, and many incidents share each shown point.
``lsoa``
    the centroid of the incident's LSOA (2021).

The free-text location is kept only in boroughs whose grant allows it. A borough where the
user is not record level gets neither a point nor text: the record
querysets already exclude such rows (``visible_to(..., purpose=Purpose.RECORDS)``), and the masker
drops them again as a second line of defence.

Use::

    masker = Masker.for_access(access)      # one or two small queries, cached per process
    row = masker.mask(raw)                  # raw: a dict from RAW_FIELDS
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.db.models import Count, Max
from django.utils import timezone
from pyproj import Transformer
from shapely.strtree import STRtree

from accounts.access import EffectiveAccess
from accounts.models import AccessGrant
from incidents.geocoding.models import Area

# 250 m cells: coarse enough that a shown point stands for a street block rather than an
# address (police.uk snap points cover at least 8 addresses), fine enough for hotspot maps.
SNAP_CELL_METRES = 250

# The columns a masked record is built from (``queryset.values(*RAW_FIELDS)``).
RAW_FIELDS: tuple[str, ...] = (
    "id",
    "site__site_code",
    "site__borough_code",
    "assault_at",
    "assault_date",
    "assault_hour",
    "assault_time_known",
    "arrival_at",
    "borough_code",
    "ward_code",
    "lsoa_code",
    "lat",
    "lon",
    "easting",
    "northing",
    "geo_precision",
    "geo_class",
    "method_code",
    "location_type_code",
    "location_description",
)

PRECISION_SNAPPED = "snapped"
PRECISION_LSOA = "lsoa_centroid"
PRECISION_NONE = "not_located"

_to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
_to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


@dataclass(frozen=True)
class SnapCells:
    """Every snap cell whose centre lies in a borough, as parallel arrays.

    ``cx``/``cy`` are the cell indices (``floor(easting / SNAP_CELL_METRES)``, likewise
    northing), ``borough`` the borough holding the centre, ``lat``/``lon`` the centre in
    WGS84 rounded to 6 decimal places: exactly what :meth:`Masker._resolve_cells` would
    return for that cell and an incident in that borough. A cell missing from the table
    (or listed under another borough) is one the masker would send to the LSOA centroid.
    This is the masker's snapping in a form a SQL query can join against
    (``incidents/masking_sql.py``).
    """

    cx: np.ndarray
    cy: np.ndarray
    borough: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    def __len__(self) -> int:
        return len(self.cx)

    def for_boroughs(
        self, boroughs: Iterable[str]
    ) -> tuple[list[int], list[int], list[str], list[float], list[float]]:
        """The cells of ``boroughs`` as five lists (for array query parameters)."""
        keep = np.isin(self.borough, sorted(set(boroughs)))
        return (
            self.cx[keep].tolist(),
            self.cy[keep].tolist(),
            self.borough[keep].tolist(),
            self.lat[keep].tolist(),
            self.lon[keep].tolist(),
        )


@dataclass(frozen=True)
class _Geography:
    """LSOA centroids and a borough point-in-polygon index, built from the gazetteer."""

    version: tuple[int, int | None]
    lsoa_centroids: dict[str, tuple[float, float]]
    borough_tree: STRtree | None
    borough_codes: list[str]
    # Built on first use by snap_cells() (a few hundred milliseconds for London); the
    # geography object is shared, so the table is built once per gazetteer version.
    _snap_cells: list[SnapCells] = field(default_factory=list, compare=False, repr=False)

    def boroughs_at(self, lats: np.ndarray, lons: np.ndarray) -> list[str]:
        """The borough holding each point ('' where none), in one vectorised query."""
        found = [""] * len(lats)
        if self.borough_tree is None or not len(lats):
            return found
        points = shapely.points(lons, lats)
        point_index, tree_index = self.borough_tree.query(points, predicate="intersects")
        for p, t in sorted(
            zip(point_index.tolist(), tree_index.tolist(), strict=True), reverse=True
        ):
            found[p] = self.borough_codes[t]  # lowest tree index wins, as in the geocoder
        return found

    def snap_cells(self) -> SnapCells:
        """Every cell whose centre lies in a borough (see :class:`SnapCells`), built once.

        The cells scanned are those of the British National Grid box around the borough
        boundaries (their WGS84 bounding box projected, edges sampled densely, plus a cell
        of margin), so no cell whose centre is inside a borough is missed. The centres go
        through the same transform, the same ``boroughs_at`` and the same rounding as
        :meth:`Masker._resolve_cells`, so the table agrees with the masker cell for cell.
        """
        with _cells_lock:
            if self._snap_cells:
                return self._snap_cells[0]
            cells = self._build_snap_cells()
            self._snap_cells.append(cells)
            return cells

    def _build_snap_cells(self) -> SnapCells:
        empty = SnapCells(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=object),
            np.zeros(0, dtype=float),
            np.zeros(0, dtype=float),
        )
        if self.borough_tree is None:
            return empty
        min_lon, min_lat, max_lon, max_lat = shapely.total_bounds(self.borough_tree.geometries)
        steps = np.linspace(0.0, 1.0, 512)
        edge_lons = np.concatenate(
            [
                min_lon + steps * (max_lon - min_lon),
                np.full(steps.size, max_lon),
                min_lon + steps * (max_lon - min_lon),
                np.full(steps.size, min_lon),
            ]
        )
        edge_lats = np.concatenate(
            [
                np.full(steps.size, min_lat),
                min_lat + steps * (max_lat - min_lat),
                np.full(steps.size, max_lat),
                min_lat + steps * (max_lat - min_lat),
            ]
        )
        east, north = _to_bng.transform(edge_lons, edge_lats)
        x0, x1 = (math.floor(float(v) / SNAP_CELL_METRES) for v in (np.min(east), np.max(east)))
        y0, y1 = (math.floor(float(v) / SNAP_CELL_METRES) for v in (np.min(north), np.max(north)))
        grid_x, grid_y = np.meshgrid(
            np.arange(x0 - 1, x1 + 2, dtype=np.int64), np.arange(y0 - 1, y1 + 2, dtype=np.int64)
        )
        cx, cy = grid_x.ravel(), grid_y.ravel()
        # The same arithmetic as Masker._resolve_cells: float cell index + 0.5, times size.
        xs = (cx.astype(float) + 0.5) * SNAP_CELL_METRES
        ys = (cy.astype(float) + 0.5) * SNAP_CELL_METRES
        lons, lats = _to_wgs84.transform(xs, ys)
        found = np.array(self.boroughs_at(np.asarray(lats), np.asarray(lons)), dtype=object)
        inside = found != ""
        if not inside.any():
            return empty
        # Python's round(), not numpy's: numpy rounds the scaled value, which can differ
        # in the last place from the correctly rounded result the masker shows.
        return SnapCells(
            cx[inside],
            cy[inside],
            found[inside],
            np.array([round(float(v), 6) for v in np.asarray(lats)[inside]]),
            np.array([round(float(v), 6) for v in np.asarray(lons)[inside]]),
        )


_lock = threading.Lock()
_cells_lock = threading.Lock()
_cache: dict[str, _Geography] = {}


def _geography() -> _Geography:
    """The process-wide geography, rebuilt when the gazetteer's areas change (one query)."""
    stats = Area.objects.filter(kind__in=[Area.Kind.BOROUGH, Area.Kind.LSOA]).aggregate(
        n=Count("id"), last=Max("id")
    )
    version = (int(stats["n"]), stats["last"])
    with _lock:
        cached = _cache.get("geo")
        if cached is not None and cached.version == version:
            return cached
    centroids: dict[str, tuple[float, float]] = {
        code: (lat, lon)
        for code, lat, lon in Area.objects.filter(
            kind=Area.Kind.LSOA, centroid_lat__isnull=False, centroid_lon__isnull=False
        ).values_list("code", "centroid_lat", "centroid_lon")
        if lat is not None and lon is not None
    }
    codes: list[str] = []
    geometries: list[str] = []
    for code, geometry in Area.objects.filter(kind=Area.Kind.BOROUGH).values_list(
        "code", "geometry"
    ):
        codes.append(code)
        geometries.append(geometry)
    tree = STRtree(shapely.from_geojson(geometries)) if geometries else None
    built = _Geography(version, centroids, tree, codes)
    with _lock:
        _cache["geo"] = built
    return built


def reset_geography_cache() -> None:
    """Forget the cached geography (tests; after a gazetteer load it is noticed anyway)."""
    with _lock:
        _cache.clear()


@dataclass
class Masker:
    """Masks raw incident rows for one user's access. Not shared between users."""

    access: EffectiveAccess
    geography: _Geography
    _snapped: dict[tuple[int, int, str], tuple[float, float] | None] = field(default_factory=dict)
    _precision: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._precision = dict(self.access.precisions)

    @classmethod
    def for_access(cls, access: EffectiveAccess) -> Masker:
        return cls(access=access, geography=_geography())

    @property
    def shows_free_text(self) -> bool:
        """Whether the output should carry a ``location_description`` field at all."""
        return bool(self.access.free_text_boroughs or self.access.unlocated_free_text)

    def _lsoa_point(self, lsoa: str) -> tuple[float, float] | None:
        return self.geography.lsoa_centroids.get(lsoa)

    @staticmethod
    def _cell(row: Mapping[str, Any]) -> tuple[int, int, str]:
        easting, northing = row.get("easting"), row.get("northing")
        if easting is None or northing is None:
            easting, northing = _to_bng.transform(row["lon"], row["lat"])
        return (
            math.floor(easting / SNAP_CELL_METRES),
            math.floor(northing / SNAP_CELL_METRES),
            row["borough_code"],
        )

    def _resolve_cells(self, keys: list[tuple[int, int, str]]) -> None:
        """Snap points for new cells, in one vectorised transform and one tree query:
        the cell centre if it lies in the incident's borough, else ``None`` (LSOA)."""
        if not keys:
            return
        xs = (np.array([k[0] for k in keys], dtype=float) + 0.5) * SNAP_CELL_METRES
        ys = (np.array([k[1] for k in keys], dtype=float) + 0.5) * SNAP_CELL_METRES
        lons, lats = _to_wgs84.transform(xs, ys)
        found = self.geography.boroughs_at(np.asarray(lats), np.asarray(lons))
        for key, lat, lon, borough in zip(keys, lats, lons, found, strict=True):
            inside = borough == key[2]
            self._snapped[key] = (round(float(lat), 6), round(float(lon), 6)) if inside else None

    def _snap(self, row: Mapping[str, Any]) -> tuple[float, float] | None:
        key = self._cell(row)
        if key not in self._snapped:
            self._resolve_cells([key])
        return self._snapped[key]

    def prepare(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Resolve the snap cells of a batch of rows at once (an optimisation only)."""
        snapped = AccessGrant.Precision.SNAPPED
        keys = {
            self._cell(row)
            for row in rows
            if row.get("lat") is not None
            and row.get("lon") is not None
            and self._precision.get(row["borough_code"]) == snapped
        }
        self._resolve_cells([k for k in keys if k not in self._snapped])

    def location(self, row: Mapping[str, Any]) -> tuple[float | None, float | None, str]:
        """(lat, lon, precision shown) for one raw row."""
        borough = row["borough_code"]
        grant_precision = self._precision.get(borough)
        if grant_precision is None or row.get("lat") is None or row.get("lon") is None:
            return None, None, PRECISION_NONE
        if grant_precision == AccessGrant.Precision.EXACT:
            return row["lat"], row["lon"], row.get("geo_precision") or "exact"
        if grant_precision == AccessGrant.Precision.SNAPPED:
            snapped = self._snap(row)
            if snapped is not None:
                return snapped[0], snapped[1], PRECISION_SNAPPED
        centroid = self._lsoa_point(row.get("lsoa_code") or "")
        if centroid is None:
            return None, None, PRECISION_NONE
        return centroid[0], centroid[1], PRECISION_LSOA

    def mask(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """The row as a user may receive it, or ``None`` if they may not see it as a record."""
        borough = row["borough_code"]
        ed_borough = row.get("site__borough_code") or ""
        if not self.access.allows("record", borough, ed_borough):
            return None
        lat, lon, shown = self.location(row)
        assault_at = row["assault_at"]
        out: dict[str, Any] = {
            "id": row["id"],
            "hospital": row["site__site_code"],
            "assault_datetime": assault_at,
            "assault_date": row["assault_date"],
            # The assault as a local datetime (its UTC offset written beside it, like
            # the arrival's), only when the time is known; else the date alone.
            "assault_time": (
                timezone.localtime(assault_at).replace(microsecond=0)
                if row.get("assault_time_known")
                else None
            ),
            "assault_time_known": bool(row.get("assault_time_known")),
            "arrival_datetime": (
                timezone.localtime(arrival_at) if (arrival_at := row.get("arrival_at")) else None
            ),
            "borough": borough or None,
            "ward": row.get("ward_code") or None,
            "lsoa": row.get("lsoa_code") or None,
            "lat": lat,
            "lon": lon,
            "precision": shown,
            "geo_class": row.get("geo_class") or None,
            "method": row["method_code"],
            "location_type": row["location_type_code"],
        }
        if self.shows_free_text:
            out["location_description"] = (
                row.get("location_description") or ""
                if self.access.allows("free_text", borough, ed_borough)
                else None
            )
        return out

    def mask_many(
        self, rows: Iterable[Mapping[str, Any]], *, batch: int = 2000
    ) -> Iterator[dict[str, Any]]:
        """Mask a stream of rows lazily, ``batch`` rows at a time (constant memory)."""
        iterator = iter(rows)
        while chunk := list(itertools.islice(iterator, batch)):
            self.prepare(chunk)
            for row in chunk:
                masked = self.mask(row)
                if masked is not None:
                    yield masked
