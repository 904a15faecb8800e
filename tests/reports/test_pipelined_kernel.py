"""The warm kernel sends a region's cells without waiting, and the pages skip nbconvert's second pass.

Both must change nothing: the notebooks are those of nbclient's cell-by-cell execution, a failing cell fails its
region with the same message and the cells after it do not run, a dead kernel is replaced, a cell that runs too
long times out; and the pages are byte for byte those of nbconvert's exporter.
"""

from collections import deque

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from papermill.iorw import load_notebook_node

from smartcity_analysis import paths
from smartcity_analysis.reports.html import (
    PageExporter,
    make_exporter,
    normalise_notebook,
    notebook_to_html,
    soup_markup,
    template_markup,
)
from smartcity_analysis.reports.runner import (
    KERNEL_ARGUMENTS,
    REPORT_NOTEBOOK,
    WarmKernel,
    _short_error,
    page_title,
    parameterize_region,
    render_chunk,
    run_regions,
)
from smartcity_analysis.synthetic.processed import write_synthetic_processed

REPORT = paths.NOTEBOOKS_DIR / REPORT_NOTEBOOK
KERNELSPEC = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    return folder, write_synthetic_processed(folder, n_regions=4)


def _sequential(notebooks, cwd, timeout=600):
    """Execute ``notebooks`` as the runner did before, on one kernel: each a reset, then nbclient's
    ``execute_cell``, cell after cell."""
    client = NotebookClient(new_notebook(), kernel_name="python3", timeout=timeout, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}}, extra_arguments=list(KERNEL_ARGUMENTS))
    with client.setup_kernel(cwd=str(cwd)):
        for nb in notebooks:
            client.kc.execute(WarmKernel._RESET, silent=True, store_history=False)
            client.nb = nb
            client.reset_execution_trackers()
            count = 0
            for position, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    count += 1
                    client.execute_cell(cell, position, execution_count=count, store_history=False)
    return notebooks


def _parameterised_stub(cells, tmp_path):
    """A report-like notebook: a parameters cell, then ``cells``; written to ``tmp_path`` and read back."""
    parameters = new_code_cell('region_code = ""\nlanguage = ""\nprocessed_dir = ""',
                               metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[new_markdown_cell("# Stub report"), parameters, *cells], metadata=KERNELSPEC)
    path = tmp_path / "stub_report.ipynb"
    nbformat.write(nb, str(path))
    return path, load_notebook_node(str(path))


def _written(nb):
    return nbformat.writes(normalise_notebook(nb))


# --- Same notebooks as nbclient, cell after cell -----------------------------------------------------------
@pytest.mark.parametrize("language", ["id", "en"])
def test_report_notebooks_are_those_of_sequential_execution(processed, language):
    folder, codes = processed
    template = load_notebook_node(str(REPORT))
    kernel = WarmKernel(REPORT.parent)
    with kernel.client.setup_kernel(cwd=kernel.cwd):
        runs = [kernel.submit(parameterize_region(template, code, language, str(folder))) for code in codes[:3]]
        pipelined = [kernel.collect(run) for run in runs]  # three regions in flight at once
    expected = _sequential([parameterize_region(template, code, language, str(folder)) for code in codes[:3]],
                           REPORT.parent)
    for code, nb, sequential in zip(codes[:3], pipelined, expected, strict=True):
        assert _written(nb) == _written(sequential), code
        assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3, 4, 5]


def test_a_failing_cell_fails_as_before_and_the_cells_after_it_do_not_run(tmp_path):
    marker = tmp_path / "ran.txt"
    after = new_code_cell(f"open({str(marker)!r}, 'w').write('ran')", execution_count=7,
                          outputs=[new_output("stream", name="stdout", text="from the template\n")])
    cells = [new_code_cell("x = 1\nprint('before')"), new_code_cell("print('failing')\nraise ValueError('boom')"),
             after, new_code_cell("print('after')")]
    _, template = _parameterised_stub(cells, tmp_path)
    kernel = WarmKernel(tmp_path)
    nb = parameterize_region(template, "3273", "id", "")
    with kernel.client.setup_kernel(cwd=kernel.cwd), pytest.raises(CellExecutionError) as failure:
        kernel.execute(nb)
    expected = parameterize_region(template, "3273", "id", "")
    with pytest.raises(CellExecutionError) as sequential_failure:
        _sequential([expected], tmp_path)
    assert _short_error(failure.value) == _short_error(sequential_failure.value) == "ValueError: boom"
    assert not marker.exists()  # aborted by the kernel, as with stop_on_error
    assert _written(nb) == _written(expected)
    assert nb.cells[5].outputs[0]["text"] == "from the template\n" and nb.cells[5].execution_count == 7


