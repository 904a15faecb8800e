"""Region reports: the runner (warm kernels) against a loop of papermill commands and the kernel-free floor.

Synthesises a processed folder of 514 regions (smartcity_analysis.synthetic.processed), then measures in one run:

1. the runner, ``render_reports`` (warm kernels, ``--workers`` workers), over all regions;
2. a loop of ``papermill`` + ``jupyter nbconvert --to html --no-input`` commands over ``--loop-sample`` regions,
   extrapolated per region (one after another, as such a loop runs);
3. the floor: the same package functions (report_context, the sections, the chart, the page) in plain Python,
   with the same number of joblib workers, no kernel.

Prints seconds per region and the ratios; ``--json`` writes them to a file. Run: ``make benchmark``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
from joblib.externals.loky import get_reusable_executor

from smartcity_analysis import paths
from smartcity_analysis.reports.runner import REPORT_NOTEBOOK, render_reports
from smartcity_analysis.synthetic.processed import write_synthetic_processed

BIN = Path(sys.executable).parent


def floor_chunk(processed: str, out: str, codes: list[str], language: str) -> int:
    from smartcity_analysis.reports.charts import profile_comparison_svg
    from smartcity_analysis.reports.language import template_environment
    from smartcity_analysis.reports.region import report_context
    from smartcity_analysis.reports.sections import REPORT_SECTIONS, render_chart, render_sections

    page = template_environment().get_template("page.html.j2")
    split = REPORT_SECTIONS.index("profile") + 1  # the chart follows the profile, as in the notebook
    for code in codes:
        context = report_context(processed, code, language)
        body = [render_sections(context, REPORT_SECTIONS[:split]),
                render_chart(context, profile_comparison_svg(context.chart, language)),
                render_sections(context, REPORT_SECTIONS[split:])]
        html = page.render(language=language, title=code, body="\n".join(body), index_href="../index.html",
                           back_label="")
        (Path(out) / f"{code}.html").write_text(html, encoding="utf-8")
    return len(codes)


def measure_floor(processed: Path, out: Path, codes: list[str], workers: int, language: str) -> float:
    out.mkdir(parents=True, exist_ok=True)
    size = math.ceil(len(codes) / workers)
    chunks = [codes[i:i + size] for i in range(0, len(codes), size)]
    started = time.perf_counter()
    joblib.Parallel(n_jobs=workers)(joblib.delayed(floor_chunk)(str(processed), str(out), c, language)
                                    for c in chunks)
    return time.perf_counter() - started


def measure_runner(processed: Path, out: Path, codes: list[str], workers: int, language: str) -> float:
    started = time.perf_counter()
    batch = render_reports(processed, out, codes, workers=workers, language=language, progress=False)
    seconds = time.perf_counter() - started
    if batch.failures:
        raise RuntimeError(f"the runner failed on {batch.failures[:3]}")
    return seconds


def measure_command_loop(processed: Path, out: Path, codes: list[str], language: str) -> float:
    out.mkdir(parents=True, exist_ok=True)
    notebook = paths.NOTEBOOKS_DIR / REPORT_NOTEBOOK
    started = time.perf_counter()
    for code in codes:
        executed = out / f"{code}.ipynb"
        subprocess.run([str(BIN / "papermill"), str(notebook), str(executed), "-r", "region_code", code,
                        "-p", "language", language, "-p", "processed_dir", str(processed), "--no-progress-bar"],
                       check=True, capture_output=True)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
                       check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=514)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loop-sample", type=int, default=3)
    parser.add_argument("--language", default="id")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_reports_") as tmp:
        tmp = Path(tmp)
        processed = tmp / "processed"
        codes = write_synthetic_processed(processed, n_regions=args.regions)
        # Each measurement starts from fresh joblib workers (as in bench_scale.py): the floor would otherwise
        # reuse the runner's workers, which already hold the imports its own fresh workers pay for.
        get_reusable_executor().shutdown(wait=True)
        runner = measure_runner(processed, tmp / "runner", codes, args.workers, args.language)
        get_reusable_executor().shutdown(wait=True)
        floor = measure_floor(processed, tmp / "floor", codes, args.workers, args.language)
        loop = measure_command_loop(processed, tmp / "loop", codes[: args.loop_sample], args.language)
    result = {
        "regions": args.regions, "workers": args.workers, "loop_sample": args.loop_sample,
        "runner_total_s": round(runner, 2),
        "runner_per_region_s": round(runner / args.regions, 4),
        "floor_per_region_s": round(floor / args.regions, 4),
        "command_loop_per_region_s": round(loop / args.loop_sample, 3),
    }
    result["speedup_vs_command_loop"] = round(result["command_loop_per_region_s"] / result["runner_per_region_s"], 1)
    result["runner_over_floor"] = round(result["runner_per_region_s"] / result["floor_per_region_s"], 2)
    result["command_loop_extrapolated_total_s"] = round(result["command_loop_per_region_s"] * args.regions, 1)
    for key, value in result.items():
        print(f"{key:36s} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
