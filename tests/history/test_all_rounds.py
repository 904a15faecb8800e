"""Several rounds in one run, then their history: every round's pages, the history page, the landing page."""

import shutil

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from smartcity_analysis import paths
from smartcity_analysis.reports.all_rounds import HISTORY_NOTEBOOK, bundled_rounds, run_rounds
from smartcity_analysis.reports.runner import REPORT_NOTEBOOK, STAGE_NOTEBOOKS, SUMMARY_NOTEBOOK
from tests.history.test_history import _round


def _stub_stage(path, parameters):
    """A stage that only declares its parameters: the processed folder is written by the test beforehand."""
    source = "\n".join(f"{name} = {value!r}  # stub parameter" for name, value in parameters.items())
    nb = new_notebook(cells=[new_code_cell(source, metadata={"tags": ["parameters"]})],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(path))


def _notebooks(folder):
    folder.mkdir()
    for name in STAGE_NOTEBOOKS:
        _stub_stage(folder / name, {"processed_dir": "", "submissions_dir": ""} if name.startswith("01")
                    else {"processed_dir": ""})
    for name in (SUMMARY_NOTEBOOK, HISTORY_NOTEBOOK):
        shutil.copy(paths.NOTEBOOKS_DIR / name, folder / name)
    report = nbformat.read(paths.NOTEBOOKS_DIR / REPORT_NOTEBOOK, as_version=4)
    report.cells.append(new_code_cell('display(HTML(render_sections(context, ["trajectory"])))'))
    nbformat.write(report, str(folder / REPORT_NOTEBOOK))
    return folder


def test_two_rounds_then_the_history(tmp_path):
    processed, reports = tmp_path / "processed", tmp_path / "reports"
    _round(processed / "2021", 2021, 6, seed=1)
    codes = _round(processed / "2022", 2022, 5, seed=2)
    submissions = []
    for year in (2021, 2022):
        folder = tmp_path / f"sample-{year}"
        folder.mkdir()
        (folder / "a.csv").write_text("region_code\n3273\n", encoding="utf-8")
        submissions.append((year, folder))
    assert bundled_rounds(tmp_path) == tuple(submissions)
    result = run_rounds(submissions, processed, reports, workers=1, quota=3, language="id",
                        notebooks_dir=_notebooks(tmp_path / "notebooks"), progress=False)
    assert result.exit_code == 0, result.failures
    assert (processed / "2022" / "history.csv").is_file() and not (processed / "2021" / "history.csv").exists()
    landing = result.index_path.read_text(encoding="utf-8")
    assert 'href="2021/index.html"' in landing and 'href="2022/index.html"' in landing
    assert 'href="html/07_history.html"' in landing and result.history_page.is_file()
    both = sorted(set(codes) & {"1101", "9671"})
    page = (reports / "2022" / "html" / f"{both[0]}.html").read_text(encoding="utf-8")
    assert "Pada 2021 peringkat" in page  # rendered again after the history: the earlier standing shows
    earlier = (reports / "2021" / "html" / f"{both[0]}.html").read_text(encoding="utf-8")
    assert "Riwayat putaran sebelumnya tidak tersedia" in earlier
