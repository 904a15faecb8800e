import hashlib
import html as html_lib
import json
import os
import re
import shutil
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from smartcity_analysis import paths
from smartcity_analysis.reports.runner import (
    REPORT_NOTEBOOK,
    STAGE_NOTEBOOKS,
    SUMMARY_NOTEBOOK,
    WarmKernel,
    check_parameters,
    execute_stage,
    render_region,
    render_reports,
    run_round,
)
from smartcity_analysis.synthetic.processed import write_synthetic_processed

REPORT = paths.NOTEBOOKS_DIR / REPORT_NOTEBOOK
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    return folder, write_synthetic_processed(folder, n_regions=6)


@pytest.fixture(scope="module")
def rendered(processed, tmp_path_factory):
    folder, codes = processed
    reports = tmp_path_factory.mktemp("reports")
    batch = render_reports(folder, reports, [*codes, "12ab", "9999"], workers=2, language="id", progress=False)
    return reports, codes, batch


def _stub_stage(path, parameters):
    source = "\n".join(f"{name} = {value!r}  # stub parameter" for name, value in parameters.items())
    cell = new_code_cell(source, metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[cell, new_code_cell("print('stub stage ran')")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(path))


def test_undeclared_parameter_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="regoin_code"):
        check_parameters(REPORT, {"region_code": "3273", "regoin_code": "3273"})
    stub = tmp_path / "stage.ipynb"
    _stub_stage(stub, {"processed_dir": ""})
    with pytest.raises(ValueError, match="quota"):
        execute_stage(stub, tmp_path / "out.ipynb", {"processed_dir": "x", "quota": 50})
    assert not (tmp_path / "out.ipynb").exists()


def test_a_stage_whose_kernel_died_while_starting_runs_on_a_new_one(tmp_path):
    from smartcity_analysis.reports.kernels import start_stage_kernel, stop_stage_kernel

    stub = tmp_path / "stage.ipynb"
    _stub_stage(stub, {"processed_dir": ""})
    km = start_stage_kernel(tmp_path)
    km.provisioner.process.kill()  # as a kernel whose port another process took exits before it replies
    try:
        executed = execute_stage(stub, tmp_path / "out.ipynb", {"processed_dir": "x"}, km=km)
    finally:
        stop_stage_kernel(km)
    assert executed.cells[-1].outputs[0]["text"] == "stub stage ran\n"
    assert nbformat.read(str(tmp_path / "out.ipynb"), as_version=4).cells[-1].outputs[0]["text"] == "stub stage ran\n"


