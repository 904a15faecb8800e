"""Write the bundled sample round's ``ranking.csv`` under the OpenBLAS kernel the environment forces.

Run as ``python -m tests.selection.ranking_under_kernel OUT_DIR KERNEL`` with ``OPENBLAS_CORETYPE=KERNEL`` set
before the interpreter starts (OpenBLAS reads it when it loads). Stages 01, 02 and 04 run as the notebooks run
them (cleaning, the index, the nominal selection, the Monte Carlo, what it takes); the ranking is written to
``OUT_DIR``. Exits with a message naming the kernel in use when it is not the one asked for, so that a machine
that cannot run that kernel fails the comparison instead of comparing a kernel with itself.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

SAMPLE_ROUND = Path(__file__).resolve().parents[2] / "data" / "raw" / "submissions" / "sample-2021"


def kernels_in_use() -> list[str]:
    """The architecture each OpenBLAS reports (numpy's and scipy's, loaded here)."""
    import numpy  # noqa: F401 - loads numpy's OpenBLAS
    import scipy.linalg  # noqa: F401 - loads scipy's
    from threadpoolctl import threadpool_info

    return [str(pool.get("architecture")) for pool in threadpool_info() if pool.get("internal_api") == "openblas"]


def write_ranking(out_dir: Path) -> Path:
    """Run stages 01, 02 and 04 of the sample round into ``out_dir``; return the ``ranking.csv`` written."""
    from smartcity_analysis import selection
    from smartcity_analysis.cleaning.stage import run_cleaning
    from smartcity_analysis.config import load_framework
    from smartcity_analysis.index.stage import build_readiness, read_clean_submissions, write_index_outputs
    from smartcity_analysis.selection import gap, uncertainty

    framework = load_framework()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's broken files and constant indicators: not compared here
        run_cleaning(SAMPLE_ROUND, out_dir, framework)
        write_index_outputs(build_readiness(read_clean_submissions(out_dir), framework), framework, out_dir)
        params, mc_params = selection.SelectionParams(), uncertainty.UncertaintyParams()
        candidates = selection.load_candidates(out_dir)
        nominal = selection.select(candidates, params)
        mc_inputs = uncertainty.build_inputs(out_dir, framework, candidates, mc_params)
        mc = uncertainty.run_monte_carlo(mc_inputs.matrices, mc_inputs.tree, candidates, mc_params, params)
        gap_inputs = gap.load_gap_inputs(out_dir, framework, candidates, gap.GapParams(nominal=mc_params.nominal))
        gaps = gap.what_it_takes(gap_inputs, params, mc=mc, mc_inputs=mc_inputs)
    ranking = selection.ranking_table(nominal, uncertainty.summarise(mc, nominal.table.set_index("region_code")[
        "selected"]))
    return selection.write_ranking(selection.ranking.with_gap(ranking, gaps.regions), out_dir)


def main(argv: list[str]) -> int:
    out_dir, wanted = Path(argv[0]), argv[1]
    in_use = kernels_in_use()
    if not in_use or any(kernel.lower() != wanted.lower() for kernel in in_use):
        print(f"OpenBLAS runs the {', '.join(in_use) or 'no'} kernel, not {wanted}: set OPENBLAS_CORETYPE={wanted} "
              "before Python starts, on a CPU that supports it", file=sys.stderr)
        return 2
    write_ranking(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
