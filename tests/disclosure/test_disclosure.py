"""Disclosure control (ISTV-DATASET.md section 6; SECURITY.md item 35)."""

from __future__ import annotations

import itertools
import random

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, find, given, settings

from incidents import disclosure
from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    ProtectedTable,
    Suppression,
    audit_alternatives,
    percentage,
    protect_groups,
    protect_table,
)
from tests.disclosure.intruder import check_alternative, line_bounds

POLICY = DisclosurePolicy(suppress_max=7, round_to=5)


def values(table: ProtectedTable) -> dict:
    return {key: cell.value for key, cell in table.cells.items()}


# --- the primary rule at its boundaries ---------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, 0),
        (1, SUPPRESSED),
        (7, SUPPRESSED),
        (8, 10),
        (12, 10),
        (13, 15),
        (17, 15),
        (18, 20),
        (22, 20),
        (23, 25),
        (1002, 1000),
        (1003, 1005),
    ],
)
def test_publish_boundaries(count, shown):
    assert POLICY.publish(count) == shown


def test_negative_counts_are_rejected():
    with pytest.raises(ValueError, match="negative"):
        POLICY.publish(-1)


def test_thresholds_come_from_settings(settings):
    settings.DISCLOSURE_SUPPRESS_MAX = 10
    settings.DISCLOSURE_ROUND_TO = 10
    policy = DisclosurePolicy.from_settings()
    assert [policy.publish(v) for v in (0, 10, 11, 14, 15)] == [0, SUPPRESSED, 10, 10, 20]
    table = protect_table({("a",): 10, ("b",): 40}, ["x"], with_totals=True)
    assert table.cells["a",].value == SUPPRESSED
    assert "Counts of 1\u201310 suppressed (*); others rounded to the nearest 10" in table.note


def test_a_policy_that_would_round_shown_counts_to_zero_is_refused():
    with pytest.raises(ValueError, match="round"):
        DisclosurePolicy(suppress_max=2, round_to=10)


def test_intruder_ranges_of_rounded_values():
    assert POLICY.shown_range(10) == (8, 12)
    assert POLICY.shown_range(15) == (13, 17)
    assert DisclosurePolicy(suppress_max=7, round_to=10).shown_range(20) == (15, 24)


# --- totals and percentages -----------------------------------------------------------------


def test_totals_are_computed_from_unrounded_counts():
    # 12 + 12 + 12 = 36 -> 35; summing the rounded cells would give 30.
    table = protect_table(
        {("a",): 12, ("b",): 12, ("c",): 12}, ["hospital"], with_totals=True, policy=POLICY
    )
    assert values(table) == {("a",): 10, ("b",): 10, ("c",): 10}
    assert table.grand_total is not None
    assert table.grand_total.value == 35


def test_two_way_totals_are_rounded_sums_and_small_totals_are_hidden():
    counts = {("r1", "c1"): 0, ("r1", "c2"): 0, ("r2", "c1"): 13, ("r2", "c2"): 14}
    counts[("r3", "c1")] = 0
    table = protect_table(counts, ["borough", "month"], with_totals=True, policy=POLICY)
    assert table.row_totals["r1"].value == 0
    assert table.row_totals["r2"].value == 25  # 27, not 15 + 15 = 30
    assert table.column_totals["c1"].value == 15
    assert table.grand_total is not None and table.grand_total.value == 25
    small = protect_table(
        {("r", "c"): 3, ("r", "d"): 4}, ["a", "b"], with_totals=True, policy=POLICY
    )
    assert small.row_totals["r"].value == SUPPRESSED  # 7 is in the suppressed range
    assert small.row_totals["r"].suppression is Suppression.PRIMARY


def test_percentages_use_the_rounded_figures():
    assert percentage(10, 35) == 28.6  # 12 of 36 would be 33.3
    assert percentage(SUPPRESSED, 35) == SUPPRESSED
    assert percentage(10, SUPPRESSED) is None
    assert percentage(0, 0) is None


# --- secondary suppression --------------------------------------------------------------------


