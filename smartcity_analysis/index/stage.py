"""The index stage: build both views of the readiness index with the engine and write the contract files.

Hands each tree of :mod:`smartcity_analysis.index.indicators` to
:func:`smartcity_analysis.index.engine.build_index` and assembles ``scores.csv`` and the other files of
``docs/contracts.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.index.analysis import coherence
from smartcity_analysis.index.engine import IndexResult, build_index, decision_key
from smartcity_analysis.index.indicators import (
    derive_indicators,
    framework_table,
    indicator_codes,
    indicator_table,
    screen_framework,
)
from smartcity_analysis.notes import Note, notes_from_warnings

INDEX_CODE = "readiness_index"
STAGE = "02_readiness_index"
VIEWS = ("aspects", "dimensions")
# The engine treats outliers of an indicator only where it has at least this many values: kurtosis (e1071
# type 2, COINr's estimator) needs four. Below it, the indicator is scored untreated.
MIN_VALUES_FOR_TREATMENT = 4
TREATMENT_SUMMARY_COLUMNS = ["indicator", "skew_before", "kurtosis_before", "passed_before", "treatment",
                             "n_winsorised", "skew_after", "kurtosis_after", "passed_after"]
_REASONS = {
    "no_data": ("tidak ada data dari daerah mana pun", "no region reported it"),
    "no_variation": ("nilainya sama untuk semua daerah", "every region has the same value"),
    "no_child": ("semua indikatornya dikeluarkan", "all its indicators were left out"),
}


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
    aspects : IndexResult or None
        The engine's result for the aspects view (ends in ``readiness_index``); None when no indicator of
        the index varies between the round's regions (a round of one region): the index is then missing.
    dimensions : IndexResult or None
        The engine's result for the dimensions view; None when no dimension indicator has data.
        The engine's result for the dimensions view.
    method : IndexMethod
        The choices that produced it.
    """

    indicators: pd.DataFrame
    aspects: IndexResult | None
    dimensions: IndexResult | None
    method: IndexMethod
    left_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["view", "code", "level",
                                                                                 "reason"]))
    notes: tuple[Note, ...] = ()

    def views(self) -> list[IndexResult]:
        """Return the engine results of the views that could be built, aspects first."""
        return [r for r in (self.aspects, self.dimensions) if r is not None]


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
        Indicator values and the engine's result for both views; the engine's warnings (e.g. an indicator
        that only imputation and outlier treatment made constant) are among its notes.
    """
    with notes_from_warnings(STAGE) as caught:
        indicators, results, left = _build_views(clean, framework, method)
    notes = index_notes(indicators, left, results, method, framework) + caught.notes
    return ReadinessResult(indicators, results["aspects"], results["dimensions"], method, left, notes)


def _build_views(clean: pd.DataFrame, framework: Framework,
                 method: IndexMethod) -> tuple[pd.DataFrame, dict[str, IndexResult | None], pd.DataFrame]:
    """Derive the indicators and build each view the round can score; return them and what was left out."""
    indicators = derive_indicators(clean, framework)
    groups = clean.set_index(clean["region_code"].astype(str))[["region_type"]]
    data = indicators.join(groups).reset_index()
    results, left_out = {}, []
    for view in VIEWS:
        screened = screen_framework(framework_table(framework, view), indicators)
        left_out.append(screened.left_out.assign(view=view))
        if not (screened.table["level"] == 1).any():
            results[view] = None  # nothing to compare: no indicator of this view varies between regions
            continue
        codes = screened.table.loc[screened.table["level"] == 1, "code"].tolist()
        results[view] = build_index(
            data[["region_code", "region_type", *codes]],
            screened.table,
            unit="region_code",
            impute=method.impute,
            impute_group=method.impute_group if method.impute and "group" in method.impute else None,
            treat_outliers=method.treat_outliers,
            normalise=method.normalise,
            aggregate=method.aggregate,
        )
    return indicators, results, pd.concat(left_out, ignore_index=True)[["view", "code", "level", "reason"]]


def index_notes(indicators: pd.DataFrame, left_out: pd.DataFrame, results: dict, method: IndexMethod,
                framework: Framework) -> tuple[Note, ...]:
    """Say what the index of this round left out or could not do, and which regions rest on imputed aspects.

    Returns
    -------
    tuple of Note
        One note per indicator or aggregate left out (once, even when both views hold it), one when
        outlier treatment cannot run for lack of regions, one when the dimensions view is empty, and one per
        region whose every indicator of an aspect was imputed.
    """
    labels = _labels(framework)
    notes = []
    for row in left_out.drop_duplicates("code").itertuples():
        why_id, why_en = _REASONS[row.reason]
        label_id, label_en = labels.get(row.code, (row.code, row.code))
        kind_id, kind_en = ("indikator", "indicator") if row.level == 1 else ("agregat", "aggregate")
        notes.append(Note(STAGE, f"{kind_en}:{row.code}", "left_out", row.reason,
                          f"{kind_id.capitalize()} {label_id} dikeluarkan dari indeks: {why_id}; bobot "
                          "saudaranya diskalakan ulang.",
                          f"The {kind_en} {label_en} is left out of the index: {why_en}; its siblings' weights "
                          "rescale."))
    if results.get("aspects") is None:
        notes.append(Note(STAGE, "view:aspects", "skipped", "no_variation",
                          "Indeks kesiapan tidak dapat dihitung: indeks membandingkan daerah, dan tidak ada "
                          "indikator yang nilainya berbeda antardaerah pada putaran ini.",
                          "The readiness index cannot be computed: the index compares regions, and no indicator "
                          "differs between the regions of this round."))
    elif results.get("dimensions") is None:
        notes.append(Note(STAGE, "view:dimensions", "skipped", "no_data",
                          "Skor enam dimensi tidak dihitung: tidak ada indikator dimensi yang berisi data.",
                          "The six dimension scores are not computed: no dimension indicator has data."))
    if method.treat_outliers and len(indicators) < MIN_VALUES_FOR_TREATMENT:
        notes.append(Note(STAGE, "outlier_treatment", "skipped", "too_few_regions",
                          f"Penanganan pencilan tidak dijalankan: perlu sedikitnya {MIN_VALUES_FOR_TREATMENT} "
                          f"daerah, putaran ini {len(indicators)}.",
                          f"Outlier treatment is not applied: it needs at least {MIN_VALUES_FOR_TREATMENT} "
                          f"regions, this round has {len(indicators)}."))
    if results.get("aspects") is not None:
        notes.extend(imputed_aspect_notes(indicators, results["aspects"], labels))
        for code in results["aspects"].screened_out["unit"].astype(str):
            notes.append(Note(STAGE, "index", "skipped", "no_indicator_data",
                              "Wilayah ini tidak mengisi satu pun indikator: indeksnya tidak dapat dihitung dan "
                              "wilayah ini tidak memenuhi syarat seleksi.",
                              "This region reported no indicator at all: its index cannot be computed and it is "
                              "not eligible for selection.", code))
    return tuple(notes)


def imputed_aspect_notes(indicators: pd.DataFrame, aspects: IndexResult,
                         labels: dict[str, tuple[str, str]]) -> list[Note]:
    """Flag each region none of whose indicators of an aspect had data: that aspect score is all imputation."""
    fw = aspects.framework
    leaves = fw[fw["level"] == 1]
    notes = []
    for aspect, members in leaves.groupby("parent", sort=False)["code"]:
        empty = indicators.reindex(columns=list(members)).isna().all(axis=1)
        empty &= empty.index.isin(aspects.scores.index.astype(str))  # a region with no data at all has no score
        for code in empty.index[empty]:
            label_id, label_en = labels.get(aspect, (aspect, aspect))
            notes.append(Note(STAGE, f"aspect:{aspect}", "imputed", "aspect_without_data",
                              f"Tidak ada data untuk aspek {label_id}: skornya seluruhnya hasil imputasi.",
                              f"No data for the aspect {label_en}: its score is entirely imputed.", str(code)))
    return sorted(notes, key=lambda n: (n.region_code, n.analysis))


def _labels(framework: Framework) -> dict[str, tuple[str, str]]:
    out = {}
    for table in (indicator_table(framework), framework.aggregates):
        for row in table.itertuples():
            out[str(row.code)] = (str(row.label_id), str(row.label_en))
    return out


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
    # Codes a view could not score (left out, or the whole view empty) stay as empty columns: one contract.
    units = pd.DataFrame(index=result.indicators.index)
    a_scores = result.aspects.scores if result.aspects is not None else units
    d_scores = result.dimensions.scores if result.dimensions is not None else units
    only_dimensions = [c for c in indicators if c not in a_scores.columns and c in d_scores.columns]
    scores = pd.concat(
        [a_scores.reindex(columns=[c for c in indicators if c in a_scores.columns]),
         d_scores.reindex(columns=only_dimensions), a_scores.reindex(columns=[*aspects, INDEX_CODE]),
         d_scores.reindex(columns=dimensions, index=a_scores.index)],
        axis=1,
    ).reindex(columns=[*indicators, *aspects, *dimensions, INDEX_CODE], index=result.indicators.index)
    # Every accepted region has a row; one the engine could not score (no data at all) has empty scores.
    # Ranked at the decision precision, like every other decision: the last bits of a score never split a tie.
    key = decision_key(scores[INDEX_CODE].astype(float))
    scores["readiness_rank"] = key.rank(method="min", ascending=False).astype("Int64")
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
    tidy = pd.concat([r.imputed for r in result.views()] or [pd.DataFrame(columns=["unit", "indicator", "value",
                                                                                "method"])], ignore_index=True)
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
    empty = pd.DataFrame(columns=["indicator", "unit", "original", "treated", "treatment"])
    tidy = pd.concat([r.treated for r in result.views()] or [empty], ignore_index=True)
    tidy = tidy.rename(columns={"unit": "region_code", "original": "original_value",
                                "treated": "treated_value"})
    tidy = tidy.drop_duplicates(["indicator", "region_code"])
    columns = ["indicator", "region_code", "original_value", "treated_value", "treatment"]
    return tidy.reindex(columns=columns).sort_values(["indicator", "region_code"], kind="stable").reset_index(
        drop=True)


def treatment_summary(result: ReadinessResult) -> pd.DataFrame:
    """Return, per indicator of both views, skew and kurtosis before and after and what treatment did."""
    summary = pd.concat([r.treatment_summary.reindex(columns=TREATMENT_SUMMARY_COLUMNS) for r in result.views()]
                        or [pd.DataFrame(columns=TREATMENT_SUMMARY_COLUMNS)])
    return summary.drop_duplicates("indicator").reset_index(drop=True)


def indicator_checks(result: ReadinessResult, framework: Framework) -> pd.DataFrame:
    """Return each indicator's data checks: availability, distinct values, skew, kurtosis, COINr-style flags."""
    stats = pd.concat([r.indicator_stats for r in result.views()] or [pd.DataFrame()])
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
    from smartcity_analysis.outputs import write_csv  # atomic: a killed run leaves the previous file whole

    paths = {}
    for name, table in tables.items():
        paths[name] = write_csv(folder / name, table)
    return paths


def aspect_coherence(result: ReadinessResult, framework: Framework) -> pd.DataFrame:
    """Return how each indicator follows its aspect and each aspect the index (Pearson and Spearman).

    A child that correlates weakly or negatively with its parent is worth a look: it pulls the aggregate
    somewhere the rest of the aspect does not go.
    """
    if result.aspects is None:
        return pd.DataFrame(columns=["parent", "child", "pearson", "spearman", "n_units"])
    table = coherence(result.aspects, result.aspects.framework)  # the tree the round could score
    table = table[table["kind"] == "child_parent"].rename(columns={"aggregate": "parent", "code_a": "child"})
    return table[["parent", "child", "pearson", "spearman", "n_units"]].reset_index(drop=True)


def indicator_correlations(result: ReadinessResult, framework: Framework) -> pd.DataFrame:
    """Return the Spearman correlations between the aspect view's normalised indicators, grouped by aspect."""
    if result.aspects is None:
        return pd.DataFrame()
    fw = result.aspects.framework.query("level == 1").sort_values("parent", kind="stable")
    return result.aspects.scores[fw["code"].tolist()].corr(method="spearman")

