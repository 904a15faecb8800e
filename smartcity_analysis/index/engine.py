"""The composite-index engine: the JRC/OECD method as implemented by COINr (bluefoxr/COINr).

``build_index`` runs COINr's build stages, each optional, in the order of COINr's reference build
(``build_example_coin()``, R/examples.R): denominate -> impute -> screen -> treat outliers -> normalise ->
aggregate. Every stage is a small pure function on a units x indicators frame; the result is a frozen
``IndexResult`` carrying scores, ranks, what each stage did, data statistics and the parameters that produced
it. See ``docs/index_engine.md`` for each decision and the COINr source it follows.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from smartcity_analysis import __version__
from smartcity_analysis.index.stats import (
    column_skew_kurt,
    indicator_statistics,
    unit_statistics,
)

__all__ = [
    "DECISION_DECIMALS",
    "IndexBuildError",
    "IndexParams",
    "IndexResult",
    "IndexWarning",
    "OutlierSpec",
    "TRANSFORMS",
    "build_index",
    "decision_key",
    "framework_from_coinr",
    "framework_method_problems",
    "indicator_columns",
    "weighted_means",
]

IMPUTE_METHODS = ("mean", "median", "group_mean", "group_median")
NORMALISE_METHODS = ("minmax", "zscore", "rank", "goalposts")
AGGREGATE_METHODS = ("arithmetic", "geometric", "geometric_shifted")
# Per-indicator transforms, applied to the indicator in its own units before everything else but denomination;
# each with the values it can take (docs/index_engine.md, "Transforms").
TRANSFORMS = MappingProxyType({
    "log": (np.log, "strictly positive", lambda x: x > 0),
    "log1p": (np.log1p, "greater than -1", lambda x: x > -1),
    "sqrt": (np.sqrt, "zero or positive", lambda x: x >= 0),
})
# Scores are compared for a decision (a rank, a tie, the selection, a borderline flag, a threshold) rounded to
# this many decimals, never to the last bit: the last bits of a score depend on which kernel the linear algebra
# library picked on the machine (and on how the work was split), a decision must not. Scores are published at
# full precision; only the comparison keys are rounded (docs/index_engine.md, "Decision precision").
DECISION_DECIMALS = 9
_COINR_RENAME = {"iCode": "code", "Level": "level", "Parent": "parent", "Weight": "weight",
                 "Direction": "direction", "Denominator": "denominator", "iName": "name"}


class IndexWarning(UserWarning):
    """Something in the data that the engine handled by a documented rule (e.g. a constant indicator)."""


class IndexBuildError(ValueError):
    """The index cannot be built from these inputs; the message names the code/unit and the fix."""


@dataclass(frozen=True)
class OutlierSpec:
    """COINr's default two-stage outlier treatment (``Treat()`` defaults, R/treat.R).

    Attributes
    ----------
    winmax : int
        Stop winsorising once this many points share the treated extreme.
    skew_thresh, kurt_thresh : float
        An indicator passes when ``|skew| < skew_thresh`` or ``kurtosis < kurt_thresh``.
    """

    winmax: int = 5
    skew_thresh: float = 2.0
    kurt_thresh: float = 3.5


@dataclass(frozen=True)
class IndexParams:
    """Everything that produced an ``IndexResult``: arguments, input hashes and versions.

    ``normalise`` holds the method each indicator used, ``aggregate`` the method each aggregate used (by code),
    ``transform`` the transform of each transformed indicator (indicators without one are absent).
    ``stage_order`` is COINr's; a build with transforms records ``"transform"`` after ``"denominate"``.
    """

    unit: str
    denominate: bool
    impute: str | None
    impute_group: str | None
    min_coverage: float | None
    treat_outliers: OutlierSpec | None
    normalise: Mapping[str, str]
    aggregate: Mapping[str, str]
    weights: Mapping[str, float]
    data_sha256: str
    framework_sha256: str
    versions: Mapping[str, str]
    transform: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    stage_order: tuple[str, ...] = ("denominate", "impute", "screen", "treat", "normalise", "aggregate")


@dataclass(frozen=True)
class IndexResult:
    """A built composite index.

    Attributes
    ----------
    scores : pandas.DataFrame
        Indexed by unit; one column per framework code (normalised indicators, then aggregates by level).
    ranks : pandas.DataFrame
        Same shape; 1 = best, ties share the best rank (``rank(method="min", ascending=False)``).
    treated : pandas.DataFrame
        Tidy: ``indicator``, ``unit``, ``original``, ``treated``, ``treatment`` for every changed point.
    treatment_summary : pandas.DataFrame
        Per indicator: skew/kurtosis before and after, the treatment applied, points winsorised.
    imputed : pandas.DataFrame
        Tidy: ``unit``, ``indicator``, ``value``, ``method``.
    screened_out : pandas.DataFrame
        ``unit``, ``coverage``, ``reason`` for every unit removed.
    excluded_indicators : pandas.DataFrame
        ``indicator``, ``reason`` for indicators scored NaN and left out of aggregation.
    indicator_stats, unit_stats : pandas.DataFrame
        Data statistics before imputation (see ``index_stats``).
    params : IndexParams
        What produced the result.
    framework : pandas.DataFrame
        The validated framework (with the weights actually used).
    """

    scores: pd.DataFrame
    ranks: pd.DataFrame
    treated: pd.DataFrame
    treatment_summary: pd.DataFrame
    imputed: pd.DataFrame
    screened_out: pd.DataFrame
    excluded_indicators: pd.DataFrame
    indicator_stats: pd.DataFrame
    unit_stats: pd.DataFrame
    params: IndexParams
    framework: pd.DataFrame = field(repr=False)

    @property
    def indicator_codes(self) -> list[str]:
        """Level-1 codes in framework order."""
        return self.framework.loc[self.framework["level"] == 1, "code"].tolist()

    @property
    def parents(self) -> dict[str, str]:
        """Map each code to its parent (``""`` at the top)."""
        return dict(zip(self.framework["code"], self.framework["parent"], strict=True))


# ---------------------------------------------------------------------------------------------- framework


def framework_from_coinr(imeta: pd.DataFrame) -> pd.DataFrame:
    """Turn a COINr ``iMeta`` table into an engine framework.

    Parameters
    ----------
    imeta : pandas.DataFrame
        COINr metadata with ``iCode``, ``Level``, ``Parent``, ``Weight``, ``Direction``, ``Type`` and
        optionally ``Denominator``, ``iName`` and goalpost columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``code``, ``level``, ``parent``, ``weight``, ``direction`` (and ``denominator``, ``name`` and
        any other column, unchanged), without the rows of type Group and Denominator.
    """
    tree = imeta[~imeta["Type"].isin(["Group", "Denominator"])]
    out = tree.rename(columns=_COINR_RENAME).drop(columns=["Type"]).reset_index(drop=True)
    out["level"] = out["level"].astype(int)
    out["parent"] = out["parent"].fillna("").astype(str)
    if "denominator" in out:
        out["denominator"] = out["denominator"].fillna("").astype(str)
    return out


def _validate_framework(framework: pd.DataFrame, weights: Mapping[str, float] | None) -> pd.DataFrame:
    missing = {"code", "level", "parent", "weight"} - set(framework.columns)
    if missing:
        raise IndexBuildError(f"framework lacks column(s) {sorted(missing)}; required: code, level, parent, "
                              "weight, direction (indicators) and optionally denominator")
    fw = framework.copy()
    fw["code"] = fw["code"].astype(str)
    fw["level"] = fw["level"].astype(int)
    fw["parent"] = fw["parent"].fillna("").astype(str)
    fw["weight"] = fw["weight"].astype(float)
    fw["direction"] = fw["direction"].fillna(1.0).astype(float) if "direction" in fw else 1.0
    if fw["code"].duplicated().any():
        raise IndexBuildError(f"framework codes repeat: {sorted(fw.loc[fw['code'].duplicated(), 'code'])}")
    if fw["level"].min() != 1:
        raise IndexBuildError("framework has no level-1 rows (indicators)")
    level_of = dict(zip(fw["code"], fw["level"], strict=True))
    for code, level, parent in fw[["code", "level", "parent"]].itertuples(index=False):
        if parent and level_of.get(parent) != level + 1:
            raise IndexBuildError(f"framework row {code!r}: parent {parent!r} must be a code of level "
                                  f"{level + 1}")
    bad_dir = fw.loc[(fw["level"] == 1) & ~fw["direction"].isin([1.0, -1.0]), "code"].tolist()
    if bad_dir:
        raise IndexBuildError(f"indicator direction must be +1 or -1: {bad_dir}")
    problems = framework_method_problems(fw)
    if problems:
        raise IndexBuildError("framework methods are not valid:\n- " + "\n- ".join(problems))
    if weights:
        unknown = sorted(set(weights) - set(fw["code"]))
        if unknown:
            raise IndexBuildError(f"weights given for codes not in the framework: {unknown}")
        fw["weight"] = fw["code"].map(lambda c: float(weights.get(c, np.nan))).fillna(fw["weight"])
    return fw


def framework_method_problems(table: pd.DataFrame) -> list[str]:
    """List what is wrong with a framework's ``transform`` and ``aggregate`` columns (empty: nothing).

    Parameters
    ----------
    table : pandas.DataFrame
        Rows with ``code`` and ``level`` (1 = indicator); optional ``transform`` (indicators: one of
        :data:`TRANSFORMS`) and ``aggregate`` (aggregates: one of :data:`AGGREGATE_METHODS`). Empty cells mean
        "none" and "the build's default".

    Returns
    -------
    list of str
        One sentence per problem: the code, the column, the value and what to write instead.
    """
    problems = []
    for column, allowed, kind in (("transform", tuple(TRANSFORMS), "indicator"),
                                  ("aggregate", AGGREGATE_METHODS, "aggregate")):
        if column not in table:
            continue
        for code, level, value in zip(table["code"], table["level"].astype(int), table[column], strict=True):
            value = "" if pd.isna(value) else str(value).strip()
            if not value:
                continue
            if value not in allowed:
                problems.append(f"{code!r}: {column} {value!r} is not known; use one of {', '.join(allowed)}")
            elif (level == 1) != (kind == "indicator"):
                problems.append(f"{code!r}: {column} {value!r} is set on a level-{level} row; it applies to "
                                f"{kind} rows only, so leave it empty here")
    return problems


def _hash_frame(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()


def _indicator_frame(data: pd.DataFrame, fw: pd.DataFrame, unit: str) -> pd.DataFrame:
    if unit not in data.columns:
        raise IndexBuildError(f"data has no unit column {unit!r}")
    if data[unit].duplicated().any():
        raise IndexBuildError(f"unit(s) appear more than once in {unit!r}: "
                              f"{sorted(data.loc[data[unit].duplicated(), unit].astype(str))}")
    codes = fw.loc[fw["level"] == 1, "code"].tolist()
    absent = [c for c in codes if c not in data.columns]
    if absent:
        raise IndexBuildError(f"indicator column(s) missing from the data: {absent}")
    values = data.set_index(unit)[codes]
    try:
        return values.astype(float)
    except (TypeError, ValueError) as exc:
        raise IndexBuildError(f"indicator columns must be numeric ({exc}); clean the data first") from exc


# ---------------------------------------------------------------------------------------------- stages


def _denominate(values: pd.DataFrame, data: pd.DataFrame, fw: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Divide each indicator by its denominator column (COINr ``Denominate()``, R/denominate.R)."""
    if "denominator" not in fw:
        raise IndexBuildError("denominate=True but the framework has no 'denominator' column")
    pairs = fw.loc[(fw["level"] == 1) & (fw["denominator"].fillna("") != ""), ["code", "denominator"]]
    absent = sorted(set(pairs["denominator"]) - set(data.columns))
    if absent:
        raise IndexBuildError(f"denominator column(s) missing from the data: {absent}")
    dens = data.set_index(unit)[pairs["denominator"].tolist()].astype(float)
    dens.columns = pairs["code"].tolist()
    zero = dens.columns[(dens == 0).any()].tolist()
    if zero:
        warnings.warn(f"zero denominator for indicator(s) {zero}: those values become missing",
                      IndexWarning, stacklevel=3)
    out = values.copy()
    out[dens.columns] = (values[dens.columns] / dens.where(dens != 0)).to_numpy()
    return out


