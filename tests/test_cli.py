"""The `smartcity` command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smartcity_analysis.cli import main
from smartcity_analysis.paths import SAMPLE_SUBMISSIONS_DIR


def test_clean_command_writes_the_contract_and_reports_the_counts(tmp_path, capsys):
    assert main(["clean", "--submissions", str(SAMPLE_SUBMISSIONS_DIR), "--processed", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "cleaning_summary.json").read_text())
    printed = capsys.readouterr().out
    assert f"{summary['rows_accepted']} accepted" in printed
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_superseded"] + summary["rows_quarantined"]


def test_sample_command_writes_a_round(tmp_path):
    out = tmp_path / "round"
    assert main(["sample", "--seed", "7", "--out", str(out)]) == 0
    suffixes = {p.suffix for p in out.iterdir()}
    assert suffixes == {".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"}  # the formats regional offices send


def test_unknown_language_is_refused_before_anything_runs():
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--language", "fr"])
    assert exit_info.value.code == 2


def test_console_script_is_installed_and_lists_the_commands():
    script = Path(sys.executable).parent / "smartcity"
    assert script.is_file(), "pyproject's [project.scripts] entry is not installed"
    completed = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "clean" in completed.stdout and "run" in completed.stdout


@pytest.mark.parametrize("command", ["clean", "run"])
def test_a_missing_submissions_folder_is_one_clear_line_and_status_2(command, tmp_path, capsys):
    missing = tmp_path / "no-such-round"
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--submissions", str(missing), "--processed", str(tmp_path / "p")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"smartcity {command}: submissions folder not found: {missing}" in error
    assert "Traceback" not in error


def test_run_prints_each_failure_and_exits_1(tmp_path, capsys, monkeypatch):
    from smartcity_analysis.reports import runner
    from smartcity_analysis.reports.kernels import StageKernels

    def fake_run_round(submissions, processed, reports, **kwargs):
        # The command starts the first stage's kernel before it imports the runner, and hands it over.
        assert isinstance(kwargs["stage_kernels"], StageKernels) and kwargs["stage_kernels"]._pending is not None
        return runner.RunResult(Path(reports), Path(reports) / "index.html", Path(reports) / "manifest.json",
                                ("3273",), (runner.Failure("3204", "05_region_report", "KeyError: 'hdi'"),))

    monkeypatch.setattr(runner, "run_round", fake_run_round)
    status = main(["run", "--reports", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == 1
    assert "failed: 05_region_report 3204: KeyError: 'hdi'" in captured.err
    assert "1 region report(s)" in captured.out
