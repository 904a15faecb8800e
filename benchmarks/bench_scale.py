"""One table for the whole pipeline: each stage at each size, wall time, peak memory, cost per unit, ratios.

Run: ``make benchmark`` (``.venv/bin/python benchmarks/bench_scale.py``). Each measurement runs in its own
Python process, so its peak memory (the process's maximum resident set, ``ru_maxrss``; kernels the runner
starts are separate processes and not included) is its own. Measured, in one run on the same machine:

- ``clean``: ``run_cleaning`` on national waves of submissions (:mod:`smartcity_analysis.synthetic.scale`:
  all 514 kab/kota submitting again and again, every kind of mess of the sample round), against a plain
  ``pandas.read_csv`` of the same files;
- ``index``: ``build_index`` (the full build of ``bench_index.py``) on synthetic units;
- ``profiles``: ``fit_profiles`` (k search and 200 bootstrap refits) on a synthetic processed folder of the 514
  kab/kota, then on synthetic village-level rounds of 1,000 to 100,000 units (``bench_units.py``);
- ``ranking``: ``build_inputs`` + ``run_monte_carlo`` (1,000 uncertainty draws, ``bench_uncertainty.py``), at the
  same sizes;
- ``reports``: ``render_reports`` on warm kernels, the kernel-free floor and a loop of ``papermill`` +
  ``jupyter nbconvert`` commands (``bench_reports.py``);
- ``run``: the whole ``smartcity run`` on one national wave (514 regions).

Prints the table and the ratios of the performance goals and writes them, with the machine, into ``docs/performance.md``
between its ``benchmark`` markers. ``--smoke`` runs only the smallest size of each stage (what CI runs, in the
test suite) and writes nowhere unless ``--out`` is given. Timings are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
WAVE_ROWS = 528  # rows of one national wave: 514 regions, their resubmissions and the junk rows

# stage -> sizes (the unit of each stage's size is in UNITS); the first size is the smoke size.
FULL_SIZES = {
    "clean": (2, 20, 100, 190),     # waves: ~1,056, ~10,560, ~52,800 (100 per kab/kota) and ~100,000 rows
    "index": (1_000, 10_000, 100_000),
    "profiles": (514, 1_000, 10_000, 100_000),  # the 514 kab/kota; then synthetic village-level units
    "ranking": (514, 1_000, 10_000, 100_000),
    "reports": (514,),
    "run": (1,),
}
SMOKE_SIZES = {"clean": (1,), "index": (1_000,), "profiles": (88,), "ranking": (88,), "reports": (3,),
               "run": ()}
UNITS = {"clean": "row", "index": "unit", "profiles": "unit", "ranking": "unit", "reports": "region",
         "run": "region"}
KABKOTA = 514  # sizes up to this are rounds of real kab/kota; larger ones synthetic units (bench_units.py)


@dataclass(frozen=True)
class Row:
    """One measurement: a stage at a size."""

    stage: str
    size: int
    units: int
    seconds: float
    peak_mb: float
    extra: dict
    error: str = ""

    @property
    def per_unit_ms(self) -> float:
        """Milliseconds per unit."""
        return 1000 * self.seconds / self.units


# --- One measurement, in its own process ------------------------------------------------------------------

def measure_clean(waves: int, tmp: Path, smoke: bool) -> dict:
    import pandas as pd

    from smartcity_analysis.cleaning.stage import run_cleaning
    from smartcity_analysis.synthetic.scale import write_scale_round

    written = write_scale_round(tmp / "submissions", waves)
    files = sorted((tmp / "submissions").glob("*.csv"))
    started = time.perf_counter()
    for path in files:
        pd.read_csv(path, sep=";", encoding="cp1252", dtype=str)
    read_csv = time.perf_counter() - started
    started = time.perf_counter()
    run_cleaning(tmp / "submissions", tmp / "processed")
    seconds = time.perf_counter() - started
    return {"units": written.rows, "seconds": seconds, "read_csv_s": read_csv}


def measure_index(units: int, tmp: Path, smoke: bool) -> dict:
    sys.path.insert(0, str(HERE))
    import bench_index

    seconds = bench_index.time_build(units, bench_index.synthetic_framework(), repeats=1)
    return {"units": units, "seconds": seconds}


def measure_profiles(regions: int, tmp: Path, smoke: bool) -> dict:
    sys.path.insert(0, str(HERE))
    import bench_units

    if regions > KABKOTA:
        return bench_units.measure_profiles_units(regions, tmp)
    from smartcity_analysis.synthetic.processed import write_synthetic_processed

    write_synthetic_processed(tmp, n_regions=regions)
    return bench_units.time_profiles(tmp)


def measure_ranking(regions: int, tmp: Path, smoke: bool) -> dict:
    sys.path.insert(0, str(HERE))
    import bench_units

    if regions > KABKOTA:
        return bench_units.measure_ranking_units(regions, tmp)
    from smartcity_analysis.synthetic.processed import write_synthetic_processed

    write_synthetic_processed(tmp, n_regions=regions)
    return bench_units.time_ranking(tmp)


def measure_reports(regions: int, tmp: Path, smoke: bool) -> dict:
    sys.path.insert(0, str(HERE))
    import bench_reports

    from smartcity_analysis.synthetic.processed import write_synthetic_processed

    codes = write_synthetic_processed(tmp / "processed", n_regions=regions)
    # Runner and floor in turn, twice, the faster of each kept: a burst of load on the shared machine during
    # one of them would otherwise decide the ratio.
    # Each attempt starts from fresh joblib workers: a reused worker would already hold the imports and the
    # tables cached by the previous attempt, which the runner's fresh kernels do not.
    from joblib.externals.loky import get_reusable_executor

    runner, floor = float("inf"), float("inf")
    for attempt in range(1 if smoke else 2):
        get_reusable_executor().shutdown(wait=True)
        runner = min(runner, bench_reports.measure_runner(tmp / "processed", tmp / f"runner{attempt}", codes, 2,
                                                          "id"))
        get_reusable_executor().shutdown(wait=True)
        floor = min(floor, bench_reports.measure_floor(tmp / "processed", tmp / f"floor{attempt}", codes, 2, "id"))
    result = {"units": regions, "seconds": runner, "floor_s": floor}
    if not smoke:
        sample = codes[:3]
        loop = bench_reports.measure_command_loop(tmp / "processed", tmp / "loop", sample, "id")
        result["command_loop_per_region_s"] = loop / len(sample)
    return result


def measure_run(waves: int, tmp: Path, smoke: bool) -> dict:
    from smartcity_analysis.synthetic.scale import write_scale_round

    write_scale_round(tmp / "submissions", waves)
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "smartcity"), "run", "--submissions", str(tmp / "submissions"),
                    "--processed", str(tmp / "processed"), "--reports", str(tmp / "reports"), "--quiet"],
                   check=False, capture_output=True)
    seconds = time.perf_counter() - started
    manifest = json.loads((tmp / "reports" / "manifest.json").read_text(encoding="utf-8"))
    failures = manifest.get("failures", [])
    if any(not str(f.get("stage", "")).startswith("05") for f in failures):
        raise RuntimeError(f"the run failed: {failures[0]}")
    timings = manifest.get("timings_seconds", {})
    regions = len(list((tmp / "reports" / "html").glob("[0-9][0-9][0-9][0-9].html")))
    return {"units": regions, "seconds": seconds, "stage_s": timings.get("stages", timings),
            "failed_regions": len(failures)}


MEASURES = {"clean": measure_clean, "index": measure_index, "profiles": measure_profiles,
            "ranking": measure_ranking, "reports": measure_reports, "run": measure_run}


def measure_one(stage: str, size: int, smoke: bool) -> dict:
    """Measure one stage at one size in this process; return the figures and the peak memory."""
    with tempfile.TemporaryDirectory(prefix=f"bench_{stage}_") as tmp:
        result = MEASURES[stage](size, Path(tmp), smoke)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return result


def run_in_subprocess(stage: str, size: int, smoke: bool) -> Row:
    """Run :func:`measure_one` in a fresh interpreter, so its peak memory is its own.

    A measurement that fails becomes a row with its error (the last line it printed), not the end of the table.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--one", stage, str(size)] + (["--smoke"] * smoke)
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Row(stage, size, 0, float("nan"), float("nan"), {}, error=last[:200])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    units, seconds, peak = result.pop("units"), result.pop("seconds"), result.pop("peak_mb")
    return Row(stage, size, units, seconds, peak, result)


