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


def column_skew_kurt(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the skewness and the excess kurtosis of each column, ignoring NaN (pandas ``.skew()``/``.kurt()``).

    The bias-corrected estimators of e1071 type 2, as COINr's ``skew()`` and ``kurt()``. Each column is summed
    on its own (the array is taken F-ordered), so a column has the same moments alone or among others. The
    third and fourth powers of the deviations are taken as products of their squares, about 10x faster than
    ``pow`` and within a few units in the last place of it; decisions on these values compare them at the
    decision precision (``docs/index_engine.md``, "Outlier treatment").

    Parameters
    ----------
    values : numpy.ndarray
        2-D array, units in rows, indicators in columns.

    Returns
    -------
    skew, kurt : numpy.ndarray
        One value per column; NaN where the column is constant or has fewer than 3 values (skewness) or 4
        values (kurtosis).
    """
    x = np.asfortranarray(values, dtype=float)
    n = np.sum(~np.isnan(x), axis=0).astype(float)
    dev = x - np.nanmean(np.where(n > 0, x, 0.0), axis=0)
    squares = dev**2
    m2, m3, m4 = (np.nansum(power, axis=0) for power in (squares, squares * dev, squares * squares))
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.sqrt(n) * m3 / m2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
        kurt = ((n + 1) * (n * m4 / m2**2 - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return np.where((n >= 3) & (m2 > 0), skew, np.nan), np.where((n >= 4) & (m2 > 0), kurt, np.nan)


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
    skew, kurt = column_skew_kurt(arr)
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

