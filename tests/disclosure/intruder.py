"""An intruder written independently of incidents.disclosure, used to attack its outputs.

It knows the published rule for the default thresholds (1 to 7 hidden, others rounded to the
nearest 5, halves up) and, worst case, which ``*`` are primary (1 to 7) and which are
complements (at least 8). Two attacks:

* ``line_bounds``: the textbook attack. For every row, column and margin equation, the
  hidden part lies in [published total range - published cell ranges]; propagate the
  bounds over all equations until nothing changes.
* ``check_alternative``: verifies an alternative table (from any source) against the
  published output, so a claim "this cell could also be v ± 1" is checked here, not
  trusted.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from incidents.disclosure import ProtectedCell, ProtectedTable, Suppression

SUPPRESS_MAX = 7
ROUND_TO = 5

Interval = tuple[float, float]


def interval(cell: ProtectedCell) -> Interval:
    """What the intruder knows about one published value."""
    if cell.value == 0:
        return 0, 0
    if cell.value == "*":
        if cell.suppression is Suppression.PRIMARY:
            return 1, SUPPRESS_MAX
        return SUPPRESS_MAX + 1, math.inf
    assert isinstance(cell.value, int)
    return max(cell.value - 2, SUPPRESS_MAX + 1), cell.value + 2


def _variables(table: ProtectedTable) -> dict[tuple[str, Hashable], ProtectedCell]:
    variables: dict[tuple[str, Hashable], ProtectedCell] = {
        ("cell", key): cell for key, cell in table.cells.items()
    }
    for value, cell in table.row_totals.items():
        variables["row", value] = cell
    for value, cell in table.column_totals.items():
        variables["column", value] = cell
    if table.grand_total is not None:
        variables["grand", None] = table.grand_total
    return variables


def _equations(table: ProtectedTable) -> list[list[tuple[int, tuple[str, Hashable]]]]:
    """Each equation as [(coefficient, variable)], summing to 0."""
    grand = ("grand", None)
    if len(table.dims) == 1:
        return [[(1, ("cell", k)) for k in table.cells] + [(-1, grand)]]
    equations = []
    for r in table.row_totals:
        equations.append([(1, ("cell", k)) for k in table.cells if k[0] == r] + [(-1, ("row", r))])
    for c in table.column_totals:
        equations.append(
            [(1, ("cell", k)) for k in table.cells if k[1] == c] + [(-1, ("column", c))]
        )
    equations.append([(1, ("row", r)) for r in table.row_totals] + [(-1, grand)])
    equations.append([(1, ("column", c)) for c in table.column_totals] + [(-1, grand)])
    return equations


def line_bounds(table: ProtectedTable) -> dict[tuple[str, Hashable], Interval]:
    """Bounds on every value after propagating every margin equation to a fixpoint."""
    variables = _variables(table)
    bounds = {name: interval(cell) for name, cell in variables.items()}
    equations = _equations(table)
    for _ in range(200):
        changed = False
        for equation in equations:
            for coefficient, name in equation:
                # coefficient * x = -(sum of the other terms)
                low = high = 0.0
                for other_coefficient, other in equation:
                    if other == name:
                        continue
                    lo, hi = bounds[other]
                    term = (-other_coefficient * lo, -other_coefficient * hi)
                    low += min(term)
                    high += max(term)
                if coefficient < 0:
                    low, high = -high, -low
                old_low, old_high = bounds[name]
                new = (max(old_low, low), min(old_high, high))
                if new != bounds[name]:
                    bounds[name] = new
                    changed = True
        if not changed:
            break
    return bounds


def check_alternative(
    table: ProtectedTable, cells: dict, rows: dict, columns: dict, grand: int
) -> None:
    """Assert that an alternative table is consistent with everything published."""
    for key, value in cells.items():
        low, high = interval(table.cells[key])
        assert low <= value <= high, (key, value)
    if len(table.dims) == 1:
        assert sum(cells.values()) == grand
    else:
        for r, cell in table.row_totals.items():
            total = sum(v for k, v in cells.items() if k[0] == r)
            assert rows[r] == total
            low, high = interval(cell)
            assert low <= total <= high
        for c, cell in table.column_totals.items():
            total = sum(v for k, v in cells.items() if k[1] == c)
            assert columns[c] == total
            low, high = interval(cell)
            assert low <= total <= high
        assert sum(cells.values()) == grand
    assert table.grand_total is not None
    low, high = interval(table.grand_total)
    assert low <= grand <= high
