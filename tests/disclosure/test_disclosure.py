"""The cell-key method (incidents/disclosure.py) on its own: the perturbation table, one
published count, the note, and percentages from published figures. The method is
attacked through the real API in test_intruder_attacks.py."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    cell_key_note,
    percentage,
    perturbation_table,
    publish_cell,
)
from tests.disclosure import cellkey_oracle

POLICY = DisclosurePolicy(suppress_max=7, round_to=5, perturbation_max=4)


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4, 6])
def test_perturbation_table_is_bounded_symmetric_and_unbiased(limit: int) -> None:
    table = perturbation_table(limit)
    assert len(table) == 256
    assert set(table) == set(range(-limit, limit + 1))
    counts = Counter(table)
    assert all(counts[v] == counts[-v] for v in range(1, limit + 1))
    assert sum(table) == 0
    # 0 is the most likely perturbation, and likelihood falls away from it.
    assert all(counts[v] >= counts[v + 1] for v in range(limit))


def test_the_table_is_the_one_the_documentation_and_the_oracle_state() -> None:
    assert [publish_cell(50, key, POLICY) for key in range(256)] == [
        cellkey_oracle.publish(50, key) for key in range(256)
    ]


@given(count=st.integers(0, 7), key=st.integers(0, 10_000))
def test_zero_and_small_counts_look_alike(count: int, key: int) -> None:
    assert publish_cell(count, key, POLICY) == SUPPRESSED


@given(count=st.integers(8, 100_000), key=st.integers(0, 10_000))
def test_a_shown_count_is_within_the_stated_bounds(count: int, key: int) -> None:
    shown = publish_cell(count, key, POLICY)
    assert isinstance(shown, int) and shown % 5 == 0 and shown >= 10
    # The intruder's interval for a shown value holds the truth: rounding (2 either way)
    # plus the perturbation (4 either way), never below 8.
    assert max(8, shown - 6) <= count <= shown + 6


def test_the_same_cell_always_gets_the_same_value_and_keys_matter() -> None:
    assert publish_cell(42, 1234, POLICY) == publish_cell(42, 1234, POLICY)
    assert len({publish_cell(42, key, POLICY) for key in range(256)}) > 1


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        publish_cell(-1, 0, POLICY)


def test_thresholds_come_from_settings(settings) -> None:
    settings.DISCLOSURE_SUPPRESS_MAX = 10
    settings.DISCLOSURE_ROUND_TO = 10
    settings.DISCLOSURE_PERTURBATION_MAX = 0
    policy = DisclosurePolicy.from_settings()
    assert [publish_cell(v, 0, policy) for v in (0, 10, 11, 14, 15)] == ["*", "*", 10, 10, 20]
    assert "Counts of 0 to 10 are all shown as *" in cell_key_note(policy)


def test_a_policy_that_would_round_shown_counts_to_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="round"):
        DisclosurePolicy(suppress_max=2, round_to=10)


def test_the_note_states_the_method_in_plain_words() -> None:
    note = cell_key_note(POLICY)
    assert "0 to 7" in note and "plus or minus 4" in note and "nearest 5" in note
    assert "same adjustment" in note and "No group is hidden" in note


def test_percentages_use_the_published_figures() -> None:
    assert percentage(10, 35) == 28.6  # 12 of 36 would be 33.3
    assert percentage(SUPPRESSED, 35) == SUPPRESSED
    assert percentage(10, SUPPRESSED) is None
    assert percentage(0, 0) is None
