"""Benchmark the Monte Carlo of the selection: 1,000 draws over all 514 kabupaten/kota.

Run: ``.venv/bin/python benchmarks/bench_uncertainty.py``. Measures, in one run on the same machine:

- the vectorised Monte Carlo (`uncertainty.run_monte_carlo`: weights perturbed, normalisation, aggregation and
  imputation drawn, ranks and the selection of 50 in every draw), after the engine calls it needs
  (`uncertainty.build_inputs`, one `build_index` per imputation x normalisation);
- a naive loop that calls `build_index` once per draw with that draw's choices and weights (a few draws,
  extrapolated to 1,000),

and prints the seconds and the ratio. The processed folder is synthesised (`smartcity_analysis.synthetic.processed`).
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

from smartcity_analysis.config import load_framework
from smartcity_analysis.index.engine import IndexWarning, build_index
from smartcity_analysis.index.indicators import framework_table
from smartcity_analysis.selection.ranking import SelectionParams, load_candidates
from smartcity_analysis.selection.uncertainty import (
    UncertaintyParams,
    build_inputs,
    draw_design,
    load_engine_data,
    run_monte_carlo,
    tree_from_table,
)
from smartcity_analysis.synthetic.processed import write_synthetic_processed

N_REGIONS, N_DRAWS, N_LOOP = 514, 1_000, 20


def _loop_draws(folder: Path, framework, design, n: int) -> float:
    """Time the naive approach: one engine build per draw."""
    data = load_engine_data(folder)
    table = framework_table(framework, "aspects")
    weight_columns = [c for c in design.columns if c.startswith("w_")]
    start = time.perf_counter()
    for _, draw in design.head(n).iterrows():
        weights = {c.removeprefix("w_"): float(draw[c]) for c in weight_columns}
        # the engine's geometric mean needs positive scores; for the cost, arithmetic stands in under z-scores
        geometric = draw["aggregate"] == "geometric" and draw["normalise"] == "minmax"
        aggregate = "geometric_shifted" if geometric else "arithmetic"
        build_index(data, table, unit="region_code", impute=draw["impute"],
                    impute_group="region_type" if "group" in draw["impute"] else None, treat_outliers=True,
                    normalise=draw["normalise"], aggregate=aggregate, weights=weights or None)
    return (time.perf_counter() - start) / n


def main() -> None:
    framework = load_framework()
    params = UncertaintyParams(n_draws=N_DRAWS)
    selection = SelectionParams(quota=50)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        folder = Path(tmp)
        write_synthetic_processed(folder, n_regions=N_REGIONS)
        candidates = load_candidates(folder)
        start = time.perf_counter()
        inputs = build_inputs(folder, framework, candidates, params)
        engine_seconds = time.perf_counter() - start
        start = time.perf_counter()
        run_monte_carlo(inputs.matrices, inputs.tree, candidates, params, selection)
        mc_seconds = time.perf_counter() - start
        design = draw_design(tree_from_table(framework_table(framework, "aspects")), params)
        per_draw_loop = _loop_draws(folder, framework, design, N_LOOP)
    vectorised = engine_seconds + mc_seconds
    loop = per_draw_loop * N_DRAWS
    print(f"regions: {len(candidates)}, draws: {N_DRAWS}")
    print(f"engine calls (build_inputs): {engine_seconds:8.2f} s")
    print(f"vectorised draws:            {mc_seconds:8.2f} s")
    print(f"vectorised total:            {vectorised:8.2f} s")
    print(f"loop of build_index per draw: {loop:8.1f} s (extrapolated from {N_LOOP} draws)")
    print(f"ratio loop / vectorised:     {loop / vectorised:8.1f}x")


if __name__ == "__main__":
    main()