def test_single_hidden_cell_gets_the_smallest_nonzero_complement_never_a_zero():
    table = protect_table(
        {("a",): 3, ("b",): 0, ("c",): 50, ("d",): 21, ("e",): 30},
        ["method"],
        with_totals=True,
        policy=POLICY,
    )
    assert values(table) == {("a",): "*", ("b",): 0, ("c",): 50, ("d",): "*", ("e",): 30}
    assert table.cells["d",].suppression is Suppression.SECONDARY
    assert table.secondary_count == 1
    assert table.note == (
        "Counts of 1\u20137 suppressed (*); others rounded to the nearest 5; totals calculated "
        "from unrounded counts, then rounded. 1 further cell suppressed so hidden values "
        "cannot be worked out from totals."
    )


def test_rounding_alone_does_not_hide_a_cell_from_an_intruder_who_knows_the_rule():
    # Published without complements this would read [*, 10, 10] with total 15: the total
    # is at most 17 and the shown cells at least 8 each, so the hidden cell is exactly 1.
    table = protect_table({("a",): 1, ("b",): 8, ("c",): 8}, ["x"], with_totals=True, policy=POLICY)
    assert_unrecoverable(table, {("a",): 1, ("b",): 8, ("c",): 8})


def test_without_totals_only_the_primary_rule_applies():
    table = protect_table(
        {("a", "x"): 3, ("a", "y"): 20, ("b", "x"): 20, ("b", "y"): 20},
        ["r", "c"],
        with_totals=False,
        policy=POLICY,
    )
    assert values(table) == {("a", "x"): "*", ("a", "y"): 20, ("b", "x"): 20, ("b", "y"): 20}
    assert table.grand_total is None and not table.row_totals
    assert table.note.endswith("then rounded.")


def test_every_line_with_a_hidden_cell_hides_two_or_its_total():
    rng = random.Random(7)
    for _ in range(30):
        counts = {
            (r, c): rng.choice([0, 0, 2, 5, 9, 14, 30, 61])
            for r, c in itertools.product(range(5), range(6))
        }
        table = protect_table(counts, ["r", "c"], with_totals=True, policy=POLICY)
        for axis, totals in ((0, table.row_totals), (1, table.column_totals)):
            for value, total in totals.items():
                line = [cell for k, cell in table.cells.items() if k[axis] == value]
                hidden = sum(cell.suppressed for cell in line)
                # The one exception: nothing non-zero left to hide (zeros are never
                # complements), e.g. a complement alone in its column; the audit covers it.
                shown = [cell for cell in line if not cell.suppressed and cell.value != 0]
                assert hidden != 1 or total.suppressed or not shown


# --- the property: no hidden cell can be worked out ------------------------------------------


def assert_unrecoverable(table: ProtectedTable, counts: dict) -> None:
    """Every hidden value (cell or total) has at least two values consistent with the
    output: the independent bound-propagation attack leaves a range, and an alternative
    table, checked independently, exists with that value changed."""
    bounds = line_bounds(table)
    report = audit_alternatives(counts, table)
    hidden = [(("cell", k), c) for k, c in table.cells.items() if c.suppressed]
    hidden += [(("row", k), c) for k, c in table.row_totals.items() if c.suppressed]
    hidden += [(("column", k), c) for k, c in table.column_totals.items() if c.suppressed]
    if table.grand_total is not None and table.grand_total.suppressed:
        hidden.append((("grand", None), table.grand_total))
    for name, _cell in hidden:
        low, high = bounds[name]
        assert low < high, f"{name} narrowed to {low} by line bounds"
        alternatives = report[name]
        assert alternatives, f"{name} can be recovered"
        for alt in alternatives:
            check_alternative(table, alt.cells, alt.row_totals, alt.column_totals, alt.grand_total)
            kind, key = name
            true = counts.get(key, 0) if kind == "cell" else None
            if kind == "cell":
                assert alt.cells[key] != true
            elif kind == "row":
                assert alt.row_totals[key] != sum(v for k, v in counts.items() if k[0] == key)
            elif kind == "column":
                assert alt.column_totals[key] != sum(v for k, v in counts.items() if k[1] == key)
            else:
                assert alt.grand_total != sum(counts.values())


