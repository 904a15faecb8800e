"""No page a reviewer reads shows a raw Python warning, and two identical runs give identical pages.

The round is messy in the way that made the index engine warn: ``spbe_index`` holds one value in every region
but one, so it varies as submitted (the index keeps it) and becomes constant once outlier treatment pulls the
odd value in. Stages 02 and 04 (whose Monte Carlo calls the engine once per method) and notebook 04b then raise
``IndexWarning``; each must reach the page as a note in a list, in both languages, never as a line naming a
``.py`` file. Two runs of the same round, at the same time into other folders, go through the command line as a
scheduler starts them; notebook 04b (not part of a run) is executed on each run's processed folder.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import nbformat
import papermill as pm
import pytest

from smartcity_analysis.notes import read_notes
from smartcity_analysis.paths import NOTEBOOKS_DIR
from smartcity_analysis.synthetic.rounds import RoundShape, write_round

SHAPE = RoundShape("near_constant", n_regions=15, constant_fields=MappingProxyType({"spbe_index": 2.5}))
ODD_VALUE = "4.0"  # the first region's spbe_index; outlier treatment winsorises it to the others' 2.5
RAW_WARNING = re.compile(r"Warning:|warnings\.warn|\.py:\d+")
STAGE_PAGES = ("02_readiness_index", "03_readiness_profiles", "04_rank_and_select")


def _messy_round(folder: Path) -> Path:
    written = write_round(folder, SHAPE)
    path = written.folder / written.files[0]
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    rows[1][rows[0].index("spbe_index")] = ODD_VALUE
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return written.folder


def _start(submissions: Path, work: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "smartcity_analysis.cli", "run", "--submissions", str(submissions),
               "--processed", str(work / "processed"), "--reports", str(work / "reports"), "--quota", "5",
               "--workers", "2", "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _what_if(work: Path) -> None:
    """Execute notebook 04b on the run's processed folder, as ``make notebooks`` does, beside the run's pages."""
    pm.execute_notebook(NOTEBOOKS_DIR / "04b_what_if.ipynb", work / "reports" / "notebooks" / "04b_what_if.ipynb",
                        parameters={"processed_dir": str(work / "processed"), "quota": 5, "interactive": False},
                        kernel_name="python3", cwd=str(NOTEBOOKS_DIR), progress_bar=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two complete runs of the messy round, at the same time, each into its own folders."""
    submissions = _messy_round(tmp_path_factory.mktemp("round") / "near-constant-2021")
    works = {name: tmp_path_factory.mktemp(name) / "work" for name in ("first", "second")}
    started = {name: _start(submissions, work) for name, work in works.items()}
    for name, process in started.items():
        _, stderr = process.communicate(timeout=900)
        assert process.returncode == 0, f"{name} run: {stderr.decode(errors='replace')[-3000:]}"
        _what_if(works[name])
    return works


def _outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


def _output_text(output: dict) -> str:
    if output["output_type"] == "stream":
        return output["text"]
    if output["output_type"] == "error":
        return "\n".join(output["traceback"])
    return "".join("".join(value) if isinstance(value, list) else str(value)
                   for kind, value in output.get("data", {}).items() if kind.startswith("text/"))


def _rendered(work: Path) -> dict[str, str]:
    """Every page as the reader gets it: HTML pages as written, and what each executed notebook shows."""
    reports = work / "reports"
    pages = {p.relative_to(reports).as_posix(): p.read_text(encoding="utf-8") for p in sorted(reports.rglob("*.html"))}
    for path in sorted((reports / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        pages[f"notebooks/{path.name}"] = "\n".join(_output_text(o) for o in _outputs(notebook))
    return pages


def test_the_round_makes_the_engine_warn_and_each_stage_records_it(runs):
    notes = read_notes(runs["first"] / "processed")
    warned = notes[notes["analysis"] == "warning:IndexWarning"]
    assert set(warned["stage"]) == {"02_readiness_index", "04_rank_and_select"}
    assert set(warned["reason_code"]) == {"constant_indicator"}
    assert warned["message_en"].str.startswith("The indicator spbe_index has a single value").all()
    assert warned["message_id"].str.startswith("Indikator spbe_index hanya memiliki satu nilai").all()
    assert not notes["action"].eq("failed").any(), notes[notes["action"] == "failed"].to_dict("records")


def test_no_page_shows_a_raw_warning_or_a_source_path(runs):
    pages = _rendered(runs["first"])
    expected = {*(f"html/{s}.html" for s in STAGE_PAGES), "html/06_round_summary.html", "index.html",
                *(f"notebooks/{s}.ipynb" for s in (*STAGE_PAGES, "04b_what_if"))}
    assert expected <= set(pages)
    assert sum(name.startswith("notebooks/05_region_report_") for name in pages) == SHAPE.n_regions
    raw = {name: RAW_WARNING.findall(page) for name, page in pages.items() if RAW_WARNING.search(page)}
    assert not raw, f"raw warning text on {sorted(raw)[:5]}: {list(raw.values())[:2]}"
    streams = {name for name in pages if name.endswith(".ipynb") for o in _outputs(
        nbformat.read(runs["first"] / "reports" / name, as_version=4)) if o.get("name") == "stderr"}
    assert not streams, f"stderr output on {sorted(streams)}"


def test_the_warnings_are_a_list_of_notes_on_the_stage_pages(runs):
    pages = _rendered(runs["first"])
    sentence = "Indikator spbe_index hanya memiliki satu nilai"
    for name in ("html/02_readiness_index.html", "html/04_rank_and_select.html", "notebooks/04b_what_if.ipynb"):
        listed = re.search(r'<ul class="sc-stage-notes">(.*?)</ul>', pages[name], re.S)
        assert listed, f"{name}: no list of notes"
        items = re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)
        assert any(sentence in item and "The indicator spbe_index" in item for item in items), name
    assert "sc-stage-notes" in pages["html/03_readiness_profiles.html"]  # its own notes, in the same list
    for name in ("html/06_round_summary.html", "index.html"):  # the reports list every note of the round
        assert sentence in pages[name], name


def _comparable(work: Path) -> dict[str, str]:
    """The pages with what legitimately differs between two runs written as the same: the run's folder."""
    return {name: page.replace(str(work), "<work>") for name, page in _rendered(work).items()}


def test_two_identical_runs_give_identical_pages(runs):
    first, second = _comparable(runs["first"]), _comparable(runs["second"])
    assert sorted(first) == sorted(second)
    differ = sorted(name for name in first if first[name] != second[name])
    assert not differ, f"pages differ between identical runs: {differ[:5]}"
    html = {p.relative_to(runs["first"]).as_posix() for p in (runs["first"] / "reports").rglob("*.html")}
    for name in sorted(html):  # the HTML pages byte for byte, beyond the run's folder
        data = [(runs[run] / name).read_bytes().replace(str(runs[run]).encode(), b"<work>") for run in runs]
        assert data[0] == data[1], name
    manifests = [json.loads((runs[run] / "reports" / "manifest.json").read_text(encoding="utf-8")) for run in runs]
    assert [m["failures"] for m in manifests] == [[], []]
