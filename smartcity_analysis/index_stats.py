"""Statistics and read-outs around the composite-index engine (``smartcity_analysis.index``).

Column-wise skewness and kurtosis (the same estimators as pandas ``.skew()`` / ``.kurt()`` and COINr's
``skew()`` / ``kurt()``, i.e. e1071 type 2), the per-indicator and per-unit data statistics attached to an
``IndexResult``, and three analyses of a built index: a unit's strengths and weaknesses, the statistical
coherence of each aggregate with its children, and rank shifts between two builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover - import for type hints only
    from smartcity_analysis.index import IndexResult

# COINr get_stats() defaults (R/stats.R): availability below 0.65, share of unique values below 0.5,
# |skew| > 2 and kurtosis > 3.5 (t_avail, t_unq, t_skew, t_kurt). The |r| > 0.9 collinearity threshold between
# indicators of the same aggregate is our choice.
AVAILABILITY_THRESHOLD = 0.65
DISTINCT_SHARE_THRESHOLD = 0.5
SKEW_THRESHOLD = 2.0
KURT_THRESHOLD = 3.5
COLLINEAR_THRESHOLD = 0.9


def _central_moments(values: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return, per column ignoring NaN, the count, the sum of squared deviations and of deviations**order."""
    x = np.atleast_2d(np.asarray(values, dtype=float))
    n = np.sum(~np.isnan(x), axis=0).astype(float)
    dev = x - np.nanmean(np.where(n > 0, x, 0.0), axis=0)
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
    n, m2, m3 = _central_moments(values, 3)
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
    n, m2, m4 = _central_moments(values, 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = n * m4 / m2**2
        out = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return np.where((n >= 4) & (m2 > 0), out, np.nan)


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


def strengths_weaknesses(
    result: IndexResult, unit: str, n: int = 3, min_distinct: int = 5
) -> pd.DataFrame:
    """Return a unit's best and worst indicators by rank (COINr ``get_str_weak()``, R/results.R).

    Parameters
    ----------
    result : IndexResult
        A built index.
    unit : str
        The unit code.
    n : int, default 3
        How many strengths and how many weaknesses.
    min_distinct : int, default 5
        Indicators whose normalised scores take fewer distinct values than this are skipped: a rank among
        three possible values (e.g. a yes/no indicator) says little about a unit.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind`` (``"strength"`` / ``"weakness"``), ``indicator``, ``parent``, ``score``, ``rank``.

    Raises
    ------
    KeyError
        If the unit is not in the result.
    """
    if unit not in result.scores.index:
        raise KeyError(f"unit {unit!r} is not in the index result (screened out or unknown)")
    codes = result.indicator_codes
    scores = result.scores[codes]
    eligible = [c for c in codes if scores[c].nunique(dropna=True) >= min_distinct]
    row = pd.DataFrame(
        {
            "indicator": eligible,
            "parent": [result.parents[c] for c in eligible],
            "score": result.scores.loc[unit, eligible].to_numpy(dtype=float),
            "rank": result.ranks.loc[unit, eligible].to_numpy(dtype=float),
        }
    ).dropna(subset=["rank"])
    ordered = row.sort_values(["rank", "indicator"], kind="stable")
    strengths = ordered.head(n).assign(kind="strength")
    weaknesses = ordered.iloc[::-1].head(n).assign(kind="weakness")
    out = pd.concat([strengths, weaknesses], ignore_index=True)
    return out[["kind", "indicator", "parent", "score", "rank"]]


def coherence(result: IndexResult, framework: pd.DataFrame) -> pd.DataFrame:
    """Correlate, within each aggregate, every child with its parent and every pair of children.

    Parameters
    ----------
    result : IndexResult
        A built index.
    framework : pandas.DataFrame
        The framework table (``code``, ``level``, ``parent``).

    Returns
    -------
    pandas.DataFrame
        Columns ``aggregate``, ``level``, ``kind`` (``"child_parent"`` / ``"child_child"``), ``code_a``,
        ``code_b``, ``pearson``, ``spearman``, ``n_units``. Pearson on pairwise-complete units.
    """
    fw = framework.assign(parent=framework["parent"].fillna("").astype(str))
    rows = []
    for agg, children in fw[fw["parent"] != ""].groupby("parent", sort=False)["code"]:
        kids = [c for c in children if c in result.scores.columns]
        if agg not in result.scores.columns or not kids:
            continue
        block = result.scores[[*kids, agg]]
        pear = block.corr(method="pearson", min_periods=3)
        spear = block.corr(method="spearman", min_periods=3)
        counts = block.notna().astype(int).T @ block.notna().astype(int)
        level = int(fw.loc[fw["code"] == agg, "level"].iloc[0])
        pairs = [(k, agg, "child_parent") for k in kids]
        pairs += [(a, b, "child_child") for i, a in enumerate(kids) for b in kids[i + 1 :]]
        rows += [
            (agg, level, kind, a, b, pear.loc[a, b], spear.loc[a, b], int(counts.loc[a, b]))
            for a, b, kind in pairs
        ]
    return pd.DataFrame(
        rows, columns=["aggregate", "level", "kind", "code_a", "code_b", "pearson", "spearman", "n_units"]
    )


def compare_results(a: IndexResult, b: IndexResult, level_code: str = "Index") -> pd.DataFrame:
    """Compare two builds on one code: scores, ranks and rank shifts (COINr ``compare_coins()``).

    Parameters
    ----------
    a, b : IndexResult
        The baseline and the alternative build.
    level_code : str, default "Index"
        The framework code to compare (usually the index).

    Returns
    -------
    pandas.DataFrame
        Indexed by unit (union of both builds): ``score_a``, ``rank_a``, ``score_b``, ``rank_b``,
        ``rank_change`` (``rank_a - rank_b``: positive means the unit moved up in ``b``) and
        ``abs_rank_change``; sorted by ``rank_b``.

    Raises
    ------
    KeyError
        If ``level_code`` is missing from either result.
    """
    for name, res in (("a", a), ("b", b)):
        if level_code not in res.scores.columns:
            raise KeyError(f"code {level_code!r} is not in result {name}")
    out = pd.concat(
        {
            "score_a": a.scores[level_code],
            "rank_a": a.ranks[level_code],
            "score_b": b.scores[level_code],
            "rank_b": b.ranks[level_code],
        },
        axis=1,
    )
    out["rank_change"] = out["rank_a"] - out["rank_b"]
    out["abs_rank_change"] = out["rank_change"].abs()
    return out.sort_values(["rank_b", "rank_a"], kind="stable")
