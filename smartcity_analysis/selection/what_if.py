"""What-if scenarios: other weights or methods, and who enters or leaves the selection; JupyterLab controls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from smartcity_analysis.selection.charts import plot_selection_changes
from smartcity_analysis.selection.ranking import (
    SelectionParams,
    compare_selections,
    select,
)
from smartcity_analysis.selection.uncertainty import (
    CHOICE_COLUMNS,
    DEFAULT_SELECTION,
    UncertaintyInputs,
    evaluate_design,
)


@dataclass(frozen=True)
class WhatIfResult:
    """A what-if scenario: its decisions and who enters or leaves compared with the baseline.

    Attributes
    ----------
    table : pandas.DataFrame
        The scenario's decision table (as :class:`smartcity_analysis.selection.Selection`).
    comparison : pandas.DataFrame
        :func:`smartcity_analysis.selection.compare_selections` against the baseline.
    configuration : Mapping
        ``impute``, ``normalise``, ``aggregate``, ``quota`` and the weights that differ from nominal.
    """

    table: pd.DataFrame
    comparison: pd.DataFrame
    configuration: Mapping[str, Any]

    @property
    def counts(self) -> pd.Series:
        """How many regions entered, left, stayed in and stayed out."""
        order = ["entered", "left", "stayed_in", "stayed_out"]
        return self.comparison["change"].value_counts().reindex(order, fill_value=0)


def what_if(inputs: UncertaintyInputs, candidates: pd.DataFrame, baseline: pd.DataFrame, *,
            impute: str, normalise: str, aggregate: str, weights: Mapping[str, float] | None = None,
            selection_params: SelectionParams = DEFAULT_SELECTION) -> WhatIfResult:
    """Recompute the index with other weights or methods and compare the selection with ``baseline``.

    Parameters
    ----------
    inputs : UncertaintyInputs
        From :func:`build_inputs` (must hold ``(impute, normalise)``).
    candidates : pandas.DataFrame
        From :func:`smartcity_analysis.selection.candidate_table` (same row order as ``inputs``).
    baseline : pandas.DataFrame
        The nominal decision table (``Selection.table``).
    impute, normalise, aggregate : str
        The scenario's methods.
    weights : Mapping, optional
        ``code -> weight`` replacing the framework's nominal weight (any level).
    selection_params : SelectionParams
        The scenario's selection rule.
    """
    if (impute, normalise) not in inputs.matrices:
        raise ValueError(f"no indicator matrix for impute={impute!r}, normalise={normalise!r}; "
                         f"available: {sorted(inputs.matrices)}")
    if weights is not None and not isinstance(weights, Mapping):
        raise TypeError(f"weights must be a mapping code -> weight, got {type(weights).__name__} {weights!r}; "
                        "with papermill pass it as YAML: -y 'weights: {aspect_suprastruktur: 2}'")
    unknown = sorted(set(weights or {}) - set(inputs.tree.weight_codes))
    if unknown:
        raise ValueError(f"weights for unknown code(s) {unknown}; use codes of {list(inputs.tree.weight_codes)}")
    nominal = dict(zip(inputs.tree.weight_codes, inputs.tree.nominal_weights, strict=True))
    chosen = {**nominal, **{k: float(v) for k, v in (weights or {}).items()}}
    design = pd.DataFrame([[impute, normalise, aggregate, *chosen.values()]],
                          columns=[*CHOICE_COLUMNS, *(f"w_{c}" for c in chosen)])
    values = evaluate_design(inputs.matrices, inputs.tree, design)[0]
    scenario = select(candidates.assign(readiness_index=values), selection_params)
    changed = {k: v for k, v in chosen.items() if v != nominal[k]}
    return WhatIfResult(scenario.table, compare_selections(baseline, scenario.table),
                        {"impute": impute, "normalise": normalise, "aggregate": aggregate,
                         "quota": selection_params.quota, "weights": changed})


def what_if_controls(inputs, candidates: pd.DataFrame, baseline: pd.DataFrame, selection_params,
                     nominal: tuple[str, str, str]):
    """JupyterLab controls (ipywidgets) for a what-if: methods, quota and weights; redraws on every change.

    Parameters
    ----------
    inputs : smartcity_analysis.selection.uncertainty.UncertaintyInputs
        Matrices and tree.
    candidates, baseline : pandas.DataFrame
        As for :func:`smartcity_analysis.selection.what_if.what_if`.
    selection_params : smartcity_analysis.selection.SelectionParams
        The baseline rule (its quota is the slider's start).
    nominal : tuple of str
        ``(impute, normalise, aggregate)`` the dropdowns start at.

    Returns
    -------
    ipywidgets.VBox
        Display it in a notebook cell.
    """
    import dataclasses

    import ipywidgets as widgets
    from IPython.display import display


    tree = inputs.tree
    options = sorted(inputs.matrices)
    dropdowns = {
        "impute": widgets.Dropdown(options=sorted({i for i, _ in options}), value=nominal[0], description="Imputasi"),
        "normalise": widgets.Dropdown(options=sorted({n for _, n in options}), value=nominal[1],
                                      description="Normalisasi"),
        "aggregate": widgets.Dropdown(options=["arithmetic", "geometric"], value=nominal[2], description="Agregasi"),
    }
    quota = widgets.IntSlider(value=selection_params.quota, min=1, max=len(candidates), description="Kuota")
    sliders = {code: widgets.FloatSlider(value=float(w), min=0.0, max=3.0, step=0.05, description=code,
                                         style={"description_width": "200px"}, layout={"width": "480px"})
               for code, w in zip(tree.weight_codes, tree.nominal_weights, strict=True)}
    top_level = max(tree.weight_levels)
    top = [c for c, level in zip(tree.weight_codes, tree.weight_levels, strict=True) if level == top_level]
    indicator_box = widgets.Accordion([widgets.VBox([s for c, s in sliders.items() if c not in top])],
                                      titles=("Bobot indikator / indicator weights",))
    output = widgets.Output()

    def redraw(_=None) -> None:
        result = what_if(inputs, candidates, baseline, **{k: d.value for k, d in dropdowns.items()},
                         weights={c: s.value for c, s in sliders.items()},
                         selection_params=dataclasses.replace(selection_params, quota=quota.value))
        output.clear_output(wait=True)
        with output:
            display(result.counts.to_frame("regions"))
            display(result.comparison[result.comparison["change"].isin(["entered", "left"])])
            display(plot_selection_changes(result.comparison))

    for control in [*dropdowns.values(), quota, *sliders.values()]:
        control.observe(redraw, names="value")
    redraw()
    controls = widgets.VBox([widgets.HBox(list(dropdowns.values())), quota,
                             widgets.HTML("<b>Bobot aspek / aspect weights</b>"), *(sliders[c] for c in top),
                             indicator_box])
    return widgets.VBox([controls, output])

