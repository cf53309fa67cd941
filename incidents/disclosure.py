"""Statistical disclosure control for aggregate outputs (ISTV-DATASET.md section 6).

The published rule (NHS Digital, HES/ECDS): 0 is shown as 0; counts of 1 to
``DISCLOSURE_SUPPRESS_MAX`` are shown as ``"*"``; larger counts are rounded to the nearest
``DISCLOSURE_ROUND_TO``; totals are computed from the unrounded counts and then rounded (and
suppressed when they fall in the suppressed range); percentages are computed from the
rounded figures.

Primary suppression alone is not enough when totals are published: a hidden cell can be
worked out from its row or column total and the other published cells. This module adds
secondary suppression and then *audits* the result against a motivated intruder, adding
suppressions until no hidden value can be recovered.

The intruder model used by the audit (see docs/disclosure-and-exports.md):

* The intruder knows the rules, including the threshold and the rounding base, so a
  published ``10`` means "8 to 12" and a ``*`` means "1 to 7".
* Worst case, the intruder also knows which ``*`` are secondary (complementary)
  suppressions, so those mean "at least 8". The published output never says which
  is which, but protection must not depend on that secret.
* Zeros are published exactly and are never used as complements. A complement protects
  only by the uncertainty it adds; a zero adds none, because an intruder who guesses or
  knows it is empty (a structural zero such as a hospital that does not serve a borough)
  subtracts nothing and recovers the hidden cell exactly. "*" therefore also tells the
  intruder the cell is not empty, and the model accounts for that.
* Rows, columns and the grand total are linked by exact sums of the unrounded table.

Under that model the tables consistent with the output are the integer points of a flow
network (source → row totals → cells → column totals → sink, grand total closing the
circulation) with interval bounds. Network matrices are totally unimodular, so the values
a cell can take form an integer interval containing the true value; the cell is recoverable
exactly when neither ``value - 1`` nor ``value + 1`` is feasible. By conformal
decomposition, ``value + 1`` is feasible exactly when the residual network of the true
table has a cycle through that cell's edge, which one breadth-first search finds. The
audit is therefore exact for this model, and it returns the alternative tables it finds so
tests can verify them independently.

Tables with more than two dimensions are protected slice by slice (every pair of
dimensions, every combination of the others) until nothing changes; see
:func:`protect_groups`.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal, TypeAlias

from django.conf import settings

SUPPRESSED: Final = "*"

Published: TypeAlias = int | Literal["*"]
Key: TypeAlias = tuple[Hashable, ...]


class Suppression(StrEnum):
    """Why a value is hidden. Never send this to an aggregate-level user: telling primary
    from secondary ``*`` would narrow the hidden values (the audit assumes the worst)."""

    NONE = "none"
    PRIMARY = "primary"
    SECONDARY = "secondary"


@dataclass(frozen=True)
class DisclosurePolicy:
    """Thresholds of the rule. ``from_settings()`` reads ``DISCLOSURE_SUPPRESS_MAX`` and
    ``DISCLOSURE_ROUND_TO``."""

    suppress_max: int = 7
    round_to: int = 5

    def __post_init__(self) -> None:
        if self.suppress_max < 0 or self.round_to < 1:
            raise ValueError("suppress_max must be >= 0 and round_to >= 1")
        # The smallest count shown must not round to 0, or a published 0 would no longer
        # mean "none".
        if self._round(self.suppress_max + 1) == 0:
            raise ValueError(
                f"round_to={self.round_to} would round {self.suppress_max + 1} to 0; "
                "raise suppress_max or lower round_to"
            )

    @classmethod
    def from_settings(cls) -> DisclosurePolicy:
        return cls(
            suppress_max=settings.DISCLOSURE_SUPPRESS_MAX,
            round_to=settings.DISCLOSURE_ROUND_TO,
        )

    def _round(self, value: int) -> int:
        # Nearest multiple, halves upwards, in integers (no float surprises).
        base = self.round_to
        return ((2 * value + base) // (2 * base)) * base

    def is_primary(self, value: int) -> bool:
        return 1 <= value <= self.suppress_max

    def publish(self, value: int) -> Published:
        """Apply the primary rule to one count (or one total computed from unrounded data)."""
        if value < 0:
            raise ValueError("counts cannot be negative")
        if value == 0:
            return 0
        if self.is_primary(value):
            return SUPPRESSED
        return self._round(value)

    def shown_range(self, published: int) -> tuple[int, int]:
        """The counts an intruder knows lie behind a published rounded value."""
        low = published - self.round_to // 2
        high = published + (self.round_to - 1) // 2
        return max(low, self.suppress_max + 1), high

    def note(self, secondary: int) -> str:
        """The human-readable statement of what was applied to an output."""
        text = (
            f"Counts of 1\u2013{self.suppress_max} suppressed (*); others rounded to the nearest "
            f"{self.round_to}; totals calculated from unrounded counts, then rounded."
        )
        if secondary:
            plural = "cell" if secondary == 1 else "cells"
            text += (
                f" {secondary} further {plural} suppressed so hidden values cannot be "
                "worked out from totals."
            )
        return text


def percentage(part: Published, whole: Published, *, ndigits: int = 1) -> float | str | None:
    """A percentage from *published* (rounded) figures, as the rule requires.

    ``"*"`` when the part is hidden, ``None`` when the whole is hidden or zero.
    """
    if part == SUPPRESSED:
        return SUPPRESSED
    if whole == SUPPRESSED or whole == 0:
        return None
    assert isinstance(part, int) and isinstance(whole, int)
    return round(100 * part / whole, ndigits)


@dataclass(frozen=True)
class ProtectedCell:
    """A published value. ``value`` is an int or ``"*"``."""

    value: Published
    suppression: Suppression = Suppression.NONE

    @property
    def suppressed(self) -> bool:
        return self.suppression is not Suppression.NONE


@dataclass(frozen=True)
class ProtectedTable:
    """A 1-D or 2-D table after disclosure control.

    For a 1-D table the only total is ``grand_total``. For a 2-D table ``row_totals`` are
    keyed by the first dimension's values and ``column_totals`` by the second's. Totals
    are ``None``/empty when the table was protected ``with_totals=False``.
    """

    dims: tuple[str, ...]
    cells: dict[Key, ProtectedCell]
    row_totals: dict[Hashable, ProtectedCell]
    column_totals: dict[Hashable, ProtectedCell]
    grand_total: ProtectedCell | None
    secondary_count: int
    note: str
    policy: DisclosurePolicy = field(repr=False)

    def value(self, key: Key) -> Published:
        return self.cells[key].value


# --- the audit network --------------------------------------------------------------------

_SOURCE, _SINK = 0, 1


@dataclass
class _Arc:
    """One bounded quantity of the table: a cell, a row/column total or the grand total."""

    tail: int
    head: int
    value: int
    status: str  # "zero" | "shown" | "primary" | "secondary" | "free"
    low: int = 0
    high: int | None = None  # None: no upper bound known to the intruder
    is_cell: bool = True

    @property
    def suppressed(self) -> bool:
        return self.status in ("primary", "secondary")


class _Network:
    """The table as a circulation: S → row_i (row total) → col_j (cell) → T (column total)
    → S (grand total). Margins that are not published are "free" arcs with no bounds."""

    def __init__(self, policy: DisclosurePolicy) -> None:
        self.policy = policy
        self.arcs: list[_Arc] = []
        self.incident: dict[int, list[int]] = {}

    def add(self, tail: int, head: int, value: int, status: str, *, is_cell: bool) -> int:
        arc = _Arc(tail, head, value, status, is_cell=is_cell)
        self.arcs.append(arc)
        index = len(self.arcs) - 1
        self.incident.setdefault(tail, []).append(index)
        self.incident.setdefault(head, []).append(index)
        self.bound(index)
        return index

    def bound(self, index: int) -> None:
        arc = self.arcs[index]
        policy = self.policy
        if arc.status == "zero":
            arc.low, arc.high = 0, 0
        elif arc.status == "shown":
            published = policy.publish(arc.value)
            assert isinstance(published, int)
            arc.low, arc.high = policy.shown_range(published)
        elif arc.status == "primary":
            arc.low, arc.high = 1, policy.suppress_max
        elif arc.status == "secondary":
            arc.low, arc.high = policy.suppress_max + 1, None
        else:  # free
            arc.low, arc.high = 0, None

    def suppress(self, index: int) -> None:
        self.arcs[index].status = "secondary"
        self.bound(index)

    def reveal(self, index: int) -> None:
        """Undo a trial :meth:`suppress` of a shown quantity."""
        self.arcs[index].status = "shown"
        self.bound(index)

    def _path(self, start: int, goal: int, skip: int) -> list[tuple[int, int]] | None:
        """Residual path start ⇝ goal not using arc ``skip``: [(arc, +1 | -1), ...]."""
        parent: dict[int, tuple[int, int, int] | None] = {start: None}
        stack = [start]
        while stack:
            node = stack.pop()  # depth first: finds some cycle fast in dense tables
            for index in self.incident.get(node, ()):
                if index == skip:
                    continue
                arc = self.arcs[index]
                if arc.tail == node and (arc.high is None or arc.value < arc.high):
                    step, nxt = 1, arc.head
                elif arc.head == node and arc.value > arc.low:
                    step, nxt = -1, arc.tail
                else:
                    continue
                if nxt in parent:
                    continue
                parent[nxt] = (node, index, step)
                if nxt == goal:
                    path: list[tuple[int, int]] = []
                    cursor = goal
                    while (link := parent[cursor]) is not None:
                        cursor, arc_index, arc_step = link
                        path.append((arc_index, arc_step))
                    return path
                stack.append(nxt)
        return None

    def shift(self, index: int, direction: int) -> list[tuple[int, int]] | None:
        """A cycle changing arc ``index`` by ``direction`` (±1) within every bound, as
        [(arc, ±1), ...] including the arc itself, or None if there is none."""
        arc = self.arcs[index]
        if direction > 0:
            if arc.high is not None and arc.value >= arc.high:
                return None
            rest = self._path(arc.head, arc.tail, index)
        else:
            if arc.value <= arc.low:
                return None
            rest = self._path(arc.tail, arc.head, index)
        return None if rest is None else [(index, direction), *rest]

    def recoverable(self, index: int) -> bool:
        return self.shift(index, 1) is None and self.shift(index, -1) is None


@dataclass
class _Matrix:
    """Working state of one 1-D or 2-D table (indices, not keys)."""

    network: _Network
    cell_arc: list[list[int]]
    row_arc: list[int]
    column_arc: list[int]
    grand_arc: int


def _build(
    values: list[list[int]], policy: DisclosurePolicy, *, one_dim: bool, with_totals: bool
) -> _Matrix:
    network = _Network(policy)
    n_rows, n_cols = len(values), len(values[0]) if values else 0
    row_node = [2 + i for i in range(n_rows)]
    col_node = [2 + n_rows + j for j in range(n_cols)]

    def status(value: int, published: bool) -> str:
        if not published:
            return "free"
        if value == 0:
            return "zero"
        return "primary" if policy.is_primary(value) else "shown"

    row_arc = [
        network.add(_SOURCE, row_node[i], sum(values[i]), status(sum(values[i]), with_totals),
                    is_cell=False)
        for i in range(n_rows)
    ]  # fmt: skip
    columns = [sum(values[i][j] for i in range(n_rows)) for j in range(n_cols)]
    column_published = with_totals and not one_dim
    column_arc = [
        network.add(col_node[j], _SINK, columns[j], status(columns[j], column_published),
                    is_cell=False)
        for j in range(n_cols)
    ]  # fmt: skip
    grand = sum(columns)
    grand_arc = network.add(_SINK, _SOURCE, grand, status(grand, column_published), is_cell=False)
    cell_arc = [
        [network.add(row_node[i], col_node[j], values[i][j], status(values[i][j], True),
                     is_cell=True) for j in range(n_cols)]
        for i in range(n_rows)
    ]  # fmt: skip
    return _Matrix(network, cell_arc, row_arc, column_arc, grand_arc)


def _line_rule(matrix: _Matrix) -> None:
    """Every row and column holding a hidden cell gets a second one (the smallest non-zero
    shown cell, preferring one whose other line already hides something), unless the
    line's total is itself hidden. Repeats until stable."""
    arcs = matrix.network.arcs
    lines = [(row, matrix.row_arc[i]) for i, row in enumerate(matrix.cell_arc)]
    if matrix.cell_arc:
        lines += [
            ([row[j] for row in matrix.cell_arc], matrix.column_arc[j])
            for j in range(len(matrix.cell_arc[0]))
        ]
    changed = True
    while changed:
        changed = False
        for line, total in lines:
            hidden = sum(arcs[a].suppressed for a in line)
            if hidden != 1 or arcs[total].suppressed or arcs[total].status == "free":
                continue
            candidates = [a for a in line if arcs[a].status == "shown"]
            if candidates:
                matrix.network.suppress(min(candidates, key=lambda a: _preference(matrix, a)))
                changed = True


