"""Uncertainty and sensitivity of the ranking and of the selection (JRC/OECD step 8).

A Monte Carlo over the modelling choices: weights perturbed around their nominal values (uniform
multipliers ``1 +- weight_perturbation``, at every level of the tree), the imputation method, the
normalisation and the aggregation. The engine (:func:`smartcity_analysis.index.build_index`) is called once per
imputation x normalisation to get the normalised indicator matrix; each draw is then aggregated in numpy
(batched matrix products over draws x units x indicators), ranked (at the decision precision) and selected with
the very rule of the nominal selection (:func:`smartcity_analysis.selection.select_top`). No Python loop runs over
units or draws;
the draws are taken in chunks of :data:`DRAW_CHUNK_CELLS` draws x units (one chunk for any kab/kota round), so
that a village-level round of 100,000 units holds only the outputs whole, and the products run on one BLAS
thread (:func:`evaluate_and_select`).

Aggregation is the engine's own (:func:`smartcity_analysis.index.engine.weighted_means`): a weighted mean over
the children with data, weights rescaled over them, level by level. A draw's aggregation choice is the default
method, as ``build_index(aggregate=...)`` takes it: an aggregate whose framework row sets its own ``aggregate``
keeps that method in every draw, so the draw with nominal choices and weights is the nominal build.
``"geometric"`` as a Monte Carlo choice is the engine's ``geometric_shifted`` (geometric mean of ``score + 1``,
minus 1), because min-max scores reach 0. Z-scores are negative for half the regions, so wherever a geometric
method aggregates them they are first put on a positive scale, ``100 + 10 z`` (floored at 0); this affine map
leaves arithmetic ranks unchanged and is not applied where every aggregate is arithmetic. Indicator transforms
(the framework's ``transform`` column) are applied by the engine when it builds the normalised matrices.

Sensitivity (which choice moves ranks most): Sobol first-order and total effects, estimated with SALib's
Saltelli/Jansen estimators on a scrambled Sobol design (``SALib.sample.sobol``), the discrete choices being
uniform factors cut into equal-probability levels and the weight multipliers grouped by level of the tree. The
output is each region's rank (and, separately, its selected/not-selected outcome); the per-region indices are
summarised over regions weighted by each region's variance, i.e. as shares of the total rank variance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from smartcity_analysis.index.engine import weighted_means
from smartcity_analysis.notes import NotApplicable
from smartcity_analysis.selection.ranking import (
    SelectionParams,
    eligibility,
    group_minimums,
    rank_rows,
    select_top,
    tie_order,
)

ZSCORE_POSITIVE_CENTRE, ZSCORE_POSITIVE_SCALE = 100.0, 10.0

# The draws are evaluated, ranked and selected in chunks of at most this many draws x units cells (64 MB per
# float64 array), so that the temporaries of the aggregation and of the sorts stay bounded however large the
# round: only the outputs (draws x units) are held whole. Draws are independent rows, so chunking changes no
# decision (an index may differ in its last bits, as a product of another shape may take another BLAS kernel; ranks
# compare indices at the decision precision), and a kab/kota round (1,000 draws x at most 514 regions) is a single
# chunk.
DRAW_CHUNK_CELLS = 2 ** 23


CHOICE_COLUMNS = ("impute", "normalise", "aggregate")
# A Monte Carlo aggregation choice -> the engine's method it stands for.
ENGINE_AGGREGATE = {"arithmetic": "arithmetic", "geometric": "geometric_shifted"}


DEFAULT_SELECTION = SelectionParams()


@dataclass(frozen=True)
class AggregationStep:
    """One level of the tree: which children feed which parents.

    Attributes
    ----------
    child_codes, parent_codes : tuple of str
        Codes in order.
    membership : numpy.ndarray
        ``children x parents``, 1 where the child belongs to the parent.
    weight_index : numpy.ndarray
        Position of each child in :attr:`Tree.weight_codes`.
    methods : tuple of str
        The engine method each parent's framework row sets (its ``aggregate`` column), ``""`` where it sets
        none (the draw's choice applies); empty when the table has no such column.
    """

    child_codes: tuple[str, ...]
    parent_codes: tuple[str, ...]
    membership: np.ndarray
    weight_index: np.ndarray
    methods: tuple[str, ...] = ()

    def methods_for(self, aggregate: str) -> tuple[str, ...]:
        """Each parent's engine method in a draw whose aggregation choice is ``aggregate``."""
        if aggregate not in ENGINE_AGGREGATE:
            raise ValueError(f"aggregation {aggregate!r}: use 'arithmetic' or 'geometric'")
        own = self.methods or ("",) * len(self.parent_codes)
        return tuple(m or ENGINE_AGGREGATE[aggregate] for m in own)


@dataclass(frozen=True)
class Tree:
    """The engine's framework table as arrays.

    Attributes
    ----------
    indicator_codes : tuple of str
        Level-1 codes in framework order.
    weight_codes : tuple of str
        Every code with a parent (the weights that matter), in framework order.
    nominal_weights : numpy.ndarray
        Their nominal weights.
    weight_levels : numpy.ndarray
        Their levels (1 = indicator weight within its aspect, 2 = aspect weight, ...).
    steps : tuple of AggregationStep
        Levels 2..top.
    root : str
        The top code (``readiness_index``).
    """

    indicator_codes: tuple[str, ...]
    weight_codes: tuple[str, ...]
    nominal_weights: np.ndarray
    weight_levels: np.ndarray
    steps: tuple[AggregationStep, ...]
    root: str


@dataclass(frozen=True)
class UncertaintyParams:
    """The Monte Carlo's choices and their ranges.

    Attributes
    ----------
    n_draws : int
        Number of draws.
    weight_perturbation : float
        Half-width of the uniform weight multiplier (0.25: each weight times U(0.75, 1.25)); 0 for none.
    imputations, normalisations, aggregations : tuple of str
        The alternatives drawn, each with equal probability (the engine's names; ``"geometric"`` as above).
    nominal : tuple of str
        The nominal ``(impute, normalise, aggregate)``, as in notebook 02.
    include_nominal : bool
        Make draw 0 the nominal configuration (nominal choices, unperturbed weights).
    robust_share : float
        A decision is robust when at least this share of draws agrees with it (see :func:`summarise`).
    random_state : int
        Seed of the draws.
    """

    n_draws: int = 1000
    weight_perturbation: float = 0.25
    imputations: tuple[str, ...] = ("group_median", "median", "mean")
    normalisations: tuple[str, ...] = ("minmax", "zscore")
    aggregations: tuple[str, ...] = ("arithmetic", "geometric")
    nominal: tuple[str, str, str] = ("group_median", "minmax", "arithmetic")
    include_nominal: bool = True
    robust_share: float = 0.9
    random_state: int = 2021

    def __post_init__(self) -> None:
        if self.n_draws < 1:
            raise ValueError(f"n_draws must be at least 1 (got {self.n_draws})")
        if not 0 <= self.weight_perturbation < 1:
            raise ValueError(f"weight_perturbation must be in [0, 1) (got {self.weight_perturbation})")
        if not 0.5 < self.robust_share <= 1:
            raise ValueError(f"robust_share must be in (0.5, 1] (got {self.robust_share})")
        for value, options in zip(self.nominal, self.options, strict=True):
            if self.include_nominal and value not in options:
                raise ValueError(f"nominal choice {value!r} is not among the alternatives {options}")

    @property
    def options(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """The alternatives of each discrete choice, in ``CHOICE_COLUMNS`` order."""
        return (tuple(self.imputations), tuple(self.normalisations), tuple(self.aggregations))


@dataclass(frozen=True)
class MonteCarloResult:
    """Every draw's configuration, index, rank and selection.

    Attributes
    ----------
    draws : pandas.DataFrame
        One row per draw: ``impute``, ``normalise``, ``aggregate`` and a ``w_<code>`` weight per code.
    index_values, ranks, selected : numpy.ndarray
        Draws x regions (regions in ``region_codes`` order).
    region_codes : tuple of str
        Column order of the arrays.
    params : UncertaintyParams
        The Monte Carlo's parameters.
    selection_params : SelectionParams
        The selection rule applied in every draw.
    """

    draws: pd.DataFrame
    index_values: np.ndarray
    ranks: np.ndarray
    selected: np.ndarray
    region_codes: tuple[str, ...]
    params: UncertaintyParams
    selection_params: SelectionParams = DEFAULT_SELECTION


@dataclass(frozen=True)
class SensitivityResult:
    """Sobol indices of each choice on ranks and on selection.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per factor: ``factor``, ``label_id``, ``label_en``, ``S1_rank``, ``ST_rank``,
        ``S1_selected``, ``ST_selected`` (variance-weighted over regions), sorted by ``ST_rank``.
    per_region : pandas.DataFrame
        ``region_code``, ``factor``, ``S1_rank``, ``ST_rank``, ``rank_variance``.
    n_base : int
        Base sample size (evaluations = ``n_base * (factors + 2)``).
    random_state : int
        Seed of the scrambled Sobol design.
    """

    summary: pd.DataFrame
    per_region: pd.DataFrame
    n_base: int
    random_state: int


FACTOR_LABELS = {
    "impute": ("Metode imputasi", "Imputation method"),
    "normalise": ("Metode normalisasi", "Normalisation method"),
    "aggregate": ("Metode agregasi", "Aggregation method"),
}


def tree_from_table(table: pd.DataFrame) -> Tree:
    """Turn an engine framework table (``code``, ``level``, ``parent``, ``weight``) into arrays.

    Raises
    ------
    ValueError
        When the table has no single root.
    """
    table = table.reset_index(drop=True)
    has_parent = table["parent"].notna() & table["parent"].astype(str).ne("")
    roots = table.loc[~has_parent, "code"].tolist()
    if len(roots) != 1:
        raise ValueError(f"the framework table needs exactly one root (no parent); found {roots}")
    weighted = table[has_parent]
    weight_codes = tuple(weighted["code"])
    position = {code: i for i, code in enumerate(weight_codes)}
    steps = []
    for level in range(2, int(table["level"].max()) + 1):
        parents = tuple(table.loc[table["level"] == level, "code"])
        children = weighted[weighted["parent"].isin(parents)]
        if (children["level"] != level - 1).any():
            raise ValueError(f"level-{level} aggregates must have level-{level - 1} children only "
                             f"(found {children.loc[children['level'] != level - 1, 'code'].tolist()})")
        membership = (children["parent"].to_numpy()[:, None] == np.array(parents)[None, :]).astype(float)
        steps.append(AggregationStep(tuple(children["code"]), parents, membership,
                                     np.array([position[c] for c in children["code"]]),
                                     _own_methods(table, parents)))
    return Tree(
        indicator_codes=tuple(table.loc[table["level"] == 1, "code"]), weight_codes=weight_codes,
        nominal_weights=weighted["weight"].to_numpy(float), weight_levels=weighted["level"].to_numpy(int),
        steps=tuple(steps), root=roots[0],
    )


def _own_methods(table: pd.DataFrame, parents: tuple[str, ...]) -> tuple[str, ...]:
    """Return each parent's ``aggregate`` column (``""`` where empty), or ``()`` when the table has none."""
    if "aggregate" not in table:
        return ()
    column = table.set_index("code")["aggregate"]
    return tuple("" if pd.isna(column[p]) else str(column[p]).strip() for p in parents)


def uses_geometric(tree: Tree, aggregate: str) -> bool:
    """Whether any aggregate of ``tree`` uses a geometric method in a draw whose choice is ``aggregate``."""
    return any(m != "arithmetic" for step in tree.steps for m in step.methods_for(aggregate))


def effective_weights(tree: Tree, codes: Sequence[str] | None = None) -> pd.Series:
    """Each indicator's share of the root under arithmetic aggregation with full data (sums to 1 over ``codes``).

    Parameters
    ----------
    tree : Tree
        The aggregation tree.
    codes : sequence of str, optional
        Restrict to these indicators (shares renormalised over them); default all.
    """
    share = dict.fromkeys([tree.root], 1.0)
    for step in reversed(tree.steps):
        weights = tree.nominal_weights[step.weight_index]
        totals = weights @ step.membership
        for child, w, row in zip(step.child_codes, weights, step.membership, strict=True):
            parent = step.parent_codes[int(np.argmax(row))]
            share[child] = share.get(parent, 0.0) * w / totals[int(np.argmax(row))]
    result = pd.Series({c: share.get(c, 0.0) for c in (codes or tree.indicator_codes)})
    return result / result.sum()


def aggregate_draws(matrix: np.ndarray, tree: Tree, weights: np.ndarray, method: str) -> np.ndarray:
    """Aggregate one normalised indicator matrix to the root for many weight draws at once.

    Parameters
    ----------
    matrix : numpy.ndarray
        Units x indicators (``tree.indicator_codes`` order); NaN = left out, weights rescaled over the rest.
    tree : Tree
        The aggregation tree.
    weights : numpy.ndarray
        Draws x ``tree.weight_codes``.
    method : {"arithmetic", "geometric"}
        The draws' aggregation choice (``"geometric"`` is the engine's ``geometric_shifted``); an aggregate
        whose framework row sets its own method keeps it (:meth:`AggregationStep.methods_for`).

    Returns
    -------
    numpy.ndarray
        Draws x units, the root's score.
    """
    # Level 1 is shared by all draws (units x indicators); from level 2 on, arrays are draws x units x codes.
    level_values = np.asarray(matrix, dtype=float)
    codes = list(tree.indicator_codes)
    for step in tree.steps:
        child = level_values[..., [codes.index(c) for c in step.child_codes]]
        level_values = weighted_means(child, weights[:, step.weight_index], step.membership,
                                      step.methods_for(method), parent_codes=step.parent_codes)
        codes = list(step.parent_codes)
    return level_values[..., codes.index(tree.root)]


def positive_scale(matrix: np.ndarray, normalise: str, aggregate: str, tree: Tree | None = None) -> np.ndarray:
    """Put z-scores on ``100 + 10 z`` (floored at 0) where a geometric method aggregates; else unchanged.

    Parameters
    ----------
    matrix : numpy.ndarray
        Normalised indicator scores.
    normalise, aggregate : str
        The draw's normalisation and aggregation choices.
    tree : Tree, optional
        The tree, whose aggregates may set their own (geometric) methods; without it only ``aggregate`` counts.
    """
    geometric = uses_geometric(tree, aggregate) if tree is not None else aggregate == "geometric"
    if normalise == "zscore" and geometric:
        return np.maximum(ZSCORE_POSITIVE_CENTRE + ZSCORE_POSITIVE_SCALE * matrix, 0.0)
    return matrix


def engine_matrices(data: pd.DataFrame, table: pd.DataFrame, imputations: Sequence[str],
                    normalisations: Sequence[str], region_codes: Sequence[str], *, unit: str = "region_code",
                    impute_group: str = "region_type",
                    treat_outliers: bool = True) -> dict[tuple[str, str], np.ndarray]:
    """Call the engine once per imputation x normalisation; return the normalised indicator matrices.

    Parameters
    ----------
    data : pandas.DataFrame
        Raw indicator values per region (``indicators.csv``) with the ``impute_group`` column.
    table : pandas.DataFrame
        The engine's framework table (``indicators.framework_table(framework, "aspects")``).
    imputations, normalisations : sequence of str
        The alternatives.
    region_codes : sequence of str
        Row order of the matrices (regions the engine drops become NaN rows).
    unit, impute_group, treat_outliers
        Passed to the engine.

    Returns
    -------
    dict
        ``(impute, normalise) -> units x indicators`` array (indicators transformed as the framework's
        ``transform`` column says, then normalised, exactly as in the build).
    """
    from smartcity_analysis.index.engine import build_index

    codes = table.loc[table["level"] == 1, "code"].tolist()
    # Only the normalised indicators are kept: aggregate arithmetically everywhere, so that no aggregate's own
    # geometric method meets a normalisation it cannot take (the draws aggregate these matrices themselves).
    arithmetic = dict.fromkeys(table.loc[table["level"] > 1, "code"], "arithmetic")
    matrices = {}
    for impute in imputations:
        for normalise in normalisations:
            result = build_index(data, table, unit=unit, impute=impute,
                                 impute_group=impute_group if "group" in impute else None,
                                 treat_outliers=treat_outliers, normalise=normalise, aggregate=arithmetic)
            scores = result.scores.set_axis(result.scores.index.astype(str))
            matrices[(impute, normalise)] = scores.reindex(list(region_codes))[codes].to_numpy(float)
    return matrices


def load_engine_data(processed_dir: str | Path, group_column: str = "region_type") -> pd.DataFrame:
    """Read ``indicators.csv`` and add each region's ``group_column`` from ``submissions_clean.csv``."""
    folder = Path(processed_dir)
    read = {"dtype": {"region_code": str}, "encoding": "utf-8"}
    indicators = pd.read_csv(folder / "indicators.csv", **read)
    groups = pd.read_csv(folder / "submissions_clean.csv", **read)[["region_code", group_column]]
    return indicators.merge(groups.drop_duplicates("region_code"), on="region_code", how="left", validate="1:1")


def evaluate_design(matrices: Mapping[tuple[str, str], np.ndarray], tree: Tree,
                    design: pd.DataFrame) -> np.ndarray:
    """Index values of every configuration in ``design`` (rows: ``impute``, ``normalise``, ``aggregate``, ``w_*``).

    Rows sharing the three discrete choices are aggregated together in one batched product.

    Returns
    -------
    numpy.ndarray
        Configurations x units.
    """
    weight_columns = [f"w_{c}" for c in tree.weight_codes]
    weights = design[weight_columns].to_numpy(float)
    n_units = next(iter(matrices.values())).shape[0]
    out = np.full((len(design), n_units), np.nan)
    for (impute, normalise, aggregate), rows in design.groupby(list(CHOICE_COLUMNS), sort=True).indices.items():
        matrix = positive_scale(matrices[(impute, normalise)], normalise, aggregate, tree)
        out[rows] = aggregate_draws(matrix, tree, weights[rows], aggregate)
    return out


def draw_design(tree: Tree, params: UncertaintyParams) -> pd.DataFrame:
    """Draw the configurations of the Monte Carlo (seeded); draw 0 is nominal when ``include_nominal``."""
    rng = np.random.default_rng(params.random_state)
    n, a = params.n_draws, params.weight_perturbation
    design = pd.DataFrame({
        column: np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]
        for column, options in zip(CHOICE_COLUMNS, params.options, strict=True)
    })
    multipliers = rng.uniform(1.0 - a, 1.0 + a, size=(n, len(tree.weight_codes)))
    if params.include_nominal:
        design.loc[0, list(CHOICE_COLUMNS)] = list(params.nominal)
        multipliers[0] = 1.0
    weights = pd.DataFrame(multipliers * tree.nominal_weights, columns=[f"w_{c}" for c in tree.weight_codes])
    return pd.concat([design, weights], axis=1).rename_axis("draw")


def selection_arrays(candidates: pd.DataFrame, selection_params: SelectionParams) -> dict[str, Any]:
    """Return what every draw's ranking and selection needs: tie order, eligibility and group minimums."""
    return {
        "tie_position": tie_order(candidates, selection_params.tie_break),
        "eligible": eligibility(candidates, selection_params.min_coverage).eq("").to_numpy(),
        "minimums": group_minimums(candidates, selection_params),
    }


def rank_and_select(values: np.ndarray, arrays: Mapping[str, Any],
                    selection_params: SelectionParams) -> tuple[np.ndarray, np.ndarray]:
    """Rank each configuration's index values and select with the nominal rule."""
    ranks = rank_rows(values, arrays["tie_position"])
    selected, _ = select_top(ranks, arrays["eligible"], selection_params.quota, arrays["minimums"])
    return ranks, selected


def draw_chunks(n_draws: int, n_units: int, max_cells: int = DRAW_CHUNK_CELLS) -> list[slice]:
    """Split ``n_draws`` rows into consecutive chunks of at most ``max_cells`` draws x units (one row at least)."""
    size = max(1, int(max_cells) // max(1, n_units))
    return [slice(start, min(start + size, n_draws)) for start in range(0, n_draws, size)]


def evaluate_and_select(matrices: Mapping[tuple[str, str], np.ndarray], tree: Tree, design: pd.DataFrame,
                        arrays: Mapping[str, Any], selection_params: SelectionParams, *,
                        max_cells: int = DRAW_CHUNK_CELLS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index values, ranks and selection of every configuration in ``design``, chunk by chunk of draws.

    What :func:`evaluate_design` then :func:`rank_and_select` return for the whole design, computed on
    :func:`draw_chunks` of its rows, so that only the three outputs are held whole. The matrix products run on
    one BLAS thread: they are many small products, on which more threads cost far more than they save (at
    10,000 units the Monte Carlo took 19 s on two threads and 3 s on one, on a busy two-core machine), and the
    products of a kab/kota round are small enough that OpenBLAS runs them on one thread anyway.

    Parameters
    ----------
    matrices, tree, design
        As for :func:`evaluate_design`.
    arrays : Mapping
        From :func:`selection_arrays`.
    selection_params : SelectionParams
        The selection rule.
    max_cells : int
        Draws x units per chunk (:data:`DRAW_CHUNK_CELLS`); the ranks and selections do not depend on it, the
        index values only in their last bits.

    Returns
    -------
    values, ranks, selected : numpy.ndarray
        Configurations x units: float index, int32 rank, bool selection.
    """
    n_units = next(iter(matrices.values())).shape[0]
    values = np.empty((len(design), n_units))
    ranks = np.empty((len(design), n_units), dtype=np.int32)
    selected = np.empty((len(design), n_units), dtype=bool)
    with threadpool_limits(limits=1, user_api="blas"):
        for rows in draw_chunks(len(design), n_units, max_cells):
            values[rows] = evaluate_design(matrices, tree, design.iloc[rows])
            ranks[rows], selected[rows] = rank_and_select(values[rows], arrays, selection_params)
    return values, ranks, selected


def run_monte_carlo(matrices: Mapping[tuple[str, str], np.ndarray], tree: Tree, candidates: pd.DataFrame,
                    params: UncertaintyParams = UncertaintyParams(),
                    selection_params: SelectionParams = DEFAULT_SELECTION) -> MonteCarloResult:
    """Run the Monte Carlo over weights and methods.

    Parameters
    ----------
    matrices : Mapping
        ``(impute, normalise) -> units x indicators``, rows in ``candidates`` order (from
        :func:`engine_matrices`).
    tree : Tree
        The aggregation tree.
    candidates : pandas.DataFrame
        From :func:`smartcity_analysis.selection.candidate_table`.
    params : UncertaintyParams
        Draws, ranges, seed.
    selection_params : SelectionParams
        The selection rule applied in every draw.

    Returns
    -------
    MonteCarloResult
    """
    missing = sorted({(i, n) for i in params.imputations for n in params.normalisations} - set(matrices))
    if missing:
        raise ValueError(f"no indicator matrix for (impute, normalise) {missing}; build them with engine_matrices")
    design = draw_design(tree, params)
    values, ranks, selected = evaluate_and_select(matrices, tree, design,
                                                  selection_arrays(candidates, selection_params), selection_params)
    return MonteCarloResult(design, values, ranks, selected, tuple(candidates["region_code"].astype(str)),
                            params, selection_params)


def summarise(mc: MonteCarloResult, nominal_selected: pd.Series) -> pd.DataFrame:
    """Per region: median and 5th/95th percentile rank, probability of selection, borderline flag.

    Percentiles use the inverted empirical CDF, so every reported rank is one that occurred in a draw.
    ``borderline`` (a decision that is not robust): nominally selected but selected in fewer than
    ``robust_share`` (90 %) of draws, or nominally not selected but left out in fewer than ``robust_share`` of
    them (i.e. selected in more than 10 %). When the nominal decision agrees with the majority of draws this
    is simply ``0.10 < p_selected < 0.90``.

    Parameters
    ----------
    mc : MonteCarloResult
    nominal_selected : pandas.Series
        The nominal decision, indexed by ``region_code``.

    Returns
    -------
    pandas.DataFrame
        ``region_code``, ``rank_median``, ``rank_p05``, ``rank_p95``, ``rank_min``, ``rank_max``,
        ``p_selected``, ``borderline``.
    """
    p05, p50, p95 = np.percentile(mc.ranks, [5, 50, 95], axis=0, method="inverted_cdf").astype(int)
    p_selected = mc.selected.mean(axis=0)
    nominal = nominal_selected.reindex(list(mc.region_codes)).fillna(False).astype(bool).to_numpy()
    robust = mc.params.robust_share
    p_excluded = (~mc.selected).mean(axis=0)  # counted, not 1 - p, so that 10 % of 10 draws is exactly 0.1
    borderline = np.where(nominal, p_selected < robust, p_excluded < robust)
    return pd.DataFrame({
        "region_code": list(mc.region_codes), "rank_median": p50, "rank_p05": p05, "rank_p95": p95,
        "rank_min": mc.ranks.min(axis=0), "rank_max": mc.ranks.max(axis=0),
        "p_selected": p_selected, "borderline": borderline,
    })


def nominal_values(matrices: Mapping[tuple[str, str], np.ndarray], tree: Tree,
                   nominal: Sequence[str]) -> np.ndarray:
    """Return the index of the nominal configuration (unperturbed weights), for checking against ``scores.csv``."""
    design = pd.DataFrame([[*nominal, *tree.nominal_weights]],
                          columns=[*CHOICE_COLUMNS, *(f"w_{c}" for c in tree.weight_codes)])
    return evaluate_design(matrices, tree, design)[0]


def sensitivity_factors(tree: Tree, params: UncertaintyParams) -> pd.DataFrame:
    """Return the input factors of the sensitivity analysis: three choices, then one weight multiplier per code."""
    rows = [(c, c, *FACTOR_LABELS[c]) for c in CHOICE_COLUMNS]
    for code, level in zip(tree.weight_codes, tree.weight_levels, strict=True):
        group = f"weights_level_{level}"
        rows.append((f"w_{code}", group, *_weight_group_labels(tree, level)))
    return pd.DataFrame(rows, columns=["name", "group", "label_id", "label_en"])


def _weight_group_labels(tree: Tree, level: int) -> tuple[str, str]:
    if level == 1:
        return "Bobot indikator", "Indicator weights"
    if level == max(tree.weight_levels):
        return "Bobot aspek", "Aspect weights"
    return f"Bobot tingkat {level}", f"Level-{level} weights"


def sensitivity_design(tree: Tree, params: UncertaintyParams, n_base: int, random_state: int) -> pd.DataFrame:
    """Return a scrambled Sobol/Saltelli design (SALib) mapped to configurations (``impute``..., ``w_*``)."""
    from SALib.sample import sobol

    factors = sensitivity_factors(tree, params)
    problem = {"num_vars": len(factors), "names": factors["name"].tolist(),
               "bounds": [[0.0, 1.0]] * len(factors), "groups": factors["group"].tolist()}
    unit = sobol.sample(problem, n_base, calc_second_order=False, scramble=True, seed=random_state)
    design = pd.DataFrame({
        column: np.asarray(options, dtype=object)[np.minimum((unit[:, i] * len(options)).astype(int),
                                                             len(options) - 1)]
        for i, (column, options) in enumerate(zip(CHOICE_COLUMNS, params.options, strict=True))
    })
    a = params.weight_perturbation
    multipliers = 1.0 - a + 2.0 * a * unit[:, len(CHOICE_COLUMNS):]
    weights = pd.DataFrame(multipliers * tree.nominal_weights, columns=[f"w_{c}" for c in tree.weight_codes])
    return pd.concat([design, weights], axis=1)


def sobol_indices(outputs: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order and total Sobol indices per output column (SALib's estimators, vectorised over columns).

    Parameters
    ----------
    outputs : numpy.ndarray
        ``n_base * (n_groups + 2)`` x outputs, in SALib's row order (A, AB_1..AB_G, B per base row).
    n_groups : int
        Number of factor groups.

    Returns
    -------
    s1, st : numpy.ndarray
        Groups x outputs (NaN where an output does not vary).
    variance : numpy.ndarray
        Each output's variance over A and B.
    """
    from SALib.analyze.sobol import first_order, total_order

    step = n_groups + 2
    a, b = outputs[0::step], outputs[step - 1::step]
    variance = np.var(np.r_[a, b], axis=0)
    s1, st = np.full((n_groups, outputs.shape[1]), np.nan), np.full((n_groups, outputs.shape[1]), np.nan)
    varies = variance > 0
    if not varies.any():
        return s1, st, variance
    for j in range(n_groups):
        ab = outputs[j + 1::step]
        with np.errstate(divide="ignore", invalid="ignore"):
            s1[j, varies] = first_order(a[:, varies], ab[:, varies], b[:, varies])
            st[j, varies] = total_order(a[:, varies], ab[:, varies], b[:, varies])
    return s1, st, variance


def run_sensitivity(matrices: Mapping[tuple[str, str], np.ndarray], tree: Tree, candidates: pd.DataFrame,
                    params: UncertaintyParams = UncertaintyParams(),
                    selection_params: SelectionParams = DEFAULT_SELECTION, *, n_base: int = 256,
                    random_state: int = 2021) -> SensitivityResult:
    """Which modelling choice moves ranks (and selection) most: Sobol first-order and total effects.

    Parameters
    ----------
    matrices, tree, candidates, params, selection_params
        As for :func:`run_monte_carlo`.
    n_base : int
        Base sample size, a power of 2 (evaluations = ``n_base * (groups + 2)``).
    random_state : int
        Seed of the scrambled Sobol sequence.

    Returns
    -------
    SensitivityResult
        Per factor group, ``S1`` and ``ST`` on rank and on selection, weighted over regions by variance.
    """
    factors = sensitivity_factors(tree, params)
    groups = list(dict.fromkeys(factors["group"]))
    design = sensitivity_design(tree, params, n_base, random_state)
    _, ranks, selected = evaluate_and_select(matrices, tree, design, selection_arrays(candidates, selection_params),
                                             selection_params)
    s1_rank, st_rank, var_rank = sobol_indices(ranks.astype(float), len(groups))
    s1_sel, st_sel, var_sel = sobol_indices(selected.astype(float), len(groups))
    labels = factors.drop_duplicates("group").set_index("group")
    summary = pd.DataFrame({
        "factor": groups, "label_id": labels.loc[groups, "label_id"].to_numpy(),
        "label_en": labels.loc[groups, "label_en"].to_numpy(),
        "S1_rank": _weighted_over_regions(s1_rank, var_rank), "ST_rank": _weighted_over_regions(st_rank, var_rank),
        "S1_selected": _weighted_over_regions(s1_sel, var_sel),
        "ST_selected": _weighted_over_regions(st_sel, var_sel),
    }).sort_values(["ST_rank", "factor"], ascending=[False, True], kind="stable").reset_index(drop=True)
    codes = candidates["region_code"].astype(str).to_numpy()
    per_region = pd.DataFrame({
        "region_code": np.tile(codes, len(groups)), "factor": np.repeat(groups, len(codes)),
        "S1_rank": s1_rank.ravel(), "ST_rank": st_rank.ravel(), "rank_variance": np.tile(var_rank, len(groups)),
    })
    return SensitivityResult(summary, per_region, n_base, random_state)


def _weighted_over_regions(index: np.ndarray, variance: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(index) & (variance > 0)
    total = np.where(ok, variance, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, np.where(ok, index * variance, 0.0).sum(axis=1) / total, 0.0)


@dataclass(frozen=True)
class UncertaintyInputs:
    """The normalised indicator matrices of every imputation x normalisation, and the tree.

    Attributes
    ----------
    matrices : Mapping
        ``(impute, normalise) -> units x indicators``, rows in ``region_codes`` order.
    tree : Tree
        The aspects view's aggregation tree.
    region_codes : tuple of str
        Row order.
    """

    matrices: Mapping[tuple[str, str], np.ndarray]
    tree: Tree
    region_codes: tuple[str, ...]


def build_inputs(processed_dir: str | Path, framework: Any, candidates: pd.DataFrame,
                 params: UncertaintyParams = UncertaintyParams()) -> UncertaintyInputs:
    """Read ``indicators.csv`` and call the engine once per imputation x normalisation.

    Parameters
    ----------
    processed_dir : str or Path
        Holds ``indicators.csv`` and ``submissions_clean.csv``.
    framework : Framework
        The framework file (its aspects view is the index's tree).
    candidates : pandas.DataFrame
        Fixes the row order (``region_code``).
    params : UncertaintyParams
        Which imputations and normalisations.
    """
    data = load_engine_data(processed_dir)
    table = scorable_tree(framework, data)
    codes = tuple(candidates["region_code"].astype(str))
    matrices = engine_matrices(data, table, params.imputations, params.normalisations, codes)
    return UncertaintyInputs(matrices, tree_from_table(table), codes)


def scorable_tree(framework: Any, data: pd.DataFrame) -> pd.DataFrame:
    """Return the aspects tree the round's data can score (as stage 02 built it), or say why there is none.

    Raises
    ------
    NotApplicable
        When no indicator varies between the round's regions: there is no index to be uncertain about.
    """
    from smartcity_analysis.index.indicators import framework_table

    table = framework_table(framework, "aspects", data=data)
    if not (table["level"] == 1).any():
        raise NotApplicable("no_index", "Dilewati: putaran ini tidak memiliki indeks (tidak ada indikator yang "
                            "nilainya berbeda antarwilayah).",
                            "Skipped: this round has no index (no indicator differs between its regions).")
    return table


def nominal_check(inputs: UncertaintyInputs, candidates: pd.DataFrame, params: UncertaintyParams) -> pd.Series:
    """Compare the vectorised nominal index with ``scores.csv``: the largest absolute difference and ranks moved.

    A difference above rounding (1e-9) means notebook 02 ran with other choices than ``params.nominal``.
    """
    mine = nominal_values(inputs.matrices, inputs.tree, params.nominal)
    official = candidates["readiness_index"].to_numpy(float)
    both = ~np.isnan(mine) & ~np.isnan(official)
    return pd.Series({
        "regions_compared": int(both.sum()),
        "max_abs_difference": float(np.max(np.abs(mine[both] - official[both]))) if both.any() else np.nan,
        "regions_missing_in_mc": int((np.isnan(mine) & ~np.isnan(official)).sum()),
    })