# --- The table and the ratios ---------------------------------------------------------------------------

def ratios(rows: list[Row]) -> list[tuple[str, str, str]]:
    """Return ``(ratio, measured, goal)`` for each performance goal the rows can answer."""
    rows = [r for r in rows if not r.error]
    out = []
    clean = [r for r in rows if r.stage == "clean"]
    if clean:
        big = min(clean, key=lambda r: abs(r.units - 51_400))
        out.append((f"cleaning / `pandas.read_csv` of the same files, {big.units:,} rows",
                    f"{big.seconds / big.extra['read_csv_s']:.1f}x", "at most 25x"))
    for stage in ("clean", "index", "profiles", "ranking"):
        # profiles and ranking: synthetic units only (the 514 kab/kota are a round of another kind)
        sized = sorted((r for r in rows if r.stage == stage and (stage in ("clean", "index") or r.size > KABKOTA)),
                       key=lambda r: r.units)
        if len(sized) > 1:
            out.append((f"{stage}: cost per {UNITS[stage]} at {sized[-1].units:,} / at {sized[0].units:,}",
                        f"{sized[-1].per_unit_ms / sized[0].per_unit_ms:.2f}x", "at most 1.3x"))
    for r in rows:
        if r.stage == "profiles" and r.size == KABKOTA:
            out.append((f"profiles stage, {r.units} regions", f"{r.seconds:.1f} s", "a few seconds"))
        if r.stage == "reports":
            out.append(("region reports: runner / kernel-free floor", f"{r.seconds / r.extra['floor_s']:.2f}x",
                        "at most 1.3x"))
    reports = next((r for r in rows if r.stage == "reports" and "command_loop_per_region_s" in r.extra), None)
    run = next((r for r in rows if r.stage == "run"), None)
    if reports and run:
        loop = reports.extra["command_loop_per_region_s"] * run.units
        out.append((f"command loop (extrapolated, {run.units} regions) / whole `smartcity run`",
                    f"{loop / run.seconds:.1f}x", "at least 80x"))
    peak = max((r.peak_mb for r in rows), default=0.0)
    out.append(("largest peak memory of one measurement", f"{peak:,.0f} MB", "at most 4 GB"))
    return out