def _preference(matrix: _Matrix, index: int) -> tuple[int, int, int]:
    """Order for choosing a complement: smallest value first; among equals, one whose
    row and column already hide something (more likely to close a cycle)."""
    network = matrix.network
    arc = network.arcs[index]
    touching = sum(
        network.arcs[other].suppressed
        for node in (arc.tail, arc.head)
        for other in network.incident[node]
        if other != index
    )
    return arc.value, -touching, index


def _complement(matrix: _Matrix, index: int, *, allow_totals: bool) -> int | None:
    """Choose the next shown quantity to hide so that arc ``index`` stops being
    recoverable: cells sharing an end with it (its row or column) first; if there are
    none, totals sharing an end (where allowed); only then anything else in the table.

    Within a pool, the first few candidates (in :func:`_preference` order) are tried and
    the first one that actually makes ``index`` safe wins; a complement sitting exactly at
    the threshold, for example, cannot go down and so cannot absorb an increase.
    """
    network = matrix.network
    arc = network.arcs[index]
    near = {
        other
        for node in (arc.tail, arc.head)
        for other in network.incident[node]
        if other != index and network.arcs[other].status == "shown"
    }
    everywhere = {i for i, a in enumerate(network.arcs) if a.status == "shown"}
    for pool in (near, everywhere):
        cells = [i for i in pool if network.arcs[i].is_cell]
        if not cells and allow_totals:
            cells = list(pool)
        if not cells:
            continue
        ranked = sorted(cells, key=lambda a: _preference(matrix, a))
        for candidate in ranked[:_TRIALS]:
            network.suppress(candidate)
            safe = not network.recoverable(index)
            network.reveal(candidate)
            if safe:
                return candidate
        return ranked[0]
    return None


