"""Stages 03 and 04 of a run at the same time: the waves, the run's outcome, and the notes both write."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_notebook

from smartcity_analysis import notes, outputs, paths
from smartcity_analysis.reports.runner import (
    CONCURRENT_STAGES,
    REPORT_NOTEBOOK,
    STAGE_NOTEBOOKS,
    SUMMARY_NOTEBOOK,
    run_round,
    stage_waves,
)
from smartcity_analysis.synthetic.processed import write_synthetic_processed

STAGES = [Path(name) for name in (*STAGE_NOTEBOOKS, SUMMARY_NOTEBOOK)]
# Each of the two concurrent stubs marks that it started and waits for the other's mark: run one after the
# other, the first would wait for a stage that has not started, and fail after WAIT_SECONDS.
WAIT_SECONDS = 120
WAIT_FOR = """
import pathlib, time
from smartcity_analysis.notes import Note, write_notes
here = pathlib.Path(processed_dir)
(here / "{me}.started").write_text("started", encoding="utf-8")
deadline = time.monotonic() + {wait}
while not (here / "{other}.started").exists():
    if time.monotonic() > deadline:
        raise RuntimeError("stage {other} did not run beside stage {me}")
    time.sleep(0.05)
for i in range(20):  # both stages rewrite run_notes.csv while the other does too
    mine = [Note("{stage}", "check_{{}}".format(j), "skipped", "test", "id", "en") for j in range(i + 1)]
    write_notes(here, "{stage}", mine)
{fail}
"""


def _stub(path: Path, parameters: dict, body: str = "print('stub stage ran')") -> None:
    source = "\n".join(f"{name} = {value!r}  # stub parameter" for name, value in parameters.items())
    nb = new_notebook(cells=[new_code_cell(source, metadata={"tags": ["parameters"]}), new_code_cell(body)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(path))


def _round(tmp_path: Path, fail_profiles: bool = False) -> tuple[Path, Path, Path, list[str]]:
    processed = tmp_path / "processed"
    codes = write_synthetic_processed(processed, n_regions=6)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _stub(notebooks / STAGE_NOTEBOOKS[0], {"processed_dir": "", "submissions_dir": ""})
    _stub(notebooks / STAGE_NOTEBOOKS[1], {"processed_dir": ""})
    pairs = {"03_readiness_profiles": "04_rank_and_select", "04_rank_and_select": "03_readiness_profiles"}
    for me, other in pairs.items():
        fail = "raise ValueError('profiles broke')" if fail_profiles and me.startswith("03") else ""
        _stub(notebooks / f"{me}.ipynb", {"processed_dir": ""},
              WAIT_FOR.format(me=me[:2], other=other[:2], wait=WAIT_SECONDS, stage=me, fail=fail))
    for name in (REPORT_NOTEBOOK, SUMMARY_NOTEBOOK):
        shutil.copy(paths.NOTEBOOKS_DIR / name, notebooks / name)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "a.csv").write_text("region_code\n3273\n", encoding="utf-8")
    return submissions, processed, notebooks, codes


def test_waves_group_only_adjacent_concurrent_stages():
    waves = stage_waves(STAGES)
    assert [[p.stem[:2] for p in wave] for wave in waves] == [["01"], ["02"], ["03", "04"], ["06"]]
    assert [p for wave in waves for p in wave] == STAGES
    assert all(len(wave) == 1 for wave in stage_waves(STAGES, concurrent=frozenset()))
    apart = [STAGES[2], STAGES[1], STAGES[3]]  # 03 and 04 with another stage between them: never together
    assert [len(w) for w in stage_waves(apart)] == [1, 1, 1]
    assert CONCURRENT_STAGES == {"03_readiness_profiles.ipynb", "04_rank_and_select.ipynb"}


def test_profiles_and_ranking_run_at_the_same_time_and_keep_each_others_notes(tmp_path):
    submissions, processed, notebooks, codes = _round(tmp_path)
    result = run_round(submissions, processed, tmp_path / "reports", workers=1, quota=3, language="en",
                       notebooks_dir=notebooks, progress=False)
    assert result.exit_code == 0, result.failures
    assert result.rendered == tuple(codes)
    assert set(result.timings) >= {"03_readiness_profiles", "04_rank_and_select", "06_round_summary"}
    written = notes.read_notes(processed)
    counts = written.groupby("stage").size().to_dict()
    assert counts == {"03_readiness_profiles": 20, "04_rank_and_select": 20}  # each stage's last write, whole
    assert list(written["stage"]) == sorted(written["stage"])  # stage order, whichever wrote last


def test_a_failed_concurrent_stage_ends_the_run_after_its_wave(tmp_path):
    submissions, processed, notebooks, _ = _round(tmp_path, fail_profiles=True)
    reports = tmp_path / "reports"
    result = run_round(submissions, processed, reports, workers=1, quota=3, language="en",
                       notebooks_dir=notebooks, progress=False)
    assert result.exit_code == 1
    assert [(f.item, "profiles broke" in f.message) for f in result.failures] == [("03_readiness_profiles", True)]
    assert (reports / "notebooks" / "04_rank_and_select.ipynb").exists()  # its partner still ran to its end
    assert not (reports / "notebooks" / SUMMARY_NOTEBOOK).exists() and result.rendered == ()
    assert "06_round_summary" not in result.timings


def test_folder_lock_holds_a_writer_until_released(tmp_path):
    assert outputs.FOLDER_LOCKS  # the project runs on Linux; elsewhere stages run one at a time
    written = threading.Event()

    def write():
        note = notes.Note("04_rank_and_select", "x", "skipped", "test", "id", "en")
        notes.write_notes(tmp_path, "04_rank_and_select", [note])
        written.set()

    with outputs.folder_lock(tmp_path):
        writer = threading.Thread(target=write)
        writer.start()
        assert not written.wait(0.5)  # blocked on the lock
        assert not (tmp_path / notes.NOTES_FILE).exists()
    writer.join(30)
    assert written.is_set()
    assert list(pd.read_csv(tmp_path / notes.NOTES_FILE)["analysis"]) == ["x"]


def _imported(module: str) -> bool:
    import sys

    return module in sys.modules


def test_report_workers_warmed_during_the_stages_are_the_ones_the_reports_use():
    import joblib
    from joblib.externals.loky import get_reusable_executor

    from smartcity_analysis.reports.runner import warm_report_workers

    get_reusable_executor().shutdown(wait=True)  # no worker left by an earlier test: only the warm-up imports
    thread = warm_report_workers(2)
    assert thread is not None
    thread.join(120)
    assert not thread.is_alive()
    # loky keeps its workers between calls: the next Parallel of the same size runs in the warmed processes,
    # which already imported the report stack (nbconvert's exporter included).
    seen = joblib.Parallel(n_jobs=2)(joblib.delayed(_imported)("smartcity_analysis.reports.html") for _ in range(8))
    assert all(seen)
    with joblib.parallel_config(backend="threading"):
        assert warm_report_workers(2) is None  # another backend starts its own workers; nothing is warmed


def test_the_summary_does_not_hold_the_region_reports_back(tmp_path):
    submissions, processed, notebooks, codes = _round(tmp_path)
    reports = tmp_path / "reports"
    # A summary that finishes only once a region's page exists: run before the reports, it would fail.
    _stub(notebooks / SUMMARY_NOTEBOOK, {"processed_dir": "", "language": "id"}, f"""
import pathlib, time
page = pathlib.Path({str(reports / "html" / f"{codes[0]}.html")!r})
deadline = time.monotonic() + {WAIT_SECONDS}
while not page.exists():
    if time.monotonic() > deadline:
        raise RuntimeError("no region report while the summary ran")
    time.sleep(0.05)
""")
    result = run_round(submissions, processed, reports, workers=1, quota=3, language="en",
                       notebooks_dir=notebooks, progress=False)
    assert result.exit_code == 0, result.failures
    assert result.rendered == tuple(codes)
    assert (reports / "notebooks" / SUMMARY_NOTEBOOK).exists() and "06_round_summary" in result.timings
