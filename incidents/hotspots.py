"""Hotspots that are tested, not just drawn: Getis-Ord Gi* with a false-discovery-rate
correction, on a regular grid or on LSOAs, for the current filter (docs/hotspots.md).

The statistic, the spatial weights and the correction come from PySAL (esda's Gi* with
the cell counted in its own neighbourhood, queen contiguity, Benjamini-Hochberg), with
exact p-values because the normal approximation fails on incident counts: see
``incidents.spatial_stats`` and docs/hotspots.md.

Who sees what:

* the grid (250 m by default; 500 m and 1 km too) only for a viewer at record level with
  street-level precision (exact or 250 m snapped) in every borough the filter covers: a
  grid cell is never finer than the points they may already see;
* everyone else gets the LSOA variant (a viewer at LSOA precision, and every viewer with
  disclosure control);
* a viewer with disclosure control gets each LSOA's class, its count through the cell-key
  method (absent when it is a small count) and no z-score or p-value: all the scores
  together are a linear system in the exact counts. Every LSOA of the study area is
  listed, with or without incidents, so which rows appear says nothing.

Incidents placed only to an area (a postcode district, a locality, an LSOA centre) are
left out of the grid, where they would pile up on one point, and counted in the LSOA
variant; unlocated incidents are in neither, and the note says how many were left out.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from django.db.models import Case, Count, F, IntegerField, Max, Q, Sum, When
from django.db.models.functions import Cast, Floor
from numpy.typing import NDArray
from pyproj import Transformer
from scipy import ndimage, sparse

from accounts.access import EffectiveAccess
from accounts.models import AccessGrant
from incidents.aggregates import needs_protection
from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    Published,
    cell_key_note,
    publish_cell,
)
from incidents.filters import IncidentFilterSet
from incidents.geocoding.models import Area
from incidents.spatial_stats import CLASSES, gi_star, grid_adjacency
from incidents.workspace.top_locations import Period, filter_period, with_period

GRID: Final = "grid"
LSOA: Final = "lsoa"
LEVELS: Final = (GRID, LSOA)
CELL_SIZES: Final = (250, 500, 1000)
DEFAULT_CELL: Final = 250
# The precisions a point keeps at 250 m: anything coarser would pile incidents on the
# centre of a district or locality and draw a hotspot there.
GRID_PRECISIONS: Final = ("exact", "postcode_unit", "venue", "street", "junction")
GRID_VIEWER_PRECISIONS: Final = (AccessGrant.Precision.EXACT, AccessGrant.Precision.SNAPPED)
CLASS_LABELS: Final = {
    "hot99": "Hot spot, 99% confidence",
    "hot95": "Hot spot, 95% confidence",
    "hot90": "Hot spot, 90% confidence",
    "cold90": "Cold spot, 90% confidence",
    "cold95": "Cold spot, 95% confidence",
    "cold99": "Cold spot, 99% confidence",
    "none": "Not significant",
}
# Kernel density (descriptive): a quartic kernel of this radius over the grid counts.
KDE_BANDWIDTH_METRES: Final = 500
KDE_SHADES: Final = 5

_to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
_to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


class HotspotError(ValueError):
    """A request the viewer's access or the parameters do not allow (said in words), with
    the parameter it is about (``level`` or ``cell``)."""

    def __init__(self, message: str, *, field: str = "level") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class HotCell:
    """One cell of the analysis: a grid square or an LSOA."""

    cell: str
    lat: float
    lon: float
    count: Published
    z: float | None
    p: float | None
    cls: str
    name: str = ""
    # The square's corners (grid) for the map, or None (an LSOA is drawn from its outline).
    bounds: tuple[float, float, float, float] | None = None
    density: float | None = None

    @property
    def label(self) -> str:
        return CLASS_LABELS[self.cls]

    @property
    def hot(self) -> bool:
        return self.cls.startswith("hot")

    def as_json(self, *, with_density: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"cell": self.cell, "lat": self.lat, "lon": self.lon}
        if self.count != SUPPRESSED:
            out["count"] = self.count
        if self.z is not None:
            out["z"] = self.z
        if self.p is not None:
            out["p"] = self.p
        out["class"] = self.cls
        if with_density:
            out["density"] = self.density
        return out


@dataclass
class Hotspots:
    level: str
    cell_size: int | None
    period: Period
    cells: list[HotCell]
    protected: bool
    analysed: Published
    left_out: Published
    study_cells: int
    levels_allowed: tuple[str, ...]
    kde: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def hot_cells(self) -> list[HotCell]:
        """Hot cells, strongest first (the page's table)."""
        return sorted(
            (c for c in self.cells if c.hot),
            key=lambda c: (CLASSES.index(c.cls), -(c.z or 0.0), c.cell),
        )

    def class_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CLASSES, 0)
        for cell in self.cells:
            counts[cell.cls] += 1
        counts["none"] += self.study_cells - len(self.cells)
        return counts

    @property
    def disclosure_control(self) -> dict[str, Any]:
        note = cell_key_note(DisclosurePolicy.from_settings()) if self.protected else None
        return {"applied": self.protected, "note": note}


