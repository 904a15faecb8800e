"""The engine's per-indicator part on its own: the same values as a full build, column for column.

The outlier treatment handles every column at once; a column is treated the same alone or among others, and its
skewness and kurtosis meet the thresholds at the decision precision.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from smartcity_analysis.index.engine import (
    DECISION_DECIMALS,
    IndexBuildError,
    IndexWarning,
    OutlierSpec,
    build_index,
    indicator_columns,
    treat_columns,
)
from smartcity_analysis.index.stats import column_skew_kurt

SPEC = OutlierSpec()

RTOL = ATOL = 1e-12  # a full build and the columns alone agree to this (relative; absolute near 0)


def skewed_columns(seed: int, n_units: int, n_columns: int) -> np.ndarray:
    """Columns of every shape the treatment meets: heavy tails both ways, ties at the extreme, gaps, normal."""
    rng = np.random.default_rng(seed)
    shapes = [
        lambda: rng.lognormal(0, rng.uniform(0.5, 3), n_units),
        lambda: -rng.lognormal(0, 2, n_units),
        lambda: np.round(rng.exponential(1, n_units) ** 3, 1),
        lambda: rng.normal(0, 1, n_units),
        lambda: np.concatenate([np.zeros(n_units - 3), rng.uniform(100, 1000, 3)]),
        lambda: rng.pareto(1.0, n_units),
    ]
    columns = np.column_stack([shapes[j % len(shapes)]() for j in range(n_columns)])
    columns[rng.random(columns.shape) < 0.1] = np.nan
    return columns


@pytest.mark.parametrize("n_units", [4, 9, 88, 514])
def test_a_column_is_treated_the_same_alone_or_among_others(n_units):
    columns = skewed_columns(n_units, n_units, 60)
    together = treat_columns(columns, SPEC)
    for j in range(columns.shape[1]):
        alone = treat_columns(columns[:, [j]], SPEC)
        np.testing.assert_array_equal(alone.values[:, 0], together.values[:, j])
        assert alone.treatment[0] == together.treatment[j]
        assert alone.n_winsorised[0] == together.n_winsorised[j]


def test_the_compared_columns_cover_every_treatment():
    # Without this the comparison above could pass on columns that all pass untreated.
    assert set(treat_columns(skewed_columns(88, 88, 60), SPEC).treatment) == {"none", "winsorise", "log_CT"}


def mini_build(values: pd.DataFrame, direction: np.ndarray, groups: pd.Series, impute: str, normalise: str
               ) -> np.ndarray:
    """The columns as a full build scores them (one indicator per column, all under one root)."""
    codes = list(values.columns)
    table = pd.DataFrame([*({"code": c, "level": 1, "parent": "root", "weight": 1.0, "direction": d}
                            for c, d in zip(codes, direction, strict=True)),
                          {"code": "root", "level": 2, "parent": None, "weight": 1.0, "direction": np.nan}])
    data = values.reset_index().assign(group=groups.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        result = build_index(data, table, unit="unit", impute=impute, impute_group="group", treat_outliers=True,
                             normalise=normalise)
    return result.scores[codes].to_numpy(float)


@pytest.mark.parametrize("impute", ["group_median", "median", "mean"])
@pytest.mark.parametrize("normalise", ["minmax", "zscore", "rank"])
def test_indicator_columns_equal_the_full_build(impute, normalise):
    columns = skewed_columns(3, 120, 24)
    columns[:, 0] = columns[0, 0]  # a constant column: scored NaN by both
    units = pd.Index([f"u{i:03d}" for i in range(len(columns))], name="unit")
    values = pd.DataFrame(columns, index=units, columns=[f"c{j}" for j in range(columns.shape[1])])
    values = values[values.notna().any(axis=1)]
    groups = pd.Series(np.where(np.arange(len(values)) % 3 == 0, "Kota", "Kabupaten"), index=values.index)
    direction = np.where(np.arange(columns.shape[1]) % 4 == 0, -1.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        got = indicator_columns(values, direction, impute=impute, groups=groups, treat_outliers=True,
                                normalise=normalise)
    np.testing.assert_allclose(got, mini_build(values, direction, groups, impute, normalise), rtol=RTOL, atol=ATOL)
    assert np.isnan(got[:, 0]).all()


def test_indicator_columns_refuse_goalposts():
    with pytest.raises(IndexBuildError, match="goalposts"):
        indicator_columns(pd.DataFrame({"a": [1.0, 2.0]}), np.array([1.0]), normalise="goalposts")


def _skew_moved_to(base: np.ndarray, target: float) -> np.ndarray | None:
    """``base`` with its last value moved (by bisection) to the largest value whose skewness is below ``target``.

    None when no value above the others' largest brings the skewness across ``target``.
    """

    def skew(last: float) -> float:
        column = base.copy()
        column[-1] = last
        return float(column_skew_kurt(column[:, None])[0][0])

    low, high = float(np.nanmax(base[:-1])), float(np.nanmax(base[:-1])) * 1e3
    if not skew(low) < target < skew(high):
        return None
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        low, high = (middle, high) if skew(middle) < target else (low, middle)
    column = base.copy()
    column[-1] = low
    return column


@pytest.mark.parametrize(("below", "treated"), [(10.0 ** -(DECISION_DECIMALS + 3), True),
                                                (10.0 ** -(DECISION_DECIMALS - 3), False)])
def test_the_skewness_meets_its_threshold_at_the_decision_precision(below, treated):
    # A skewness below the threshold by less than the decision precision is the threshold: the column fails.
    rng = np.random.default_rng(7)
    column = None
    while column is None:
        column = _skew_moved_to(rng.lognormal(0, 0.3, 60), SPEC.skew_thresh - below)
    skew, kurt = column_skew_kurt(column[:, None])
    assert SPEC.skew_thresh - 2 * below < skew[0] < SPEC.skew_thresh and kurt[0] > SPEC.kurt_thresh
    assert (treat_columns(column[:, None], SPEC).treatment[0] != "none") is treated
