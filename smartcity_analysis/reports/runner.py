"""The one-command run: stage notebooks with papermill, then one report per region on warm kernels.

:func:`run_round` executes the stages 01-04 and the round summary 06 with papermill, then renders the report
notebook 05 for every accepted region with :func:`render_reports`, and writes under the reports folder
``notebooks/`` (every executed notebook), ``html/`` (self-contained pages), ``index.html`` and
``manifest.json``.

Region reports are fanned out with joblib in chunks; each chunk starts one kernel and reuses it for all its
regions, resetting the namespace (``%reset -f``) before each one. Starting a kernel and importing the stack
is most of the cost of a report, so this is several times faster than one kernel per region. Because the
fan-out goes through :class:`joblib.Parallel`, ``joblib.parallel_config(backend="dask")`` hands it to a
Dask cluster (see ``docs/runner.md``).
"""

from __future__ import annotations

import copy
import hashlib
import html as html_lib
import importlib.metadata
import math
import platform
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import nbformat
import pandas as pd
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbclient.util import run_sync
from tqdm.auto import tqdm

from smartcity_analysis import paths
from smartcity_analysis.outputs import remove_stale_temporaries, write_json, write_notebook, write_text
from smartcity_analysis.reports.language import normalise_region_code, validate_language

# The stage notebooks, in execution order (the what-if notebook 04b is interactive and not part of a run).
STAGE_NOTEBOOKS = (
    "01_clean_submissions.ipynb",
    "02_readiness_index.ipynb",
    "03_readiness_profiles.ipynb",
    "04_rank_and_select.ipynb",
)
SUMMARY_NOTEBOOK = "06_round_summary.ipynb"
REPORT_NOTEBOOK = "05_region_report.ipynb"
KERNEL_NAME = "python3"
# Kernels log at ERROR only: at WARNING, every kernel prints "Kernel is running over TCP without encryption" to
# the terminal of the run. The kernels listen on 127.0.0.1 only, which is what that warning is about; errors
# in cells still reach the executed notebooks and the run's failures.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)
# In a run, each stage notebook's kernel is started while the previous stage runs (StageKernels), and imports
# the stage's subpackage before the stage's first cell. The imports are the notebook's own, so no output
# changes; matplotlib's pyplot is left to the notebook, as importing it settles the inline backend.
STAGE_WARM_IMPORTS = {
    "01_clean_submissions": ("pandas", "smartcity_analysis.cleaning"),
    "02_readiness_index": ("pandas", "smartcity_analysis.index"),
    "03_readiness_profiles": ("pandas", "smartcity_analysis.profiles"),
    "04_rank_and_select": ("pandas", "smartcity_analysis.selection"),
    "06_round_summary": ("pandas", "smartcity_analysis.reports"),
}
CELL_TIMEOUT_SECONDS = 600
# At most this many regions share one kernel. A kernel start (the process, the imports, the first read of the
# round's files) costs 2-3 s of CPU on a busy 2-core machine, the price of 20-30 reports; with 260, a national
# round (514 regencies and cities) on two workers starts one kernel per worker, and on more workers the
# chunks still balance. The progress bar still moves per region: it watches the notebooks the chunks write.
MAX_CHUNK_SIZE = 260
PROGRESS_POLL_SECONDS = 0.25
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)
PACKAGES = ("smartcity-analysis", "pandas", "numpy", "matplotlib", "jinja2", "joblib", "papermill", "nbclient",
            "nbconvert", "nbformat", "ipykernel", "scikit-learn", "scipy")


@dataclass(frozen=True)
class Failure:
    """Something that could not be produced: a stage notebook or one region's report."""

    item: str
    stage: str
    message: str


@dataclass(frozen=True)
class ReportBatch:
    """The outcome of :func:`render_reports`."""

    rendered: tuple[str, ...]
    failures: tuple[Failure, ...]
    seconds: Mapping[str, float]


@dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`run_round`, with the paths of what it wrote.

    ``exit_code`` is 0 when everything was produced and 1 otherwise; ``failures`` says what is missing.
    """

    reports_dir: Path
    index_path: Path | None
    manifest_path: Path
    rendered: tuple[str, ...]
    failures: tuple[Failure, ...]
    timings: Mapping[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every stage and every report was produced."""
        return not self.failures

    @property
    def exit_code(self) -> int:
        """The process exit status for the command line: 0 on success, 1 when anything failed."""
        return 0 if self.ok else 1


