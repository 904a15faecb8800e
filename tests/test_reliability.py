"""Whole runs: hostile files in the round, personal data, markup, kills, identical reruns and isolation.

The round is the bundled sample plus a few files of the bad-input corpus (a file name and a region name with
markup, a NUL character in a cell, a corrupt ``.xls``, an Office lock file, a folder named ``x.xlsx``), so the
whole runner meets the corpus too. One complete run is the reference; a run into the same folders is killed at
three points (each time the previous outputs must be intact), then a run completes there while another runs
into other folders at the same time: both must give the reference's bytes (the manifest keeps its clock
times). The runs go through the command line in subprocesses, as a scheduler would start them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psutil
import pytest

from smartcity_analysis.outputs import TEMPORARY_SUFFIX
from smartcity_analysis.paths import SAMPLE_SUBMISSIONS_DIR
from tests.raw_files import personal_values, phone_digits
from tests.spreadsheets import text

MARKUP = ('<img src=x onerror=alert(1)>', "<script>alert(1)</script>",
          "<img src=x onerror=alert(document.cookie)>", '<script>alert("nama")</script>')
HEADER = ["Kode Wilayah", "Nama Kabupaten/Kota", "Tahun Asesmen", "IPM", "Catatan"]
WAIT_SECONDS = 900  # how long a kill point may take to come; generous, never asserted on


def _corpus_files(folder: Path) -> None:
    """Add hostile files that leave the 88 accepted regions unchanged (their rows are all quarantined)."""
    (folder / "<b>tebal<i> <img src=x onerror=alert(1)>.csv").write_bytes(text([HEADER, [
        "", '<script>alert("nama")</script>', "2021", "70", "<img src=x onerror=alert(1)>"]], ";").encode())
    (folder / "sel_nul.csv").write_bytes(text([HEADER, ["", "Kota Contoh\x00 Pengisian", "2021", "70", "a\x00b"]],
                                              ";").encode())
    (folder / "rusak.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(range(256)) * 4)
    (folder / "~$batch_jawa_timur_2021.xlsx").write_bytes(b"\x06Diskominfo" + b"\x00" * 40)
    (folder / "x.xlsx").mkdir()


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("round") / "sample-2021-corpus"
    shutil.copytree(SAMPLE_SUBMISSIONS_DIR, folder)
    _corpus_files(folder)
    return folder


def _command(round_dir: Path, work: Path) -> list[str]:
    return [sys.executable, "-m", "smartcity_analysis.cli", "run", "--submissions", str(round_dir),
            "--processed", str(work / "processed"), "--reports", str(work / "reports"), "--quiet"]


def _start(round_dir: Path, work: Path) -> subprocess.Popen:
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    return subprocess.Popen(_command(round_dir, work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)


def _finish(process: subprocess.Popen) -> None:
    _, stderr = process.communicate()
    assert process.returncode == 0, stderr.decode(errors="replace")[-3000:]


def _kill_tree(process: subprocess.Popen) -> None:
    """Stop the run and everything it started (kernels run in sessions of their own), then kill them all."""
    root = psutil.Process(process.pid)
    stopped = [root]
    root.send_signal(signal.SIGSTOP)
    while True:
        new = [c for p in stopped for c in p.children() if c not in stopped]
        if not new:
            break
        for child in new:
            try:
                child.send_signal(signal.SIGSTOP)
            except psutil.NoSuchProcess:
                continue
            stopped.append(child)
    for proc in stopped:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(stopped, timeout=30)
    process.communicate()


def _files(root: Path) -> dict[str, bytes]:
    """Every output file under ``root`` by relative path (leftover temporary files excluded)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not _temporary(p)}