# How many complements to try before settling for the preferred one (bounds the cost).
_TRIALS: Final = 8


def _secure(matrix: _Matrix, *, allow_totals: bool) -> None:
    """Add complements until the audit finds no hidden quantity that can be recovered.

    Hiding a value only widens what the intruder must consider, so a quantity once found
    safe stays safe; each round hides one more value, so this ends.
    """
    network = matrix.network
    pending = deque(i for i, arc in enumerate(network.arcs) if arc.suppressed)
    while pending:
        index = pending.popleft()
        if not network.recoverable(index):
            continue
        extra = _complement(matrix, index, allow_totals=allow_totals)
        if extra is None:
            # Nothing left to hide (only possible in slice mode, where totals belong to
            # other outputs); the slice audits elsewhere still apply.
            continue
        network.suppress(extra)
        pending.extend((extra, index))


def _protect_matrix(
    values: list[list[int]],
    policy: DisclosurePolicy,
    *,
    one_dim: bool,
    with_totals: bool,
    forced: Iterable[tuple[int, int]] = (),
    allow_totals: bool = True,
) -> _Matrix:
    matrix = _build(values, policy, one_dim=one_dim, with_totals=with_totals)
    for i, j in forced:
        if matrix.network.arcs[matrix.cell_arc[i][j]].status == "shown":
            matrix.network.suppress(matrix.cell_arc[i][j])
    if with_totals:
        # A complement added by the audit can leave its own row or column with a single
        # hidden cell, so alternate the two until neither adds anything.
        hidden = -1
        while hidden != (now := sum(arc.suppressed for arc in matrix.network.arcs)):
            hidden = now
            _line_rule(matrix)
            _secure(matrix, allow_totals=allow_totals)
    return matrix


