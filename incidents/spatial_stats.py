"""The statistics of the hotspots analysis, free of Django (incidents.hotspots uses them;
benchmarks/hotspot_calibration.py measures them): Getis-Ord Gi* from PySAL's esda with
queen-contiguity weights, exact p-values, and the false-discovery-rate classes.

On incident counts the normal approximation of Gi* fails: most cells hold 0 or 1
incident, the tail of a neighbourhood sum is far heavier than the normal curve says, and
on uniform random data over a London-sized grid it "found" hot cells in most data sets
even after the correction. So a cell's p-value is the exact tail of the null the
permutation test uses (the neighbourhood's counts drawn at random from all cells'
counts), computed by convolution instead of sampled.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

# (confidence, false discovery rate): the strictest level a cell passes names its class.
CONFIDENCE: Final = ((99, 0.01), (95, 0.05), (90, 0.10))
CLASSES: Final = ("hot99", "hot95", "hot90", "cold90", "cold95", "cold99", "none")


def grid_adjacency(cols: NDArray[np.int64], rows: NDArray[np.int64]) -> sparse.csr_array:
    """Queen contiguity of grid cells (the eight around each), by sorted-key lookup."""
    n = len(cols)
    span = int(rows.max() - rows.min() + 3) if n else 1
    keys = (cols - cols.min() + 1) * span + (rows - rows.min() + 1) if n else cols
    order = np.argsort(keys)
    sorted_keys = keys[order]
    src: list[NDArray[np.int64]] = []
    dst: list[NDArray[np.int64]] = []
    for dc in (-1, 0, 1):
        for dr in (-1, 0, 1):
            if dc == dr == 0:
                continue
            wanted = keys + dc * span + dr
            at = np.searchsorted(sorted_keys, wanted)
            at = np.minimum(at, n - 1)
            hit = sorted_keys[at] == wanted
            src.append(np.flatnonzero(hit))
            dst.append(order[at[hit]])
    i = np.concatenate(src) if src else np.array([], dtype=np.int64)
    j = np.concatenate(dst) if dst else np.array([], dtype=np.int64)
    return sparse.csr_array((np.ones(len(i)), (i, j)), shape=(n, n))


def _exact_p_values(counts: NDArray[np.float64], adjacency: sparse.csr_array) -> NDArray[Any]:
    """Two-sided p-value of each neighbourhood sum (the cell and its neighbours) under
    the randomisation null: each of the k counts drawn at random from all cells' counts.

    The sum's distribution is the k-fold convolution of the counts' distribution, exact
    for draws with replacement (the permutation test draws without: with thousands of
    cells and at most a few dozen neighbours the two agree)."""
    values = np.rint(counts).astype(np.int64)
    pmf = np.bincount(values) / len(values)
    sizes = np.asarray(adjacency.sum(axis=1)).ravel().astype(np.int64) + 1
    sums = np.rint(adjacency @ counts + counts).astype(np.int64)
    p = np.ones(len(values))
    for k in np.unique(sizes):
        dist = np.array([1.0])
        for _ in range(int(k)):
            dist = np.convolve(dist, pmf)
        upper = np.cumsum(dist[::-1])[::-1]
        lower = np.cumsum(dist)
        rows = sizes == k
        s = np.minimum(sums[rows], len(dist) - 1)
        p[rows] = np.minimum(1.0, 2.0 * np.minimum(upper[s], lower[s]))
    return p


def gi_star(
    counts: Sequence[float] | NDArray[Any], adjacency: sparse.csr_array
) -> tuple[NDArray[Any], NDArray[Any], list[str]]:
    """(z, p, class) per cell: esda's Gi* z-scores, exact p-values, and classes at the
    90/95/99% levels after the Benjamini-Hochberg correction over all cells."""
    from esda import fdr
    from esda.getisord import G_Local
    from libpysal.graph import Graph

    y = np.asarray(counts, dtype=float)
    n = len(y)
    if n < 3 or y.sum() == 0 or np.all(y == y[0]):
        return np.zeros(n), np.ones(n), ["none"] * n
    graph = Graph.from_sparse(adjacency)
    with warnings.catch_warnings():
        # Islands (an LSOA with no neighbour in the study area) are tested on their own count.
        warnings.simplefilter("ignore")
        g = G_Local(y, graph, transform="B", permutations=0, star=True)
    z = np.nan_to_num(np.asarray(g.Zs, dtype=float))
    p = _exact_p_values(y, adjacency)
    classes = ["none"] * n
    for confidence, rate in reversed(CONFIDENCE):
        cut = fdr(p, rate)
        if not cut:
            continue
        for i in np.flatnonzero(p <= cut):
            if z[i] != 0:
                classes[int(i)] = f"{'hot' if z[i] > 0 else 'cold'}{confidence}"
    return z, p, classes
