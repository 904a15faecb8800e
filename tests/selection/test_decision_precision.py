"""Decisions compare scores at the decision precision: noise in the last bits never moves a rank or a choice."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from smartcity_analysis.index.engine import DECISION_DECIMALS, decision_key
from smartcity_analysis.selection import gap
from smartcity_analysis.selection.ranking import SelectionParams, rank_rows, select, select_top, tie_order
from tests.selection.test_selection import candidates_for

NOISE = 1e-12  # far above a kernel's last-bit differences on 0-100 scores, far below the precision


def last_bit_noise(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """``values`` with the relative noise another kernel could give them."""
    rng = np.random.default_rng(seed)
    return values * (1 + rng.uniform(-NOISE, NOISE, values.shape))


def coarse_scores(n: int = 60, seed: int = 1) -> np.ndarray:
    """Scores on a 0.5 grid between 40 and 60: many exact ties, as a round's index can have."""
    return np.round(np.random.default_rng(seed).uniform(40, 60, n) * 2) / 2


def test_the_decision_key_rounds_to_the_stated_decimals_and_keeps_nan():
    assert DECISION_DECIMALS == 9
    values = np.array([55.0, 55.0 + 4e-10, 55.0 + 6e-10, np.nan, 1 / 3])
    key = decision_key(values)
    assert key[0] == key[1] and key[2] > key[1] and math.isnan(key[3])
    np.testing.assert_array_equal(decision_key(key), key)  # a key keyed again is the same key
    pd.testing.assert_series_equal(decision_key(pd.Series(values)), pd.Series(key))


def test_last_bit_noise_changes_no_rank_and_no_selection():
    values = coarse_scores()
    candidates = candidates_for(values, struktur=np.tile([50.0, 60.0, 55.0], 20))
    position = tie_order(candidates)
    ranks = rank_rows(values[None, :], position)
    noisy = np.vstack([last_bit_noise(values, seed) for seed in range(20)])
    assert not (noisy == values).all(axis=1).any()  # every row really is perturbed
    np.testing.assert_array_equal(rank_rows(noisy, position), np.repeat(ranks, 20, axis=0))
    eligible = np.ones(len(values), dtype=bool)
    selected, _ = select_top(ranks, eligible, 25)
    noisy_selected, _ = select_top(rank_rows(noisy, position), eligible, 25)
    np.testing.assert_array_equal(noisy_selected, np.repeat(selected, 20, axis=0))


def test_ties_at_the_precision_go_to_the_higher_tie_break_then_the_lower_code():
    # Three regions whose indices differ below the precision: a tie, broken by aspect_struktur, then by code.
    values = 70.0 + np.array([3e-11, 0.0, -2e-11])
    candidates = candidates_for(values, struktur=np.array([40.0, 60.0, 60.0 + 1e-12]))
    table = select(candidates, SelectionParams(quota=1)).table
    assert table["region_code"].tolist() == sorted(candidates["region_code"])[1:] + sorted(
        candidates["region_code"])[:1]
    assert table["selected"].tolist() == [True, False, False]


def test_a_threshold_holds_for_any_noise_below_the_precision():
    values = coarse_scores(40, seed=3)
    tie_position = np.random.default_rng(3).permutation(40)
    eligible = np.ones(40, dtype=bool)
    params = SelectionParams(quota=10)
    for position in range(0, 40, 3):
        threshold = gap.index_threshold(values, position, tie_position, eligible, params)
        noisy = gap.index_threshold(last_bit_noise(values, position), position, tie_position, eligible, params)
        assert threshold == noisy
        if math.isfinite(threshold):  # selected exactly from the threshold on, at the precision
            assert decision_key(threshold) == threshold
            for own, expected in ((threshold, True), (threshold - 10.0 ** -DECISION_DECIMALS, False),
                                  (threshold - 4e-10, True)):
                row = values.copy()
                row[position] = own
                assert gap.selected_in_rows(row, position, tie_position, eligible, params.quota)[0] == expected