def _published(arc: _Arc, policy: DisclosurePolicy) -> ProtectedCell:
    if arc.status == "primary":
        return ProtectedCell(SUPPRESSED, Suppression.PRIMARY)
    if arc.status == "secondary":
        return ProtectedCell(SUPPRESSED, Suppression.SECONDARY)
    return ProtectedCell(policy.publish(arc.value))


def _axes(counts: Mapping[Key, int], n_dims: int) -> list[list[Hashable]]:
    axes: list[dict[Hashable, None]] = [{} for _ in range(n_dims)]
    for key, value in counts.items():
        if len(key) != n_dims:
            raise ValueError(f"key {key!r} does not have {n_dims} parts")
        if value < 0:
            raise ValueError("counts cannot be negative")
        for axis, part in zip(axes, key, strict=True):
            axis.setdefault(part, None)
    return [list(axis) for axis in axes]


def protect_table(
    counts: Mapping[Key, int],
    dims: Sequence[str],
    *,
    with_totals: bool,
    policy: DisclosurePolicy | None = None,
) -> ProtectedTable:
    """Apply disclosure control to a 1-D or 2-D table of counts.

    ``counts`` maps a key (one value per dimension) to an unrounded count; combinations
    that are absent count as 0 (and are published as 0). With ``with_totals`` the row,
    column and grand totals are published too, so secondary suppression is applied and
    audited; without, only the primary rule applies (margins are then not published by
    this output — see the docs for why protect_groups always treats them as published).
    """
    policy = policy or DisclosurePolicy.from_settings()
    dims = tuple(dims)
    if len(dims) not in (1, 2):
        raise ValueError("protect_table handles 1 or 2 dimensions; use protect_groups")
    axes = _axes(counts, len(dims))
    one_dim = len(dims) == 1
    rows = [()] if one_dim else axes[0]
    cols = axes[-1]

    def key(row: Hashable, col: Hashable) -> Key:
        return (col,) if one_dim else (row, col)

    values = [[counts.get(key(r, c), 0) for c in cols] for r in rows]
    matrix = _protect_matrix(values, policy, one_dim=one_dim, with_totals=with_totals)
    arcs = matrix.network.arcs
    cells = {
        key(r, c): _published(arcs[matrix.cell_arc[i][j]], policy)
        for i, r in enumerate(rows)
        for j, c in enumerate(cols)
    }
    row_totals: dict[Hashable, ProtectedCell] = {}
    column_totals: dict[Hashable, ProtectedCell] = {}
    grand: ProtectedCell | None = None
    if with_totals:
        if one_dim:
            grand = _published(arcs[matrix.row_arc[0]], policy)
        else:
            row_totals = {
                r: _published(arcs[matrix.row_arc[i]], policy) for i, r in enumerate(rows)
            }
            column_totals = {
                c: _published(arcs[matrix.column_arc[j]], policy) for j, c in enumerate(cols)
            }
            grand = _published(arcs[matrix.grand_arc], policy)
    secondary = sum(arc.status == "secondary" for arc in arcs)
    return ProtectedTable(
        dims=dims,
        cells=cells,
        row_totals=row_totals,
        column_totals=column_totals,
        grand_total=grand,
        secondary_count=secondary,
        note=policy.note(secondary),
        policy=policy,
    )