# Counts concentrated where the rules bite: zeros, the ends of the hidden range and the
# ends of each rounding interval (8 and 12 both publish 10) are what let an intruder
# corner a value, so they are drawn far more often than uniform counts would be.
EDGES = [0, 1, 2, 6, 7, 8, 9, 12, 13, 17, 18, 22, 23]
count = st.one_of(
    st.just(0), st.sampled_from(EDGES), st.integers(1, 7), st.integers(8, 30),
    st.integers(0, 400),
)  # fmt: skip


@st.composite
def tables(draw: st.DrawFn) -> tuple[dict, list[str]]:
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 7))
    one_dim = draw(st.booleans()) and n_rows == 1
    if one_dim:
        return {(f"c{j}",): draw(count) for j in range(n_cols)}, ["x"]
    return {(f"r{i}", f"c{j}"): draw(count) for i in range(n_rows) for j in range(n_cols)}, [
        "r",
        "c",
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_hidden_value_can_be_recovered_from_the_published_margins(example):
    # Checked by hand: with disclosure._line_rule and disclosure._secure replaced by
    # no-ops this test failed in 5 runs out of 5, and with only _secure (the audit)
    # replaced, also 5 out of 5; with both in place a 4,000-example search found nothing.
    # The test below keeps the first check automatic.
    counts, dims = example
    table = protect_table(counts, dims, with_totals=True, policy=POLICY)
    assert_unrecoverable(table, counts)
    # Shown cells keep the primary rule.
    for key, cell in table.cells.items():
        if not cell.suppressed:
            assert cell.value == POLICY.publish(counts[key])


def _primary_only(counts: dict, dims: list[str]) -> ProtectedTable:
    """What protect_table returns with secondary suppression removed."""
    original = disclosure._line_rule, disclosure._secure
    disclosure._line_rule = lambda *a, **k: None  # type: ignore[assignment]
    disclosure._secure = lambda *a, **k: None  # type: ignore[assignment]
    try:
        return protect_table(counts, dims, with_totals=True, policy=POLICY)
    finally:
        disclosure._line_rule, disclosure._secure = original


def _recoverable(example: tuple[dict, list[str]]) -> bool:
    try:
        assert_unrecoverable(_primary_only(*example), example[0])
    except AssertionError:
        return True
    return False


def test_the_property_fails_when_secondary_suppression_is_removed():
    # The property test above is meaningful: with complements switched off, hypothesis
    # finds a table whose hidden cell is recovered, by the attacks themselves.
    example = find(tables(), _recoverable, settings=settings(max_examples=500, deadline=None))
    assert _recoverable(example)
    assert _recoverable(({("a",): 1, ("b",): 8, ("c",): 8}, ["x"]))


def test_the_two_per_line_rule_alone_is_not_enough_so_the_audit_runs_too():
    # Every line hides two or more cells, yet an intruder who knows the rule recovers a
    # hidden cell from this table; found by hypothesis with the audit switched off.
    counts = {(r, c): (1 if r == "a" else 6) for r in "ab" for c in "xyz"}
    original = disclosure._secure
    disclosure._secure = lambda *a, **k: None  # type: ignore[assignment]
    try:
        weak = protect_table(counts, ["r", "c"], with_totals=True, policy=POLICY)
    finally:
        disclosure._secure = original
    with pytest.raises(AssertionError, match=r"recovered|narrowed"):
        assert_unrecoverable(weak, counts)
    assert_unrecoverable(protect_table(counts, ["r", "c"], with_totals=True, policy=POLICY), counts)


# --- long-format group-by results (aggregates API) ---------------------------------------------


def test_groups_keep_order_and_extra_keys_and_replace_the_count():
    rows = [
        {"borough": "E09000028", "month": "2025-01", "count": 3},
        {"borough": "E09000028", "month": "2025-02", "count": 40},
        {"borough": "E09000022", "month": "2025-01", "count": 52},
        {"borough": "E09000022", "month": "2025-02", "count": 18},
    ]
    result = protect_groups(rows, ["borough", "month"], policy=POLICY)
    assert [r["month"] for r in result.results] == ["2025-01", "2025-02", "2025-01", "2025-02"]
    counts = [r["count"] for r in result.results]
    assert counts[0] == SUPPRESSED
    assert counts.count(SUPPRESSED) >= 2
    assert all(c == SUPPRESSED or c % 5 == 0 for c in counts)
    assert result.total == 115  # 113 unrounded
    control = result.disclosure_control()
    assert control["suppressed_up_to"] == 7 and control["rounded_to"] == 5
    assert control["note"] == result.note and "suppressed (*)" in result.note
    assert rows[0]["count"] == 3  # input untouched


def test_groups_with_one_dimension_protect_against_the_total():
    rows = [{"method": "knife", "count": 1}, {"method": "fist", "count": 8}]
    rows.append({"method": "bottle", "count": 8})
    result = protect_groups(rows, ["method"], policy=POLICY)
    assert result.table is not None
    assert_unrecoverable(result.table, {("knife",): 1, ("fist",): 8, ("bottle",): 8})


def test_groups_with_no_dimension_publish_the_single_count():
    assert protect_groups([{"count": 5}], [], policy=POLICY).results == [{"count": "*"}]
    assert protect_groups([{"count": 12}], [], policy=POLICY).total == 10


def test_duplicate_groups_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        protect_groups([{"m": "a", "count": 1}, {"m": "a", "count": 2}], ["m"], policy=POLICY)


def test_three_dimensions_are_protected_in_every_two_way_slice():
    rng = random.Random(3)
    axes = (["b1", "b2", "b3"], ["m1", "m2", "m3"], ["w1", "w2"])
    counts = {k: rng.choice([0, 1, 3, 9, 12, 25, 40]) for k in itertools.product(*axes)}
    rows = [{"borough": b, "month": m, "weekday": w, "count": n} for (b, m, w), n in counts.items()]
    result = protect_groups(rows, ["borough", "month", "weekday"], policy=POLICY)
    published = {(r["borough"], r["month"], r["weekday"]): r["count"] for r in result.results}
    hidden = {k for k, v in published.items() if v == SUPPRESSED}
    assert {k for k, v in counts.items() if 1 <= v <= 7} <= hidden
    assert result.secondary_count == len(hidden) - sum(1 <= v <= 7 for v in counts.values())
    # Every 2-D slice, with its margins published as another query would publish them,
    # withstands the attack.
    for a, b in itertools.combinations(range(3), 2):
        (other,) = {0, 1, 2} - {a, b}
        for fixed in axes[other]:
            keys = [k for k in counts if k[other] == fixed]
            slice_counts = {(k[a], k[b]): counts[k] for k in keys}
            table = protect_table(slice_counts, ["a", "b"], with_totals=True, policy=POLICY)
            cells = {
                (k[a], k[b]): disclosure.ProtectedCell(
                    published[k],
                    Suppression.NONE
                    if published[k] != SUPPRESSED
                    else Suppression.PRIMARY
                    if 1 <= counts[k] <= 7
                    else Suppression.SECONDARY,
                )
                for k in keys
            }

            def margin(n: int) -> disclosure.ProtectedCell:
                return disclosure.ProtectedCell(
                    POLICY.publish(n), Suppression.PRIMARY if 1 <= n <= 7 else Suppression.NONE
                )

            view = ProtectedTable(
                dims=("a", "b"),
                cells=cells,
                row_totals={
                    r: margin(sum(v for k, v in slice_counts.items() if k[0] == r))
                    for r in table.row_totals
                },
                column_totals={
                    c: margin(sum(v for k, v in slice_counts.items() if k[1] == c))
                    for c in table.column_totals
                },
                grand_total=margin(sum(slice_counts.values())),
                secondary_count=0,
                note="",
                policy=POLICY,
            )
            assert_unrecoverable(view, slice_counts)
