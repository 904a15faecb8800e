"""The selection with the panel effect removed: what the list would be had every class scored alike.

Method, chosen on purpose and kept simple enough to explain to a selection committee:

1. the class effects are those the panel stage estimated (:mod:`~smartcity_analysis.selection.panel`): each
   class's deviation, in points of the 1-5 scale, from the mean of the classes at equal objective readiness;
2. each region's assessor-scored indicators (those the framework derives, as a plain value, from a ``likert``
   field) lose its class's effect: ``adjusted = score - effect[class]``, kept inside the field's valid range
   (1-5; a 5 from a strict panel cannot become 5.08, the scale ends there). Objective indicators are untouched;
3. the index is rebuilt by the engine with the nominal choices and the same selection rule is applied
   (:func:`smartcity_analysis.selection.select`), then compared with the nominal selection: who enters, who
   leaves, and how far each index and rank moved.

Only an effect the panel test detected is removed (``only_when_detected``): removing estimates the test cannot
tell from zero would reshuffle the list by noise. When no effect is detected the adjusted selection *is* the
nominal one. When the panel test itself was skipped (one class, too few regions) the analysis does not apply
and says so (:class:`smartcity_analysis.notes.NotApplicable`). The nominal selection stays the official one.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.selection.panel import PanelEffect, likert_fields
from smartcity_analysis.selection.ranking import Selection, SelectionParams, compare_selections, select
from smartcity_analysis.selection.uncertainty import DEFAULT_SELECTION

ADJUSTED_COLUMNS = ["region_code", "official_name", "assessment_class", "class_effect", "readiness_index",
                    "readiness_index_adjusted", "index_change", "rank", "rank_adjusted", "rank_change", "selected",
                    "selected_adjusted", "change", "change_id", "adjustment_applied"]


@dataclass(frozen=True)
class AdjustedParams:
    """How the panel effect is removed.

    Attributes
    ----------
    only_when_detected : bool
        Remove the class effects only when the panel test detected them (else the adjusted selection is the
        nominal one).
    clip_to_range : bool
        Keep adjusted scores inside the likert field's valid range.
    nominal : tuple of str
        ``(impute, normalise, aggregate)`` of the nominal build (``"geometric"``: the engine's
        ``geometric_shifted``).
    impute_group : str
        Group column of group imputation.
    treat_outliers : bool
        The engine's outlier treatment, as in the nominal build.
    """

    only_when_detected: bool = True
    clip_to_range: bool = True
    nominal: tuple[str, str, str] = ("group_median", "minmax", "arithmetic")
    impute_group: str = "region_type"
    treat_outliers: bool = True


@dataclass(frozen=True)
class PanelAdjusted:
    """The panel-adjusted selection beside the nominal one.

    Attributes
    ----------
    table : pandas.DataFrame
        ``ADJUSTED_COLUMNS`` (``panel_adjusted.csv``): entries and exits first, then by adjusted rank.
    applied : bool
        The class effects were removed (False: none detected, the adjusted selection is the nominal one).
    effects : Mapping
        Class -> the effect removed (assessor points).
    indicators : tuple of str
        The assessor-scored indicators adjusted.
    n_clipped : int
        Adjusted values put back inside the valid range.
    params : AdjustedParams
        What produced it.
    selection : Selection or None
        The adjusted decisions (the nominal ones when nothing was removed).
    """

    table: pd.DataFrame
    applied: bool
    effects: Mapping[str, float]
    indicators: tuple[str, ...]
    n_clipped: int
    params: AdjustedParams
    selection: Selection | None = None

    @property
    def counts(self) -> pd.Series:
        """How many regions entered, left, stayed in and stayed out."""
        order = ["entered", "left", "stayed_in", "stayed_out"]
        return self.table["change"].value_counts().reindex(order, fill_value=0)


def assessor_indicators(framework: Framework) -> list[str]:
    """Return the indicators that are a likert field's value (the assessor-scored ones), in framework order."""
    likert = set(likert_fields(framework))
    return [row["code"] for _, row in framework.indicators.iterrows()
            if row["derive"].get("kind") == "value" and row["derive"].get("field") in likert]


