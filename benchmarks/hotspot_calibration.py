"""How often Gi* "finds" hot spots in data with none: the normal approximation against the
exact p-values the portal uses (incidents.hotspots), on uniform random counts.

For each density (incidents per cell) it draws ``--trials`` data sets of incidents spread
uniformly over a 160 x 160 grid (25,600 cells, about pan-London at 250 m), tests them with
esda's Gi* and the Benjamini-Hochberg correction at 95%, and prints the share of data sets
with any significant cell under each p-value. With the correction working, that share is
at most about 5%; the line ends OK or MISS against that bar. A seeded cluster is found by
both (the reference that the test has power), printed beside them.

    .venv/bin/python benchmarks/hotspot_calibration.py [--trials 20]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidents.spatial_stats import gi_star, grid_adjacency  # noqa: E402

SIDE = 160
BAR = 0.10  # share of null data sets with any cell at 95%: 5% nominal, with sampling slack


def _lattice() -> object:
    rows, cols = np.divmod(np.arange(SIDE * SIDE), SIDE)
    return grid_adjacency(cols.astype(np.int64), rows.astype(np.int64))


def _normal_any(y: np.ndarray, adjacency: object) -> bool:
    from esda import fdr
    from esda.getisord import G_Local
    from libpysal.graph import Graph

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = G_Local(y, Graph.from_sparse(adjacency), transform="B", permutations=0, star=True)
    p = 2 * g.p_norm
    cut = fdr(p, 0.05)
    return bool(cut) and bool((p <= cut).any())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    adjacency = _lattice()
    rng = np.random.default_rng(2026)
    cells = SIDE * SIDE
    worst = 0.0
    for density in (0.1, 0.3, 1.0, 4.0):
        normal = exact = 0
        started = time.perf_counter()
        for _ in range(args.trials):
            y = np.bincount(rng.integers(0, cells, int(cells * density)), minlength=cells)
            y = y.astype(float)
            normal += _normal_any(y, adjacency)
            _, _, classes = gi_star(y, adjacency)
            exact += any(c[-2:] in ("95", "99") for c in classes if c != "none")
        seconds = (time.perf_counter() - started) / args.trials
        share = exact / args.trials
        worst = max(worst, share)
        print(
            f"uniform, {density:>4} per cell: data sets with a 'hot spot' at 95% "
            f"exact {share:.0%}  normal approximation {normal / args.trials:.0%}  "
            f"({seconds:.2f} s per data set, both)  bar <= {BAR:.0%}  "
            f"{'OK' if share <= BAR else 'MISS'}"
        )
    y = np.bincount(rng.integers(0, cells, cells), minlength=cells).astype(float)
    cluster = [r * SIDE + c for r in range(80, 82) for c in range(80, 82)]
    y[cluster] += 8
    _, _, classes = gi_star(y, adjacency)
    found = sum(classes[i] == "hot99" for i in cluster)
    print(f"seeded cluster of 4 cells (+8 each, 1 per cell around): {found} of 4 hot at 99%")
    return 0 if worst <= BAR and found == 4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
