"""The `smartcity` command."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from smartcity_analysis.cli import _parser, main
from smartcity_analysis.paths import FRAMEWORK_FILE, RAW_DIR, SAMPLE_SUBMISSIONS_DIR

BUNDLED_LIST = RAW_DIR / "submissions" / "invitations-2021.csv"


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
        assert kwargs["invitations_file"] == BUNDLED_LIST.resolve()  # passed on to stage 01
        return runner.RunResult(Path(reports), Path(reports) / "index.html", Path(reports) / "manifest.json",
                                ("3273",), (runner.Failure("3204", "05_region_report", "KeyError: 'hdi'"),))

    monkeypatch.setattr(runner, "run_round", fake_run_round)
    status = main(["run", "--reports", str(tmp_path), "--invitations", str(BUNDLED_LIST)])
    captured = capsys.readouterr()
    assert status == 1
    assert "failed: 05_region_report 3204: KeyError: 'hdi'" in captured.err
    assert "1 region report(s)" in captured.out


@pytest.mark.parametrize("command", ["clean", "run"])
def test_invitations_option_names_a_file_and_defaults_to_none(command):
    assert _parser().parse_args([command]).invitations is None
    assert _parser().parse_args([command, "--invitations", "lists/daftar.xlsx"]).invitations == Path(
        "lists/daftar.xlsx")


@pytest.mark.parametrize("command", ["clean", "run"])
def test_a_named_invitation_list_that_is_not_there_is_one_clear_line_and_status_2(command, tmp_path, capsys):
    missing = tmp_path / "daftar.csv"
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--submissions", str(SAMPLE_SUBMISSIONS_DIR), "--processed", str(tmp_path / "p"),
              "--invitations", str(missing)])
    assert exit_info.value.code == 2
    assert f"smartcity {command}: invitation list not found: {missing}" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()  # refused before anything ran


def test_invitations_cannot_name_one_list_for_all_rounds(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--all-rounds", "--invitations", str(BUNDLED_LIST)])
    assert exit_info.value.code == 2
    assert "--invitations" in capsys.readouterr().err


@pytest.fixture(scope="module")
def sample_cleaned(tmp_path_factory):
    """``smartcity clean`` on the bundled round, in its own folder ``sample-2021``."""
    processed = tmp_path_factory.mktemp("sample_2021")
    assert main(["clean", "--submissions", str(SAMPLE_SUBMISSIONS_DIR), "--processed", str(processed)]) == 0
    return processed


def _renamed_round(tmp_path, with_list):
    folder = tmp_path / "putaran-terbaru"
    shutil.copytree(SAMPLE_SUBMISSIONS_DIR, folder)
    if with_list:
        shutil.copy(BUNDLED_LIST, tmp_path / BUNDLED_LIST.name)
    return folder


def test_a_folder_without_a_year_in_its_name_runs_like_sample_2021(sample_cleaned, tmp_path, capsys):
    folder = _renamed_round(tmp_path, with_list=True)
    capsys.readouterr()
    assert main(["clean", "--submissions", str(folder), "--processed", str(tmp_path / "p")]) == 0
    assert "invitation list invitations-2021.csv: 150 invited, 88 took part" in capsys.readouterr().out
    summary = json.loads((tmp_path / "p" / "cleaning_summary.json").read_text(encoding="utf-8"))
    assert summary["round_year"] == {"year": 2021, "found_from": "assessment_year"}
    for path in sorted(sample_cleaned.iterdir()):  # every file, the invitation list's included
        assert path.read_bytes() == (tmp_path / "p" / path.name).read_bytes(), path.name


def test_invitations_option_names_a_list_the_default_would_not_find(sample_cleaned, tmp_path, capsys):
    folder = _renamed_round(tmp_path, with_list=False)
    elsewhere = tmp_path / "lists" / "daftar undangan putaran terbaru.csv"
    elsewhere.parent.mkdir()
    shutil.copy(BUNDLED_LIST, elsewhere)
    assert main(["clean", "--submissions", str(folder), "--processed", str(tmp_path / "without")]) == 0
    assert "No invitation list was given" in capsys.readouterr().out
    assert not (tmp_path / "without" / "participation.csv").exists()
    assert main(["clean", "--submissions", str(folder), "--processed", str(tmp_path / "p"),
                 "--invitations", str(elsewhere)]) == 0
    assert "invitation list daftar undangan putaran terbaru.csv: 150 invited, 88 took part" in capsys.readouterr().out
    participation = pd.read_csv(tmp_path / "p" / "participation.csv", dtype=str)
    assert participation.equals(pd.read_csv(sample_cleaned / "participation.csv", dtype=str))


def test_without_an_assessment_year_the_submission_dates_find_the_list(tmp_path, capsys):
    folder = tmp_path / "putaran-terbaru"
    folder.mkdir()
    (folder / "a.csv").write_text("Kode Wilayah;Tanggal Pengisian;IPM\n3273;03/11/2021;72\n3204;04/11/2021;70\n",
                                  encoding="utf-8")
    (tmp_path / "invitations-2021.csv").write_text(
        "Kode Wilayah;Nama Kabupaten/Kota;Provinsi\n3273;Kota Bandung;Jawa Barat\n3204;Kab. Bandung;Jawa Barat\n",
        encoding="utf-8")
    assert main(["clean", "--submissions", str(folder), "--processed", str(tmp_path / "p")]) == 0
    assert "invitation list invitations-2021.csv: 2 invited, 0 took part, 2 absent" in capsys.readouterr().out
    participation = pd.read_csv(tmp_path / "p" / "participation.csv", dtype={"region_code": str})
    assert participation["quarantined_rows"].tolist() == [1, 1]  # no year: quarantined, and counted as absent


# --- The framework file -------------------------------------------------------------------------------------
BROKEN_FRAMEWORK_PROBLEMS = (
    "indicator 'hdi', key `aspect`: 'aspect_sumber_daya' is not an aggregate of the aspects view",
    "indicator 'apbd_per_capita_idr', key `weight`: -1 is not a positive number",
    "indicator 'ict_budget_share_pct', key `derive.numerator`: field 'ict_budget' is not in `fields`",
    "'readiness_index': aggregate 'median' is not known",
)


def _broken_framework(tmp_path):
    text = FRAMEWORK_FILE.read_text(encoding="utf-8")
    for old, new in (("aspect: aspect_struktur\n    dimension: dimension_society",
                      "aspect: aspect_sumber_daya\n    dimension: dimension_society"),
                     ("dimension: dimension_economy\n    direction: 1\n    weight: 1\n"
                      "    derive: {kind: ratio, numerator: apbd_total_idr",
                      "dimension: dimension_economy\n    direction: 1\n    weight: -1\n"
                      "    derive: {kind: ratio, numerator: apbd_total_idr"),
                     ("numerator: ict_budget_idr, denominator: apbd_total_idr", "numerator: ict_budget, "
                                                                                "denominator: apbd_total_idr"),
                     ("    label_id: Indeks Kesiapan Smart City", "    aggregate: median\n"
                                                                    "    label_id: Indeks Kesiapan Smart City")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "kerangka saya.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _folder_state(*folders):
    return {p: p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", [["clean"], ["run"], ["run", "--all-rounds"]])
def test_a_broken_framework_is_refused_with_every_problem_before_anything_is_written(command, tmp_path, capsys):
    processed, reports = tmp_path / "processed", tmp_path / "reports"
    for folder in (processed, reports):
        (folder / "notebooks").mkdir(parents=True)
        (folder / "sentinel.csv").write_text("region_code\n3273\n", encoding="utf-8")
        # A run removes what a killed run left: still there, the run did not start.
        (folder / "notebooks" / ".left-by-a-killed-run.tmp").write_text("partial", encoding="utf-8")
    before = _folder_state(processed, reports)
    folders = ["--processed", str(processed)] + (["--reports", str(reports)] if command[0] == "run" else [])
    with pytest.raises(SystemExit) as exit_info:
        main([*command, *folders, "--framework", str(_broken_framework(tmp_path))])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert f"smartcity {command[0]}: {tmp_path / 'kerangka saya.yaml'}: the framework file has" in error
    assert "nothing was written" in error
    for problem in BROKEN_FRAMEWORK_PROBLEMS:
        assert sum(line.startswith("- ") and problem in line for line in error.splitlines()) == 1, problem
    assert _folder_state(processed, reports) == before


@pytest.mark.parametrize("command", ["clean", "run"])
def test_a_framework_file_that_is_not_there_is_one_clear_line_and_status_2(command, tmp_path, capsys):
    missing = tmp_path / "kerangka.yaml"
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--processed", str(tmp_path / "p"), "--framework", str(missing)])
    assert exit_info.value.code == 2
    assert f"smartcity {command}: framework file not found: {missing}" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("command", ["clean", "run"])
def test_framework_option_defaults_to_the_bundled_file(command):
    assert _parser().parse_args([command]).framework == FRAMEWORK_FILE
    assert _parser().parse_args([command, "--framework", "mine.yaml"]).framework == Path("mine.yaml")


def test_run_passes_the_framework_file_on_as_an_absolute_path(tmp_path, monkeypatch):
    from smartcity_analysis.reports import runner

    mine = tmp_path / "mine.yaml"
    shutil.copy(FRAMEWORK_FILE, mine)
    passed = {}

    def fake_run_round(submissions, processed, reports, **kwargs):
        passed.update(kwargs)
        return runner.RunResult(Path(reports), None, Path(reports) / "manifest.json", (), ())

    monkeypatch.setattr(runner, "run_round", fake_run_round)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--reports", str(tmp_path / "r"), "--quiet", "--framework", "mine.yaml"]) == 0
    assert passed["framework_file"] == mine


def test_clean_reads_the_template_of_the_named_framework(sample_cleaned, tmp_path):
    # The analyst's template labels the IPM field otherwise: the sample's "IPM" headers are then unknown columns.
    mine = tmp_path / "mine.yaml"
    old = "  - id: hdi\n    label_id: IPM\n    label_en: Human Development Index (IPM)\n"
    text = FRAMEWORK_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    mine.write_text(text.replace(old, "  - id: hdi\n    label_id: Skor IPM BPS\n    label_en: BPS HDI score\n"),
                    encoding="utf-8")
    assert main(["clean", "--submissions", str(SAMPLE_SUBMISSIONS_DIR), "--processed", str(tmp_path / "p"),
                 "--framework", str(mine)]) == 0

    def unknown_ipm(folder):
        summary = json.loads((folder / "cleaning_summary.json").read_text(encoding="utf-8"))
        return [c for c in summary["unknown_columns"] if c["column"].lower() == "ipm"]

    assert unknown_ipm(sample_cleaned) == []
    assert len(unknown_ipm(tmp_path / "p")) > 10