def remove_class_effects(data: pd.DataFrame, classes: pd.Series, effects: Mapping[str, float],
                         indicators: list[str], bounds: Mapping[str, tuple[float, float]] | None = None
                         ) -> tuple[pd.DataFrame, int]:
    """Subtract each region's class effect from its assessor-scored indicators.

    Parameters
    ----------
    data : pandas.DataFrame
        ``indicators.csv``-like, with ``region_code``.
    classes : pandas.Series
        ``assessment_class`` by ``region_code``; a region whose class has no effect is left as it is.
    effects : Mapping
        Class -> effect (points).
    indicators : list of str
        The columns adjusted.
    bounds : Mapping, optional
        Indicator -> (low, high): adjusted values are clipped into it.

    Returns
    -------
    adjusted : pandas.DataFrame
        A new frame; missing scores stay missing.
    n_clipped : int
        Values clipped into their bounds.
    """
    shift = data["region_code"].astype(str).map(classes.astype(str)).map(
        {str(k): float(v) for k, v in effects.items()}).fillna(0.0).to_numpy()
    adjusted = data.copy()
    n_clipped = 0
    for code in indicators:
        values = data[code].to_numpy(float) - shift
        if bounds and code in bounds:
            low, high = bounds[code]
            clipped = np.clip(values, low, high)
            n_clipped += int(np.sum(~np.isnan(values) & (clipped != values)))
            values = clipped
        adjusted[code] = values
    return adjusted, n_clipped


def likert_bounds(framework: Framework, indicators: list[str]) -> dict[str, tuple[float, float]]:
    """Return each assessor-scored indicator's valid range, from its likert field."""
    specs = framework.indicators.set_index("code")
    out = {}
    for code in indicators:
        spec = framework.fields.loc[specs.loc[code, "derive"]["field"]]
        out[code] = (float(spec["min"]), float(spec["max"]))
    return out


def rebuild_index(data: pd.DataFrame, table: pd.DataFrame, params: AdjustedParams) -> pd.DataFrame:
    """Build the index of ``data`` with the nominal choices; return the engine's scores by ``region_code``."""
    from smartcity_analysis.index.engine import IndexWarning, build_index

    impute, normalise, aggregate = params.nominal
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        result = build_index(data, table, unit="region_code", impute=impute,
                             impute_group=params.impute_group if "group" in impute else None,
                             treat_outliers=params.treat_outliers, normalise=normalise,
                             aggregate="geometric_shifted" if aggregate == "geometric" else aggregate)
    return result.scores.set_axis(result.scores.index.astype(str))


def adjusted_selection(data: pd.DataFrame, table: pd.DataFrame, candidates: pd.DataFrame, framework: Framework,
                       effects: Mapping[str, float], detected: bool,
                       selection_params: SelectionParams = DEFAULT_SELECTION,
                       params: AdjustedParams = AdjustedParams()) -> PanelAdjusted:
    """Remove the class effects from the assessor scores, rebuild the index and select again.

    Parameters
    ----------
    data : pandas.DataFrame
        ``indicators.csv`` with the ``params.impute_group`` column.
    table : pandas.DataFrame
        The engine's framework table (aspects view).
    candidates : pandas.DataFrame
        From :func:`smartcity_analysis.selection.candidate_table` (the nominal index and the classes).
    framework : Framework
        Says which indicators are assessor-scored and their valid range.
    effects : Mapping
        Class -> estimated effect (points of the 1-5 scale).
    detected : bool
        Whether the panel test detected a class effect.
    selection_params : SelectionParams
        The selection rule (the nominal one).
    params : AdjustedParams
        How the effect is removed.

    Returns
    -------
    PanelAdjusted
    """
    nominal = select(candidates, selection_params)
    indicators = assessor_indicators(framework)
    applied = bool(detected or not params.only_when_detected)
    used = {str(k): float(v) for k, v in effects.items()} if applied else {}
    if not applied:
        after, n_clipped = nominal, 0
    else:
        classes = candidates.set_index(candidates["region_code"].astype(str))["assessment_class"]
        bounds = likert_bounds(framework, indicators) if params.clip_to_range else None
        changed, n_clipped = remove_class_effects(data, classes, used, indicators, bounds)
        scores = rebuild_index(changed, table, params).reindex(candidates["region_code"].astype(str))
        recomputed = candidates.assign(readiness_index=scores["readiness_index"].to_numpy(), **{
            c: scores[c].to_numpy() for c in selection_params.tie_break if c in scores})
        after = select(recomputed, selection_params)
    return PanelAdjusted(comparison_table(nominal.table, after.table, used, applied), applied, used,
                         tuple(indicators), n_clipped, params, after)