# --- long-format group-by results (the aggregates API) -------------------------------------


@dataclass(frozen=True)
class ProtectedGroups:
    """Group-by results after disclosure control, in the order they came in.

    ``results`` are copies of the input rows with the count replaced by its published
    value. ``total`` is the published overall total. ``table`` is the full protected
    table (with margins) for 1 or 2 dimensions, ``None`` otherwise.
    """

    dims: tuple[str, ...]
    results: list[dict[str, Any]]
    total: Published
    secondary_count: int
    note: str
    policy: DisclosurePolicy = field(repr=False)
    table: ProtectedTable | None = None

    def disclosure_control(self) -> dict[str, Any]:
        """The ``disclosure_control`` object of an aggregates response."""
        return {
            "applied": True,
            "suppressed_up_to": self.policy.suppress_max,
            "rounded_to": self.policy.round_to,
            "secondary_suppressions": self.secondary_count,
            "note": self.note,
        }


def _slice_key(
    n_dims: int,
    first: tuple[int, Hashable],
    second: tuple[int, Hashable],
    rest: Iterable[tuple[int, Hashable]],
) -> Key:
    """The full key of a cell of a 2-D slice: (dimension index, value) pairs."""
    parts: list[Hashable] = [None] * n_dims
    for dim, part in (first, second, *rest):
        parts[dim] = part
    return tuple(parts)


