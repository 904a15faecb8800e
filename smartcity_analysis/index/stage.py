"""The index stage: build both views of the readiness index with the engine and write the contract files.

Hands each tree of :mod:`smartcity_analysis.index.indicators` to
:func:`smartcity_analysis.index.engine.build_index` and assembles ``scores.csv`` and the other files of
``docs/contracts.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.index.analysis import coherence
from smartcity_analysis.index.engine import IndexResult, build_index
from smartcity_analysis.index.indicators import derive_indicators, framework_table, indicator_codes, indicator_table

INDEX_CODE = "readiness_index"


@dataclass(frozen=True)
class IndexMethod:
    """The modelling choices of the nominal index (recorded with every result).

    Attributes
    ----------
    impute : str or None
        Imputation method passed to the engine (``"group_median"`` etc.), or None for none.
    impute_group : str or None
        Column grouping the imputation (``"region_type"``: a kota is compared with kota).
    treat_outliers : bool
        Apply COINr's default outlier treatment.
    normalise : str
        Normalisation method.
    aggregate : str
        Aggregation method.
    """

    impute: str | None = "group_median"
    impute_group: str | None = "region_type"
    treat_outliers: bool = True
    normalise: str = "minmax"
    aggregate: str = "arithmetic"


@dataclass(frozen=True)
class ReadinessResult:
    """The readiness index of a round: indicator values and both views' engine results.

    Attributes
    ----------
    indicators : pandas.DataFrame
        Raw indicator values, indexed by ``region_code`` (before imputation and treatment).
    aspects : IndexResult
        The engine's result for the aspects view (ends in ``readiness_index``).
    dimensions : IndexResult
        The engine's result for the dimensions view.
    method : IndexMethod
        The choices that produced it.
    """

    indicators: pd.DataFrame
    aspects: IndexResult
    dimensions: IndexResult
    method: IndexMethod


def read_clean_submissions(processed_dir: str | Path) -> pd.DataFrame:
    """Read ``submissions_clean.parquet`` (typed) written by the cleaning stage."""
    clean = pd.read_parquet(Path(processed_dir) / "submissions_clean.parquet")
    clean["region_code"] = clean["region_code"].astype(str)
    return clean


def build_readiness(clean: pd.DataFrame, framework: Framework,
                    method: IndexMethod = IndexMethod()) -> ReadinessResult:
    """Build the readiness index and the dimension scores of a round.

    Parameters
    ----------
    clean : pandas.DataFrame
        ``submissions_clean`` (one row per accepted region).
    framework : Framework
        The framework file.
    method : IndexMethod
        The modelling choices.

    Returns
    -------
    ReadinessResult
        Indicator values and the engine's result for both views.
    """
    indicators = derive_indicators(clean, framework)
    groups = clean.set_index(clean["region_code"].astype(str))[["region_type"]]
    data = indicators.join(groups).reset_index()
    results = {
        view: build_index(
            data[["region_code", "region_type", *indicator_codes(framework, view)]],
            framework_table(framework, view),
            unit="region_code",
            impute=method.impute,
            impute_group=method.impute_group if method.impute and "group" in method.impute else None,
            treat_outliers=method.treat_outliers,
            normalise=method.normalise,
            aggregate=method.aggregate,
        )
        for view in ("aspects", "dimensions")
    }
    return ReadinessResult(indicators, results["aspects"], results["dimensions"], method)


def scores_table(result: ReadinessResult, framework: Framework) -> pd.DataFrame:
    """Assemble the ``scores.csv`` contract.

    Returns
    -------
    pandas.DataFrame
        ``region_code``, each normalised indicator (0-100), each aspect, each dimension, ``readiness_index``,
        ``readiness_rank`` (1 = most ready; ties share the best rank), sorted by rank then region code.
    """
    aspects = framework.aggregates.query("view == 'aspects' and level == 2")["code"].tolist()
    dimensions = framework.aggregates.query("view == 'dimensions' and level == 2")["code"].tolist()
    indicators = indicator_codes(framework)
    a_scores, d_scores = result.aspects.scores, result.dimensions.scores
    only_dimensions = [c for c in indicators if c not in a_scores.columns]
    scores = pd.concat(
        [a_scores[[c for c in indicators if c in a_scores.columns]], d_scores[only_dimensions],
         a_scores[aspects], d_scores[dimensions], a_scores[[INDEX_CODE]]],
        axis=1,
    )[[*indicators, *aspects, *dimensions, INDEX_CODE]]
    scores["readiness_rank"] = scores[INDEX_CODE].rank(method="min", ascending=False).astype("Int64")
    scores = scores.rename_axis("region_code").reset_index()
    return scores.sort_values(["readiness_rank", "region_code"], kind="stable").reset_index(drop=True)


def unit_stats_table(result: ReadinessResult) -> pd.DataFrame:
    """Per region: the share of all indicators it reported (before imputation) and how many were imputed.

    Returns
    -------
    pandas.DataFrame
        ``region_code``, ``indicator_coverage`` (0-1), ``n_imputed``; sorted by region code.
    """
    coverage = result.indicators.notna().mean(axis=1)
    imputed = imputed_table(result)
    n_imputed = imputed.groupby("region_code").size().reindex(coverage.index, fill_value=0)
    return pd.DataFrame({
        "region_code": coverage.index,
        "indicator_coverage": coverage.to_numpy(),
        "n_imputed": n_imputed.to_numpy(),
    })


def imputed_table(result: ReadinessResult) -> pd.DataFrame:
    """Return every imputed point of both views once: region, indicator, imputed value, method."""
    tidy = pd.concat([result.aspects.imputed, result.dimensions.imputed], ignore_index=True)
    tidy = tidy.rename(columns={"unit": "region_code", "value": "imputed_value"})
    tidy = tidy.drop_duplicates(["region_code", "indicator"])
    columns = ["region_code", "indicator", "imputed_value", "method"]
    return tidy.reindex(columns=columns).sort_values(["region_code", "indicator"], kind="stable").reset_index(
        drop=True)


def treated_table(result: ReadinessResult) -> pd.DataFrame:
    """Return every point changed by outlier treatment, once.

    Returns
    -------
    pandas.DataFrame
        ``indicator``, ``region_code``, ``original_value``, ``treated_value``, ``treatment``.
    """
    tidy = pd.concat([result.aspects.treated, result.dimensions.treated], ignore_index=True)
    tidy = tidy.rename(columns={"unit": "region_code", "original": "original_value",
                                "treated": "treated_value"})
    tidy = tidy.drop_duplicates(["indicator", "region_code"])
    columns = ["indicator", "region_code", "original_value", "treated_value", "treatment"]
    return tidy.reindex(columns=columns).sort_values(["indicator", "region_code"], kind="stable").reset_index(
        drop=True)


def treatment_summary(result: ReadinessResult) -> pd.DataFrame:
    """Return, per indicator of both views, skew and kurtosis before and after and what treatment did."""
    summary = pd.concat([result.aspects.treatment_summary, result.dimensions.treatment_summary])
    return summary.drop_duplicates("indicator").reset_index(drop=True)


def indicator_checks(result: ReadinessResult, framework: Framework) -> pd.DataFrame:
    """Return each indicator's data checks: availability, distinct values, skew, kurtosis, COINr-style flags."""
    stats = pd.concat([result.aspects.indicator_stats, result.dimensions.indicator_stats])
    stats = stats[~stats.index.duplicated()]
    labels = indicator_table(framework)[["label_en"]]
    return labels.join(stats, how="inner")