def _transform_spec(fw: pd.DataFrame) -> dict[str, str]:
    """Map each indicator with a framework ``transform`` to it (validated by :func:`framework_method_problems`)."""
    if "transform" not in fw:
        return {}
    rows = fw[(fw["level"] == 1) & fw["transform"].notna()]
    return {code: str(name).strip() for code, name in zip(rows["code"], rows["transform"], strict=True)
            if str(name).strip()}


def _transform(values: pd.DataFrame, spec: Mapping[str, str]) -> pd.DataFrame:
    """Apply each indicator's transform (``log``, ``log1p``, ``sqrt``); a value it cannot take is an error.

    Missing values stay missing. The transform runs on the indicator in its own units (after denomination),
    so the build equals one on data the analyst transformed beforehand.
    """
    out = values.copy()
    for code, name in spec.items():
        function, domain, valid = TRANSFORMS[name]
        column = values[code]
        bad = column.notna() & ~valid(column)
        if bad.any():
            shown = ", ".join(f"{unit} ({value:g})" for unit, value in column[bad].head(10).items())
            raise IndexBuildError(
                f"indicator {code!r} has transform {name!r}, which needs values {domain}; unit(s) {shown} "
                f"{'are' if bad.sum() > 1 else 'is'} not. Fix the value(s) in the data, or choose another "
                f"transform ({', '.join(TRANSFORMS)}) or none for {code!r} in the framework")
        out[code] = function(column.to_numpy(dtype=float))
    return out