# --- Who may have which level ---------------------------------------------------------


def scope_boroughs(fs: IncidentFilterSet) -> frozenset[str]:
    """The boroughs the filter covers for its viewer (all visible ones when none chosen)."""
    assert fs.access is not None
    chosen = set(fs.form.cleaned_data.get("borough") or ())
    visible = fs.access.boroughs
    return frozenset(chosen & visible) if chosen else visible


def levels_allowed(access: EffectiveAccess, boroughs: Iterable[str]) -> tuple[str, ...]:
    """("grid", "lsoa") for a viewer at street-level precision in every borough of the
    query; ("lsoa",) for everyone else."""
    if needs_protection(access):
        return (LSOA,)
    wanted = list(boroughs)
    if wanted and all(access.precision_for(b) in GRID_VIEWER_PRECISIONS for b in wanted):
        return (GRID, LSOA)
    return (LSOA,)


def parse_options(
    params: Any, access: EffectiveAccess, boroughs: Iterable[str]
) -> tuple[str, int | None]:
    """(level, cell size) from ``level`` and ``cell``, checked against the viewer's
    access: the grid is the default where allowed, LSOAs otherwise."""
    allowed = levels_allowed(access, boroughs)
    level = params.get("level") or allowed[0]
    if level not in LEVELS:
        raise HotspotError("Choose the level: grid or lsoa.")
    if level not in allowed:
        raise HotspotError(
            "Your access shows locations at LSOA level, so hotspots are tested on LSOAs "
            "(level=lsoa)."
        )
    raw_cell = params.get("cell")
    if level == LSOA:
        if raw_cell not in (None, ""):
            raise HotspotError(
                "A cell size applies to the grid only; leave it out with LSOAs.", field="cell"
            )
        return LSOA, None
    try:
        cell = int(raw_cell) if raw_cell not in (None, "") else DEFAULT_CELL
    except (TypeError, ValueError):
        cell = -1
    if cell not in CELL_SIZES:
        raise HotspotError(
            "Choose a cell size of " + ", ".join(f"{c}" for c in CELL_SIZES) + " metres.",
            field="cell",
        )
    return GRID, cell


# --- Study areas and neighbours ---------------------------------------------------------


@dataclass(frozen=True)
class _Study:
    """The study area: cell keys (grid ``(col, row)`` or LSOA codes), their positions in
    British National Grid metres, and the queen-contiguity adjacency between them."""

    keys: list[Any]
    xy: NDArray[np.float64]
    adjacency: sparse.csr_array
    names: dict[Any, str]


_cache: dict[tuple[Any, ...], Any] = {}
_cache_lock = threading.Lock()


def _cached(key: tuple[Any, ...], build: Any) -> Any:
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    value = build()
    with _cache_lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = value
    return value


def _geometry_version() -> tuple[int, int]:
    stats = Area.objects.aggregate(n=Count("id"), last=Max("id"))
    return int(stats["n"] or 0), int(stats["last"] or 0)


