"""Reading the files whose cost is in their formatting or their packing, against the reading targets.

Run: ``.venv/bin/python benchmarks/bench_reading.py`` (``--cases`` to narrow it, ``--rows`` for a smaller
formatted sheet). Each case is written to a temporary round folder beside one good CSV and read by
``read_submissions`` in its own Python process, so its peak memory (the process's maximum resident set,
``ru_maxrss``, the interpreter and imports included) is its own:

- ``formatted``: one data row in a sheet formatted down to row 1,048,576 (an 84 MB sheet part), which must be
  read;
- ``formatted_formulas``: the same with formulas in the data rows (the light formula pass runs too);
- ``bomb``: a sheet that unpacks to 1.5 GB and says so in its zip headers, which must be refused;
- ``bomb_lying``: the same sheet whose headers declare 1 MB, which must be refused while unpacking.

Prints wall seconds and peak MB for each case with the targets (under 10 s and 500 MB each). Timings are never
asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = ("formatted", "formatted_formulas", "bomb", "bomb_lying")
TARGET_SECONDS = 10
TARGET_MB = 500
BOMB_BYTES = 1_500_000_000
HEADER = ["Kode Wilayah", "Nama Kabupaten/Kota", "Tahun Asesmen", "IPM", "OPD Terhubung Jaringan Intra (%)", "Catatan"]
GOOD = "Kode Wilayah;Nama Kabupaten/Kota;Tahun Asesmen;IPM\r\n3204;Kab. Bandung;2021;72,45\r\n"


def case_bytes(case: str, rows: int) -> bytes:
    """Return the workbook of one case (``rows``: where the formatted sheet's formatting ends)."""
    sys.path.insert(0, str(ROOT))
    from tests.spreadsheets import bomb_xlsx, formatted_column_xlsx

    if case == "formatted":
        return formatted_column_xlsx([HEADER, ["3273", "Kota Bandung", 2021, 81.5, ("percent", 0.82), "ok"]],
                                     last_row=rows)
    if case == "formatted_formulas":
        return formatted_column_xlsx([HEADER, ["3273", "Kota Bandung", ("formula", "2020+1", 2021), 81.5,
                                               ("percent", 0.82), ("formula", "\"o\"&\"k\"", None)]], last_row=rows)
    if case == "bomb":
        return bomb_xlsx(BOMB_BYTES)
    return bomb_xlsx(BOMB_BYTES, declared_bytes=1_000_000)


def read_folder(folder: Path) -> dict:
    """Read the round folder ``folder`` (in this process) and say what became of each file."""
    from smartcity_analysis.cleaning.readers import read_submissions
    from smartcity_analysis.config import load_framework

    framework = load_framework()
    started = time.perf_counter()
    batch = read_submissions(folder, framework)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "read": {f["name"]: f["rows"] for f in batch.files_read},
            "rejected": {f["name"]: f["reason"] for f in batch.files_rejected}}


def measure(case: str, rows: int) -> dict:
    """Write one case and the good file in a temporary folder and read it in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / f"{case}.xlsx").write_bytes(case_bytes(case, rows))
        (folder / "good.csv").write_text(GOOD, encoding="utf-8")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--child", str(folder)], capture_output=True, text=True,
                              check=True, cwd=ROOT)
        wall = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # ru_maxrss of the children is the largest any child reached; each case runs alone, the largest first.
    return {"case": case, "wall": wall, "read_seconds": result["seconds"],
            "peak_mb": peak_kb / 1024 if peak_kb > before else float("nan"), "outcome": _outcome(case, result)}


def _outcome(case: str, result: dict) -> str:
    name = f"{case}.xlsx"
    if name in result["rejected"]:
        return "refused: " + result["rejected"][name][:70] + "..."
    return f"read, {result['read'].get(name)} row(s); good.csv {result['read'].get('good.csv')} row(s)"


def table(measured: list[dict]) -> str:
    lines = ["| case | wall s | read s | peak MB | target | outcome |", "|---|---:|---:|---:|---|---|"]
    for m in measured:
        met = m["wall"] < TARGET_SECONDS and m["peak_mb"] < TARGET_MB
        lines.append(f"| {m['case']} | {m['wall']:.2f} | {m['read_seconds']:.2f} | {m['peak_mb']:.0f} | "
                     f"< {TARGET_SECONDS} s, < {TARGET_MB} MB: {'met' if met else 'NOT met'} | {m['outcome']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--rows", type=int, default=1_048_576, help="last formatted row of the formatted cases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(read_folder(Path(args.child))))
        return ""
    # One child process per case, so each peak is its own: ru_maxrss of the children is their maximum.
    measured = [_measure_alone(case, args.rows) for case in args.cases]
    text = table(measured)
    print(text)
    return text


def _measure_alone(case: str, rows: int) -> dict:
    """Measure one case in a fresh parent process, so the children's peak memory is that case's alone."""
    done = subprocess.run([sys.executable, "-c", f"import sys, json; sys.path.insert(0, {str(HERE)!r}); "
                           f"import bench_reading as b; print(json.dumps(b.measure({case!r}, {rows})))"],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
