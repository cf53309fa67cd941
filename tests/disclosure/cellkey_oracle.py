"""The published cell-key rule for the default settings, written out independently of
incidents.disclosure, so tests can say what an aggregate-level user must see.

* 0 to 7: "*" (an empty group looks like a small one).
* Otherwise: the count plus the perturbation of its cell key (the sum of the group's
  record keys, modulo 256), never below 8, rounded to the nearest 5 (halves up).
* The perturbation for the default limit of 4, by cell key: 0-9 -> -4, 10-30 -> -3,
  31-60 -> -2, 61-101 -> -1, 102-153 -> 0, 154-194 -> +1, 195-224 -> +2, 225-245 -> +3,
  246-255 -> +4 (triangular weights 1:2:3:4:5:4:3:2:1 of 256).
* A grouping of more than one group is refused when the published total (0 when "*")
  is less than 4 per group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Count, Sum

SUPPRESS_MAX, ROUND_TO, MIN_CELL_MEAN = 7, 5, 4
_EDGES = ((10, -4), (31, -3), (61, -2), (102, -1), (154, 0), (195, 1), (225, 2), (246, 3), (256, 4))


def perturbation(cell_key: int) -> int:
    return next(shift for edge, shift in _EDGES if cell_key < edge)


def publish(count: int, key_sum: int) -> int | str:
    if count <= SUPPRESS_MAX:
        return "*"
    value = max(count + perturbation(key_sum % 256), SUPPRESS_MAX + 1)
    return ROUND_TO * ((2 * value + ROUND_TO) // (2 * ROUND_TO))


def truth(queryset: Any, column: str) -> dict[Any, tuple[int, int]]:
    """(count, record-key sum) per value of ``column`` in ``queryset`` (rows the user may
    count, as the test itself selected them)."""
    return {
        row[column]: (row["n"], row["k"])
        for row in queryset.order_by().values(column).annotate(n=Count("id"), k=Sum("record_key"))
    }


def expected(
    groups: Iterable[Any], true: Mapping[Any, tuple[int, int]]
) -> tuple[dict[Any, int | str], int | str, bool]:
    """(published value per group of the full grid, published total, refused?)."""
    cells = list(groups)
    published = {g: publish(*true.get(g, (0, 0))) for g in cells}
    count = sum(n for n, _ in true.values())
    key_sum = sum(k for _, k in true.values())
    total = publish(count, key_sum)
    shown = total if isinstance(total, int) else 0
    refused = len(cells) > 1 and shown / len(cells) < MIN_CELL_MEAN
    return published, total, refused