def _temporary(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(TEMPORARY_SUFFIX)


def _without_clock(manifest: bytes) -> dict:
    content = json.loads(manifest)
    content.pop("timings_seconds")
    return content


def _differences(expected: dict[str, bytes], actual: dict[str, bytes]) -> list[str]:
    names = sorted(set(expected) | set(actual))
    differ = [n for n in names if n != "reports/manifest.json" and expected.get(n) != actual.get(n)]
    if _without_clock(expected["reports/manifest.json"]) != _without_clock(actual["reports/manifest.json"]):
        differ.append("reports/manifest.json (beyond its timings)")
    return differ


def _as_if_in(files: dict[str, bytes], folder: Path, reference: Path) -> dict[str, bytes]:
    """Return ``files`` of a run into ``folder`` with that folder's path written as ``reference``'s."""
    return {name: data.replace(str(folder).encode(), str(reference).encode()) for name, data in files.items()}


@pytest.fixture(scope="module")
def reference(round_dir, tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    work = tmp_path_factory.mktemp("reference") / "work"
    _finish(_start(round_dir, work))
    return work, _files(work)


# --- One complete run on the corpus sample ------------------------------------------------------------------

def test_the_run_reads_the_corpus_sample_and_lists_every_entry(reference, round_dir):
    work, files = reference
    summary = json.loads(files["processed/cleaning_summary.json"])
    assert summary["rows_accepted"] == 88
    listed = {f["name"] for f in summary["files_read"] + summary["files_rejected"] + summary["files_skipped"]}
    assert listed == {p.name for p in round_dir.iterdir()}
    assert {f["name"] for f in summary["files_skipped"]} == {"x.xlsx", "~$batch_jawa_timur_2021.xlsx"}
    manifest = json.loads(files["reports/manifest.json"])
    assert manifest["failures"] == [] and len(manifest["regions_rendered"]) == 88


def _rendered_html(files: dict[str, bytes]) -> dict[str, str]:
    """The HTML a browser shows: every page, and every HTML or Markdown output of the executed notebooks."""
    pages = {n: d.decode("utf-8") for n, d in files.items() if n.endswith(".html")}
    for name, data in files.items():
        if name.endswith(".ipynb"):
            outputs = [o for cell in json.loads(data)["cells"] for o in cell.get("outputs", [])]
            pages[name] = "".join("".join(o.get("data", {}).get(kind, "")) for o in outputs
                                  for kind in ("text/html", "text/markdown"))
    return pages


def test_markup_in_names_notes_and_file_names_is_shown_as_text(reference):
    _, files = reference
    pages = _rendered_html(files)
    assert sum(n.startswith("reports/html/") for n in pages) >= 88 + 5 and len(pages) >= 2 * (88 + 5)
    live = sorted({(name, m) for name, page in pages.items() for m in MARKUP if m in page})
    assert not live, f"markup rendered as HTML: {live[:5]}"


def test_selection_list_neutralises_formula_like_cells_and_processed_files_keep_text(reference):
    work, files = reference
    clean = pd.read_csv(work / "processed" / "submissions_clean.csv", dtype=str, keep_default_na=False)
    assert "'=1+1" in set(clean["notes"])  # the parser's documented prefix on free text, kept exactly
    with zipfile.ZipFile(work / "processed" / "selection.xlsx") as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no cell of the officials' list is a formula


def _output_texts(work: Path) -> dict[str, str]:
    """Every output as searchable text: parquet as CSV, workbooks' XML, the rest decoded."""
    texts = {}
    for path in sorted(p for p in work.rglob("*") if p.is_file()):
        name = path.relative_to(work).as_posix()
        if path.suffix == ".parquet":
            texts[name] = pd.read_parquet(path).to_csv()
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                texts[name] = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
        else:
            texts[name] = path.read_bytes().decode("utf-8", "replace")
    return texts


def test_no_personal_data_in_any_output_of_a_full_run(reference, round_dir):
    work, _ = reference
    personal = personal_values(round_dir)
    assert len(personal) >= 176  # a name and a phone on every data row of the sample
    texts = _output_texts(work)
    assert {"reports/manifest.json", "reports/index.html", "processed/selection.xlsx"} <= set(texts)
    assert sum(n.startswith("reports/notebooks/05_region_report_") for n in texts) == 88
    assert sum(n.endswith(".ipynb") for n in texts) >= 88 + 5  # and every stage notebook
    leaks = sorted({(n, v) for n, t in texts.items() for v in personal if v in t})
    leaks += sorted({(n, d) for n, t in texts.items() for d in phone_digits(personal) if d in t})
    assert not leaks, f"respondent data found: {leaks[:5]}"


# --- Killed runs, recovery, identical reruns, isolation -----------------------------------------------------

def _written_since(start_ns: int, *paths: Path) -> Callable[[], bool]:
    return lambda: all(p.exists() and p.stat().st_mtime_ns > start_ns for p in paths)


def _regions_written_since(start_ns: int, html: Path, count: int) -> Callable[[], bool]:
    return lambda: sum(p.stat().st_mtime_ns > start_ns for p in html.glob("[0-9]*.html")) >= count


KILL_POINTS = {
    "after stage 01 (index being built)": lambda w, t: _written_since(
        t, w / "reports/notebooks/01_clean_submissions.ipynb"),
    "after stage 03 (ranking and selection list being written)": lambda w, t: _written_since(
        t, w / "reports/notebooks/03_readiness_profiles.ipynb"),
    "during the region reports": lambda w, t: _regions_written_since(t, w / "reports/html", 10),
}


@pytest.fixture(scope="module")
def killed(reference, round_dir) -> dict[str, list[str]]:
    """Kill a run into the reference's folders at each point; return what differed from before, per point."""
    work, expected = reference
    observed = {}
    for point, trigger in KILL_POINTS.items():
        start = time.time_ns()
        process = _start(round_dir, work)
        ready = trigger(work, start)
        deadline = time.monotonic() + WAIT_SECONDS
        while not ready() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, f"the run ended before the kill point {point!r}"
        _kill_tree(process)
        observed[point] = _differences(expected, _files(work))
    return observed


def test_a_killed_run_leaves_the_previous_outputs_intact(killed):
    assert set(killed) == set(KILL_POINTS)
    for point, differ in killed.items():
        assert not differ, f"killed {point}: changed or half-written {differ[:5]}"


@pytest.fixture(scope="module")
def concurrent(killed, reference, round_dir, tmp_path_factory) -> dict[str, tuple[Path, dict[str, bytes]]]:
    """After the kills, complete a run in the reference's folders while another runs into new folders."""
    work, _ = reference
    other = tmp_path_factory.mktemp("other") / "work"
    processes = {"same folders": (work, _start(round_dir, work)), "other folders": (other, _start(round_dir, other))}
    for _, process in processes.values():
        _finish(process)
    return {name: (folder, _files(folder)) for name, (folder, _) in processes.items()}


def test_the_next_run_completes_and_reruns_are_byte_identical(concurrent, reference):
    work, expected = reference
    folder, files = concurrent["same folders"]
    assert folder == work
    assert not _differences(expected, files)
    assert not [p for p in work.rglob("*") if _temporary(p)]  # the stale temporary files were cleared


def test_two_runs_at_the_same_time_into_other_folders_do_not_interfere(concurrent, reference):
    work, expected = reference
    folder, files = concurrent["other folders"]
    assert not _differences(expected, _as_if_in(files, folder, work))