def _to_bng_geometry(geojson: str) -> Any:
    shape = shapely.from_geojson(geojson)
    return shapely.transform(
        shape, lambda xy: np.column_stack(_to_bng.transform(xy[:, 0], xy[:, 1]))
    )


def _area_shapes(kind: str, codes: Iterable[str], *, by_parent: bool) -> list[tuple[str, Any]]:
    areas = Area.objects.filter(kind=kind)
    codes = sorted(codes)
    areas = areas.filter(parent_code__in=codes) if by_parent else areas.filter(code__in=codes)
    return [
        (code, _to_bng_geometry(geometry))
        for code, geometry in areas.order_by("code").values_list("code", "geometry")
    ]


def _study_region(fs: IncidentFilterSet, boroughs: frozenset[str]) -> tuple[str, list[str]]:
    """The areas that bound the study: the chosen LSOAs or wards, else the boroughs."""
    data = fs.form.cleaned_data
    if data.get("lsoa"):
        return Area.Kind.LSOA, sorted(data["lsoa"])
    if data.get("ward"):
        return Area.Kind.WARD, sorted(data["ward"])
    return Area.Kind.BOROUGH, sorted(boroughs)


def _grid_study(kind: str, codes: list[str], cell: int) -> _Study:
    """Every cell whose centre lies in the study region."""
    shapes = [shape for _, shape in _area_shapes(kind, codes, by_parent=False)]
    if not shapes:
        return _Study([], np.zeros((0, 2)), sparse.csr_array((0, 0)), {})
    region = shapely.union_all(shapes)
    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    cols = np.arange(math.floor(minx / cell), math.floor(maxx / cell) + 1)
    rows = np.arange(math.floor(miny / cell), math.floor(maxy / cell) + 1)
    grid_cols, grid_rows = np.meshgrid(cols, rows)
    all_cols, all_rows = grid_cols.ravel(), grid_rows.ravel()
    inside = shapely.contains_xy(region, (all_cols + 0.5) * cell, (all_rows + 0.5) * cell)
    cc, rr = all_cols[inside].astype(np.int64), all_rows[inside].astype(np.int64)
    keys = list(zip(cc.tolist(), rr.tolist(), strict=True))
    xy = np.column_stack(((cc + 0.5) * cell, (rr + 0.5) * cell)).astype(float)
    return _Study(keys, xy, grid_adjacency(cc, rr), {})


def _lsoa_study(kind: str, codes: list[str]) -> _Study:
    """Every LSOA of the study region, with queen contiguity (shared boundary points)."""
    from libpysal.graph import Graph

    if kind == Area.Kind.LSOA:
        shapes = _area_shapes(Area.Kind.LSOA, codes, by_parent=False)
    elif kind == Area.Kind.BOROUGH:
        shapes = _area_shapes(Area.Kind.LSOA, codes, by_parent=True)
    else:
        wards = shapely.union_all([s for _, s in _area_shapes(kind, codes, by_parent=False)])
        parents = Area.objects.filter(kind=kind, code__in=codes).values_list(
            "parent_code", flat=True
        )
        shapes = [
            (code, shape)
            for code, shape in _area_shapes(Area.Kind.LSOA, set(parents), by_parent=True)
            if wards.contains(shapely.point_on_surface(shape))
        ]
    if not shapes:
        return _Study([], np.zeros((0, 2)), sparse.csr_array((0, 0)), {})
    keys = [code for code, _ in shapes]
    geoms = np.array([shape for _, shape in shapes], dtype=object)
    points = shapely.point_on_surface(geoms)
    xy = np.column_stack((shapely.get_x(points), shapely.get_y(points)))
    import geopandas

    series = geopandas.GeoSeries(geoms, index=keys, crs="EPSG:27700")
    graph = Graph.build_contiguity(series, rook=False, strict=False)
    adjacency = graph.sparse
    # The graph orders its ids as given; islands have an explicit zero self-link to drop.
    adjacency = sparse.csr_array(adjacency)
    adjacency.setdiag(0)
    adjacency.eliminate_zeros()
    names = dict(
        Area.objects.filter(kind=Area.Kind.LSOA, code__in=keys).values_list("code", "name")
    )
    return _Study(keys, xy, adjacency, names)


