"""Statistical disclosure control for aggregate outputs (docs/disclosure-and-exports.md).

Everything an aggregate-level user receives (and every output marked aggregate: the
monitoring reports, case-study charts) is protected by the cell-key method, as the ONS
used it for Census 2021:

* every incident carries a random record key from 0 to 255 (``Incident.record_key``),
  drawn when the row is written and never shown;
* a group's (a cell's) key is the sum of its records' keys, modulo 256;
* counts of 0 to ``suppress_max`` are all shown as ``"*"``: an empty group looks exactly
  like a small one, so the shape of an answer says nothing;
* any other count gets the perturbation its cell key selects from a fixed table (at most
  ``perturbation_max`` either way), is kept at ``suppress_max + 1`` or more, and is
  rounded to the nearest ``round_to``;
* totals are cells of their own: perturbed and rounded the same way, from the true total.

The same records always make the same cell key, so the same group in the same release
always gets the same perturbation: asking again gains nothing. Two overlapping questions
are two different groups with independent perturbations, so subtracting them gives the
difference only to within the perturbations and the rounding of both. No cell is hidden
to protect another, so there is no secondary suppression to search for, and every answer
costs one grouped count. tests/disclosure/test_intruder_attacks.py attacks the method
through the real API with a linear-programming intruder.

Percentages are computed from the published figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final, Literal, TypeAlias

from django.conf import settings
from django.utils.translation import ngettext

SUPPRESSED: Final = "*"
# The machine-readable reason a published cell is ``"*"`` (the API's and the count
# downloads' ``suppressed`` field). The cell-key method hides a cell for one reason only,
# its own small count: no cell is hidden to protect another, so there is no second marker.
SMALL_COUNT: Final = "small_count"

Published: TypeAlias = int | Literal["*"]


@dataclass(frozen=True)
class DisclosurePolicy:
    """Thresholds of the rule. ``from_settings()`` reads ``DISCLOSURE_SUPPRESS_MAX``,
    ``DISCLOSURE_ROUND_TO`` and ``DISCLOSURE_PERTURBATION_MAX``."""

    suppress_max: int = 7
    round_to: int = 5
    perturbation_max: int = 4

    def __post_init__(self) -> None:
        if self.suppress_max < 0 or self.round_to < 1:
            raise ValueError("suppress_max must be >= 0 and round_to >= 1")
        # The smallest count shown must not round to 0, or a published 0 would no longer
        # mean "none".
        if self.round_shown(self.suppress_max + 1) == 0:
            raise ValueError(
                f"round_to={self.round_to} would round {self.suppress_max + 1} to 0; "
                "raise suppress_max or lower round_to"
            )

    @classmethod
    def from_settings(cls) -> DisclosurePolicy:
        return cls(
            suppress_max=settings.DISCLOSURE_SUPPRESS_MAX,
            round_to=settings.DISCLOSURE_ROUND_TO,
            perturbation_max=settings.DISCLOSURE_PERTURBATION_MAX,
        )

    def round_shown(self, value: int) -> int:
        # Nearest multiple, halves upwards, in integers (no float surprises).
        base = self.round_to
        return ((2 * value + base) // (2 * base)) * base


# --- the cell-key method ---------------------------------------------------------------------


@cache
def perturbation_table(limit: int, keys: int = 256) -> tuple[int, ...]:
    """The perturbation for each cell key: -``limit`` to +``limit``, triangular weights
    (0 the most likely), symmetric so the perturbation is unbiased on average."""
    values = list(range(-limit, limit + 1))
    weights = [limit + 1 - abs(v) for v in values]
    total = sum(weights)
    edges = [round(keys * sum(weights[: i + 1]) / total) for i in range(len(values))]
    table: list[int] = []
    for value, edge in zip(values, edges, strict=True):
        table += [value] * (edge - len(table))
    return tuple(table)


def cell_key(key_sum: int, keys: int = 256) -> int:
    return key_sum % keys


def publish_cell(value: int, key_sum: int, policy: DisclosurePolicy) -> Published:
    """One count as an aggregate-level user sees it under the cell-key method.

    0 to ``suppress_max`` → ``"*"`` (an empty cell looks like a small one); otherwise the
    count plus its cell's perturbation, never below ``suppress_max + 1``, rounded to the
    nearest ``round_to``.
    """
    if value < 0:
        raise ValueError("counts cannot be negative")
    if value <= policy.suppress_max:
        return SUPPRESSED
    shift = perturbation_table(policy.perturbation_max)[cell_key(key_sum)]
    return policy.round_shown(max(value + shift, policy.suppress_max + 1))


def suppression_reason(value: Published) -> str | None:
    """Why a published cell is hidden (``SMALL_COUNT``), or None when it is shown. The
    same for every hidden cell, whatever its true count: the reason says nothing more than
    the ``"*"`` does."""
    return SMALL_COUNT if value == SUPPRESSED else None


def incidents_phrase(value: Published, policy: DisclosurePolicy | None = None) -> str:
    """A count in words with the noun agreeing: "1 incident", "1,250 incidents", and for a
    hidden count the range it stands for, "0 to 7 incidents" (never a guess at the count)."""
    if value == SUPPRESSED:
        limit = (policy or DisclosurePolicy.from_settings()).suppress_max
        return f"0 to {limit} incidents"
    assert isinstance(value, int)
    return ngettext("%(count)s incident", "%(count)s incidents", value) % {"count": f"{value:,}"}


def cell_key_note(policy: DisclosurePolicy) -> str:
    """The plain-words statement on every output protected by the cell-key method."""
    return (
        f"Counts of 0 to {policy.suppress_max} are all shown as * (so an empty group "
        "cannot be told from a small one). Other counts have a small fixed adjustment of "
        f"up to plus or minus {policy.perturbation_max} added (the cell-key method: the same group "
        f"always gets the same adjustment) and are then rounded to the nearest "
        f"{policy.round_to}. Totals are adjusted and rounded in the same way as groups of "
        "their own, so the groups need not add up to them exactly. No group is hidden to "
        "protect another."
    )


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
