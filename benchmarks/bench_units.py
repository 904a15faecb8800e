"""The profiles and ranking stages on synthetic village-level rounds of 1,000, 10,000 and 100,000 units.

Run: ``.venv/bin/python benchmarks/bench_units.py`` (``--stages``, ``--sizes`` to narrow it). Each measurement
runs in its own Python process, so its peak memory (``ru_maxrss``) is its own. The rounds come from
:mod:`smartcity_analysis.synthetic.units` (any number of units, not only the 514 kab/kota), measured as
``bench_scale.py`` measures the 514-region rounds:

- ``profiles``: ``fit_profiles`` (k search 3-8 with 20 restarts, silhouette, 200 bootstrap refits);
- ``ranking``: ``build_inputs`` + ``run_monte_carlo`` with 1,000 uncertainty draws.

Prints wall seconds, peak MB and milliseconds per unit at each size, and the ratio of the cost per unit at the
largest size to that at the smallest. Timings are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

SIZES = (1_000, 10_000, 100_000)
STAGES = ("profiles", "ranking")


def time_profiles(folder: Path) -> dict:
    """Time ``fit_profiles`` on the processed folder ``folder`` (its rows already written)."""
    from smartcity_analysis.config import load_framework
    from smartcity_analysis.profiles.stage import fit_profiles, load_features

    framework = load_framework()
    features = load_features(folder, framework)
    started = time.perf_counter()
    fit_profiles(features, framework)
    return {"units": len(features), "seconds": time.perf_counter() - started}


def time_ranking(folder: Path) -> dict:
    """Time ``build_inputs`` + ``run_monte_carlo`` (1,000 draws, quota 50) on the processed folder ``folder``."""
    from smartcity_analysis.config import load_framework
    from smartcity_analysis.index.engine import IndexWarning
    from smartcity_analysis.selection.ranking import SelectionParams, load_candidates
    from smartcity_analysis.selection.uncertainty import UncertaintyParams, build_inputs, run_monte_carlo

    framework = load_framework()
    params = UncertaintyParams(n_draws=1_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        candidates = load_candidates(folder)
        started = time.perf_counter()
        inputs = build_inputs(folder, framework, candidates, params)
        built = time.perf_counter()
        run_monte_carlo(inputs.matrices, inputs.tree, candidates, params,
                        SelectionParams(quota=min(50, len(candidates))))
        finished = time.perf_counter()
    return {"units": len(candidates), "seconds": finished - started, "build_inputs_s": built - started,
            "monte_carlo_s": finished - built}


def measure_profiles_units(n: int, tmp: Path) -> dict:
    """Time ``fit_profiles`` on a synthetic round of ``n`` units written to ``tmp``."""
    from smartcity_analysis.synthetic.units import write_synthetic_units

    write_synthetic_units(tmp, n)
    return time_profiles(tmp)


def measure_ranking_units(n: int, tmp: Path) -> dict:
    """Time ``build_inputs`` + ``run_monte_carlo`` (1,000 draws) on a synthetic round of ``n`` units."""
    from smartcity_analysis.synthetic.units import write_synthetic_units

    write_synthetic_units(tmp, n)
    return time_ranking(tmp)


MEASURES = {"profiles": measure_profiles_units, "ranking": measure_ranking_units}


def measure_one(stage: str, n: int) -> dict:
    """Measure one stage at one size in this process; return the figures and the peak memory (MB)."""
    with tempfile.TemporaryDirectory(prefix=f"bench_units_{stage}_") as tmp:
        result = MEASURES[stage](n, Path(tmp))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return result


def run_in_subprocess(stage: str, n: int) -> dict:
    """Run :func:`measure_one` in a fresh interpreter; a failure comes back as ``{"error": last line}``."""
    command = [sys.executable, str(Path(__file__).resolve()), "--one", stage, str(n)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        return {"units": n, "error": (done.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: dict[str, list[dict]]) -> str:
    """Return the stage x size figures and the per-unit ratio of each stage as Markdown."""
    lines = ["| stage | units | wall s | peak MB | ms per unit |", "| --- | ---: | ---: | ---: | ---: |"]
    ratios = []
    for stage, rows in results.items():
        for row in rows:
            if "error" in row:
                lines.append(f"| {stage} | {row['units']:,} | failed: {row['error']} | | |")
                continue
            lines.append(f"| {stage} | {row['units']:,} | {row['seconds']:.2f} | {row['peak_mb']:,.0f} | "
                         f"{1000 * row['seconds'] / row['units']:.3f} |")
        done = sorted((r for r in rows if "error" not in r), key=lambda r: r["units"])
        if len(done) > 1:
            small, big = done[0], done[-1]
            ratio = (big["seconds"] / big["units"]) / (small["seconds"] / small["units"])
            ratios.append(f"- {stage}: cost per unit at {big['units']:,} / at {small['units']:,}: "
                          f"**{ratio:.2f}x** (goal: at most 1.3x)")
    return "\n".join([*lines, "", *ratios])


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="*", default=list(STAGES), choices=STAGES)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--one", nargs=2, metavar=("STAGE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]))))
        return ""
    results: dict[str, list[dict]] = {}
    for stage in args.stages:
        for n in args.sizes:
            results.setdefault(stage, []).append(run_in_subprocess(stage, n))
            print(f"measured {stage} at {n:,}: {results[stage][-1]}", file=sys.stderr, flush=True)
    text = table(results)
    print(text)
    return text


if __name__ == "__main__":
    main()