# --- Counting ---------------------------------------------------------------------------


def _grid_counts(fs: IncidentFilterSet, cell: int) -> tuple[dict[Any, tuple[int, int]], int]:
    """{(col, row): (count, key sum)} of the filter's incidents with a street-level
    point, and how many of its incidents were left out (coarser or no place). One pass
    over the rows: the left-out ones are the group with no cell."""
    on_grid = Q(geo_precision__in=GRID_PRECISIONS, easting__isnull=False)
    rows = (
        fs.qs.annotate(
            gx=Case(When(on_grid, then=Cast(Floor(F("easting") / float(cell)), IntegerField()))),
            gy=Case(When(on_grid, then=Cast(Floor(F("northing") / float(cell)), IntegerField()))),
        )
        .values("gx", "gy")
        .annotate(n=Count("id"), keys=Sum("record_key"))
        .order_by()
    )
    counts: dict[Any, tuple[int, int]] = {}
    left_out = 0
    for r in rows:
        if r["gx"] is None or r["gy"] is None:
            left_out += r["n"]
        else:
            counts[(r["gx"], r["gy"])] = (r["n"], r["keys"] or 0)
    return counts, left_out


def _lsoa_counts(fs: IncidentFilterSet) -> tuple[dict[Any, tuple[int, int]], int, int]:
    """{LSOA: (count, key sum)}, and the filter's total count and key sum (one pass)."""
    rows = fs.qs.values("lsoa_code").annotate(n=Count("id"), keys=Sum("record_key")).order_by()
    counts: dict[Any, tuple[int, int]] = {}
    total = total_keys = 0
    for r in rows:
        total += r["n"]
        total_keys += r["keys"] or 0
        if r["lsoa_code"]:
            counts[r["lsoa_code"]] = (r["n"], r["keys"] or 0)
    return counts, total, total_keys


def _kde(study: _Study, counts: NDArray[np.float64], cell: int) -> NDArray[np.float64]:
    """Incidents per square kilometre, smoothed with a quartic kernel of radius
    ``KDE_BANDWIDTH_METRES`` (descriptive: no test)."""
    if not len(study.keys):
        return np.zeros(0)
    cols = np.array([k[0] for k in study.keys])
    rows = np.array([k[1] for k in study.keys])
    c0, r0 = cols.min(), rows.min()
    raster = np.zeros((rows.max() - r0 + 1, cols.max() - c0 + 1))
    raster[rows - r0, cols - c0] = counts
    radius = max(1, round(KDE_BANDWIDTH_METRES / cell))
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    d2 = (xx**2 + yy**2) / radius**2
    kernel = np.where(d2 < 1, (1 - d2) ** 2, 0.0)
    kernel /= kernel.sum()
    smooth = ndimage.convolve(raster, kernel, mode="constant")
    per_km2 = smooth / (cell / 1000) ** 2
    return np.asarray(per_km2[rows - r0, cols - c0], dtype=float)


# --- The analysis -----------------------------------------------------------------------


