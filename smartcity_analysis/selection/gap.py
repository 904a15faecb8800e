"""What it takes: each region's distance to the cut-off, its paths into the selection, a selected region's margin.

Everything is computed from the nominal build (``indicators.csv`` through the engine's imputation, outlier
treatment, normalisation and aggregation in force) and decided by the nominal selection rule
(:func:`smartcity_analysis.selection.ranking.select_top`, with its eligibility, minimums and tie-break), so a
path says exactly what the official computation would do.

- **The cut-off.** ``cutoff_index`` is the index of the last selected region. Indices are compared at the
  decision precision (:data:`~smartcity_analysis.index.engine.DECISION_DECIMALS` decimals, as the ranking
  compares them). With every other region fixed, a region's selection is a step function of its own rounded
  index that can only change at another region's rounded index (equal: the tie-break decides) or one step of
  the precision above it (it passes). :func:`index_threshold` evaluates the rule at every such point at once,
  so ``index_to_enter`` (outside) and ``index_to_stay`` (inside; ``margin_points`` is how far the index could
  fall before the region leaves) are exact at that precision, ties included, and lie on its grid.
- **Single-indicator paths.** For a region outside, each indicator of the index is moved alone, in its own
  units and on the grid of its underlying field (whole applications, Rp 1 juta, 0.1 %, one point of a 1-5
  score, the next level of a yes/no or ordinal field), only inside the field's valid range (and below the
  field a consistency rule caps it by, e.g. PAD <= APBD). Each candidate value goes through the engine (the
  indicator's column rebuilt by :func:`smartcity_analysis.index.build_index`, so moving min-max bounds,
  imputation of others and outlier treatment all follow) and the selection rule. The smallest selecting value
  is found from the linear solution (min-max bounds fixed, arithmetic aggregation), confirmed by two engine
  evaluations; where that does not hold (the region becomes the new maximum, treatment changes, geometric
  aggregation) by bisection on the grid, which assumes selection is monotone in the indicator and is bounded by
  the grid's size. Every reported value has itself been evaluated and selects the region.
- **Aspect paths.** The smallest rise of one aspect score (0-100) with the other aspects fixed.
- **Robustness.** For the most practical paths, the share of the Monte Carlo draws (the design of
  :mod:`~smartcity_analysis.selection.uncertainty`, same seed) in which the improved region is selected.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from joblib.externals.loky import get_reusable_executor

from smartcity_analysis.config import Framework
from smartcity_analysis.index.engine import DECISION_DECIMALS, decision_key, weighted_means
from smartcity_analysis.selection.ranking import SelectionParams, rank_rows, select_top
from smartcity_analysis.selection.uncertainty import (
    DEFAULT_SELECTION,
    MonteCarloResult,
    Tree,
    UncertaintyInputs,
    engine_matrices,
    evaluate_design,
    positive_scale,
    selection_arrays,
    tree_from_table,
    uses_geometric,
)

# Grid of each field type, in the field's units: the smallest change a region can make and report.
# what_it_takes uses its n_jobs processes only from this many regions outside the selection: below, starting the
# processes costs more than the searches (the sample round's 38 take half a second; a national round's 460, 10 s).
PARALLEL_MIN_REGIONS = 150
FIELD_STEPS = {"integer": 1.0, "money": 1.0e6, "percent": 0.1, "number": 0.01, "likert": 1.0}
REGION_COLUMNS = ["region_code", "selected", "eligible", "readiness_index", "rank", "cutoff_index",
                  "distance_to_cutoff", "index_to_enter", "gap_points", "index_to_stay", "margin_points",
                  "status", "n_paths"]
PATH_COLUMNS = ["region_code", "path_rank", "kind", "code", "aspect", "field", "from_value", "to_value", "change",
                "field_from", "field_to", "field_change", "effort_points", "index_after", "rank_after", "method",
                "p_selected_after"]


@dataclass(frozen=True)
class GapParams:
    """Parameters of the gap analysis.

    Attributes
    ----------
    nominal : tuple of str
        ``(impute, normalise, aggregate)`` of the nominal build (notebook 02's choices).
    impute_group : str
        Group column of group imputation (``region_type``, as notebook 02).
    treat_outliers : bool
        Apply the engine's outlier treatment (as notebook 02).
    n_robust : int
        The most practical single-indicator paths of each region whose Monte Carlo share is computed.
    max_evaluations : int
        Engine evaluations allowed per region and indicator (bisection stops there; the path is then dropped).
    """

    nominal: tuple[str, str, str] = ("group_median", "minmax", "arithmetic")
    impute_group: str = "region_type"
    treat_outliers: bool = True
    n_robust: int = 3
    max_evaluations: int = 64


@dataclass(frozen=True)
class Lever:
    """How a region moves one indicator: which field, on which grid, within which range.

    Attributes
    ----------
    indicator, aspect : str
        The indicator and its parent in the index.
    kind : str
        The framework's ``derive`` kind (``value``, ``ratio``, ``boolean``, ``ordinal``).
    field : str
        The field that moves (the numerator of a ratio).
    denominator : str
        A ratio's denominator field (``""`` otherwise), held fixed.
    scale : float
        A ratio's scale (indicator = field / denominator * scale).
    step, field_min, field_max : float
        The field's grid and valid range.
    cap_field : str
        A field a consistency rule keeps the moving field below (``""`` for none).
    direction : float
        +1: more is better; -1: less is better.
    """

    indicator: str
    aspect: str
    kind: str
    field: str
    denominator: str
    scale: float
    step: float
    field_min: float
    field_max: float
    cap_field: str
    direction: float


@dataclass(frozen=True)
class GapInputs:
    """The nominal build and everything a path evaluation needs, computed once.

    Attributes
    ----------
    data : pandas.DataFrame
        ``indicators.csv`` with the group column, the regions the engine scores only, in ``region_codes`` order.
    table : pandas.DataFrame
        The engine's framework table (aspects view).
    tree : Tree
        Its aggregation tree.
    matrix : numpy.ndarray
        The nominal normalised indicator matrix (regions x ``tree.indicator_codes``).
    candidates : pandas.DataFrame
        From :func:`smartcity_analysis.selection.candidate_table`, in ``region_codes`` order.
    fields : pandas.DataFrame
        Numeric submission fields by ``region_code`` (denominators, numerators, caps).
    levers : tuple of Lever
        One per indicator of the index.
    n_indicators : int
        Indicators counted by ``indicator_coverage`` (every column of ``indicators.csv``).
    region_codes : tuple of str
        Row order.
    params : GapParams
        The nominal choices.
    """

    data: pd.DataFrame
    table: pd.DataFrame
    tree: Tree
    matrix: np.ndarray
    candidates: pd.DataFrame
    fields: pd.DataFrame
    levers: tuple[Lever, ...]
    n_indicators: int
    region_codes: tuple[str, ...]
    params: GapParams = field(default_factory=GapParams)


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one candidate change for one region."""

    selected: bool
    index: float
    rank: int


@dataclass(frozen=True)
class GapResult:
    """Per region its distance to the cut-off and margin; per path what it takes.

    Attributes
    ----------
    regions : pandas.DataFrame
        ``REGION_COLUMNS`` (``selection_gap.csv``), sorted by rank.
    paths : pandas.DataFrame
        ``PATH_COLUMNS`` (``selection_paths.csv``), by region then ``path_rank`` (1 = most practical).
    params : GapParams
        What produced it.
    selection_params : SelectionParams
        The selection rule.
    """

    regions: pd.DataFrame
    paths: pd.DataFrame
    params: GapParams
    selection_params: SelectionParams


# ---------------------------------------------------------------------------------------------- levers


def levers_from_framework(framework: Framework, table: pd.DataFrame) -> tuple[Lever, ...]:
    """Return how each indicator of the index can move: field, grid and valid range from the framework file.

    Parameters
    ----------
    framework : Framework
        Fields (type, range, allowed words), rules and indicators.
    table : pandas.DataFrame
        The engine's framework table (its level-1 rows are the indicators of the index).

    Returns
    -------
    tuple of Lever
        In the table's order.
    """
    specs = framework.indicators.set_index("code")
    fields = framework.fields
    caps = {rule.field: rule.not_above for rule in framework.rules}
    levers = []
    for row in table[table["level"] == 1].itertuples(index=False):
        derive = specs.loc[row.code, "derive"]
        kind = derive["kind"]
        moving = derive["numerator"] if kind == "ratio" else derive["field"]
        spec = fields.loc[moving]
        if kind in ("boolean", "ordinal"):
            levels = len(spec["allowed"]) if kind == "ordinal" else 2
            step, low, high = 1.0, 0.0, float(levels - 1)
        else:
            step = FIELD_STEPS.get(str(spec["type"]), 0.01)
            low = float(spec["min"]) if pd.notna(spec["min"]) else -math.inf
            high = float(spec["max"]) if pd.notna(spec["max"]) else math.inf
        levers.append(Lever(
            indicator=row.code, aspect=str(row.parent), kind=kind, field=moving,
            denominator=derive.get("denominator", "") if kind == "ratio" else "",
            scale=float(derive.get("scale", 1)) if kind == "ratio" else 1.0, step=step, field_min=low,
            field_max=high, cap_field=caps.get(moving, ""), direction=float(row.direction),
        ))
    return tuple(levers)


def indicator_value(lever: Lever, field_value: float, denominator: float) -> float:
    """Return the indicator a field value gives (a ratio divides by its fixed denominator)."""
    if lever.kind == "ratio":
        return field_value / denominator * lever.scale if denominator > 0 else math.nan
    return field_value


@dataclass(frozen=True)
class FieldGrid:
    """The field values a region can move to: one grid step at a time from its value, up to the range's limit.

    Value ``k`` (0-based) is ``sign * (first + k * step)`` for ``k < count``; when the range's limit ``end`` is
    not on the grid it is the last value (``k == count``). Never materialised: a money field has 10^8 steps.
    """

    first: float
    step: float
    count: int
    end: float
    sign: float

    @property
    def size(self) -> int:
        """Number of values."""
        extra = self.count > 0 and self.first + (self.count - 1) * self.step < self.end - _tolerance(self.end)
        return self.count + int(extra)

    def value(self, k: int) -> float:
        """Return the ``k``-th value, in the field's units."""
        return self.sign * (self.first + k * self.step if k < self.count else self.end)


def _tolerance(value: float) -> float:
    return 1e-9 * max(1.0, abs(value))


def field_grid(lever: Lever, start: float, denominator: float, cap: float) -> FieldGrid:
    """Return the field values a region can move to, one grid step at a time, inside the valid range.

    Parameters
    ----------
    lever : Lever
        The indicator's lever.
    start : float
        The region's current field value (NaN: not reported; the grid then starts at the range's bottom).
    denominator, cap : float
        The region's denominator (ratios) and capping field value (NaN for none).

    Returns
    -------
    FieldGrid
        Empty (``size == 0``) when the region is already at the limit or a ratio has no denominator.
    """
    low, high = lever.field_min, lever.field_max
    if not math.isnan(cap):
        high = min(high, cap)
    if lever.direction < 0:
        low, high, start = -high, -low, -start
    empty = FieldGrid(0.0, lever.step, 0, 0.0, lever.direction)
    if (lever.kind == "ratio" and not denominator > 0) or not math.isfinite(high) or (
            math.isnan(start) and not math.isfinite(low)):
        return empty
    first = low if math.isnan(start) else start + lever.step
    if first > high + _tolerance(high):
        return empty
    count = int(math.floor((high - first) / lever.step + 1e-9)) + 1
    return FieldGrid(first, lever.step, count, high, lever.direction)


# ---------------------------------------------------------------------------------------------- inputs


def gap_inputs(data: pd.DataFrame, table: pd.DataFrame, candidates: pd.DataFrame, fields: pd.DataFrame,
               levers: Sequence[Lever], params: GapParams = GapParams()) -> GapInputs:
    """Build the nominal matrix once and assemble what the path evaluations need.

    Parameters
    ----------
    data : pandas.DataFrame
        ``indicators.csv`` with the ``params.impute_group`` column (:func:`uncertainty.load_engine_data`).
    table : pandas.DataFrame
        The engine's framework table.
    candidates : pandas.DataFrame
        From :func:`smartcity_analysis.selection.candidate_table` (fixes the row order).
    fields : pandas.DataFrame
        ``submissions_clean`` (any columns; the levers' fields are read as numbers).
    levers : sequence of Lever
        From :func:`levers_from_framework`.
    params : GapParams
        The nominal choices.
    """
    codes = tuple(candidates["region_code"].astype(str))
    impute, normalise, _ = params.nominal
    matrix = engine_matrices(data, table, [impute], [normalise], codes, impute_group=params.impute_group,
                             treat_outliers=params.treat_outliers)[(impute, normalise)]
    indicator_columns = [c for c in data.columns if c not in ("region_code", params.impute_group)]
    ordered = data.assign(region_code=data["region_code"].astype(str)).set_index("region_code")
    ordered = ordered.reindex(list(codes)).rename_axis("region_code").reset_index()
    wanted = sorted({c for lever in levers for c in (lever.field, lever.denominator, lever.cap_field) if c})
    numeric = fields.assign(region_code=fields["region_code"].astype(str)).drop_duplicates("region_code")
    numeric = numeric.set_index("region_code").reindex(list(codes))
    numeric = pd.DataFrame({c: _as_number(numeric[c]) if c in numeric else np.nan for c in wanted},
                           index=numeric.index)
    return GapInputs(ordered, table.reset_index(drop=True), tree_from_table(table), matrix,
                     candidates.reset_index(drop=True), numeric, tuple(levers), len(indicator_columns), codes,
                     params)


def _as_number(values: pd.Series) -> pd.Series:
    mapped = values.map(lambda v: {True: 1.0, False: 0.0, "True": 1.0, "False": 0.0,
                                   "true": 1.0, "false": 0.0}.get(v, v))
    return pd.to_numeric(mapped, errors="coerce").astype(float)


def load_gap_inputs(processed_dir: str | Path, framework: Framework, candidates: pd.DataFrame,
                    params: GapParams = GapParams()) -> GapInputs:
    """Read ``indicators.csv`` and ``submissions_clean.csv`` and build :class:`GapInputs`."""
    from smartcity_analysis.selection.uncertainty import load_engine_data, scorable_tree

    data = load_engine_data(processed_dir, params.impute_group)
    table = scorable_tree(framework, data)  # the tree the round could score, as stage 02
    fields = pd.read_csv(Path(processed_dir) / "submissions_clean.csv", dtype={"region_code": str},
                         encoding="utf-8")
    return gap_inputs(data, table, candidates, fields, levers_from_framework(framework, table), params)


# ---------------------------------------------------------------------------------------------- the index


def tree_levels(matrix: np.ndarray, tree: Tree, aggregate: str, weights: np.ndarray | None = None
                ) -> dict[str, np.ndarray]:
    """Every level's scores (indicators, aspects, root), aggregated as the engine does.

    Parameters
    ----------
    matrix : numpy.ndarray
        ``... x regions x tree.indicator_codes`` normalised scores (NaN: left out, weights rescaled over the
        rest); leading dimensions are kept (one per candidate change).
    tree : Tree
        The aggregation tree.
    aggregate : {"arithmetic", "geometric"}
        The aggregation choice, as in the Monte Carlo (``"geometric"`` is the engine's ``geometric_shifted``;
        an aggregate whose framework row sets its own method keeps it).
    weights : numpy.ndarray, optional
        Weights of ``tree.weight_codes``; nominal by default.

    Returns
    -------
    dict
        Code -> ``... x regions`` array.
    """
    weights = tree.nominal_weights if weights is None else np.asarray(weights, float)
    values = {code: matrix[..., i] for i, code in enumerate(tree.indicator_codes)}
    for step in tree.steps:
        if tuple(step.child_codes) == tuple(tree.indicator_codes):  # the matrix itself, as stacking would copy it
            child = np.ascontiguousarray(matrix, dtype=float)
        else:
            child = np.stack([values[c] for c in step.child_codes], axis=-1)
        parent = weighted_means(child, weights[step.weight_index], step.membership, step.methods_for(aggregate),
                                parent_codes=step.parent_codes)
        values.update({code: parent[..., i] for i, code in enumerate(step.parent_codes)})
    return values


def _decide(inputs: GapInputs, levels: Mapping[str, np.ndarray], selection_params: SelectionParams,
            eligible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rank and select on recomputed levels (tie-break columns recomputed too where they are levels)."""
    candidates = inputs.candidates.assign(readiness_index=levels[inputs.tree.root], **{
        c: levels[c] for c in selection_params.tie_break if c in levels})
    arrays = selection_arrays(candidates, selection_params)
    ranks = rank_rows(levels[inputs.tree.root][None, :], arrays["tie_position"])
    chosen = arrays["eligible"] if eligible is None else eligible
    selected, _ = select_top(ranks, chosen, selection_params.quota, arrays["minimums"])
    return selected[0], ranks[0]


def index_threshold(values: np.ndarray, position: int, tie_position: np.ndarray, eligible: np.ndarray,
                    selection_params: SelectionParams, minimums: Sequence = ()) -> float:
    """Return the lowest index at which region ``position`` is selected, every other region fixed (exact).

    Indices are compared at the decision precision (:func:`~smartcity_analysis.index.engine.decision_key`).
    The rule is evaluated with the region's rounded index set to each other region's rounded index (a tie: the
    tie-break decides) and one step of the precision above it, in one vectorised call; the threshold is the
    lowest of these values from which on the region stays selected. It lies on the precision's grid: the
    region is selected exactly when its index, rounded, is at least the threshold.

    Returns
    -------
    float
        The threshold; NaN when the region is never selected (ineligible), ``-inf`` when it is selected
        whatever its index (a minimum secures it, or every eligible region is selected).
    """
    values = decision_key(values)
    others = np.unique(values[np.isfinite(values) & (np.arange(len(values)) != position)])
    trial = np.unique(decision_key(np.concatenate([others, others + 10.0 ** -DECISION_DECIMALS])))
    floor = (others.min() if len(others) else 0.0) - 1.0
    trial = np.concatenate([[floor], trial])
    if minimums:
        rows = np.repeat(values[None, :], len(trial), axis=0)
        rows[:, position] = trial
        mine = selected_in_rows(rows, position, tie_position, eligible, selection_params.quota, minimums)
    else:
        mine = selected_at(trial, values, position, tie_position, eligible, selection_params.quota)
    if not mine[-1]:
        return math.nan
    if mine.all():
        return -math.inf
    last_out = int(np.flatnonzero(~mine).max())
    return float(trial[last_out + 1])


def selected_at(trial: np.ndarray, values: np.ndarray, position: int, tie_position: np.ndarray,
                eligible: np.ndarray, quota: int) -> np.ndarray:
    """Whether region ``position`` is selected with its index set to each finite value of ``trial``, no minimums.

    The decision of :func:`selected_in_rows` for rows that differ from ``values`` in the region's own index
    only, by counting: the eligible other regions ahead at a trial value are those with a higher index plus
    those with the same index and an earlier tie-break position (a missing index is never ahead), counted in
    sorted arrays instead of in one row per trial value. Indices are compared at the decision precision.
    """
    trial, values = decision_key(trial), decision_key(values)
    others = eligible.copy()
    others[position] = False
    index = values[others]
    earlier = tie_position[others] < tie_position[position]
    known = ~np.isnan(index)
    ranked = np.sort(index[known])
    tied = np.sort(index[known & earlier])
    ahead = (len(ranked) - np.searchsorted(ranked, trial, side="right")
             + np.searchsorted(tied, trial, side="right") - np.searchsorted(tied, trial, side="left"))
    return bool(eligible[position]) & (ahead < quota)


def selected_in_rows(rows: np.ndarray, position: int, tie_position: np.ndarray, eligible: np.ndarray, quota: int,
                     minimums: Sequence = ()) -> np.ndarray:
    """Whether region ``position`` is selected in each row of ``rows`` (rows x regions of index values).

    The same decision as ranking every row (:func:`~smartcity_analysis.selection.ranking.rank_rows`) and
    selecting in it (:func:`~smartcity_analysis.selection.ranking.select_top`), for one region. Without group
    minimums it reduces to a count: the region is selected when it is eligible and fewer than ``quota``
    eligible regions rank ahead of it (a higher index, or the same index and an earlier tie-break position;
    an index that is missing ranks last). With minimums every row is ranked and selected in full. Indices are
    compared at the decision precision, as the ranking compares them.
    """
    rows = decision_key(np.atleast_2d(rows))
    if minimums:
        selected, _ = select_top(rank_rows(rows, tie_position), eligible, quota, minimums)
        return selected[:, position]
    others = eligible.copy()
    others[position] = False
    own, index = rows[:, position][:, None], rows[:, others]
    earlier = tie_position[others] < tie_position[position]
    ahead = (index > own) | ((index == own) & earlier)
    ahead = np.where(np.isnan(own), ~np.isnan(index) | (np.isnan(index) & earlier), ahead)
    return bool(eligible[position]) & (ahead.sum(axis=1) < quota)


# ---------------------------------------------------------------------------------------------- one change


def _engine_columns(inputs: GapInputs, changes: Sequence[tuple[int, str, float]], impute: str, normalise: str
                    ) -> np.ndarray:
    """Build the normalised column of each change (a region's indicator set to a value), as the engine does.

    The engine imputes, treats and normalises column by column, so each change becomes its own column: a copy
    of its indicator with the region's value replaced, with that indicator's direction, handed to
    :func:`~smartcity_analysis.index.engine.indicator_columns` with every other change. Column ``i`` is then
    exactly what a full build of the changed data gives for that indicator.

    Returns
    -------
    numpy.ndarray
        ``changes x regions``.
    """
    from smartcity_analysis.index.engine import IndexWarning, indicator_columns

    group = inputs.params.impute_group
    data = inputs.data
    # Only the regions the full build scores (it leaves out regions with no indicator data at all).
    scored = data[list(inputs.tree.indicator_codes)].notna().any(axis=1).to_numpy()
    direction = inputs.table.set_index("code")["direction"]
    transform = inputs.table.set_index("code")["transform"] if "transform" in inputs.table else pd.Series()
    codes = list(inputs.tree.indicator_codes)
    raw = data[codes].to_numpy(float)
    columns = np.empty((int(scored.sum()), len(changes)), order="F")
    for i, (position, indicator, value) in enumerate(changes):
        column = raw[:, codes.index(indicator)].copy()
        column[position] = value
        columns[:, i] = column[scored]
    units = pd.Index(data["region_code"].to_numpy()[scored], name="region_code")
    frame = pd.DataFrame(columns, index=units, columns=[f"c{i}" for i in range(len(changes))])
    groups = pd.Series(data[group].to_numpy()[scored], index=units) if "group" in impute else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        scores = indicator_columns(frame, np.array([float(direction[c]) for _, c, _ in changes]), impute=impute,
                                   groups=groups, treat_outliers=inputs.params.treat_outliers,
                                   normalise=normalise, transform=[transform.get(c) for _, c, _ in changes])
    out = np.full((len(changes), len(inputs.region_codes)), np.nan)
    out[:, scored] = scores.T
    return out


def changed_matrices(inputs: GapInputs, matrix: np.ndarray, changes: Sequence[tuple[int, str, float]],
                     columns: np.ndarray) -> np.ndarray:
    """Stack one copy of ``matrix`` per change with the change's indicator column replaced."""
    stacked = np.repeat(matrix[None, :, :], len(changes), axis=0)
    for i, (_, indicator, _) in enumerate(changes):
        stacked[i, :, inputs.tree.indicator_codes.index(indicator)] = columns[i]
    return stacked


def changed_data(inputs: GapInputs, region_code: str, indicator: str, value: float) -> pd.DataFrame:
    """Return ``inputs.data`` with one region's indicator set to ``value``."""
    return apply_path(inputs.data, region_code, indicator, value)


def changed_eligibility(inputs: GapInputs, position: int, indicator: str,
                        selection_params: SelectionParams) -> np.ndarray:
    """Eligibility after a change: filling an unreported indicator raises the region's coverage."""
    candidates = inputs.candidates
    if math.isnan(float(inputs.data[indicator].to_numpy(float)[position])):
        coverage = candidates["indicator_coverage"].to_numpy(float).copy()
        coverage[position] = min(1.0, coverage[position] + 1.0 / inputs.n_indicators)
        candidates = candidates.assign(indicator_coverage=coverage)
    return selection_arrays(candidates, selection_params)["eligible"]


@dataclass(frozen=True)
class _Rule:
    """The selection rule's fixed parts for batches of changes: what no single change moves, as arrays."""

    code_rank: np.ndarray
    accepted: np.ndarray
    coverage: np.ndarray
    nominal_index: np.ndarray
    eligible: np.ndarray
    fixed_tie: Mapping[str, np.ndarray]
    minimums: Sequence
    params: SelectionParams

    @classmethod
    def of(cls, inputs: GapInputs, selection_params: SelectionParams) -> _Rule:
        """Read the rule's arrays from the nominal candidates (in ``inputs.region_codes`` order)."""
        candidates = inputs.candidates
        codes = candidates["region_code"].astype(str).to_numpy()
        code_rank = np.empty(len(codes), dtype=np.int64)
        code_rank[np.argsort(codes, kind="stable")] = np.arange(len(codes))
        arrays = selection_arrays(candidates, selection_params)
        return cls(code_rank=code_rank, accepted=candidates["accepted"].astype(bool).to_numpy(),
                   coverage=candidates["indicator_coverage"].to_numpy(float),
                   nominal_index=candidates["readiness_index"].to_numpy(float), eligible=arrays["eligible"],
                   fixed_tie={c: candidates[c].to_numpy(float) for c in selection_params.tie_break},
                   minimums=arrays["minimums"], params=selection_params)

    def eligible_after(self, inputs: GapInputs, changes: Sequence[tuple[int, str, float]]) -> np.ndarray:
        """Return the ``changes x regions`` eligibility, as :func:`changed_eligibility` gives each change's."""
        eligible = np.repeat(self.eligible[None, :], len(changes), axis=0)
        for i, (position, indicator, _) in enumerate(changes):
            if math.isnan(float(inputs.data[indicator].iat[position])):
                coverage = min(1.0, self.coverage[position] + 1.0 / inputs.n_indicators)
                eligible[i, position] = bool(self.accepted[position] and not math.isnan(self.nominal_index[position])
                                             and coverage >= self.params.min_coverage)
        return eligible

    def decide(self, levels: Mapping[str, np.ndarray], root: str, eligible: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Rank and select every row of ``levels`` (``changes x regions``) as :func:`_decide` does one.

        Each row is ordered by its index (missing last), then by its tie-break scores (higher first, missing
        last), then by code: the order of :func:`~smartcity_analysis.selection.ranking.rank_rows` under
        :func:`~smartcity_analysis.selection.ranking.tie_order` of that row's scores, compared like them at
        the decision precision.
        """
        values = decision_key(levels[root])
        keys = [np.broadcast_to(self.code_rank, values.shape)]
        for code in reversed(self.params.tie_break):
            column = levels[code] if code in levels else np.broadcast_to(self.fixed_tie[code], values.shape)
            column = decision_key(column)
            keys.append(-np.where(np.isnan(column), -np.inf, column))
        keys.append(np.where(np.isnan(values), np.inf, -values))
        order = np.lexsort(keys, axis=-1)
        ranks = np.empty(values.shape, dtype=np.int32)
        ranks[np.arange(values.shape[0])[:, None], order] = np.arange(1, values.shape[1] + 1, dtype=np.int32)
        selected, _ = select_top(ranks, eligible, self.params.quota, self.minimums)
        return selected, ranks


def evaluate_changes(inputs: GapInputs, changes: Sequence[tuple[int, str, float]],
                     selection_params: SelectionParams, chunk: int = 512) -> list[Evaluation]:
    """Rebuild the index for each change (one region's indicator set to a value) and apply the selection rule.

    Parameters
    ----------
    inputs : GapInputs
        The nominal build.
    changes : sequence of (int, str, float)
        ``(position in inputs.region_codes, indicator, new value in the indicator's units)``; each is applied
        alone to the nominal data.
    selection_params : SelectionParams
        The selection rule.
    chunk : int, default 512
        Changes evaluated together (the stacked matrices of a chunk are ``chunk x regions x indicators``).

    Returns
    -------
    list of Evaluation
        For each change: whether its region is then selected, its index and rank.
    """
    impute, normalise, aggregate = inputs.params.nominal
    rule = _Rule.of(inputs, selection_params)
    out = []
    for first in range(0, len(changes), chunk):
        part = changes[first:first + chunk]
        stacked = changed_matrices(inputs, inputs.matrix, part, _engine_columns(inputs, part, impute, normalise))
        levels = tree_levels(positive_scale(stacked, normalise, aggregate, inputs.tree), inputs.tree, aggregate)
        wanted = {c: levels[c] for c in (inputs.tree.root, *selection_params.tie_break) if c in levels}
        selected, ranks = rule.decide(wanted, inputs.tree.root, rule.eligible_after(inputs, part))
        rows = np.arange(len(part))
        positions = np.array([position for position, _, _ in part])
        out += [Evaluation(bool(s), float(v), int(r)) for s, v, r in zip(
            selected[rows, positions], levels[inputs.tree.root][rows, positions], ranks[rows, positions],
            strict=True)]
    return out


def evaluate_change(inputs: GapInputs, position: int, indicator: str, value: float,
                    selection_params: SelectionParams) -> Evaluation:
    """Rebuild the index with one region's indicator set to ``value`` and apply the selection rule."""
    return evaluate_changes(inputs, [(position, indicator, value)], selection_params)[0]


# ---------------------------------------------------------------------------------------------- the search


@dataclass
class _Search:
    """The bracket of one lever's search: ``low`` known not to select (-1: the current value), ``high`` to select."""

    lever: Lever
    grid: FieldGrid
    denominator: float
    start: float
    low: int = -1
    high: int = -1
    method: str = "search"
    seen: dict = field(default_factory=dict)

    def value(self, k: int) -> float:
        return indicator_value(self.lever, self.grid.value(k), self.denominator)

    @property
    def done(self) -> bool:
        return self.high >= 0 and self.high - self.low <= 1

    def narrow(self) -> None:
        """Move the bracket to the lowest selecting point seen and the highest non-selecting one below it."""
        self.high = min(k for k, r in self.seen.items() if r.selected)
        self.low = max((k for k, r in self.seen.items() if not r.selected and k < self.high), default=-1)


def _linear_start(inputs: GapInputs, position: int, search: _Search, needed_rise: float) -> int:
    """Grid position the linear solution points to (min-max bounds fixed, arithmetic aggregation), or -1."""
    _, normalise, aggregate = inputs.params.nominal
    lever = search.lever
    if normalise != "minmax" or uses_geometric(inputs.tree, aggregate) or not math.isfinite(needed_rise):
        return -1
    share = _indicator_share(inputs, position, lever.indicator)
    column = inputs.data[lever.indicator].to_numpy(float)
    spread = np.nanmax(column) - np.nanmin(column)
    current = column[position]
    if not share > 0 or not spread > 0 or math.isnan(current):
        return -1
    target = current + lever.direction * needed_rise / share / 100.0 * spread
    # Indicator values grow linearly with k on the grid (a ratio's denominator is fixed).
    first, last = search.value(0), search.value(search.grid.size - 1)
    if (target - first) * lever.direction <= 0:
        return 0
    if (target - last) * lever.direction > 0 or last == first:
        return -1
    per_step = (search.value(min(1, search.grid.size - 1)) - first) or (last - first)
    k = int(math.ceil((target - first) / per_step - 1e-9))
    return min(max(k, 0), search.grid.size - 1)


def _indicator_share(inputs: GapInputs, position: int, indicator: str) -> float:
    """Return the indicator's share of the region's index (arithmetic, weights rescaled over its data)."""
    tree = inputs.tree
    weights = dict(zip(tree.weight_codes, tree.nominal_weights, strict=True))
    parent_of = {}
    for step in tree.steps:
        for child, membership in zip(step.child_codes, step.membership, strict=True):
            parent_of[child] = step.parent_codes[int(np.argmax(membership))]
    has = {c: not math.isnan(inputs.matrix[position, i]) for i, c in enumerate(tree.indicator_codes)}
    for step in tree.steps:
        for parent in step.parent_codes:
            has[parent] = any(has[c] for c in step.child_codes if parent_of[c] == parent)
    if not has[indicator]:
        return 0.0
    total, code = 1.0, indicator
    while code in parent_of:
        parent = parent_of[code]
        total *= weights[code] / sum(weights[c] for c in parent_of if parent_of[c] == parent and has[c])
        code = parent
    return total


def _searches(inputs: GapInputs, position: int) -> list[_Search]:
    """One search per lever of the region that has somewhere to go inside its valid range."""
    code = inputs.region_codes[position]
    searches = []
    for lever in inputs.levers:
        current = float(inputs.data[lever.indicator].to_numpy(float)[position])
        denominator = float(inputs.fields.at[code, lever.denominator]) if lever.denominator else 1.0
        start = current
        if lever.kind == "ratio":
            start = float(inputs.fields.at[code, lever.field])
            if math.isnan(start) and not math.isnan(current):
                start = current * denominator / lever.scale
        cap = float(inputs.fields.at[code, lever.cap_field]) if lever.cap_field else math.nan
        grid = field_grid(lever, start, denominator, cap)
        if grid.size:
            method = "levels" if lever.kind in ("boolean", "ordinal") else "search"
            searches.append(_Search(lever, grid, denominator, start, method=method))
    return searches


def region_searches(inputs: GapInputs, position: int, needed_rise: float, selection_params: SelectionParams,
                    points_per_round: int = 8) -> list[dict[str, Any]]:
    """Find, for every lever of one region at once, the smallest grid move that selects it.

    See :func:`searches_for_regions`, which does this for many regions in the same engine calls.
    """
    return searches_for_regions(inputs, {position: needed_rise}, selection_params, points_per_round)[position]


def searches_for_regions(inputs: GapInputs, rises: Mapping[int, float], selection_params: SelectionParams,
                         points_per_round: int = 8) -> dict[int, list[dict[str, Any]]]:
    """Find, for every lever of every region given, the smallest grid move that selects the region.

    Round 0 evaluates each lever's range limit and the linear solution with the grid point below it; a lever
    whose limit does not select has no path; one whose linear solution selects and the point below does not is
    solved (``linear``). The others are narrowed by evaluating ``points_per_round`` evenly spaced grid points
    of every open bracket per round, until the bracket is one step wide. Each round evaluates the points of
    every lever of every region in the same engine calls; each point is still evaluated alone (one region's
    one indicator changed), so a region's paths do not depend on which other regions are searched with it.

    Parameters
    ----------
    inputs : GapInputs
        The nominal build.
    rises : mapping
        Region position -> the index rise it needs (NaN or infinite: no linear first guess).
    selection_params : SelectionParams
        The selection rule.
    points_per_round : int, default 8
        Grid points evaluated per open bracket and round.

    Returns
    -------
    dict
        Region position -> one dict per lever with a path: ``lever``, ``field_from``, ``field_to``,
        ``to_value``, ``index_after``, ``rank_after``, ``method``.
    """
    jobs = [(position, search) for position in rises for search in _searches(inputs, position)]
    first = {}
    for i, (position, search) in enumerate(jobs):
        top = search.grid.size - 1
        guess = _linear_start(inputs, position, search, rises[position]) if search.method == "search" else -1
        first[i] = [top] + ([guess, guess - 1] if 0 <= guess < top else []) + ([0] if top > 0 and
                                                                               search.method == "levels" else [])
        first[i] = [k for k in first[i] if k >= 0]
    _evaluate_points(inputs, jobs, first, selection_params)
    for _, search in jobs:
        top = search.grid.size - 1
        if not search.seen[top].selected:
            search.method = "none"
            continue
        search.narrow()
        if search.done and search.method == "search" and len(search.seen) > 1 and search.high != top:
            search.method = "linear"
    for _ in range(64):
        open_ = {i: s for i, (_, s) in enumerate(jobs) if s.method != "none" and not s.done}
        if not open_:
            break
        wanted = {}
        for i, search in open_.items():
            span = search.high - search.low
            count = min(points_per_round, span - 1)
            wanted[i] = sorted({search.low + max(1, round(span * (j + 1) / (count + 1))) for j in range(count)})
            wanted[i] = [k for k in wanted[i] if search.low < k < search.high]
        _evaluate_points(inputs, jobs, wanted, selection_params)
        for search in open_.values():
            search.narrow()
    found = {position: [] for position in rises}
    for position, search in jobs:
        if search.method == "none" or not search.done:
            continue
        best = search.seen[search.high]
        found[position].append({"lever": search.lever, "field_from": search.start,
                                "field_to": search.grid.value(search.high), "to_value": search.value(search.high),
                                "index_after": best.index, "rank_after": best.rank, "method": search.method})
    return found


def _evaluate_points(inputs: GapInputs, jobs: Sequence[tuple[int, _Search]], wanted: Mapping[int, Sequence[int]],
                     selection_params: SelectionParams) -> None:
    """Evaluate the wanted grid points of every search in one batch and record them in ``seen``."""
    changes, keys = [], []
    for i, points in wanted.items():
        position, search = jobs[i]
        for k in sorted(set(points) - set(search.seen)):
            changes.append((position, search.lever.indicator, search.value(k)))
            keys.append((i, k))
    for (i, k), result in zip(keys, evaluate_changes(inputs, changes, selection_params), strict=True):
        jobs[i][1].seen[k] = result


def aspect_change(inputs: GapInputs, position: int, aspect: str, levels: Mapping[str, np.ndarray],
                  selection_params: SelectionParams, target: float) -> dict[str, Any] | None:
    """Find the smallest rise of one aspect score (0-100, 0.01 grid) that lifts the index to ``target``."""
    _, _, aggregate = inputs.params.nominal
    tree = inputs.tree
    step = tree.steps[-1]
    aspects = np.array([levels[c][position] for c in step.child_codes])
    at = step.child_codes.index(aspect)
    if math.isnan(aspects[at]) or not math.isfinite(target):
        return None

    def root(score: float) -> float:
        row = aspects.copy()
        row[at] = score
        return float(tree_levels_row(row, tree, step, aggregate))

    ceiling = 100.0
    if decision_key(root(ceiling)) < target:  # the target is a threshold on the decision precision's grid
        return None
    low, high = aspects[at], ceiling
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if decision_key(root(middle)) >= target else (middle, high)
    needed = min(ceiling, math.ceil(high * 100 - 1e-9) / 100)
    values = {c: v.copy() for c, v in levels.items()}
    values[aspect][position], values[tree.root][position] = needed, root(needed)
    selected, ranks = _decide(inputs, values, selection_params)
    if not selected[position]:
        return None
    return {"from_value": float(aspects[at]), "to_value": needed, "index_after": float(values[tree.root][position]),
            "rank_after": int(ranks[position]), "method": "exact"}


def tree_levels_row(aspects: np.ndarray, tree: Tree, step: Any, aggregate: str) -> float:
    """Return the root's score of one region from its top-level children (the last step of the tree)."""
    parent = weighted_means(np.asarray(aspects, dtype=float)[None, :], tree.nominal_weights[step.weight_index],
                            step.membership, step.methods_for(aggregate), parent_codes=step.parent_codes)
    return float(parent[0, step.parent_codes.index(tree.root)])


# ---------------------------------------------------------------------------------------------- robustness


def path_robustness(inputs: GapInputs, mc_inputs: UncertaintyInputs, mc: MonteCarloResult,
                    changes: Sequence[tuple[int, str, float]], chunk: int = 64) -> np.ndarray:
    """Share of the Monte Carlo draws in which each change's region is selected once the change is made.

    Each change's indicator column is rebuilt by the engine under every imputation x normalisation of the
    Monte Carlo (one engine call per pair for all changes), and the very draws of ``mc`` (same configurations
    and weights, same rule) are re-aggregated and re-selected.

    Parameters
    ----------
    inputs : GapInputs
        The nominal build (its rows in ``mc_inputs.region_codes`` order).
    mc_inputs : UncertaintyInputs
        The Monte Carlo's normalised matrices.
    mc : MonteCarloResult
        The draws.
    changes : sequence of (int, str, float)
        ``(position, indicator, value)``, as for :func:`evaluate_changes`.
    chunk : int, default 64
        Changes rebuilt together.

    Returns
    -------
    numpy.ndarray
        One share (0-1) per change.
    """
    if not changes:
        return np.array([])
    if tuple(mc_inputs.region_codes) != inputs.region_codes:
        raise ValueError("the Monte Carlo inputs and the gap inputs list the regions in different orders")
    arrays = selection_arrays(inputs.candidates, mc.selection_params)
    eligible = _Rule.of(inputs, mc.selection_params).eligible_after(inputs, changes)
    shares = np.empty(len(changes))
    for first in range(0, len(changes), chunk):  # the stacked matrices of a chunk: pairs x chunk x regions x ...
        part = changes[first:first + chunk]
        stacked = {pair: changed_matrices(inputs, matrix, part, _engine_columns(inputs, part, *pair))
                   for pair, matrix in mc_inputs.matrices.items()}
        for i, (position, _, _) in enumerate(part, start=first):
            values = evaluate_design({pair: m[i - first] for pair, m in stacked.items()}, mc_inputs.tree, mc.draws)
            shares[i] = selected_in_rows(values, position, arrays["tie_position"], eligible[i],
                                         mc.selection_params.quota, arrays["minimums"]).mean()
    return shares


# ---------------------------------------------------------------------------------------------- the analysis


def what_it_takes(inputs: GapInputs, selection_params: SelectionParams = DEFAULT_SELECTION, *,
                  mc: MonteCarloResult | None = None, mc_inputs: UncertaintyInputs | None = None,
                  regions: Sequence[str] | None = None, n_jobs: int = 1) -> GapResult:
    """Distance to the cut-off and margin of every region, and the paths into the selection of those outside.

    Parameters
    ----------
    inputs : GapInputs
        From :func:`load_gap_inputs` / :func:`gap_inputs`.
    selection_params : SelectionParams
        The selection rule (the nominal one).
    mc, mc_inputs : optional
        The Monte Carlo and its matrices; when given, the ``n_robust`` most practical paths of each region get
        ``p_selected_after``.
    regions : sequence of str, optional
        Compute paths for these regions only (all outside the selection by default).
    n_jobs : int, default 1
        Processes for the searches and the robustness of the paths, used from :data:`PARALLEL_MIN_REGIONS`
        regions outside the selection (-1: one per core): this one and ``n_jobs - 1`` of joblib's reusable
        (loky) workers. The result does not depend on it: every region's search and every path's robustness
        is computed alone.

    Returns
    -------
    GapResult
    """
    _, normalise, aggregate = inputs.params.nominal
    levels = tree_levels(positive_scale(inputs.matrix, normalise, aggregate, inputs.tree), inputs.tree, aggregate)
    selected, ranks = _decide(inputs, levels, selection_params)
    table = region_table(inputs, levels, selected, ranks, selection_params)
    wanted = set(table["region_code"] if regions is None else regions)
    enter = {inputs.region_codes.index(r.region_code): r.index_to_enter for r in table.itertuples(index=False)
             if r.status == "outside" and r.region_code in wanted}
    # Regions are dealt out in turn (those near the cut-off search longest), and their rows put back in order.
    parts = _dealt(list(enter.items()), n_jobs if len(enter) >= PARALLEL_MIN_REGIONS else 1)
    found = _in_parallel(_paths_of_regions, [(inputs, part, levels, selection_params) for part in parts])
    rows_of = {position: rows for part, of_part in zip(parts, found, strict=True)
               for (position, _), rows in zip(part, of_part, strict=True)}
    rows = [row for position in enter for row in rows_of[position]]
    paths = rank_paths(pd.DataFrame(rows, columns=[c for c in PATH_COLUMNS if c != "path_rank"]), inputs)
    if mc is not None and mc_inputs is not None:
        paths = add_robustness(paths, inputs, mc_inputs, mc, n_parts=len(parts))
    counts = paths[paths["kind"] == "indicator"].groupby("region_code").size()
    table["n_paths"] = table["region_code"].map(counts).fillna(0).astype(int)
    table.loc[(table["status"] == "outside") & (table["n_paths"] == 0), "status"] = "no_path"
    table.loc[table["status"] == "outside", "status"] = "has_path"
    return GapResult(table[REGION_COLUMNS], paths[PATH_COLUMNS], inputs.params, selection_params)


def region_table(inputs: GapInputs, levels: Mapping[str, np.ndarray], selected: np.ndarray, ranks: np.ndarray,
                 selection_params: SelectionParams) -> pd.DataFrame:
    """Per region: the cut-off, its distance to it, the index it needs to enter or to stay, its status."""
    index = levels[inputs.tree.root]
    arrays = selection_arrays(inputs.candidates.assign(readiness_index=index, **{
        c: levels[c] for c in selection_params.tie_break if c in levels}), selection_params)
    cutoff = float(np.nanmin(index[selected])) if selected.any() else math.nan
    thresholds = np.array([index_threshold(index, i, arrays["tie_position"], arrays["eligible"], selection_params,
                                           arrays["minimums"]) for i in range(len(index))])
    eligible = arrays["eligible"]
    status = np.select([~eligible, selected & np.isneginf(thresholds), selected], ["ineligible", "secured",
                                                                                  "selected"], default="outside")
    with np.errstate(invalid="ignore"):
        enter = np.where(~selected & eligible, thresholds, np.nan)
        stay = np.where(selected & np.isfinite(thresholds), thresholds, np.nan)
    table = pd.DataFrame({
        "region_code": list(inputs.region_codes), "selected": selected, "eligible": eligible,
        "readiness_index": index, "rank": ranks, "cutoff_index": cutoff, "distance_to_cutoff": index - cutoff,
        "index_to_enter": enter, "gap_points": enter - index, "index_to_stay": stay, "margin_points": index - stay,
        "status": status, "n_paths": 0,
    })
    return table.sort_values("rank", kind="stable").reset_index(drop=True)


def region_paths(inputs: GapInputs, position: int, levels: Mapping[str, np.ndarray], index_to_enter: float,
                 selection_params: SelectionParams, searched: Sequence[Mapping[str, Any]] | None = None
                 ) -> list[dict[str, Any]]:
    """Every valid single-indicator path and every aspect path of one region outside the selection.

    ``searched`` is what :func:`searches_for_regions` found for the region, searched here when not given.
    """
    code = inputs.region_codes[position]
    rise = index_to_enter - float(levels[inputs.tree.root][position])
    if searched is None:
        searched = region_searches(inputs, position, rise, selection_params)
    rows = []
    for found in searched:
        lever = found["lever"]
        column = inputs.data[lever.indicator].to_numpy(float)
        current = float(column[position])
        spread = float(np.nanmax(column) - np.nanmin(column))
        start = current if not math.isnan(current) else float(np.nanmin(column * lever.direction)) * lever.direction
        effort = abs(found["to_value"] - start) / spread * 100 if spread > 0 else math.nan
        rows.append({"region_code": code, "kind": "indicator", "code": lever.indicator, "aspect": lever.aspect,
                     "field": lever.field, "from_value": current, "to_value": found["to_value"],
                     "change": found["to_value"] - current, "field_from": found["field_from"],
                     "field_to": found["field_to"], "field_change": found["field_to"] - found["field_from"],
                     "effort_points": effort, "index_after": found["index_after"],
                     "rank_after": found["rank_after"], "method": found["method"], "p_selected_after": math.nan})
    for aspect in inputs.tree.steps[-1].child_codes:
        found = aspect_change(inputs, position, aspect, levels, selection_params, index_to_enter)
        if found is None:
            continue
        rise_points = found["to_value"] - found["from_value"]
        rows.append({"region_code": code, "kind": "aspect", "code": aspect, "aspect": aspect, "field": "",
                     "from_value": found["from_value"], "to_value": found["to_value"], "change": rise_points,
                     "field_from": math.nan, "field_to": math.nan, "field_change": math.nan,
                     "effort_points": rise_points, "index_after": found["index_after"],
                     "rank_after": found["rank_after"], "method": found["method"], "p_selected_after": math.nan})
    return rows


def rank_paths(paths: pd.DataFrame, inputs: GapInputs) -> pd.DataFrame:
    """Order each region's paths, most practical first: single indicators by effort, then aspects.

    Effort is the change as points of the spread between the lowest and highest region on that indicator
    (for an aspect: points of its 0-100 score), so a rise of a quarter of the peers' spread counts 25; efforts
    are compared at the decision precision, equal ones in the framework's order of the codes.
    """
    order = {code: i for i, code in enumerate(inputs.tree.indicator_codes + inputs.tree.steps[-1].child_codes)}
    paths = paths.assign(_kind=paths["kind"].map({"indicator": 0, "aspect": 1}), _order=paths["code"].map(order),
                         _effort=decision_key(paths["effort_points"].astype(float)))
    paths = paths.sort_values(["region_code", "_kind", "_effort", "_order"], kind="stable")
    paths["path_rank"] = paths.groupby("region_code").cumcount() + 1
    return paths.drop(columns=["_kind", "_order", "_effort"]).reset_index(drop=True)


def add_robustness(paths: pd.DataFrame, inputs: GapInputs, mc_inputs: UncertaintyInputs,
                   mc: MonteCarloResult, n_parts: int = 1) -> pd.DataFrame:
    """Fill ``p_selected_after`` of each region's ``n_robust`` most practical single-indicator paths.

    ``n_parts`` > 1 splits the paths into that many contiguous parts computed in parallel processes (the same
    shares: each path's is computed alone).
    """
    chosen = paths[(paths["kind"] == "indicator") & (paths["path_rank"] <= inputs.params.n_robust)]
    changes = [(inputs.region_codes.index(r), c, v)
               for r, c, v in zip(chosen["region_code"], chosen["code"], chosen["to_value"], strict=True)]
    parts = _parts(changes, n_parts)
    shares = _in_parallel(_robustness_of, [(inputs, mc_inputs, mc, part) for part in parts])
    paths = paths.copy()
    paths.loc[chosen.index, "p_selected_after"] = np.concatenate(shares) if shares else np.array([])
    return paths


def _paths_of_regions(inputs: GapInputs, enter: Sequence[tuple[int, float]], levels: Mapping[str, np.ndarray],
                      selection_params: SelectionParams) -> list[list[dict[str, Any]]]:
    """Return the path rows of each region ``enter`` lists (position, index to enter), one list per region."""
    root = levels[inputs.tree.root]
    found = searches_for_regions(inputs, {p: e - float(root[p]) for p, e in enter}, selection_params)
    return [region_paths(inputs, position, levels, index_to_enter, selection_params, found[position])
            for position, index_to_enter in enter]


def _robustness_of(inputs: GapInputs, mc_inputs: UncertaintyInputs, mc: MonteCarloResult,
                   changes: Sequence[tuple[int, str, float]]) -> np.ndarray:
    return path_robustness(inputs, mc_inputs, mc, changes)


def _workers(n_jobs: int, n_items: int) -> int:
    """Return how many parts ``n_items`` items make for ``n_jobs`` (-1: one per core): 1 up to ``n_items``."""
    return max(1, min(joblib.cpu_count() if n_jobs < 0 else n_jobs, n_items))


def _parts(items: Sequence[Any], n_jobs: int) -> list[list[Any]]:
    """Split ``items`` into at most ``n_jobs`` contiguous, nearly equal parts (-1: one per core); none empty."""
    if not items:
        return [[]]
    size = math.ceil(len(items) / _workers(n_jobs, len(items)))
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _dealt(items: Sequence[Any], n_jobs: int) -> list[list[Any]]:
    """Deal ``items`` out in turn into at most ``n_jobs`` parts (-1: one per core), as cards; none empty."""
    count = _workers(n_jobs, len(items))
    return [list(items[i::count]) for i in range(count)]


def _in_parallel(function: Any, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Return ``function`` of each argument tuple, in order; with several, all but the first in processes.

    The other parts go to joblib's reusable worker processes (loky) as soon as this is called, and the first
    runs here meanwhile: a process waiting on its workers would leave a core's worth of work to a process
    that must start and import the package first.
    """
    if len(arguments) == 1:
        return [function(*arguments[0])]
    executor = get_reusable_executor(max_workers=len(arguments) - 1)
    futures = [executor.submit(_keeping_warnings, function, *a) for a in arguments[1:]]
    results = [function(*arguments[0])]
    for future in futures:
        result, caught = future.result()
        for message, category in caught:  # raised again here, where the stage records warnings as notes
            warnings.warn(message, category, stacklevel=2)
        results.append(result)
    return results


def _keeping_warnings(function: Any, *arguments: Any) -> tuple[Any, list[tuple[str, type[Warning]]]]:
    """Run ``function`` in a worker; return its result and its warnings (a worker's would go to its stderr)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*arguments)
    return result, [(str(w.message), w.category) for w in caught]


def practical_paths(result: GapResult, per_region: int = 2, n: int = 12) -> pd.DataFrame:
    """Return the most practical single-indicator paths of the regions closest to the cut-off, for reading.

    At most ``per_region`` paths per region, the ``n`` first by the region's rank.
    """
    columns = ["rank", "region_code", "code", "from_value", "to_value", "field_change", "effort_points", "method",
               "p_selected_after"]
    paths = result.paths.query("kind == 'indicator' and path_rank <= @per_region")
    ranked = paths.merge(result.regions[["region_code", "rank"]], on="region_code")
    return ranked.sort_values(["rank", "path_rank"], kind="stable").head(n)[columns].reset_index(drop=True)


def apply_path(data: pd.DataFrame, region_code: str, indicator: str, value: float) -> pd.DataFrame:
    """Return ``indicators.csv``-like data with one region's indicator set to a path's ``to_value``."""
    data = data.copy()
    data.loc[data["region_code"].astype(str) == str(region_code), indicator] = value
    return data


def write_gap(result: GapResult, processed_dir: str | Path) -> dict[str, Path]:
    """Write ``selection_gap.csv`` and ``selection_paths.csv`` (UTF-8, full precision); return their paths."""
    from smartcity_analysis.outputs import write_csv  # atomic: a killed run leaves the previous file whole

    folder = Path(processed_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return {"selection_gap.csv": write_csv(folder / "selection_gap.csv", result.regions),
            "selection_paths.csv": write_csv(folder / "selection_paths.csv", result.paths)}


def remove_stale(processed_dir: str | Path) -> None:
    """Delete earlier gap files (a run where the analysis could not run writes none)."""
    for name in ("selection_gap.csv", "selection_paths.csv"):
        (Path(processed_dir) / name).unlink(missing_ok=True)


def read_path(processed_dir: str | Path, region_code: str, path_rank: int = 1) -> dict[str, Any]:
    """Read one path of a region from ``selection_paths.csv``; empty when the file or the path is missing."""
    file = Path(processed_dir) / "selection_paths.csv"
    if not file.is_file():
        return {}
    paths = pd.read_csv(file, dtype={"region_code": str}, encoding="utf-8")
    rows = paths[(paths["region_code"] == str(region_code)) & (paths["path_rank"] == int(path_rank))]
    return rows.iloc[0].to_dict() if len(rows) else {}


def inputs_with_path(inputs: GapInputs, mc_inputs: UncertaintyInputs, path: Mapping[str, Any]) -> UncertaintyInputs:
    """Return the what-if's matrices with one region's single-indicator path applied (notebook 04b).

    Every ``(impute, normalise)`` matrix of ``mc_inputs`` gets the path's indicator column rebuilt by the engine
    with the region's indicator at the path's ``to_value``; an aspect path (not a change of data) is refused.
    """
    if path.get("kind") != "indicator":
        raise ValueError(f"only a single-indicator path changes the data; got a {path.get('kind')!r} path")
    if tuple(mc_inputs.region_codes) != inputs.region_codes:
        raise ValueError("the what-if inputs and the gap inputs list the regions in different orders")
    change = [(inputs.region_codes.index(str(path["region_code"])), str(path["code"]), float(path["to_value"]))]
    matrices = {pair: changed_matrices(inputs, matrix, change, _engine_columns(inputs, change, *pair))[0]
                for pair, matrix in mc_inputs.matrices.items()}
    return UncertaintyInputs(matrices, mc_inputs.tree, mc_inputs.region_codes)


def path_for(result: GapResult, region_code: str, path_rank: int = 1) -> Mapping[str, Any]:
    """One path of a region as a mapping (for the what-if notebook); empty when the region has none."""
    rows = result.paths[(result.paths["region_code"] == str(region_code)) & (result.paths["path_rank"] == path_rank)]
    return rows.iloc[0].to_dict() if len(rows) else {}


__all__ = ["GapInputs", "GapParams", "GapResult", "Lever", "aspect_change", "apply_path", "evaluate_change",
           "field_grid", "gap_inputs", "index_threshold", "inputs_with_path", "levers_from_framework",
           "load_gap_inputs", "path_for", "path_robustness", "read_path", "region_searches", "remove_stale",
           "tree_levels", "what_it_takes", "write_gap"]