def test_report_notebook_declares_its_parameters_with_literal_defaults():
    nb = nbformat.read(str(REPORT), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert cell.source.splitlines() == [
        'region_code = "3273"  # 4-digit Kemendagri code',
        'language = "id"  # "id" or "en"',
        'processed_dir = ""  # empty: the project\'s data/processed',
        'framework_file = ""  # the framework file; empty: config/framework.yaml of the project',
    ]
    assert "sklearn" not in "".join(c.source for c in nb.cells)


def test_reports_render_in_parallel_and_failures_do_not_stop_the_others(rendered):
    reports, codes, batch = rendered
    assert batch.rendered == tuple(codes)
    assert [f.item for f in batch.failures] == ["'12ab'", "9999"]
    assert "4 digits" in batch.failures[0].message
    assert "9999 is not in submissions_clean.csv" in batch.failures[1].message
    assert sorted(p.name for p in (reports / "html").iterdir()) == [f"{c}.html" for c in codes]
    assert not list(reports.rglob("*12ab*"))
    assert (reports / "notebooks" / "05_region_report_9999.ipynb").exists()  # kept to see what failed


def test_pages_are_self_contained_and_show_no_code(rendered):
    reports, codes, _ = rendered
    for code in codes:
        html = (reports / "html" / f"{code}.html").read_text(encoding="utf-8")
        assert "<script" not in html.lower()
        assert not EXTERNAL.search(html)
        assert "Content-Security-Policy" in html
        assert "report_context(" not in html and "import " not in html
        assert "data:image/svg+xml" in html  # the chart, embedded


def test_reruns_give_identical_files(rendered, processed, tmp_path):
    reports, codes, _ = rendered
    folder, _ = processed
    render_reports(folder, tmp_path, codes, workers=2, language="id", chunk_size=2, progress=False)
    for sub, pattern in (("html", "*.html"), ("notebooks", "*.ipynb")):
        first = sorted((reports / sub).glob(pattern))
        second = sorted((tmp_path / sub).glob(pattern))
        assert [p.name for p in first if "9999" not in p.name] == [p.name for p in second]
        for a, b in zip([p for p in first if "9999" not in p.name], second, strict=True):
            assert a.read_bytes() == b.read_bytes(), a.name


def test_nothing_leaks_between_regions_in_a_warm_kernel(processed):
    from papermill.iorw import load_notebook_node

    from smartcity_analysis.reports.html import make_exporter

    folder, codes = processed
    template, exporter, kernel = load_notebook_node(str(REPORT)), make_exporter(), WarmKernel(REPORT.parent)
    pages = []
    with kernel.client.setup_kernel(cwd=kernel.cwd):
        for code, language in ((codes[0], "id"), (codes[1], "en"), (codes[0], "id")):
            _, html, error = render_region(kernel, template, exporter, code, language, str(folder))
            assert error is None
            pages.append(html.encode("utf-8"))
    assert pages[0] == pages[2]
    assert pages[0] != pages[1]


def test_run_round_end_to_end_with_stub_stages(processed, tmp_path, capfd):
    folder, codes = processed
    work = tmp_path / "processed"
    shutil.copytree(folder, work)
    with (work / "submissions_clean.csv").open("a", encoding="utf-8") as handle:
        handle.write("9999,Kota Hantu,Kota,Nowhere,2021,Kelas A,,x.csv,2" + "," * 29 + "\n")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in STAGE_NOTEBOOKS:
        _stub_stage(notebooks / name, {"processed_dir": "", "submissions_dir": ""} if name.startswith("01")
                    else {"processed_dir": "", "quota": 50})
    for name in (REPORT_NOTEBOOK, SUMMARY_NOTEBOOK):
        shutil.copy(paths.NOTEBOOKS_DIR / name, notebooks / name)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "a.csv").write_text("region_code\n3273\n", encoding="utf-8")
    result = run_round(submissions, work, tmp_path / "reports", workers=2, quota=3, language="en",
                       notebooks_dir=notebooks, progress=True)
    terminal = capfd.readouterr()  # file descriptors: what the kernels print reaches the terminal through them
    assert "Kernel is running over TCP" not in terminal.err + terminal.out
    assert "04_rank_and_select" in terminal.err and "stages: 100%" in terminal.err  # the stage bar names each
    assert "region reports: 100%" in terminal.err
    assert result.exit_code == 1
    assert [f.item for f in result.failures] == ["9999"]
    assert result.rendered == tuple(codes)
    index = result.index_path.read_text(encoding="utf-8")
    assert f'href="html/{codes[0]}.html"' in index and 'href="html/06_round_summary.html"' in index
    assert "Kota Hantu" not in index or "report failed" in index
    html = result.reports_dir / "html"
    for name in (*STAGE_NOTEBOOKS, SUMMARY_NOTEBOOK):
        assert (html / name.replace(".ipynb", ".html")).exists()
        assert (result.reports_dir / "notebooks" / name).exists()
    assert "No evidence that the classes" in (html / "06_round_summary.html").read_text(encoding="utf-8")
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    expected = hashlib.sha256((submissions / "a.csv").read_bytes()).hexdigest()
    assert manifest["inputs"]["submissions"] == {"a.csv": expected}
    assert manifest["parameters"]["quota"] == 3 and manifest["parameters"]["language"] == "en"
    assert manifest["versions"]["pandas"] and manifest["failures"][0]["item"] == "9999"
    assert set(manifest["timings_seconds"]) == {"stages", "regions"}


def test_invalid_language_is_refused(processed, tmp_path):
    folder, codes = processed
    with pytest.raises(ValueError, match="language"):
        render_reports(folder, tmp_path, codes, workers=1, language="fr", progress=False)


# --- One language per page ----------------------------------------------------------------------------------
HEADINGS = {
    "id": ("Laporan kesiapan smart city", "Indeks, peringkat dan seleksi", "Profil kesiapan", "Aspek dan dimensi",
           "Kekuatan dan kelemahan", "Rekomendasi", "Catatan data", "Catatan wilayah",
           "Kembali ke daftar wilayah"),
    "en": ("Smart-city readiness report", "Index, rank and selection", "Readiness profile",
           "Aspects and dimensions", "Strengths and weaknesses", "Recommendations", "Data notes",
           "The region's notes", "Back to the list of regions"),
}
# Common words of the other language; none may appear in a page's own text (the region's notes, quoted as
# typed, are left out of the check).
FOREIGN_WORDS = {
    "id": re.compile(r"\b(the|and|of|is|with|not|from|regions?|no description)\b", re.I),
    "en": re.compile(r"\b(dan|yang|dari|adalah|dengan|tidak|wilayah|pada|untuk|kembali)\b", re.I),
}


