"""Analyses of a built index: strengths and weaknesses, coherence of aggregates, rank shifts between builds.

A unit's strengths and weaknesses, the statistical coherence of each aggregate with its children, and rank
shifts between two builds (COINr ``get_str_weak()``, ``get_corr()``,
``compare_coins()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover - import for type hints only
    from smartcity_analysis.index.engine import IndexResult


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