def hotspots(
    fs: IncidentFilterSet, *, level: str = GRID, cell: int | None = DEFAULT_CELL, kde: bool = False
) -> Hotspots:
    """Gi* over the filter's incidents (the last 12 complete months when it has no dates).

    ``level`` and ``cell`` must already be allowed for the viewer (``parse_options``)."""
    access = fs.access
    assert access is not None and fs.is_valid()
    boroughs = scope_boroughs(fs)
    allowed = levels_allowed(access, boroughs)
    if level not in allowed:
        raise HotspotError("Your access allows hotspots on LSOAs only (level=lsoa).")
    period = filter_period(fs)
    kind, codes = _study_region(fs, boroughs)
    fs = with_period(fs, period)
    version = _geometry_version()
    protected = needs_protection(access)
    policy = DisclosurePolicy.from_settings()
    if level == GRID:
        assert cell in CELL_SIZES
        study = _cached(("grid", kind, tuple(codes), cell, version),
                        lambda: _grid_study(kind, codes, cell))  # fmt: skip
        counted, left_out = _grid_counts(fs, cell)
        analysed: Published = sum(n for n, _ in counted.values())
        left: Published = left_out
    else:
        study = _cached(("lsoa", kind, tuple(codes), version), lambda: _lsoa_study(kind, codes))
        counted, total, total_keys = _lsoa_counts(fs)
        in_lsoas = sum(n for n, _ in counted.values())
        analysed, left = in_lsoas, total - in_lsoas
        if protected:
            in_keys = sum(k for _, k in counted.values())
            analysed = publish_cell(in_lsoas, in_keys, policy)
            left = publish_cell(total - in_lsoas, total_keys - in_keys, policy)
    study = _with_outside_cells(study, counted, level, cell)
    y = np.array([float(counted.get(k, (0, 0))[0]) for k in study.keys])
    z, p, classes = gi_star(y, study.adjacency)
    density = _kde(study, y, cell) if kde and level == GRID and cell else None
    cells = _cells(study, counted, z, p, classes, level, cell, protected, policy, density)
    if level == GRID:
        _name_by_ward([c for c in cells if c.hot], version)
    notes = _notes(level, cell, left, protected, kde and density is not None)
    return Hotspots(
        level=level,
        cell_size=cell if level == GRID else None,
        period=period,
        cells=cells,
        protected=protected,
        analysed=analysed,
        left_out=left,
        study_cells=len(study.keys),
        levels_allowed=allowed,
        kde=density is not None,
        notes=notes,
    )


def _with_outside_cells(
    study: _Study, counted: dict[Any, tuple[int, int]], level: str, cell: int | None
) -> _Study:
    """Add the cells holding incidents whose centres fall just outside the study region
    (a point near a borough boundary): no incident is dropped from the test."""
    known = set(study.keys)
    extra = [k for k in counted if k not in known]
    if not extra or level != GRID or cell is None:
        return study
    keys = [*study.keys, *sorted(extra)]
    cols = np.array([k[0] for k in keys], dtype=np.int64)
    rows = np.array([k[1] for k in keys], dtype=np.int64)
    xy = np.column_stack(((cols + 0.5) * cell, (rows + 0.5) * cell)).astype(float)
    return _Study(keys, xy, grid_adjacency(cols, rows), study.names)


def _cells(
    study: _Study,
    counted: dict[Any, tuple[int, int]],
    z: NDArray[Any],
    p: NDArray[Any],
    classes: list[str],
    level: str,
    cell: int | None,
    protected: bool,
    policy: DisclosurePolicy,
    density: NDArray[np.float64] | None,
) -> list[HotCell]:
    """The result rows. A record-level viewer gets the cells with incidents, a class or a
    density; a viewer with disclosure control gets every LSOA of the study area."""
    if not study.keys:
        return []
    n_cells = len(study.keys)
    counts = np.array([counted.get(k, (0, 0))[0] for k in study.keys])
    dens = density if density is not None else np.zeros(n_cells)
    keep = np.ones(n_cells, dtype=bool)
    if not protected:
        keep = (counts > 0) | (np.array(classes) != "none") | (dens > 0)
    index = np.flatnonzero(keep)
    xy = study.xy[index]
    # Every coordinate transformed in one call per corner set, not per cell.
    lon, lat = (np.round(v, 6) for v in _to_wgs84.transform(xy[:, 0], xy[:, 1]))
    corners: tuple[NDArray[Any], ...] | None = None
    if level == GRID and cell is not None:
        lon0, lat0 = _to_wgs84.transform(xy[:, 0] - cell / 2, xy[:, 1] - cell / 2)
        lon1, lat1 = _to_wgs84.transform(xy[:, 0] + cell / 2, xy[:, 1] + cell / 2)
        corners = tuple(np.round(v, 6) for v in (lat0, lon0, lat1, lon1))
    z_shown = np.round(np.nan_to_num(z[index]), 3)
    out: list[HotCell] = []
    for j, i in enumerate(index.tolist()):
        key = study.keys[i]
        n, keys = counted.get(key, (0, 0))
        if corners is not None and cell is not None:
            col, row = key
            name = f"{cell} m square E{col * cell} N{row * cell}"
            cell_id = f"{cell}m:{col * cell}:{row * cell}"
            bounds: tuple[float, float, float, float] | None = (
                float(corners[0][j]), float(corners[1][j]),
                float(corners[2][j]), float(corners[3][j]),
            )  # fmt: skip
        else:
            name = study.names.get(key, str(key))
            cell_id = str(key)
            bounds = None
        out.append(
            HotCell(
                cell=cell_id,
                lat=float(lat[j]),
                lon=float(lon[j]),
                count=publish_cell(n, keys, policy) if protected else n,
                z=None if protected else float(z_shown[j]),
                p=None if protected else float(f"{float(p[i]):.4g}"),
                cls=classes[i],
                name=name,
                bounds=bounds,
                density=round(float(density[i]), 2) if density is not None else None,
            )
        )
    return out