def test_the_region_after_a_failure_runs_in_a_fresh_namespace(tmp_path):
    cells = [new_code_cell("import time\ntime.sleep(0.5 if region_code == '0002' else 0)"),
             new_code_cell("assert 'mark' not in globals(), 'the namespace leaked'\nmark = region_code"),
             new_code_cell("if region_code == '0002':\n    raise ValueError('boom ' + region_code)"),
             new_code_cell("print(region_code)")]
    _, template = _parameterised_stub(cells, tmp_path)
    kernel = WarmKernel(tmp_path)
    submitted = []
    submit = kernel.submit
    kernel.submit = lambda nb: submitted.append(nb.cells[2].source) or submit(nb)  # count what is sent
    with kernel.client.setup_kernel(cwd=kernel.cwd):
        done = list(run_regions(kernel, template, deque(["0001", "0002", "0003", "0004"]), "id", ""))
    assert [(code, error) for _, error, code, _ in done] == [
        ("0001", None), ("0002", "ValueError: boom 0002"), ("0003", None), ("0004", None)]
    for nb, _, code, _ in done[2:]:
        assert nb.cells[-1].outputs[0]["text"] == f"{code}\n"
    # 0003 was sent while 0002 still slept, so the kernel aborted its reset with 0002's cells: it is sent again
    assert sum("0003" in source for source in submitted) == 2


def test_a_dead_kernel_fails_its_region_and_a_new_one_takes_the_rest(tmp_path):
    cells = [new_code_cell("import os\nprint(os.getpid())"),
             new_code_cell("if region_code == '0002':\n    os._exit(1)")]
    path, _ = _parameterised_stub(cells, tmp_path)
    reports = tmp_path / "reports"
    for sub in ("notebooks", "html"):
        (reports / sub).mkdir(parents=True)
    done = render_chunk(str(path), "", str(reports), ["0001", "0002", "0003", "0004"], "id")
    assert sorted((code, error) for code, error, _ in done) == [
        ("0001", None), ("0002", "DeadKernelError: Kernel died"), ("0003", None), ("0004", None)]
    assert sorted(p.name for p in (reports / "html").iterdir()) == ["0001.html", "0003.html", "0004.html"]

    def pid(code):
        nb = nbformat.read(str(reports / "notebooks" / f"05_region_report_{code}.ipynb"), as_version=4)
        return nb.cells[3].outputs[0]["text"]

    assert pid("0001") != pid("0003") == pid("0004")


def _kernels_that_die_while_starting(monkeypatch, deaths):
    """Make the first ``deaths`` report kernels exit before they reply, as one whose port was taken does."""
    original = NotebookClient.start_new_kernel_client
    started = []

    def start(self):
        started.append(self.km.provisioner.process.pid)
        if len(started) <= deaths:
            self.km.provisioner.process.kill()
        return original(self)

    monkeypatch.setattr(NotebookClient, "start_new_kernel_client", start)
    return started


def test_a_kernel_that_dies_while_starting_is_replaced_by_one_that_starts(tmp_path, monkeypatch):
    path, _ = _parameterised_stub([new_code_cell("print(region_code)")], tmp_path)
    reports = tmp_path / "reports"
    for sub in ("notebooks", "html"):
        (reports / sub).mkdir(parents=True)
    started = _kernels_that_die_while_starting(monkeypatch, deaths=1)
    done = render_chunk(str(path), "", str(reports), ["0001", "0002"], "id")
    assert sorted((code, error) for code, error, _ in done) == [("0001", None), ("0002", None)]
    assert len(set(started)) == 2  # the dead kernel, then a new process
    assert sorted(p.name for p in (reports / "html").iterdir()) == ["0001.html", "0002.html"]


def test_a_kernel_that_never_starts_fails_its_regions_with_the_reason(tmp_path, monkeypatch):
    from smartcity_analysis.reports.runner import KERNEL_START_ATTEMPTS

    path, _ = _parameterised_stub([new_code_cell("print(region_code)")], tmp_path)
    reports = tmp_path / "reports"
    for sub in ("notebooks", "html"):
        (reports / sub).mkdir(parents=True)
    started = _kernels_that_die_while_starting(monkeypatch, deaths=KERNEL_START_ATTEMPTS)
    done = render_chunk(str(path), "", str(reports), ["0001", "0002"], "id")  # returns: the run goes on
    assert len(started) == KERNEL_START_ATTEMPTS
    assert [code for code, _, _ in done] == ["0001", "0002"]
    assert all(error.startswith(f"the report kernel did not start ({KERNEL_START_ATTEMPTS} attempts): ")
               for _, error, _ in done)
    assert not list((reports / "html").iterdir())