def _protect_many(
    counts: dict[Key, int], n_dims: int, policy: DisclosurePolicy
) -> tuple[set[Key], int]:
    """Protect a table of three or more dimensions slice by slice.

    For every pair of dimensions and every combination of the other dimensions' values,
    the 2-D slice is protected with its margins (which are cells of lower-dimensional
    outputs anyone can request), carrying hidden cells from earlier slices; this repeats
    until no slice adds a suppression. Totals are never hidden here because they belong to
    other outputs. Returns the hidden keys and how many were hidden as complements.
    """
    axes = _axes(counts, n_dims)
    hidden = {k for k, v in counts.items() if policy.is_primary(v)}
    primary = len(hidden)
    changed = True
    while changed:
        changed = False
        for a, b in itertools.combinations(range(n_dims), 2):
            others = [d for d in range(n_dims) if d not in (a, b)]
            for fixed in itertools.product(*(axes[d] for d in others)):
                keys = [
                    [_slice_key(n_dims, (a, x), (b, y), zip(others, fixed, strict=True))
                     for y in axes[b]]
                    for x in axes[a]
                ]  # fmt: skip
                values = [[counts.get(k, 0) for k in row] for row in keys]
                if not any(map(any, values)):
                    continue
                forced = [
                    (i, j)
                    for i, row in enumerate(keys)
                    for j, k in enumerate(row)
                    if k in hidden and not policy.is_primary(counts.get(k, 0))
                ]
                matrix = _protect_matrix(
                    values, policy, one_dim=False, with_totals=True, forced=forced,
                    allow_totals=False,
                )  # fmt: skip
                for i, row in enumerate(keys):
                    for j, k in enumerate(row):
                        arc = matrix.network.arcs[matrix.cell_arc[i][j]]
                        if arc.suppressed and k not in hidden:
                            hidden.add(k)
                            changed = True
    return hidden, len(hidden) - primary


def protect_groups(
    rows: Iterable[Mapping[str, Any]],
    group_by: Sequence[str],
    *,
    count_key: str = "count",
    policy: DisclosurePolicy | None = None,
) -> ProtectedGroups:
    """Apply disclosure control to long-format group-by results.

    ``rows`` are dicts holding one value per ``group_by`` dimension plus ``count_key``
    (as produced by ``values(*group_by).annotate(count=Count("id"))``); a combination
    not present counts as 0.

    The margins are always treated as published, even though the rows do not carry
    them: anyone can ask for the same filter grouped by fewer dimensions, which publishes
    exactly those margins. 1 and 2 dimensions use :func:`protect_table` with totals; three
    or more are protected slice by slice (:func:`_protect_many`).
    """
    policy = policy or DisclosurePolicy.from_settings()
    dims = tuple(group_by)
    materialised = [dict(row) for row in rows]
    counts: dict[Key, int] = {}
    for row in materialised:
        key = tuple(row[d] for d in dims)
        if key in counts:
            raise ValueError(f"duplicate group {key!r}")
        counts[key] = int(row[count_key])
    grand = sum(counts.values())
    table: ProtectedTable | None = None
    if not dims:
        published: dict[Key, Published] = {(): policy.publish(grand)} if materialised else {}
        secondary = 0
    elif len(dims) <= 2:
        table = protect_table(counts, dims, with_totals=True, policy=policy)
        published = {k: c.value for k, c in table.cells.items()}
        secondary = table.secondary_count
    else:
        hidden, secondary = _protect_many(counts, len(dims), policy)
        published = {k: SUPPRESSED if k in hidden else policy.publish(v) for k, v in counts.items()}
    results = []
    for row in materialised:
        row[count_key] = published[tuple(row[d] for d in dims)]
        results.append(row)
    return ProtectedGroups(
        dims=dims,
        results=results,
        total=policy.publish(grand),
        secondary_count=secondary,
        note=policy.note(secondary),
        policy=policy,
        table=table,
    )