def comparison_table(nominal: pd.DataFrame, adjusted: pd.DataFrame, effects: Mapping[str, float],
                     applied: bool) -> pd.DataFrame:
    """Join the nominal and adjusted decision tables: ``ADJUSTED_COLUMNS``, entries and exits first."""
    compared = compare_selections(nominal, adjusted)
    before = nominal.set_index("region_code")
    after = adjusted.set_index("region_code")
    codes = compared["region_code"]
    table = compared.rename(columns={"rank_before": "rank", "rank_after": "rank_adjusted"}).assign(
        assessment_class=codes.map(before["assessment_class"]).to_numpy(),
        readiness_index=codes.map(before["readiness_index"]).to_numpy(),
        readiness_index_adjusted=codes.map(after["readiness_index"]).to_numpy(),
        selected=codes.map(before["selected"]).astype(bool).to_numpy(),
        selected_adjusted=codes.map(after["selected"]).astype(bool).to_numpy(),
        adjustment_applied=applied,
    )
    table["class_effect"] = table["assessment_class"].astype(str).map(effects).fillna(0.0)
    table["index_change"] = table["readiness_index_adjusted"] - table["readiness_index"]
    return table[ADJUSTED_COLUMNS].reset_index(drop=True)


def panel_adjusted_selection(data: pd.DataFrame, table: pd.DataFrame, candidates: pd.DataFrame,
                             framework: Framework, panel: PanelEffect | None,
                             selection_params: SelectionParams = DEFAULT_SELECTION,
                             params: AdjustedParams = AdjustedParams()) -> PanelAdjusted:
    """Compute the panel-adjusted selection from the panel stage's result (see :func:`adjusted_selection`).

    Raises
    ------
    smartcity_analysis.notes.NotApplicable
        When the panel test was skipped (``panel`` is None): there is no estimate to remove.
    """
    if panel is None:
        from smartcity_analysis.notes import NotApplicable

        raise NotApplicable(
            "panel_test_skipped",
            "Seleksi yang disesuaikan untuk efek panel tidak dihitung: uji efek panel antar kelas tidak "
            "dijalankan pada putaran ini.",
            "The panel-adjusted selection was not computed: the panel-effect test between classes did not run "
            "in this round.")
    effects = dict(zip(panel.effects["assessment_class"].astype(str), panel.effects["effect"].astype(float),
                       strict=True))
    return adjusted_selection(data, table, candidates, framework, effects, panel.detected, selection_params,
                              params)


def load_panel_adjusted(processed_dir: str | Path, framework: Framework, candidates: pd.DataFrame,
                        panel: PanelEffect | None, selection_params: SelectionParams = DEFAULT_SELECTION,
                        params: AdjustedParams = AdjustedParams()) -> PanelAdjusted:
    """Read ``indicators.csv`` and compute :func:`panel_adjusted_selection` on the tree the round could score."""
    from smartcity_analysis.index.indicators import framework_table
    from smartcity_analysis.selection.uncertainty import load_engine_data

    data = load_engine_data(processed_dir, params.impute_group)
    table = framework_table(framework, "aspects", data=data)
    return panel_adjusted_selection(data, table, candidates, framework, panel, selection_params, params)


OFFICIAL_CHOICES = ("nominal", "panel_adjusted")


def official_selection(nominal: Selection, adjusted: PanelAdjusted | None, choice: str = "nominal") -> Selection:
    """Return the decisions that are official: the nominal ones unless ``choice`` is ``"panel_adjusted"``.

    With ``"panel_adjusted"`` and no adjusted selection (the analysis was skipped) the nominal one stays.
    """
    if choice not in OFFICIAL_CHOICES:
        raise ValueError(f"official_selection must be one of {OFFICIAL_CHOICES}, got {choice!r}")
    if choice == "panel_adjusted" and adjusted is not None and adjusted.selection is not None:
        return adjusted.selection
    return nominal


def write_panel_adjusted(result: PanelAdjusted, processed_dir: str | Path) -> Path:
    """Write ``panel_adjusted.csv`` (UTF-8, full precision); return its path."""
    from smartcity_analysis.outputs import write_csv  # atomic: a killed run leaves the previous file whole

    Path(processed_dir).mkdir(parents=True, exist_ok=True)
    return write_csv(Path(processed_dir) / "panel_adjusted.csv", result.table)


def remove_stale(processed_dir: str | Path) -> None:
    """Delete an earlier ``panel_adjusted.csv`` (a round where the analysis does not apply writes none)."""
    (Path(processed_dir) / "panel_adjusted.csv").unlink(missing_ok=True)