def _visible_text(page):
    page = re.sub(r"<(blockquote|style)\b.*?</\1>", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture(scope="module")
def rendered_en(processed, tmp_path_factory):
    folder, codes = processed
    reports = tmp_path_factory.mktemp("reports_en")
    batch = render_reports(folder, reports, codes[:3], workers=1, language="en", progress=False)
    assert not batch.failures
    return reports, codes[:3]


@pytest.mark.parametrize("language", ["id", "en"])
def test_each_page_is_in_one_language(rendered, rendered_en, processed, language):
    reports, codes = (rendered[0], rendered[1]) if language == "id" else rendered_en
    other = "en" if language == "id" else "id"
    for code in codes:
        page = (reports / "html" / f"{code}.html").read_text(encoding="utf-8")
        assert f'<html lang="{language}">' in page
        for heading in HEADINGS[language]:
            assert heading in page, (code, heading)
        for heading in HEADINGS[other]:
            assert heading not in page, (code, heading)
        assert not FOREIGN_WORDS[language].findall(_visible_text(page)), code
        assert "Region report (notebook 05)" not in page  # the notebook's English note is not on the page
    nb = nbformat.read(str(reports / "notebooks" / f"05_region_report_{codes[0]}.ipynb"), as_version=4)
    assert "remove_cell" in nb.cells[0].metadata.get("tags", [])  # ... but stays in the notebook
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("language", ["id", "en"])
def test_index_page_follows_the_language(processed, tmp_path, language):
    from smartcity_analysis.reports.runner import write_index

    folder, codes = processed
    stages = [SUMMARY_NOTEBOOK, "02_readiness_index.ipynb"]
    page = write_index(tmp_path, folder, codes, language, stages=stages).read_text(encoding="utf-8")
    own, other = (("Peringkat", "Terpilih", "Ringkasan eksekutif", "02 · Indeks kesiapan"),
                  ("Rank", "Selected", "Executive summary", "02 · The readiness index"))
    if language == "en":
        own, other = other, own
    assert f'<html lang="{language}">' in page
    assert all(word in page for word in own) and not any(word in page for word in other)
    assert not FOREIGN_WORDS[language].findall(_visible_text(page))


def test_page_title_is_the_region_name(rendered):
    reports, codes, _ = rendered
    page = (reports / "html" / f"{codes[0]}.html").read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert title.endswith(f"({codes[0]})") and title != f"({codes[0]})"
    assert f"<h1>{title.rsplit(' (', 1)[0]}</h1>" in page


def test_rendering_leaves_the_template_untouched(processed):
    from papermill.iorw import load_notebook_node

    from smartcity_analysis.reports.html import make_exporter

    folder, codes = processed
    template, exporter, kernel = load_notebook_node(str(REPORT)), make_exporter(), WarmKernel(REPORT.parent)
    before = nbformat.writes(template)
    with kernel.client.setup_kernel(cwd=kernel.cwd):
        first, _, _ = render_region(kernel, template, exporter, codes[0], "id", str(folder))
        second, _, _ = render_region(kernel, template, exporter, codes[1], "id", str(folder))
    assert nbformat.writes(template) == before  # papermill parameterises in place: the runner copies first
    assert codes[0] in first.cells[3].source and codes[1] not in first.cells[3].source
    assert codes[1] in second.cells[3].source


class _RecordingBar:
    def __init__(self, total):
        self.total, self.n, self.updates = total, 0, []

    def update(self, k):
        self.n += k
        self.updates.append(k)


def test_progress_moves_per_region_while_a_chunk_is_still_running(tmp_path, monkeypatch):
    from smartcity_analysis.reports import runner

    monkeypatch.setattr(runner, "PROGRESS_POLL_SECONDS", 0.01)
    paths = [tmp_path / f"05_region_report_{code}.ipynb" for code in ("3273", "3204", "3578")]
    paths[2].write_text("{}")
    os.utime(paths[2], (0, 0))  # a notebook left by an earlier run does not count as done
    bar = _RecordingBar(total=3)
    with runner._ProgressWatch(paths, bar):
        for path in paths[:2]:
            path.write_text("{}")
        deadline = time.time() + 5
        while bar.n < 2 and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        assert bar.n == 2  # two of three regions done while the chunk still runs; the stale one not counted
    assert bar.n == bar.total == 3