def table(rows: list[Row]) -> str:
    """Return the stage x size table and the ratios as Markdown."""
    lines = ["| stage | size | units | wall s | peak MB | ms per unit |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if r.error:
            lines.append(f"| {r.stage} | {r.size:,} | failed: {r.error} | | | |")
            continue
        lines.append(f"| {r.stage} | {r.size:,} | {r.units:,} {UNITS[r.stage]}s | {r.seconds:.2f} | "
                     f"{r.peak_mb:,.0f} | {r.per_unit_ms:.3f} |")
    for r in rows:
        if r.stage == "run" and r.extra.get("stage_s"):
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in r.extra["stage_s"].items())
            lines += ["", f"Whole run, per stage: {parts}."]
    lines += ["", "| ratio | measured | goal |", "| --- | --- | --- |"]
    lines += [f"| {name} | **{value}** | {goal} |" for name, value, goal in ratios(rows)]
    return "\n".join(lines)


def machine() -> str:
    """Describe the machine the benchmark ran on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal")) / 1024 ** 2
    except (OSError, StopIteration):
        memory = float("nan")
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), {memory:.0f} GB, "
            f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start")


def write_doc(text: str, path: Path) -> None:
    """Replace what is between the benchmark markers of ``path`` (or append the block when they are missing)."""
    block = f"{START}\n{text}\n{END}"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in old and END in old:
        new = old[: old.index(START)] + block + old[old.index(END) + len(END):]
    else:
        new = old + ("\n" if old else "") + block + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="only the smallest size of each stage")
    parser.add_argument("--stages", nargs="*", default=list(FULL_SIZES), help="stages to measure")
    parser.add_argument("--out", type=Path, help="Markdown file to write (default docs/performance.md; "
                                                 "with --smoke nothing unless given)")
    parser.add_argument("--one", nargs=2, metavar=("STAGE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]), args.smoke)))
        return ""
    sizes = SMOKE_SIZES if args.smoke else FULL_SIZES
    header = machine()
    started = time.perf_counter()
    rows = []
    for stage in args.stages:
        for size in sizes[stage]:
            rows.append(run_in_subprocess(stage, size, args.smoke))
            print(f"measured {stage} at {size}: {rows[-1]}", file=sys.stderr)
    how = "`make benchmark`" + (" (smoke: the smallest size of each stage)" if args.smoke else "")
    text = f"Machine: {header}. Measured by {how} in {time.perf_counter() - started:.0f} s.\n\n{table(rows)}"
    print(text)
    out = args.out if args.out is not None else (None if args.smoke else DOC)
    if out is not None:
        write_doc(text, out)
    return text


if __name__ == "__main__":
    main()
