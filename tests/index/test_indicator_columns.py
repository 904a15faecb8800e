"""The engine's per-indicator part on its own: the same values as a full build, column for column.

Columns computed together and one by one agree to :data:`RTOL` (another code path may take another kernel and
differ in the last bits); the decisions (which columns are treated, which values are missing) are identical.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcity_analysis.index.engine import (
    IndexBuildError,
    IndexWarning,
    OutlierSpec,
    _treat_one,
    build_index,
    indicator_columns,
    treat_columns,
)

SPEC = OutlierSpec()

RTOL = ATOL = 1e-12  # two code paths' values agree to this (relative; absolute near 0)


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


def one_by_one(columns: np.ndarray) -> np.ndarray:
    """What the build's treatment does, one indicator at a time."""
    out = columns.copy()
    for j in range(columns.shape[1]):
        x = columns[:, j].copy()
        if np.sum(~np.isnan(x)) >= 4:
            out[:, j] = _treat_one(x, SPEC)[0]
    return out


@pytest.mark.parametrize("n_units", [4, 9, 88, 514])
def test_treating_columns_together_equals_one_by_one(n_units):
    columns = skewed_columns(n_units, n_units, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = one_by_one(columns)
    np.testing.assert_allclose(treat_columns(columns, SPEC), expected, rtol=RTOL, atol=ATOL)


def test_the_compared_columns_cover_every_treatment():
    # Without this the comparison above could pass on columns that all pass untreated.
    columns = skewed_columns(88, 88, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        kinds = {_treat_one(columns[:, j].copy(), SPEC)[2]["treatment"] for j in range(columns.shape[1])}
    assert kinds == {"none", "winsorise", "log_CT"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=12, max_size=12),
                min_size=1, max_size=6))
def test_treating_columns_together_equals_one_by_one_on_any_values(raw):
    columns = np.array([[np.nan if v is None else v for v in column] for column in raw], dtype=float).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = one_by_one(columns)
        got = treat_columns(columns, SPEC)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


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


def test_skewness_and_kurtosis_together_equal_each_alone():
    from smartcity_analysis.index.stats import column_kurt, column_skew, column_skew_kurt

    columns = np.asfortranarray(skewed_columns(11, 88, 30))
    skew, kurt = column_skew_kurt(columns)
    np.testing.assert_allclose(skew, column_skew(columns), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(kurt, column_kurt(columns), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("n_units", [4, 9, 88, 514, 3000])
def test_bounded_moments_lie_within_their_bounds(n_units):
    from smartcity_analysis.index.stats import column_skew_kurt, column_skew_kurt_bounded

    columns = np.asfortranarray(skewed_columns(n_units + 1, n_units, 120))
    exact_skew, exact_kurt = column_skew_kurt(columns)
    skew, kurt, skew_bound, kurt_bound = column_skew_kurt_bounded(columns)
    np.testing.assert_array_equal(np.isnan(skew), np.isnan(exact_skew))
    np.testing.assert_array_equal(np.isnan(kurt), np.isnan(exact_kurt))
    finite = ~np.isnan(exact_skew)
    assert (np.abs(skew - exact_skew)[finite] <= skew_bound[finite]).all()
    finite = ~np.isnan(exact_kurt)
    assert (np.abs(kurt - exact_kurt)[finite] <= kurt_bound[finite]).all()
    assert (skew_bound[finite] < 1e-6).all() and (kurt_bound[finite] < 1e-6).all()  # tight enough to matter


def _on_the_threshold(base: np.ndarray, moment: int, threshold: float) -> np.ndarray | None:
    """``base`` with its last value moved (by bisection) onto ``threshold`` of the column's exact moment.

    None when no value above the others' largest brings the moment across the threshold.
    """
    from smartcity_analysis.index.stats import column_skew_kurt

    def value(last: float) -> float:
        column = base.copy()
        column[-1] = last
        return float(column_skew_kurt(column[:, None])[moment][0])

    low, high = float(np.nanmax(base[:-1])), float(np.nanmax(base[:-1])) * 1e3
    if not value(low) < threshold < value(high):
        return None
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        low, high = (middle, high) if value(middle) < threshold else (low, middle)
    column = base.copy()
    column[-1] = low
    return column


def test_columns_on_a_threshold_are_decided_by_the_exact_moments():
    from smartcity_analysis.index.engine import _passes, _passes_columns
    from smartcity_analysis.index.stats import column_skew_kurt_bounded

    rng = np.random.default_rng(7)
    columns, moments = [], []
    while len(columns) < 240:
        # The skewness brought onto its threshold, then the kurtosis onto its own.
        moment, threshold = (0, SPEC.skew_thresh) if len(columns) % 2 == 0 else (1, SPEC.kurt_thresh)
        base = rng.lognormal(0, 0.3, 60) if moment == 0 else rng.uniform(1, 2, 60)
        column = _on_the_threshold(base, moment, threshold)
        if column is not None:
            columns.append(column)
            moments.append(moment)
    matrix = np.asfortranarray(np.column_stack(columns))
    on_skew = np.array(moments) == 0
    skew, kurt, skew_bound, kurt_bound = column_skew_kurt_bounded(matrix)
    fast = np.where(on_skew, skew, kurt)
    thresholds = np.where(on_skew, SPEC.skew_thresh, SPEC.kurt_thresh)
    assert (np.abs(fast - thresholds) <= np.where(on_skew, skew_bound, kurt_bound)).all()  # all within the bound
    exact = np.array([_passes(matrix[:, j].copy(), SPEC)[1 + moments[j]] for j in range(matrix.shape[1])])
    # The fast moments alone would put some columns on the wrong side of their threshold ...
    assert ((fast < thresholds) != (exact < thresholds)).sum() >= 3
    # ... and every decision is still the exact one.
    passing, _ = _passes_columns(matrix, SPEC)
    np.testing.assert_array_equal(passing, [_passes(matrix[:, j].copy(), SPEC)[0] for j in range(matrix.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(treat_columns(matrix, SPEC), one_by_one(matrix), rtol=RTOL, atol=ATOL)
