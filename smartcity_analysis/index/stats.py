"""Data statistics around the composite-index engine.

Column-wise skewness and kurtosis (the same estimators as pandas ``.skew()`` / ``.kurt()`` and COINr's
``skew()`` / ``kurt()``, i.e. e1071 type 2), and the per-indicator and per-unit data statistics attached to an
``IndexResult``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover - import for type hints only
    pass


# COINr get_stats() defaults (R/stats.R): availability below 0.65, share of unique values below 0.5,
# |skew| > 2 and kurtosis > 3.5 (t_avail, t_unq, t_skew, t_kurt). The |r| > 0.9 collinearity threshold between
# indicators of the same aggregate is our choice.
AVAILABILITY_THRESHOLD = 0.65


DISTINCT_SHARE_THRESHOLD = 0.5


SKEW_THRESHOLD = 2.0


KURT_THRESHOLD = 3.5


COLLINEAR_THRESHOLD = 0.9


def _deviations(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, per column ignoring NaN, the count of values and each value's deviation from the column mean."""
    x = np.atleast_2d(np.asarray(values, dtype=float))
    n = np.sum(~np.isnan(x), axis=0).astype(float)
    return n, x - np.nanmean(np.where(n > 0, x, 0.0), axis=0)


def _central_moments(values: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return, per column ignoring NaN, the count, the sum of squared deviations and of deviations**order."""
    n, dev = _deviations(values)
    return n, np.nansum(dev**2, axis=0), np.nansum(dev**order, axis=0)


def column_skew(values: np.ndarray) -> np.ndarray:
    """Return the adjusted Fisher-Pearson skewness of each column, ignoring NaN.

    Parameters
    ----------
    values : numpy.ndarray
        2-D array, units in rows, indicators in columns.

    Returns
    -------
    numpy.ndarray
        One value per column; NaN where fewer than 3 values are available or the column is constant.
    """
    return _skew(*_central_moments(values, 3))


def _skew(n: np.ndarray, m2: np.ndarray, m3: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        g1 = np.sqrt(n) * m3 / m2**1.5
        out = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    return np.where((n >= 3) & (m2 > 0), out, np.nan)


def column_kurt(values: np.ndarray) -> np.ndarray:
    """Return the bias-corrected excess kurtosis of each column, ignoring NaN (pandas ``.kurt()``).

    Parameters
    ----------
    values : numpy.ndarray
        2-D array, units in rows, indicators in columns.

    Returns
    -------
    numpy.ndarray
        One value per column; NaN where fewer than 4 values are available or the column is constant.
    """
    return _kurt(*_central_moments(values, 4))


def _kurt(n: np.ndarray, m2: np.ndarray, m4: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = n * m4 / m2**2
        out = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return np.where((n >= 4) & (m2 > 0), out, np.nan)


def column_skew_kurt(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return :func:`column_skew` and :func:`column_kurt` of each column, the shared moments computed once.

    The same operations in the same order as the two functions, so the same values to the last bit.
    """
    n, dev = _deviations(values)
    m2 = np.nansum(dev**2, axis=0)
    return _skew(n, m2, np.nansum(dev**3, axis=0)), _kurt(n, m2, np.nansum(dev**4, axis=0))


def column_skew_kurt_bounded(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return :func:`column_skew_kurt` of each column to within a bound, and the bounds, about 10x faster.

    The third and fourth powers of the deviations are taken as products (``d2 * d``, ``d2 * d2``, with ``d2``
    the squares both functions share) rather than by ``pow``, which is most of the cost of the exact
    function; everything else is the same operations in the same order. Each product is within 3 units in
    the last place of the power, and each column's sums, pairwise or not, add at most ``rows`` roundings of
    terms no larger than the column's ``m2 ** 1.5`` (``m2 ** 2``); so the skewness differs from the exact one
    by at most ``16 * eps * rows ** 1.5`` (times its small-sample factor, below 2.5) and the kurtosis by at
    most ``16 * eps * rows ** 2`` times its factor ``(n + 1)(n - 1) / ((n - 2)(n - 3))``, plus a few
    roundings of the value itself. A caller that compares the values with thresholds decides exactly when
    it recomputes, with :func:`column_skew_kurt`, the columns that fall within the bound of a threshold.

    Parameters
    ----------
    values : numpy.ndarray
        2-D array, units in rows, indicators in columns (F-ordered, as for :func:`column_skew_kurt`).

    Returns
    -------
    skew, kurt, skew_bound, kurt_bound : numpy.ndarray
        One value per column; ``|skew - exact skew| <= skew_bound``, and the same for the kurtosis (NaN in
        the same columns as the exact values).
    """
    n, dev = _deviations(values)
    squares = dev**2
    m2 = np.nansum(squares, axis=0)
    skew = _skew(n, m2, np.nansum(squares * dev, axis=0))
    kurt = _kurt(n, m2, np.nansum(squares * squares, axis=0))
    eps, rows = np.finfo(float).eps, float(max(dev.shape[0], 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n >= 4, (n + 1) * (n - 1) / ((n - 2) * (n - 3)), np.inf)
    skew_bound = 16 * eps * rows**1.5 * 2.5 + 8 * eps * np.abs(skew)
    kurt_bound = 16 * eps * rows**2 * factor + 8 * eps * np.abs(kurt)
    return skew, kurt, skew_bound, kurt_bound


def _n_distinct(frame: pd.DataFrame) -> pd.Series:
    return frame.nunique(dropna=True)


def _collinear_partners(frame: pd.DataFrame, parents: pd.Series) -> pd.Series:
    """Name, per indicator, the siblings it correlates with above the collinearity threshold."""
    corr = frame.corr(method="pearson", min_periods=3)
    same_parent = parents.to_numpy()[:, None] == parents.to_numpy()[None, :]
    strong = (corr.abs() > COLLINEAR_THRESHOLD).to_numpy() & same_parent
    np.fill_diagonal(strong, False)
    names = np.asarray(frame.columns)
    partners = [", ".join(names[row]) for row in strong]
    return pd.Series(partners, index=frame.columns, dtype="string")


def indicator_statistics(values: pd.DataFrame, parents: pd.Series) -> pd.DataFrame:
    """Summarise each indicator's data, with COINr-style flags (``get_stats()``, R/stats.R).

    Parameters
    ----------
    values : pandas.DataFrame
        Indicator data (units in rows), as it enters imputation (after denomination).
    parents : pandas.Series
        The parent aggregate of each indicator, indexed by indicator code.

    Returns
    -------
    pandas.DataFrame
        Indexed by indicator: ``n_available``, ``availability`` (0-1), ``n_distinct``, ``distinct_share``,
        ``min``, ``max``, ``mean``, ``sd``, ``skew``, ``kurtosis``, ``flag_low_availability``,
        ``flag_low_distinct``, ``flag_skew_kurt``, ``collinear_with`` and ``flag_collinear``.
    """
    arr = values.to_numpy(dtype=float)
    n_available = values.notna().sum()
    n_distinct = _n_distinct(values)
    n_units = max(len(values), 1)
    skew = column_skew(arr)
    kurt = column_kurt(arr)
    partners = _collinear_partners(values, parents.reindex(values.columns))
    with np.errstate(divide="ignore", invalid="ignore"):
        distinct_share = n_distinct / n_available.where(n_available > 0)
    stats = pd.DataFrame(
        {
            "n_available": n_available.astype(int),
            "availability": n_available / n_units,
            "n_distinct": n_distinct.astype(int),
            "distinct_share": distinct_share,
            "min": values.min(),
            "max": values.max(),
            "mean": values.mean(),
            "sd": values.std(ddof=1),
            "skew": skew,
            "kurtosis": kurt,
        },
        index=values.columns,
    )
    stats["flag_low_availability"] = stats["availability"] < AVAILABILITY_THRESHOLD
    stats["flag_low_distinct"] = stats["distinct_share"].fillna(0) < DISTINCT_SHARE_THRESHOLD
    stats["flag_skew_kurt"] = (stats["skew"].abs() > SKEW_THRESHOLD) & (stats["kurtosis"] > KURT_THRESHOLD)
    stats["collinear_with"] = partners
    stats["flag_collinear"] = partners.str.len() > 0
    stats.index.name = "indicator"
    return stats


def unit_statistics(values: pd.DataFrame, imputed_mask: pd.DataFrame) -> pd.DataFrame:
    """Summarise each unit's data availability before imputation.

    Parameters
    ----------
    values : pandas.DataFrame
        Indicator data (units in rows) as it enters imputation.
    imputed_mask : pandas.DataFrame
        Same shape: ``True`` where a value was imputed (units absent from it count zero).

    Returns
    -------
    pandas.DataFrame
        Indexed by unit: ``n_available``, ``n_missing``, ``coverage`` (share of indicators available, 0-1),
        ``n_zero`` and ``n_imputed``.
    """
    available = values.notna()
    n_ind = max(values.shape[1], 1)
    stats = pd.DataFrame(
        {
            "n_available": available.sum(axis=1).astype(int),
            "n_missing": (~available).sum(axis=1).astype(int),
            "coverage": available.sum(axis=1) / n_ind,
            "n_zero": (values == 0).sum(axis=1).astype(int),
            "n_imputed": imputed_mask.reindex(values.index, fill_value=False).sum(axis=1).astype(int),
        },
        index=values.index,
    )
    return stats