def test_a_cell_that_runs_too_long_times_out_as_before(tmp_path):
    cells = [new_code_cell("import time\ntime.sleep(3 if region_code == '0001' else 0)"),
             new_code_cell("print('after')")]
    _, template = _parameterised_stub(cells, tmp_path)
    kernel = WarmKernel(tmp_path, timeout=2)
    with kernel.client.setup_kernel(cwd=kernel.cwd):
        with pytest.raises(CellTimeoutError) as failure:
            kernel.execute(parameterize_region(template, "0001", "id", ""))
        nb = kernel.execute(parameterize_region(template, "0002", "id", ""))  # the kernel goes on after it
    with pytest.raises(CellTimeoutError) as sequential_failure:
        _sequential([parameterize_region(template, "0001", "id", "")], tmp_path, timeout=2)
    assert _short_error(failure.value) == _short_error(sequential_failure.value)
    assert nb.cells[-1].outputs[0]["text"] == "after\n"


# --- Same pages as nbconvert -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def executed_reports(processed):
    folder, codes = processed
    template = load_notebook_node(str(REPORT))
    kernel = WarmKernel(REPORT.parent)
    with kernel.client.setup_kernel(cwd=kernel.cwd):
        return [(code, language, normalise_notebook(kernel.execute(
            parameterize_region(template, code, language, str(folder)))))
            for language in ("id", "en") for code in codes]


def test_pages_are_nbconverts_byte_for_byte(executed_reports):
    lean, exporter = PageExporter(make_exporter()), make_exporter()
    for code, language, nb in executed_reports:
        title = page_title(nb, code, with_code=True)
        assert soup_markup(template_markup(exporter, nb)[0]) is not None  # the page takes the fast path
        assert notebook_to_html(nb, lean, title, language) == notebook_to_html(nb, exporter, title, language)
    assert lean.lean and lean.checked


def test_a_page_that_differs_from_nbconverts_turns_the_fast_path_off(executed_reports, monkeypatch):
    from smartcity_analysis.reports import html

    code, language, nb = executed_reports[0]
    exporter = make_exporter()
    monkeypatch.setattr(html, "soup_markup", lambda markup, tags=None: markup)  # not what nbconvert writes
    lean = PageExporter(exporter)
    assert lean.from_notebook_node(nb)[0] == exporter.from_notebook_node(nb)[0]
    assert not lean.lean


PLAIN = [
    '<div id="cell-id=cell-001" class="cell  border-box-sizing\ncode_cell rendered ">\n\n</div>',
    '<svg viewBox="0 0 10 10" role="img"><circle class="sc-dot" data-code="1101" cx="1" r="3.2"/>'
    '<circle cx="2"><title>Kota Bandung</title></circle></svg>',
    '<p>Kab. A &amp; B &lt;3 &gt; 2 &#39;x&#39; &#34;y&#34; &#x27;z&#x27; caf&eacute; 5&nbsp;%</p> \t ',
    '<img alt="A &quot;chart&quot; of Bob&#39;s" src="data:image/svg+xml;base64,PHN2Zz4=">'
    '<br><hr/><input disabled><td headers=" a  b ">x</td><a rel="x  y" href="#a">link</a>',
    '<P CLASS="A">Upper</P><span title="a &amp b">&#150;&#0;&#x1F600;</span>',
]
NOT_PLAIN = [
    "<script>var a = 1 < 2;</script>", "<style>p { color: red }</style>", "<!-- a comment -->",
    "<!DOCTYPE html><p>x</p>", "<p>unclosed", "<p>x</div>", "</p>", '<img src="x.png">', "a < b", "a & b",
    "<p>&unknownentity;</p>", "<pre>  kept  </pre>", '<div class="jp-Notebook"><div>x</div></div>',
    "<p a='single'>x</p>", "<p a=bare>x</p>", "<br></br>", "<title>A &amp; B</title>", "<title><b>x</b></title>",
    '<p a="1"b="2">x</p>', "<my-tag>x</my-tag>",
]


@pytest.mark.parametrize("markup", PLAIN)
def test_plain_markup_is_written_as_beautifulsoup_writes_it(markup):
    assert soup_markup(markup) == str(BeautifulSoup(markup, features="html.parser"))


@pytest.mark.parametrize("markup", NOT_PLAIN)
def test_other_markup_is_left_to_beautifulsoup(markup):
    assert soup_markup(markup) is None