def write_index_outputs(result: ReadinessResult, framework: Framework, processed_dir: str | Path) -> dict:
    """Write the index stage's contract files into ``processed_dir``.

    Writes ``indicators.csv``, ``scores.csv``, ``index_unit_stats.csv``, ``index_imputed.csv`` and
    ``index_treated.csv`` (see ``docs/contracts.md``).

    Returns
    -------
    dict
        File name -> path written.
    """
    folder = Path(processed_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "indicators.csv": result.indicators.reset_index(),
        "scores.csv": scores_table(result, framework),
        "index_unit_stats.csv": unit_stats_table(result),
        "index_imputed.csv": imputed_table(result),
        "index_treated.csv": treated_table(result),
    }
    paths = {}
    for name, table in tables.items():
        paths[name] = folder / name
        table.to_csv(paths[name], index=False, lineterminator="\n")
    return paths


def aspect_coherence(result: ReadinessResult, framework: Framework) -> pd.DataFrame:
    """Return how each indicator follows its aspect and each aspect the index (Pearson and Spearman).

    A child that correlates weakly or negatively with its parent is worth a look: it pulls the aggregate
    somewhere the rest of the aspect does not go.
    """
    table = coherence(result.aspects, framework_table(framework, "aspects"))
    table = table[table["kind"] == "child_parent"].rename(columns={"aggregate": "parent", "code_a": "child"})
    return table[["parent", "child", "pearson", "spearman", "n_units"]].reset_index(drop=True)


def indicator_correlations(result: ReadinessResult, framework: Framework) -> pd.DataFrame:
    """Return the Spearman correlations between the aspect view's normalised indicators, grouped by aspect."""
    fw = framework_table(framework, "aspects").query("level == 1").sort_values("parent", kind="stable")
    return result.aspects.scores[fw["code"].tolist()].corr(method="spearman")