# --- Parameters --------------------------------------------------------------------------------------------
def declared_parameters(notebook: str | Path) -> dict[str, dict[str, Any]]:
    """Return the parameters a notebook declares in its ``parameters`` cell (``papermill.inspect_notebook``)."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def check_parameters(notebook: str | Path, parameters: Mapping[str, Any],
                     declared: Mapping[str, Any] | None = None) -> None:
    """Raise ``ValueError`` if ``parameters`` holds a name the notebook does not declare.

    Papermill only warns about such a name and the notebook then silently runs on its default; here it is
    an error, because a misspelt parameter would otherwise produce a plausible but wrong report.
    """
    declared = declared if declared is not None else declared_parameters(notebook)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(f"{Path(notebook).name} does not declare the parameter(s) {unknown}; "
                         f"it declares {sorted(declared)}. Fix the name or add it to its parameters cell.")


def select_parameters(pool: Mapping[str, Any], declared: Iterable[str]) -> dict[str, Any]:
    """Return the entries of ``pool`` that a notebook declares, sorted by name."""
    names = set(declared)
    return {k: pool[k] for k in sorted(pool) if k in names}


def execute_stage(notebook: str | Path, output: str | Path, parameters: Mapping[str, Any],
                  cwd: str | Path | None = None, km: Any = None) -> nbformat.NotebookNode:
    """Execute one stage notebook with papermill and write it, normalised, to ``output``.

    Parameters
    ----------
    notebook : str or Path
        The stage notebook.
    output : str or Path
        Where to write the executed notebook.
    parameters : Mapping
        Parameters to inject; each must be declared by the notebook (see :func:`check_parameters`).
    cwd : str or Path, optional
        Working directory of the kernel; defaults to the notebook's folder.
    km : jupyter_client.AsyncKernelManager, optional
        A kernel already started for this notebook (:func:`start_stage_kernel`, with the same ``cwd``); the
        caller shuts it down. By default papermill starts one and shuts it down.

    Returns
    -------
    NotebookNode
        The executed, normalised notebook.

    Raises
    ------
    ValueError
        When a parameter is not declared.
    papermill.PapermillExecutionError
        When a cell fails (the partly executed notebook is still written to ``output``).
    """
    import papermill

    from smartcity_analysis.reports.html import normalise_notebook

    check_parameters(notebook, parameters)
    notebook = Path(notebook)
    try:
        executed = papermill.execute_notebook(
            str(notebook), None, parameters=dict(parameters), kernel_name=KERNEL_NAME, progress_bar=False,
            cwd=str(cwd or notebook.parent), execution_timeout=CELL_TIMEOUT_SECONDS,
            extra_arguments=list(KERNEL_ARGUMENTS), km=km)
    except papermill.PapermillExecutionError:
        raise
    executed = normalise_notebook(executed)
    write_notebook(output, executed)
    return executed


def start_stage_kernel(cwd: str | Path, warm_imports: Sequence[str] = ()) -> Any:
    """Start a kernel for a stage notebook and return its manager, without waiting for it to be ready.

    The kernel is what papermill would start (kernel ``python3``, :data:`KERNEL_ARGUMENTS`, no history
    file, working directory ``cwd``), so the notebook runs in a fresh interpreter as before. It imports
    ``warm_imports`` while it starts (ipykernel's ``exec_lines``, leaving no name behind), and it boots while
    the caller goes on: the next stage's kernel starts and imports while the previous stage runs.
    """
    from jupyter_client.manager import AsyncKernelManager

    arguments = [*KERNEL_ARGUMENTS, "--HistoryManager.hist_file=:memory:"]
    if warm_imports:
        modules = ", ".join(repr(m) for m in warm_imports)
        arguments += [f"--IPKernelApp.exec_lines=for _m in ({modules},): __import__(_m)",
                      "--IPKernelApp.exec_lines=del _m"]
    km = AsyncKernelManager(kernel_name=KERNEL_NAME)
    run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=arguments)
    return km


def stop_stage_kernel(km: Any) -> None:
    """Shut down a kernel from :func:`start_stage_kernel` (its stage is done or will not run)."""
    if km is not None and run_sync(km.is_alive)():
        run_sync(km.shutdown_kernel)(now=True)


class StageKernels:
    """The kernels of a run's stage notebooks, each started while the previous stage runs.

    :meth:`take` returns the kernel for the next stage (started earlier) and starts the one after it. Leaving
    the ``with`` block shuts down a kernel that was started but not taken (the run stopped at a failure).

    Parameters
    ----------
    notebooks : sequence of Path
        The stage notebooks, in the order they run.
    """

    def __init__(self, notebooks: Sequence[Path]) -> None:
        self._queue = list(notebooks)
        self._pending: Any = None

    def __enter__(self) -> StageKernels:
        self._pending = self._start_next()
        return self

    def __exit__(self, *exc_info: object) -> None:
        stop_stage_kernel(self._pending)
        self._pending = None

    def take(self) -> Any:
        """Return the started kernel of the next stage, and start the kernel of the stage after it."""
        km, self._pending = self._pending, None
        self._pending = self._start_next()
        return km

    def _start_next(self) -> Any:
        if not self._queue:
            return None
        notebook = self._queue.pop(0)
        return start_stage_kernel(notebook.parent, STAGE_WARM_IMPORTS.get(notebook.stem, ()))


def execute_committed_notebooks(notebooks_dir: str | Path | None = None) -> list[Path]:
    """Re-execute the committed notebooks in place on the bundled sample round, with their own defaults.

    The notebooks in ``notebooks/`` are committed executed, so a reviewer can read them anywhere; run this
    (``make notebooks``) when what they call changes. They run in pipeline order (each stage writes what the
    next reads, into ``data/processed``), and are written normalised (:func:`normalise_notebook`), so that
    re-executing unchanged code changes no byte.

    Returns
    -------
    list of Path
        The notebooks executed, in order.
    """
    folder = Path(notebooks_dir or paths.NOTEBOOKS_DIR)
    done = []
    # 07 reads data/processed/2021 and 2022: `make notebooks` runs `smartcity run --all-rounds` first.
    for name in (*STAGE_NOTEBOOKS, "04b_what_if.ipynb", REPORT_NOTEBOOK, SUMMARY_NOTEBOOK, "07_history.ipynb"):
        execute_stage(folder / name, folder / name, {})
        done.append(folder / name)
    return done


# --- Region reports on warm kernels ------------------------------------------------------------------------
class WarmKernel:
    """One kernel that executes notebook after notebook, with the namespace reset in between.

    Parameters
    ----------
    cwd : str or Path
        Working directory of the kernel.
    timeout : int
        Seconds a cell may run.
    """

    # ``%reset -f`` clears the namespace, then runs two full garbage collections, which walk every object of
    # the imported stack (~0.15 s per region with pandas and matplotlib loaded). ``gc.freeze()`` moves the
    # survivors (modules, mostly) out of the collector's sight, so the next reset only walks what one report
    # created. Refcounting still frees everything; freezing only exempts long-lived objects from cycle scans.
    _RESET = "%reset -f\n__import__('gc').freeze()"

    def __init__(self, cwd: str | Path, timeout: int = CELL_TIMEOUT_SECONDS) -> None:
        self.cwd = str(cwd)
        self.client = NotebookClient(nbformat.v4.new_notebook(), kernel_name=KERNEL_NAME, timeout=timeout,
                                     record_timing=False, resources={"metadata": {"path": self.cwd}},
                                     extra_arguments=list(KERNEL_ARGUMENTS))

    def execute(self, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        """Reset the namespace, then execute every cell of ``nb`` in place and return it.

        The reset is sent without waiting for its reply: the kernel handles requests in order, so it has
        reset before it runs the first cell, and the client saves a round trip per region (nbclient ignores
        the reply, which belongs to no cell).
        """
        self.client.kc.execute(self._RESET, silent=True, store_history=False)
        self.client.nb = nb
        self.client.reset_execution_trackers()
        count = 0
        for position, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                count += 1
                # Numbered here, not by the kernel: no history is kept, and a reused kernel's counter would
                # make the notebooks of one run depend on the order the regions were rendered in.
                self.client.execute_cell(cell, position, execution_count=count, store_history=False)
        return nb

    def is_alive(self) -> bool:
        """Return True while the kernel process runs."""
        return bool(run_sync(self.client.km.is_alive)()) if self.client.km is not None else False


def report_outputs(reports_dir: str | Path, region_code: str) -> tuple[Path, Path]:
    """Return where a region's executed notebook and HTML page go (the code is validated first)."""
    code = normalise_region_code(region_code)
    folder = Path(reports_dir)
    return folder / "notebooks" / f"05_region_report_{code}.ipynb", folder / "html" / f"{code}.html"


def render_region(kernel: WarmKernel, template: nbformat.NotebookNode, exporter: Any, region_code: str,
                  language: str, processed_dir: str) -> tuple[nbformat.NotebookNode, str | None, str | None]:
    """Execute the report notebook for one region on a warm kernel and convert it to HTML.

    Returns
    -------
    notebook, html, error : NotebookNode, str or None, str or None
        The executed (normalised) notebook; its page, or None and the error message when a cell failed.
    """
    nb, error = execute_region(kernel, template, region_code, language, processed_dir)
    return export_region(nb, error, exporter, region_code, language)


def execute_region(kernel: WarmKernel, template: nbformat.NotebookNode, region_code: str, language: str,
                   processed_dir: str) -> tuple[nbformat.NotebookNode, str | None]:
    """Parameterise the report notebook for one region and execute it on a warm kernel.

    Returns
    -------
    notebook, error : NotebookNode, str or None
        The executed notebook (not yet normalised); the error message when a cell failed.
    """
    from papermill.parameterize import parameterize_notebook

    # papermill parameterises the notebook it is given in place (a v4 notebook is not copied): copy the
    # template, or every region would share (and overwrite) its cells.
    nb = parameterize_notebook(
        copy.deepcopy(template), {"region_code": region_code, "language": language, "processed_dir": processed_dir},
        kernel_name=KERNEL_NAME, language="python")
    try:
        kernel.execute(nb)
    except (CellExecutionError, DeadKernelError, TimeoutError, RuntimeError) as exc:
        return nb, _short_error(exc)
    return nb, None


def export_region(nb: nbformat.NotebookNode, error: str | None, exporter: Any, region_code: str,
                  language: str) -> tuple[nbformat.NotebookNode, str | None, str | None]:
    """Normalise an executed report notebook and convert it to a page (none when it failed)."""
    from smartcity_analysis.reports.html import normalise_notebook, notebook_to_html

    nb = normalise_notebook(nb)
    if error is not None:
        return nb, None, error
    return nb, notebook_to_html(nb, exporter, page_title(nb, region_code, with_code=True), language), None


def render_chunk(notebook: str, processed_dir: str, reports_dir: str, region_codes: Sequence[str],
                 language: str) -> list[tuple[str, str | None, float]]:
    """Render the reports of ``region_codes`` on one warm kernel (one joblib task).

    Returns
    -------
    list of (region_code, error message or None, seconds)
        One entry per region, in the order given. A failing region does not stop the chunk; if the kernel
        dies, a new one is started for the remaining regions.
    """
    from papermill.iorw import load_notebook_node

    from smartcity_analysis.reports.html import make_exporter

    template = load_notebook_node(notebook)  # papermill's reader adds the metadata it expects (tags)
    exporter = make_exporter()
    kernel = WarmKernel(Path(notebook).parent)
    pending = list(region_codes)
    # While the kernel runs one region, a thread exports and writes the previous one: the main thread only
    # waits on the kernel's sockets then, so the export costs no wall time. One thread, so the exporter is
    # never shared; pages are written in the order given.
    with ThreadPoolExecutor(max_workers=1) as writer:
        finished = []
        while pending:
            with kernel.client.setup_kernel(cwd=kernel.cwd):
                while pending:
                    code = pending.pop(0)
                    started = time.perf_counter()
                    outputs = report_outputs(reports_dir, code)
                    nb, error = execute_region(kernel, template, code, language, processed_dir)
                    finished.append(writer.submit(_write_region, nb, error, exporter, code, language, outputs,
                                                  started))
                    if error is not None and not kernel.is_alive():
                        break  # leave the context: the kernel is cleaned up and a new one started
        return [future.result() for future in finished]


def _write_region(nb: nbformat.NotebookNode, error: str | None, exporter: Any, code: str, language: str,
                  outputs: tuple[Path, Path], started: float) -> tuple[str, str | None, float]:
    nb, html, error = export_region(nb, error, exporter, code, language)
    ipynb_path, html_path = outputs
    write_notebook(ipynb_path, nb)
    if html is not None:
        write_text(html_path, html)
    return code, error, time.perf_counter() - started


def render_reports(processed_dir: str | Path, reports_dir: str | Path, region_codes: Iterable[Any],
                   workers: int | None = None, language: str = "id", notebook: str | Path | None = None,
                   chunk_size: int | None = None, progress: bool = True) -> ReportBatch:
    """Render one report per region, in parallel on warm kernels.

    Parameters
    ----------
    processed_dir : str or Path
        The processed folder of the round.
    reports_dir : str or Path
        Where ``notebooks/`` and ``html/`` go.
    region_codes : iterable
        Codes to render; an invalid code (not 4 digits) is reported as a failure and names no file.
    workers : int, optional
        Parallel workers (each runs one kernel at a time); defaults to the number of cores.
    language : {"id", "en"}
        Language of the reports.
    notebook : str or Path, optional
        The report notebook; defaults to ``notebooks/05_region_report.ipynb``.
    chunk_size : int, optional
        Regions per kernel; by default the regions are spread evenly over the workers in chunks of at most
        :data:`MAX_CHUNK_SIZE`.
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    ReportBatch
        The regions rendered, the failures (sorted by code) and the seconds each region took.
    """
    language = validate_language(language)
    notebook = Path(notebook) if notebook is not None else paths.NOTEBOOKS_DIR / REPORT_NOTEBOOK
    check_parameters(notebook, {"region_code": "", "language": "", "processed_dir": ""})
    codes, invalid = _split_codes(region_codes)
    reports_dir = Path(reports_dir)
    (reports_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    (reports_dir / "html").mkdir(parents=True, exist_ok=True)
    workers = max(1, workers or joblib.cpu_count())
    chunks = _chunks(codes, workers, chunk_size)
    tasks = (joblib.delayed(render_chunk)(str(notebook.resolve()), str(Path(processed_dir).resolve()),
                                          str(reports_dir.resolve()), chunk, language) for chunk in chunks)
    outcomes = []
    written = [report_outputs(reports_dir, code)[0] for code in codes]
    with tqdm(total=len(codes), desc="region reports", unit="region", disable=not progress) as bar, \
            _ProgressWatch(written, bar):
        for result in joblib.Parallel(n_jobs=min(workers, max(1, len(chunks))), return_as="generator_unordered")(tasks):
            outcomes.extend(result)
    failures = [Failure(code, "05_region_report", msg) for code, msg, _ in outcomes if msg is not None]
    return ReportBatch(
        rendered=tuple(sorted(code for code, msg, _ in outcomes if msg is None)),
        failures=tuple(sorted(invalid + failures, key=lambda f: f.item)),
        seconds={code: round(s, 3) for code, _, s in sorted(outcomes)},
    )


class _ProgressWatch:
    """Move a progress bar as the region notebooks appear on disk, while the chunks run elsewhere.

    Each region writes its executed notebook exactly once, failed or not, so counting the notebooks written
    since the watch began counts regions done. Watching the files (rather than waiting for chunk results) keeps
    the bar moving per region with large chunks, and works the same when joblib hands the chunks to Dask
    workers that share the reports folder.
    """

    def __init__(self, paths: Sequence[Path], bar: Any) -> None:
        self.pending, self.bar = set(paths), bar
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _ProgressWatch:
        self.started = time.time() - 1.0  # a coarse file-system clock must not hide the first pages
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join()
        self.bar.update(self.bar.total - self.bar.n)

    def _watch(self) -> None:
        while not self.stop.wait(PROGRESS_POLL_SECONDS):
            done = {p for p in self.pending if p.exists() and p.stat().st_mtime >= self.started}
            self.pending -= done
            if done:
                self.bar.update(len(done))


def _split_codes(region_codes: Iterable[Any]) -> tuple[list[str], list[Failure]]:
    valid, invalid = set(), []
    for value in region_codes:
        try:
            valid.add(normalise_region_code(value))
        except ValueError as exc:
            invalid.append(Failure(repr(value), "05_region_report", str(exc)))
    return sorted(valid), invalid


def _chunks(codes: list[str], workers: int, chunk_size: int | None) -> list[list[str]]:
    if not codes:
        return []
    if chunk_size is None:
        n_chunks = max(workers, math.ceil(len(codes) / MAX_CHUNK_SIZE))
        n_chunks = math.ceil(n_chunks / workers) * workers  # a whole number of rounds over the workers
        chunk_size = math.ceil(len(codes) / n_chunks)
    return [codes[i:i + chunk_size] for i in range(0, len(codes), max(1, chunk_size))]


def page_title(nb: nbformat.NotebookNode, fallback: str, with_code: bool = False) -> str:
    """Return the first ``<h1>`` a notebook's outputs show (a report's region name), else ``fallback``.

    The heading comes from the language's template, so the title is in the page's language. With
    ``with_code``, the fallback (a region code) is appended: ``Kota Bandung (3273)``.
    """
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            match = _H1.search(output.get("data", {}).get("text/html", ""))
            if match:
                title = html_lib.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
                return f"{title} ({fallback})" if with_code else title
    return fallback


def _short_error(exc: BaseException) -> str:
    if isinstance(exc, CellExecutionError) and exc.ename:
        return f"{exc.ename}: {exc.evalue}"
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"


# --- The whole round ---------------------------------------------------------------------------------------
def run_round(submissions_dir: str | Path | None = None, processed_dir: str | Path | None = None,
              reports_dir: str | Path | None = None, workers: int | None = None, quota: int = 50,
              language: str = "id", notebooks_dir: str | Path | None = None, progress: bool = True,
              assessment_year: int | None = None) -> RunResult:
    """Run a whole assessment round: stages 01-04 and 06, then one report per accepted region.

    Parameters
    ----------
    submissions_dir, processed_dir, reports_dir : str or Path, optional
        The round's submissions (read-only), the processed folder and the reports folder; default to the
        bundled sample round, ``data/processed`` and ``reports``.
    workers : int, optional
        Parallel workers for the region reports; defaults to the number of cores.
    quota : int, default 50
        How many regions are selected (passed to the stages that declare ``quota``).
    language : {"id", "en"}
        Language of the reports, the summary and the index page.
    notebooks_dir : str or Path, optional
        Where the notebooks are; defaults to the project's ``notebooks/``.
    progress : bool, default True
        Show progress bars.
    assessment_year : int, optional
        The round's year (the cleaning stage's ``assessment_year``); default: the latest year present.

    Returns
    -------
    RunResult
        What was written and what failed; ``exit_code`` is non-zero when anything failed.
    """
    from smartcity_analysis.reports.html import make_exporter, notebook_to_html

    language = validate_language(language)
    submissions_dir = Path(submissions_dir or paths.SAMPLE_SUBMISSIONS_DIR)
    processed_dir = Path(processed_dir or paths.PROCESSED_DIR)
    reports_dir = Path(reports_dir or paths.REPORTS_DIR)
    notebooks_dir = Path(notebooks_dir or paths.NOTEBOOKS_DIR)
    for folder in (processed_dir, reports_dir / "notebooks", reports_dir / "html"):
        folder.mkdir(parents=True, exist_ok=True)
    for folder in (processed_dir, reports_dir):  # left by a run killed mid-write; outputs are renamed in whole
        remove_stale_temporaries(folder)
    pool = {"submissions_dir": str(submissions_dir), "processed_dir": str(processed_dir),
            "reports_dir": str(reports_dir), "quota": int(quota), "language": language,
            "assessment_year": int(assessment_year or 0)}
    timings: dict[str, float] = {}
    failures: list[Failure] = []
    executed: dict[str, nbformat.NotebookNode] = {}
    stages = [notebooks_dir / name for name in (*STAGE_NOTEBOOKS, SUMMARY_NOTEBOOK)]
    with tqdm(total=len(stages), desc="stages", unit="stage", disable=not progress) as bar, \
            StageKernels(stages) as kernels:
        for notebook in stages:
            name = notebook.name
            bar.set_postfix_str(notebook.stem)
            nb = _run_stage(notebook, reports_dir, pool, timings, failures, kernels.take())
            if nb is None:
                break
            executed[name] = nb
            bar.update()
    batch = ReportBatch((), (), {})
    if all(name in executed for name in STAGE_NOTEBOOKS):  # a failed summary does not hold the reports back
        started = time.perf_counter()
        batch = render_reports(processed_dir, reports_dir, accepted_regions(processed_dir), workers, language,
                               notebooks_dir / REPORT_NOTEBOOK, progress=progress)
        timings["05_region_report"] = round(time.perf_counter() - started, 3)
        failures.extend(batch.failures)
    exporter = make_exporter()
    for name, nb in executed.items():
        page = notebook_to_html(nb, exporter, page_title(nb, Path(name).stem), language)
        write_text(reports_dir / "html" / f"{Path(name).stem}.html", page)
    index_path = write_index(reports_dir, processed_dir, batch.rendered, language, failures, list(executed))
    manifest_path = write_manifest(reports_dir, submissions_dir, processed_dir, pool, timings, batch, failures)
    return RunResult(reports_dir, index_path, manifest_path, batch.rendered, tuple(failures), timings)


def _run_stage(notebook: Path, reports_dir: Path, pool: Mapping[str, Any], timings: dict[str, float],
               failures: list[Failure], km: Any = None) -> nbformat.NotebookNode | None:
    started = time.perf_counter()
    try:
        parameters = select_parameters(pool, declared_parameters(notebook))
        return execute_stage(notebook, reports_dir / "notebooks" / notebook.name, parameters, km=km)
    except Exception as exc:  # a stage failure ends the run, but the run still writes its manifest
        failures.append(Failure(notebook.stem, notebook.stem, _short_error(exc)))
        return None
    finally:
        stop_stage_kernel(km)
        timings[notebook.stem] = round(time.perf_counter() - started, 3)


def accepted_regions(processed_dir: str | Path) -> list[str]:
    """Return the codes of the accepted regions (``submissions_clean.csv``), sorted."""
    table = pd.read_csv(Path(processed_dir) / "submissions_clean.csv", dtype={"region_code": str},
                        usecols=["region_code"])
    return sorted(table["region_code"].dropna().unique().tolist())


def write_index(reports_dir: str | Path, processed_dir: str | Path, rendered: Iterable[str], language: str,
                failures: Iterable[Failure] = (), stages: Iterable[str] = ()) -> Path | None:
    """Write ``index.html`` linking every rendered report, the summary and the stage notebooks.

    Returns
    -------
    Path or None
        The page, or None when there is no ranking to list (a stage failed before it).
    """
    from smartcity_analysis.reports.html import index_extras, index_rows, render_index

    reports_dir = Path(reports_dir)
    if not (Path(processed_dir) / "ranking.csv").exists():
        return None
    hrefs = {code: f"html/{code}.html" for code in rendered}
    stems = [Path(s).stem for s in stages]
    summary_stem = Path(SUMMARY_NOTEBOOK).stem
    page = render_index(
        index_rows(processed_dir, hrefs, language), language,
        summary_href=f"html/{summary_stem}.html" if summary_stem in stems else None,
        stages=[{"name": s, "href": f"html/{s}.html"} for s in stems if s != summary_stem],
        failures=sorted(failures, key=lambda f: (f.stage, f.item)),
        **index_extras(processed_dir, language))  # participation (when the round has a list) and the map
    path = reports_dir / "index.html"
    return write_text(path, page)


def write_manifest(reports_dir: Path, submissions_dir: Path, processed_dir: Path, parameters: Mapping[str, Any],
                   timings: Mapping[str, float], batch: ReportBatch, failures: Iterable[Failure]) -> Path:
    """Write ``manifest.json``: inputs with sha256, parameters, versions, timings and failures.

    Timings are the one part that differs between two runs on the same inputs; they live only here.
    """
    manifest = {
        "inputs": {"submissions": file_hashes(submissions_dir), "processed": file_hashes(processed_dir),
                   "framework": file_hashes(paths.FRAMEWORK_FILE)},
        "parameters": dict(parameters),
        "versions": package_versions(),
        "python": platform.python_version(),
        "regions_rendered": list(batch.rendered),
        "failures": [asdict(f) for f in failures],
        "timings_seconds": {"stages": dict(timings), "regions": dict(batch.seconds)},
    }
    path = Path(reports_dir) / "manifest.json"
    return write_json(path, manifest, sort_keys=True)


def file_hashes(location: str | Path) -> dict[str, str]:
    """Return ``{relative path: sha256}`` of a file or of every file under a folder, sorted."""
    location = Path(location)
    if location.is_file():
        return {location.name: _sha256(location)}
    if not location.is_dir():
        return {}
    return {p.relative_to(location).as_posix(): _sha256(p) for p in sorted(location.rglob("*")) if p.is_file()}


def package_versions() -> dict[str, str]:
    """Return the installed versions of the packages that shape the outputs."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":
    for executed_path in execute_committed_notebooks():
        print(f"executed {executed_path}")