def _transform_goalposts(goalposts: np.ndarray, codes: pd.Index, fw: pd.DataFrame, which: str) -> np.ndarray:
    """Transform goalposts given in the indicator's own units as the indicator's values are transformed."""
    spec = _transform_spec(fw)
    out = goalposts.copy()
    for i, code in enumerate(codes):
        if code not in spec:
            continue
        function, domain, valid = TRANSFORMS[spec[code]]
        if not valid(goalposts[i]):
            raise IndexBuildError(f"indicator {code!r}: {which} {goalposts[i]:g} cannot take transform "
                                  f"{spec[code]!r} (it needs values {domain}); give the goalpost in the "
                                  "indicator's own units, within that range")
        out[i] = function(goalposts[i])
    return out


def _impute(values: pd.DataFrame, method: str, groups: pd.Series | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill missing values column by column (COINr ``i_mean``, ``i_median``, ``i_*_grp``, R/impute.R)."""
    stat = "mean" if method.endswith("mean") else "median"
    if method.startswith("group"):
        fill = values.groupby(groups, dropna=True).transform(stat)  # units with no group stay missing
    else:
        fill = pd.DataFrame(np.broadcast_to(values.agg(stat).to_numpy(), values.shape),
                            index=values.index, columns=values.columns)
    mask = values.isna() & fill.notna()
    imputed = values.where(~mask, fill)
    record = (fill.where(mask).rename_axis(index="unit", columns="indicator").stack().dropna()
              .rename("value").reset_index().assign(method=method))
    left = imputed.columns[imputed.isna().any()].tolist()
    if left:
        warnings.warn(f"imputation ({method}) left values missing in {left} (a group with no data for it, "
                      "or units without a group); they are skipped in aggregation",
                      IndexWarning, stacklevel=3)
    return imputed, record


def _screen(values: pd.DataFrame, min_coverage: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop units whose share of available indicators is below ``min_coverage`` (COINr ``Screen()``)."""
    coverage = values.notna().mean(axis=1)
    keep = coverage >= min_coverage
    dropped = pd.DataFrame({"unit": coverage.index[~keep], "coverage": coverage[~keep].to_numpy(),
                            "reason": f"coverage below {min_coverage:g}"})
    return values[keep], dropped


def _passes(values: np.ndarray, spec: OutlierSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COINr ``check_SkewKurt()`` of every column: it passes when ``|skew| < skew_thresh`` or ``kurt < kurt_thresh``.

    The moments are compared at the decision precision (:func:`decision_key`), so that noise in their last
    bits cannot change a treatment; a column without them (constant, or too few values) passes. Returns
    whether each column passes, and its skewness and kurtosis at full precision.
    """
    skew, kurt = column_skew_kurt(values)
    skew_key, kurt_key = decision_key(skew), decision_key(kurt)
    passing = (np.isnan(skew_key) | np.isnan(kurt_key) | (np.abs(skew_key) < spec.skew_thresh)
               | (kurt_key < spec.kurt_thresh))
    return passing, skew, kurt


def _winsorise(x: np.ndarray, spec: OutlierSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """COINr ``winsorise()`` (R/treat.R) of every column: reassign the extreme point(s) to the next value, repeatedly.

    Each column is treated on the side its skewness (from the last pass test) points to, until it passes or
    ``spec.winmax`` points sit at its treated extremes. Returns the values, the points at the latest high and
    low treated extremes, and their count per column (COINr's ``nwin``).
    """
    x = np.array(x, dtype=float, order="F")
    hi, lo = np.zeros(x.shape, dtype=bool), np.zeros(x.shape, dtype=bool)
    nwin = np.zeros(x.shape[1], dtype=int)
    passing, skew, _ = _passes(x, spec)
    active = ~passing
    while active.any():
        idx = np.flatnonzero(active)
        sub = x[:, idx]
        up = skew[idx] >= 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column whose values all sit at the extreme
            top, bottom = np.nanmax(sub, axis=0), np.nanmin(sub, axis=0)
            at_top, at_bottom = (sub == top) & up, (sub == bottom) & ~up
            below_top = np.nanmax(np.where(at_top, np.nan, sub), axis=0)
            above_bottom = np.nanmin(np.where(at_bottom, np.nan, sub), axis=0)
        sub = np.where(at_top, below_top, np.where(at_bottom, above_bottom, sub))
        hi[:, idx[up]], lo[:, idx[~up]] = at_top[:, up], at_bottom[:, ~up]
        x[:, idx] = sub
        nwin[idx] = hi[:, idx].sum(axis=0) + lo[:, idx].sum(axis=0)  # COINr counts the latest treated extremes
        passing[idx], skew[idx], _ = _passes(sub, spec)
        active[idx] = ~passing[idx] & (nwin[idx] < spec.winmax)
    return x, hi, lo, nwin


def _log_ct(x: np.ndarray) -> np.ndarray:
    """COINr ``log_CT()`` of every column: ``log(x - min + 0.01 * (max - min))``."""
    lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x - lo + 0.01 * (hi - lo))


@dataclass(frozen=True)
class ColumnTreatment:
    """What the outlier treatment did to each column (see :func:`treat_columns`).

    Attributes
    ----------
    values : numpy.ndarray
        Units x columns, treated (F-ordered).
    tested : numpy.ndarray
        Per column: whether it has the 4 values the test needs (a column with fewer is left as it is).
    treatment : numpy.ndarray
        Per column: ``"none"``, ``"winsorise"`` or ``"log_CT"``.
    n_winsorised : numpy.ndarray
        Per column: the points at the treated extremes when winsorising stopped (0 where it was not tried).
    winsorised_high, winsorised_low : numpy.ndarray
        Units x columns: the points reassigned at the latest high (low) extreme, in winsorised columns.
    """

    values: np.ndarray
    tested: np.ndarray
    treatment: np.ndarray
    n_winsorised: np.ndarray
    winsorised_high: np.ndarray
    winsorised_low: np.ndarray


def treat_columns(values: np.ndarray, spec: OutlierSpec) -> ColumnTreatment:
    """Treat the outliers of every column at once, as COINr ``Treat.numeric()`` treats each indicator.

    Columns with fewer than 4 values are left as they are; a column that passes is kept, one that passes
    after winsorising is winsorised, any other is log-transformed from its original values (COINr's default
    ``combine_treat = FALSE``). Each column's moments are summed over that column alone, so a column is
    treated the same alone or among others.

    Parameters
    ----------
    values : numpy.ndarray
        Units x columns.
    spec : OutlierSpec
        The treatment's thresholds.

    Returns
    -------
    ColumnTreatment
        The treated values and what was done to each column.
    """
    out = np.array(values, dtype=float, order="F")
    tested = np.sum(~np.isnan(out), axis=0) >= 4
    treatment = np.full(out.shape[1], "none", dtype=object)
    n_winsorised = np.zeros(out.shape[1], dtype=int)
    high, low = np.zeros(out.shape, dtype=bool), np.zeros(out.shape, dtype=bool)
    cols = np.flatnonzero(tested)
    fail = cols[~_passes(out[:, cols], spec)[0]]
    if fail.size:
        original = out[:, fail]
        winsorised, hi, lo, n_winsorised[fail] = _winsorise(original, spec)
        kept = _passes(winsorised, spec)[0]
        out[:, fail] = np.where(kept, winsorised, _log_ct(original))
        treatment[fail] = np.where(kept, "winsorise", "log_CT")
        high[:, fail], low[:, fail] = hi & kept, lo & kept
    return ColumnTreatment(out, tested, treatment, n_winsorised, high, low)


def _treat(values: pd.DataFrame, spec: OutlierSpec) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Treat each indicator (:func:`treat_columns`); return the values, the treated points and a summary."""
    x = values.to_numpy(dtype=float)
    result = treat_columns(x, spec)
    treated = pd.DataFrame(result.values, index=values.index, columns=values.columns)
    tested = np.flatnonzero(result.tested)
    before, after = _passes(x[:, tested], spec), _passes(result.values[:, tested], spec)
    summary = pd.DataFrame({
        "indicator": values.columns[tested], "skew_before": before[1], "kurtosis_before": before[2],
        "passed_before": before[0], "treatment": result.treatment[tested],
        "n_winsorised": result.n_winsorised[tested], "skew_after": after[1], "kurtosis_after": after[2],
        "passed_after": after[0]})
    logged = (result.treatment == "log_CT") & ~np.isnan(x)
    labels = np.select([result.winsorised_high, result.winsorised_low, logged],
                       ["winsorised_high", "winsorised_low", "log_CT"], "")
    col, row = np.nonzero(labels.T != "")  # indicator by indicator, units in order
    points = pd.DataFrame({"indicator": values.columns[col], "unit": values.index[row], "original": x[row, col],
                           "treated": result.values[row, col], "treatment": labels[row, col]})
    return treated, points, summary


def _normalise_spec(normalise: str | Mapping[str, str], fw: pd.DataFrame) -> dict[str, str]:
    codes = fw.loc[fw["level"] == 1, "code"].tolist()
    if isinstance(normalise, str):
        default, overrides = normalise, {}
    else:
        overrides = {k: v for k, v in normalise.items() if k != "default"}
        default = normalise.get("default", "minmax")
    column = fw.set_index("code")["normalise"] if "normalise" in fw else pd.Series(dtype=object)
    spec = {c: overrides.get(c) or (column.get(c) if pd.notna(column.get(c)) and column.get(c) else default)
            for c in codes}
    unknown_codes = sorted(set(overrides) - set(codes))
    if unknown_codes:
        raise IndexBuildError(f"normalise overrides for codes that are not indicators: {unknown_codes}")
    bad = sorted({m for m in spec.values() if m not in NORMALISE_METHODS})
    if bad:
        raise IndexBuildError(f"unknown normalisation method(s) {bad}; use one of {NORMALISE_METHODS}")
    return spec


def _normalise(values: pd.DataFrame, fw: pd.DataFrame, spec: dict[str, str]) -> tuple[pd.DataFrame, list]:
    """Apply direction, then normalise each indicator (COINr ``n_minmax`` etc., R/normalise.R)."""
    direction = fw.set_index("code").loc[values.columns, "direction"].to_numpy()
    x = values.to_numpy(dtype=float) * direction
    lo, hi = np.nanmin(x, axis=0, initial=np.inf, where=~np.isnan(x)), np.nanmax(
        x, axis=0, initial=-np.inf, where=~np.isnan(x))
    methods = np.array([spec[c] for c in values.columns])
    with np.errstate(divide="ignore", invalid="ignore"):
        minmax = (x - lo) / (hi - lo) * 100.0
        zscore = (x - np.nanmean(x, axis=0)) / np.nanstd(x, axis=0, ddof=1)
        ranks = pd.DataFrame(x).rank(method="min").to_numpy()
        pct = (ranks - 1) / (np.sum(~np.isnan(x), axis=0) - 1) * 100.0
    out = np.where(methods == "minmax", minmax, np.where(methods == "zscore", zscore, pct))
    constant = (hi - lo == 0) & (methods != "goalposts")
    if (methods == "goalposts").any():
        out = np.where(methods == "goalposts", _goalposts(values, fw), out)
    out[:, constant] = np.nan
    excluded = [(c, "constant: a single distinct value") for c in values.columns[constant]]
    return pd.DataFrame(out, index=values.index, columns=values.columns), excluded


def _goalposts(values: pd.DataFrame, fw: pd.DataFrame) -> np.ndarray:
    """COINr ``n_goalposts``: distance from the lower to the upper goalpost, truncated, on 0-100."""
    need = {"goalpost_lower", "goalpost_upper"}
    if not need <= set(fw.columns):
        raise IndexBuildError("goalposts normalisation needs framework columns goalpost_lower and "
                              "goalpost_upper")
    gp = fw.set_index("code").loc[values.columns]
    low = _transform_goalposts(gp["goalpost_lower"].to_numpy(float), values.columns, fw, "goalpost_lower")
    up = _transform_goalposts(gp["goalpost_upper"].to_numpy(float), values.columns, fw, "goalpost_upper")
    direction = gp["direction"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(direction > 0, (values.to_numpy(float) - low) / (up - low),
                     (values.to_numpy(float) - up) / (low - up))
    return np.clip(y, 0.0, 1.0) * 100.0


def _aggregate_spec(aggregate: str | Mapping[str | int, str], fw: pd.DataFrame) -> dict[str, str]:
    """Resolve the method of every aggregate: argument mapping (code, then level) over column over default."""
    nodes = fw[fw["level"] > 1]
    if isinstance(aggregate, str):
        default, by_code, by_level = aggregate, {}, {}
    else:
        default = aggregate.get("default", "arithmetic")
        by_code = {k: v for k, v in aggregate.items() if isinstance(k, str) and k != "default"}
        by_level = {int(k): v for k, v in aggregate.items() if not isinstance(k, str)}
    problems = []
    unknown_codes = sorted(set(by_code) - set(nodes["code"]))
    if unknown_codes:
        problems.append(f"aggregate given for code(s) {unknown_codes}, which are not aggregates of the framework "
                        f"(its aggregates: {nodes['code'].tolist()})")
    unknown_levels = sorted(set(by_level) - set(nodes["level"]))
    if unknown_levels:
        problems.append(f"aggregate given for level(s) {unknown_levels}; the framework's aggregates sit at levels "
                        f"{sorted(set(nodes['level']))} (level 2 combines indicators, as COINr's first f_ag)")
    column = nodes.set_index("code")["aggregate"] if "aggregate" in nodes else pd.Series(dtype=object)
    spec = {}
    for code, level in zip(nodes["code"], nodes["level"], strict=True):
        own = column.get(code)
        own = str(own).strip() if own is not None and pd.notna(own) else ""
        spec[code] = by_code.get(code) or by_level.get(int(level)) or own or default
    bad = sorted({str(m) for m in [default, *spec.values()] if m not in AGGREGATE_METHODS})
    if bad:
        problems.append(f"unknown aggregation method(s) {bad}; use one of {AGGREGATE_METHODS}")
    if problems:
        raise IndexBuildError("aggregate: " + "; ".join(problems))
    return spec


def _aggregate(norm: pd.DataFrame, fw: pd.DataFrame, spec: Mapping[str, str]) -> pd.DataFrame:
    """Aggregate level by level over the children with data, weights rescaled (COINr ``a_amean``, ``a_gmean``).

    Each aggregate combines its children by its own method (``spec``), through :func:`weighted_means`.
    """
    scores = norm.copy()
    for level in range(2, int(fw["level"].max()) + 1):
        parents = fw.loc[fw["level"] == level, "code"].tolist()
        kids = fw[fw["parent"].isin(parents)]
        childless = [p for p in parents if p not in set(kids["parent"])]
        if childless:
            raise IndexBuildError(f"aggregate {childless[0]!r} has no children in the framework")
        membership = (kids["parent"].to_numpy()[:, None] == np.array(parents)[None, :]).astype(float)
        child = scores[kids["code"].tolist()].to_numpy(dtype=float)
        values = weighted_means(child, kids["weight"].to_numpy(float), membership, [spec[p] for p in parents],
                                parent_codes=parents, units=scores.index)
        scores = pd.concat([scores, pd.DataFrame(values, index=scores.index, columns=parents)], axis=1)
    return scores


def weighted_means(child: np.ndarray, weights: np.ndarray, membership: np.ndarray, methods: Any, *,
                   parent_codes: Any = None, units: pd.Index | None = None) -> np.ndarray:
    """Combine children into their parents, each parent by its own method: the one aggregation of the package.

    A weighted mean over the children with data, weights rescaled over them (COINr ``a_amean``; ``a_gmean``
    for ``geometric``; ``geometric_shifted`` is ``exp(mean(log(x + 1))) - 1``). The build, the Monte Carlo,
    the what-if and the gap analysis all aggregate through this function, so a method means the same
    everywhere.

    Parameters
    ----------
    child : numpy.ndarray
        ``... x units x children``; NaN = no data (left out, weights rescaled over the rest).
    weights : numpy.ndarray
        ``children`` weights, or ``draws x children`` (one set per draw; the result gains a leading draws axis
        when ``child`` has none).
    membership : numpy.ndarray
        ``children x parents``, 1 where the child belongs to the parent (each child to one parent).
    methods : sequence of str
        One of :data:`AGGREGATE_METHODS` per parent.
    parent_codes : sequence of str, optional
        Names of the parents, for the error message.
    units : pandas.Index, optional
        Names of the units (rows), for the error message.

    Returns
    -------
    numpy.ndarray
        ``... x units x parents``; NaN where a parent has no child with data.

    Raises
    ------
    IndexBuildError
        A geometric parent with a zero or negative child score (``geometric_shifted``: below or at -1).
    """
    methods = np.asarray(methods, dtype=object)
    kind = methods[np.argmax(membership, axis=1)]  # each child's parent's method
    geometric = kind != "arithmetic"
    has = ~np.isnan(child)
    if geometric.any():
        shifted = child + np.where(kind == "geometric_shifted", 1.0, 0.0)
        bad = has & geometric & (shifted <= 0)
        if bad.any():
            _raise_non_positive(bad, membership, methods, parent_codes, units)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(np.where(has & geometric, shifted, 1.0))
        terms = np.where(has, np.where(geometric, logs, child), 0.0)
    else:
        terms = np.where(has, child, 0.0)
    by_parent = np.asarray(weights, dtype=float)[..., :, None] * membership
    total, wsum = np.matmul(terms, by_parent), np.matmul(has.astype(float), by_parent)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = total / wsum
        if geometric.any():
            mean = np.where(methods == "arithmetic", mean,
                            np.exp(mean) - np.where(methods == "geometric_shifted", 1.0, 0.0))
    return np.where(wsum > 0, mean, np.nan)


def _raise_non_positive(bad: np.ndarray, membership: np.ndarray, methods: np.ndarray, parent_codes: Any,
                        units: pd.Index | None) -> None:
    parent = int(np.argmax(membership[np.flatnonzero(bad.reshape(-1, bad.shape[-1]).any(axis=0))[0]]))
    code = parent_codes[parent] if parent_codes is not None else f"parent {parent}"
    rows = np.flatnonzero(bad.reshape(-1, *bad.shape[-2:]).any(axis=(0, 2)))
    names = sorted(units[rows].astype(str))[:10] if units is not None else rows[:10].tolist()
    raise IndexBuildError(
        f"{methods[parent]} aggregation of {code!r} met zero or negative child scores (units {names}); "
        "use aggregate='geometric_shifted' (0-100 scores) or normalise to strictly positive values")


# ---------------------------------------------------------------------------------------------- the build


def _check_inputs(impute, impute_group, data, min_coverage) -> None:
    if impute is not None and impute not in IMPUTE_METHODS:
        raise IndexBuildError(f"impute={impute!r} is not one of {IMPUTE_METHODS}")
    if impute in ("group_mean", "group_median") and impute_group not in data.columns:
        raise IndexBuildError(f"impute={impute!r} needs impute_group, a column of the data "
                              f"(got {impute_group!r})")
    if min_coverage is not None and not 0 <= min_coverage <= 1:
        raise IndexBuildError(f"min_coverage must be between 0 and 1 (got {min_coverage})")


def _drop_empty_units(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    empty = values.isna().all(axis=1)
    if empty.any():
        warnings.warn(f"unit(s) with no indicator data, left out of the index: "
                      f"{sorted(values.index[empty].astype(str))}", IndexWarning, stacklevel=3)
    dropped = pd.DataFrame({"unit": values.index[empty], "coverage": 0.0, "reason": "no indicator data"})
    return values[~empty], dropped


def _check_empty_indicators(values: pd.DataFrame) -> None:
    empty = values.columns[values.isna().all()].tolist()
    if empty:
        raise IndexBuildError(f"indicator(s) with no data in any unit: {empty}; fix the data column or "
                              "remove the indicator from the framework")


def decision_key(scores: Any) -> Any:
    """Return scores as a decision compares them: rounded to :data:`DECISION_DECIMALS` decimals.

    Two scores that agree to the stated precision tie, whatever noise their last bits carry; NaN stays NaN.
    Rounding is idempotent (``decision_key(decision_key(x)) == decision_key(x)``), so a key can be keyed again.

    Parameters
    ----------
    scores : float, numpy.ndarray, pandas.Series or pandas.DataFrame
        Scores at full precision.

    Returns
    -------
    numpy.ndarray, pandas.Series or pandas.DataFrame
        The same shape (a pandas object stays one), rounded half to even as :func:`numpy.round` rounds.
    """
    if isinstance(scores, (pd.Series, pd.DataFrame)):
        return scores.round(DECISION_DECIMALS)
    return np.round(np.asarray(scores, dtype=float), DECISION_DECIMALS)


def _ranks(scores: pd.DataFrame) -> pd.DataFrame:
    return decision_key(scores.astype(float)).rank(method="min", ascending=False).astype("Float64")


def build_index(
    data: pd.DataFrame,
    framework: pd.DataFrame,
    unit: str = "uCode",
    denominate: bool = False,
    impute: str | None = None,
    impute_group: str | None = None,
    min_coverage: float | None = None,
    treat_outliers: bool | OutlierSpec = False,
    normalise: str | Mapping[str, str] = "minmax",
    aggregate: str | Mapping[str | int, str] = "arithmetic",
    weights: Mapping[str, float] | None = None,
) -> IndexResult:
    """Build a composite index by the JRC/OECD method, reproducing COINr.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit: the unit column, the indicator columns, any denominator and group columns.
    framework : pandas.DataFrame
        ``code``, ``level`` (1 = indicator), ``parent``, ``weight``, ``direction`` (+1/-1), optional
        ``denominator``, ``transform`` (per indicator: ``log``, ``log1p`` or ``sqrt``), ``normalise``
        (per-indicator method), ``goalpost_lower`` / ``goalpost_upper`` (in the indicator's own units, transformed
        with it), ``aggregate`` (per aggregate: the method combining its children).
    unit : str, default "uCode"
        The unit identifier column.
    denominate : bool, default False
        Divide indicators by their ``denominator`` column.
    impute : {None, "mean", "median", "group_mean", "group_median"}
        Column-by-column imputation; the group methods use ``impute_group``.
    impute_group : str, optional
        Data column defining groups for group imputation.
    min_coverage : float, optional
        Drop units whose share of available indicators is below this (0-1). Measured where COINr measures
        it in its reference build: after imputation.
    treat_outliers : bool or OutlierSpec, default False
        ``True`` applies COINr's default treatment (``OutlierSpec()``).
    normalise : str or mapping, default "minmax"
        ``"minmax"`` (0-100), ``"zscore"``, ``"rank"`` (percentile 0-100), ``"goalposts"`` (0-100); or a
        mapping ``{"default": ..., code: method}``. A framework ``normalise`` column also overrides.
    aggregate : str or mapping, default "arithmetic"
        ``"arithmetic"``, ``"geometric"`` or ``"geometric_shifted"``: the weighted mean over the children with
        data, weights rescaled over them. A string is the default for every aggregate; a mapping
        ``{"default": ..., code: method, level: method}`` sets it per aggregate code or per level (2 = the
        aggregates of the indicators, as COINr's first ``f_ag``). Precedence: a code in the mapping, then a
        level in the mapping, then the framework's ``aggregate`` column, then the default.
    weights : mapping, optional
        ``code -> weight`` overriding framework weights.

    Returns
    -------
    IndexResult

    Raises
    ------
    IndexBuildError
        Invalid framework or arguments, missing columns, an indicator with no data, a value its transform
        cannot take, geometric aggregation of non-positive scores, or no unit left to score.

    Warns
    -----
    IndexWarning
        Constant indicator (excluded from aggregation), unit with no data (left out), values left missing
        by imputation, zero denominators, aggregates with no data for some units.
    """
    _check_inputs(impute, impute_group, data, min_coverage)
    fw = _validate_framework(framework, weights)
    spec = OutlierSpec() if treat_outliers is True else (treat_outliers or None)
    norm_spec = _normalise_spec(normalise, fw)
    aggregate_spec = _aggregate_spec(aggregate, fw)
    transform_spec = _transform_spec(fw)
    raw = _indicator_frame(data, fw, unit)
    values = _denominate(raw, data, fw, unit) if denominate else raw
    values = _transform(values, transform_spec) if transform_spec else values
    _check_empty_indicators(values)
    values, no_data = _drop_empty_units(values)
    before_imputation = values
    imputed_record = pd.DataFrame(columns=["unit", "indicator", "value", "method"])
    if impute:
        groups = data.set_index(unit)[impute_group].reindex(values.index) if impute_group else None
        values, imputed_record = _impute(values, impute, groups)
    screened = pd.DataFrame(columns=["unit", "coverage", "reason"])
    if min_coverage is not None:
        values, screened = _screen(values, min_coverage)
    if values.empty:
        raise IndexBuildError("no unit left to score after screening; lower min_coverage")
    summary = pd.DataFrame()
    points = pd.DataFrame(columns=["indicator", "unit", "original", "treated", "treatment"])
    if spec is not None:
        values, points, summary = _treat(values, spec)
    norm, excluded = _normalise(values, fw, norm_spec)
    for code, reason in excluded:
        warnings.warn(f"indicator {code!r} is {reason}; it is scored NaN and left out of aggregation",
                      IndexWarning, stacklevel=2)
    scores = _aggregate(norm, fw, aggregate_spec)
    _warn_empty_aggregates(scores, fw)
    imputed_mask = (before_imputation.isna() & ~values.reindex(before_imputation.index).isna())
    params = IndexParams(
        unit=unit, denominate=denominate, impute=impute, impute_group=impute_group, min_coverage=min_coverage,
        treat_outliers=spec, normalise=MappingProxyType(norm_spec), aggregate=MappingProxyType(aggregate_spec),
        weights=MappingProxyType(dict(zip(fw["code"], fw["weight"], strict=True))),
        data_sha256=_hash_frame(data), framework_sha256=_hash_frame(framework),
        versions=MappingProxyType({"smartcity_analysis": __version__, "pandas": pd.__version__,
                                   "numpy": np.__version__}),
        transform=MappingProxyType(transform_spec),
        stage_order=_stage_order(bool(transform_spec)),
    )
    return IndexResult(
        scores=scores, ranks=_ranks(scores), treated=points, treatment_summary=summary,
        imputed=imputed_record.reset_index(drop=True),
        screened_out=pd.concat([no_data, screened], ignore_index=True) if len(no_data) else screened,
        excluded_indicators=pd.DataFrame(excluded, columns=["indicator", "reason"]),
        indicator_stats=indicator_statistics(before_imputation, fw.set_index("code")["parent"]),
        unit_stats=unit_statistics(before_imputation, imputed_mask),
        params=params, framework=fw,
    )


def _stage_order(transformed: bool) -> tuple[str, ...]:
    order = IndexParams.__dataclass_fields__["stage_order"].default
    return (order[0], "transform", *order[1:]) if transformed else order


def indicator_columns(values: pd.DataFrame, direction: np.ndarray, impute: str | None = None,
                      groups: pd.Series | None = None, treat_outliers: bool | OutlierSpec = False,
                      normalise: str = "minmax", transform: Any = None) -> np.ndarray:
    """Transform, impute, treat and normalise indicator columns exactly as :func:`build_index` does, nothing more.

    The build handles each indicator on its own in these three stages, so a what-if analysis that rebuilds
    one indicator many times (a region's value changed, one column per change) can ask for those columns
    alone, without the validation, statistics, aggregation and ranks of a full build. The values are those
    of a full build of the same units: the same functions run on the same column layout.

    Parameters
    ----------
    values : pandas.DataFrame
        Units x columns of raw indicator values; every unit is scored (none is left without data).
    direction : numpy.ndarray
        +1 or -1 per column.
    impute : {None, "mean", "median", "group_mean", "group_median"}
        As in :func:`build_index`.
    groups : pandas.Series, optional
        The group of each unit (aligned with ``values``), for the group methods.
    treat_outliers : bool or OutlierSpec, default False
        As in :func:`build_index`.
    normalise : str, default "minmax"
        One of the build's methods other than ``"goalposts"`` (which needs the framework's goalposts).
    transform : sequence of str, optional
        Each column's transform (one of :data:`TRANSFORMS`, or ``None``/``""`` for none), as the framework's
        ``transform`` column gives it.

    Returns
    -------
    numpy.ndarray
        Units x columns of normalised scores; a constant column is NaN, as the build scores it.
    """
    if normalise not in NORMALISE_METHODS or normalise == "goalposts":
        raise IndexBuildError(f"normalise={normalise!r}: indicator_columns takes minmax, zscore or rank")
    values = values.astype(float)
    if transform is not None:
        names = ["" if name is None or pd.isna(name) else str(name).strip() for name in transform]
        unknown = sorted({n for n in names if n and n not in TRANSFORMS})
        if unknown:
            raise IndexBuildError(f"unknown transform(s) {unknown}; use one of {tuple(TRANSFORMS)}")
        values = _transform(values, {c: n for c, n in zip(values.columns, names, strict=True) if n})
    if impute:
        values, _ = _impute(values, impute, groups)
    spec = OutlierSpec() if treat_outliers is True else (treat_outliers or None)
    if spec is not None:
        treated = treat_columns(values.to_numpy(dtype=float), spec).values
        values = pd.DataFrame(treated, index=values.index, columns=values.columns)
    fw = pd.DataFrame({"code": values.columns, "direction": np.asarray(direction, float)})
    norm, _ = _normalise(values, fw, dict.fromkeys(values.columns, normalise))
    return norm.to_numpy(float)


def _warn_empty_aggregates(scores: pd.DataFrame, fw: pd.DataFrame) -> None:
    aggs = fw.loc[fw["level"] > 1, "code"]
    empty = scores[aggs].isna()
    if empty.to_numpy().any():
        which = {code: sorted(scores.index[empty[code]].astype(str))[:5]
                 for code in aggs if empty[code].any()}
        warnings.warn(f"aggregate(s) without any child data for some units (scored NaN): {which}",
                      IndexWarning, stacklevel=3)