def _ward_tree(version: tuple[int, int]) -> tuple[Any, list[str]]:
    """An STRtree of the gazetteer's ward boundaries (British National Grid) and their
    names, built once per process and gazetteer version."""

    def build() -> tuple[Any, list[str]]:
        wards = list(Area.objects.filter(kind=Area.Kind.WARD).values_list("name", "geometry"))
        shapes = [_to_bng_geometry(geometry) for _, geometry in wards]
        return shapely.STRtree(shapes) if shapes else None, [name for name, _ in wards]

    tree: tuple[Any, list[str]] = _cached(("wards", version), build)
    return tree


def _name_by_ward(cells: list[HotCell], version: tuple[int, int]) -> None:
    """Say where a square is: "250 m square in <ward> (E… N…)" for the table."""
    tree, names = _ward_tree(version)
    if tree is None or not cells:
        return
    x, y = _to_bng.transform([c.lon for c in cells], [c.lat for c in cells])
    found = tree.query(shapely.points(x, y), predicate="within")
    ward_of = dict(zip(found[0].tolist(), found[1].tolist(), strict=True))
    for i, cell in enumerate(cells):
        if i in ward_of:
            size, _, where = cell.name.partition(" square ")
            cell.name = f"{size} square in {names[ward_of[i]]} ({where})"


def shade_cuts(density: Sequence[float | None]) -> list[float]:
    """The density values that split the cells with any density into ``KDE_SHADES``
    equal-sized classes (quantiles), for the map's shades."""
    positive = np.array([d for d in density if d], dtype=float)
    if not len(positive):
        return []
    return [float(q) for q in np.quantile(positive, np.linspace(0, 1, KDE_SHADES + 1)[1:-1])]


def density_shade(value: float | None, cuts: Sequence[float]) -> int:
    """0 (none) to ``KDE_SHADES`` for the map's density layer."""
    if not value:
        return 0
    return 1 + sum(value > c for c in cuts)


def _notes(level: str, cell: int | None, left: Published, protected: bool, kde: bool) -> list[str]:
    notes = [
        "Each cell is tested against all cells of the area with Getis-Ord Gi*, counting its "
        "neighbours (the cells around it) with it; the false discovery rate is controlled "
        "across all cells at each confidence level, so a hot cell is unlikely to be chance."
    ]
    where = f"{cell} m squares" if level == GRID else "LSOAs"
    if left != 0:
        what = (
            "with no street-level point (placed only to an area, or not placed at all)"
            if level == GRID
            else "with no LSOA (not placed, or outside London)"
        )
        notes.append(
            f"Not in the test: {left:,} incidents {what}. They are in every count and table."
            if left != SUPPRESSED
            else f"Not in the test: a small number of incidents {what}."
        )
    if protected:
        notes.append(
            "Your access is at aggregate level: each LSOA's class is shown, with its count "
            "where the disclosure rule allows, but not its z-score or p-value."
        )
    if kde:
        notes.append(
            f"The density surface is descriptive: incidents per square kilometre smoothed "
            f"over {KDE_BANDWIDTH_METRES} m. It shows where incidents are many, not whether "
            "that is more than chance; use the hot and cold classes for that."
        )
    notes.append(f"Tested on {where}.")
    return notes