# --- audit (for tests and self-checks of published outputs) --------------------------------


@dataclass(frozen=True)
class Alternative:
    """Another table consistent with a protected output: cells and margins."""

    cells: dict[Key, int]
    row_totals: dict[Hashable, int]
    column_totals: dict[Hashable, int]
    grand_total: int


def audit_alternatives(
    counts: Mapping[Key, int], table: ProtectedTable
) -> dict[tuple[str, Hashable], list[Alternative]]:
    """For every hidden quantity of ``table``, the alternative tables (one with it one
    lower, one with it one higher, where they exist) consistent with everything
    published, under the intruder model in the module docstring.

    Keys are ``("cell", key)``, ``("row", value)``, ``("column", value)`` or
    ``("grand", None)``. An empty list means the hidden value can be recovered. The
    alternatives are explicit so a caller can check them without trusting this code.
    """
    policy = table.policy
    one_dim = len(table.dims) == 1
    axes = _axes(counts, len(table.dims))
    rows = [()] if one_dim else axes[0]
    cols = axes[-1]

    def key(row: Hashable, col: Hashable) -> Key:
        return (col,) if one_dim else (row, col)

    values = [[counts.get(key(r, c), 0) for c in cols] for r in rows]
    with_totals = table.grand_total is not None
    matrix = _build(values, policy, one_dim=one_dim, with_totals=with_totals)
    network = matrix.network
    named: dict[int, tuple[str, Hashable]] = {}
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            named[matrix.cell_arc[i][j]] = ("cell", key(r, c))
            if table.cells[key(r, c)].suppression is Suppression.SECONDARY:
                network.suppress(matrix.cell_arc[i][j])
    if with_totals:
        published_totals: list[tuple[int, tuple[str, Hashable], ProtectedCell | None]]
        if one_dim:
            published_totals = [(matrix.row_arc[0], ("grand", None), table.grand_total)]
        else:
            published_totals = [
                (matrix.row_arc[i], ("row", r), table.row_totals[r]) for i, r in enumerate(rows)
            ]
            published_totals += [
                (matrix.column_arc[j], ("column", c), table.column_totals[c])
                for j, c in enumerate(cols)
            ]
            published_totals.append((matrix.grand_arc, ("grand", None), table.grand_total))
        for arc_index, name, cell in published_totals:
            named[arc_index] = name
            if cell is not None and cell.suppression is Suppression.SECONDARY:
                network.suppress(arc_index)

    def alternative(cycle: list[tuple[int, int]]) -> Alternative:
        moved = [arc.value for arc in network.arcs]
        for arc_index, step in cycle:
            moved[arc_index] += step
        grand = moved[matrix.row_arc[0]] if one_dim else moved[matrix.grand_arc]
        return Alternative(
            cells={
                key(r, c): moved[matrix.cell_arc[i][j]]
                for i, r in enumerate(rows)
                for j, c in enumerate(cols)
            },
            row_totals={} if one_dim else {r: moved[matrix.row_arc[i]] for i, r in enumerate(rows)},
            column_totals={}
            if one_dim
            else {c: moved[matrix.column_arc[j]] for j, c in enumerate(cols)},
            grand_total=grand,
        )

    report: dict[tuple[str, Hashable], list[Alternative]] = {}
    for index, arc in enumerate(network.arcs):
        if arc.suppressed and index in named:
            cycles = [network.shift(index, -1), network.shift(index, 1)]
            report[named[index]] = [alternative(c) for c in cycles if c is not None]
    return report
