"""The one-command run: stage notebooks with papermill, then one report per region on warm kernels.

:func:`run_round` executes the stages 01-04 and the round summary 06 with papermill, then renders the report
notebook 05 for every accepted region with :func:`render_reports`, and writes under the reports folder
``notebooks/`` (every executed notebook), ``html/`` (self-contained pages), ``index.html`` and
``manifest.json``.

Region reports are fanned out with joblib in chunks; each chunk starts one kernel and reuses it for all its
regions, resetting the namespace (``%reset -f``) before each one. Starting a kernel and importing the stack
is most of the cost of a report, so this is several times faster than one kernel per region. A region's cells
are sent without waiting for each other, and the next region is sent before the current one's outputs are
read (:class:`WarmKernel`), so the kernel never waits for the client; pages are written without nbconvert's
BeautifulSoup pass, byte for byte as with it (:class:`~smartcity_analysis.reports.html.PageExporter`). Because the
fan-out goes through :class:`joblib.Parallel`, ``joblib.parallel_config(backend="dask")`` hands it to a
Dask cluster (see ``docs/runner.md``).
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import html as html_lib
import importlib.metadata
import logging
import math
import platform
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import nbformat
import pandas as pd
import zmq
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from tqdm.auto import tqdm

from smartcity_analysis import paths
from smartcity_analysis.outputs import FOLDER_LOCKS, remove_stale_temporaries, write_json, write_notebook, write_text
from smartcity_analysis.reports.kernels import (
    KERNEL_ARGUMENTS,
    KERNEL_NAME,
    STAGE_NOTEBOOKS,
    SUMMARY_NOTEBOOK,
    StageKernels,
    run_stages,
    stop_stage_kernel,
)
from smartcity_analysis.reports.language import normalise_region_code, validate_language

# Stages that run at the same time in a run: both read only what stages 01-02 wrote, write different files, and
# share only run_notes.csv, whose writes take the processed folder's lock. Profiles (03) run beside the ranking
# and selection (04), whose analysis of what it takes is the longest stage of a national round.
CONCURRENT_STAGES = frozenset({"03_readiness_profiles.ipynb", "04_rank_and_select.ipynb"})
REPORT_NOTEBOOK = "05_region_report.ipynb"
CELL_TIMEOUT_SECONDS = 600
# At most this many regions share one kernel. A kernel start (the process, the imports, the first read of the
# round's files) costs 2-3 s of CPU on a busy 2-core machine, the price of 20-30 reports; with 260, a national
# round (514 regencies and cities) on two workers starts one kernel per worker, and on more workers the
# chunks still balance. The progress bar still moves per region: it watches the notebooks the chunks write.
MAX_CHUNK_SIZE = 260
PROGRESS_POLL_SECONDS = 0.25
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)
_LOG = logging.getLogger(__name__)
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
        A kernel already started for this notebook
        (:func:`~smartcity_analysis.reports.kernels.start_stage_kernel`, with the same ``cwd``); the caller
        shuts it down. By default papermill starts one and shuts it down.

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
    RuntimeError, TimeoutError
        When the kernel died or did not start :data:`KERNEL_START_ATTEMPTS` times; before that, the stage runs
        again from its start on a new kernel (a stage only writes whole files, so a rerun gives the same ones).
    """
    import papermill

    from smartcity_analysis.reports.html import normalise_notebook

    check_parameters(notebook, parameters)
    notebook = Path(notebook)
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            executed = papermill.execute_notebook(
                str(notebook), None, parameters=dict(parameters), kernel_name=KERNEL_NAME, progress_bar=False,
                cwd=str(cwd or notebook.parent), execution_timeout=CELL_TIMEOUT_SECONDS,
                extra_arguments=list(KERNEL_ARGUMENTS), km=km)
            break
        except (papermill.PapermillExecutionError, CellTimeoutError):  # a cell failed or ran too long
            raise
        except (RuntimeError, TimeoutError):  # the kernel died, or did not start (a port taken meanwhile)
            if attempt == KERNEL_START_ATTEMPTS:
                raise
            stop_stage_kernel(km)
            km = None  # papermill starts a new kernel, on new ports; the stage runs again from its start
    executed = normalise_notebook(executed)
    write_notebook(output, executed)
    return executed


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
# The kernel's logger itself stays at DEBUG (traitlets filters in its handler), so each of its debug calls, a
# few per request, builds a record that is then dropped; at ERROR they return at once. Nothing else changes.
WARM_KERNEL_LOGGER = '--IPKernelApp.logging_config={"loggers": {"IPKernelApp": {"level": "ERROR"}}}'
# Regions sent to a kernel before the oldest one's outputs are collected: the kernel starts the next region as
# soon as it finishes one, instead of idling while the client reads the outputs and sends the next cells.
REGIONS_IN_FLIGHT = 2
# What a region's execution may raise; any of them fails that region only.
REGION_ERRORS = (CellExecutionError, DeadKernelError, TimeoutError, RuntimeError)
# A kernel that dies or hangs while it starts (a report kernel, or a stage's: the stage then runs again from
# its start) is replaced by a new one, on new ports, up to this many starts in all. jupyter_client chooses a
# kernel's ports and releases them for the kernel to bind; another process starting at the same moment can
# take one in between (jupyter/jupyter_client#276), and the kernel then exits before it replies.
KERNEL_START_ATTEMPTS = 3
# How often a kernel that sends nothing is checked for being alive (nbclient checks once a second too).
ALIVE_CHECK_SECONDS = 1.0
# At most this many messages are read from one socket before the timeouts and the kernel are checked again.
MESSAGES_PER_READ = 200


class ResetAborted(Exception):
    """A region's namespace reset was aborted by the kernel (a request before it failed): send it again."""


@dataclass(eq=False)
class CellRequest:
    """One code cell sent to a kernel: where it is, what it held before, and its reply once it came.

    ``merged`` are the cells after it that went in the same request, each with its number and what it held
    (see :func:`request_groups`).
    """

    position: int
    cell: nbformat.NotebookNode
    count: int
    sent_at: float
    before: tuple[Any, Any]
    merged: tuple[tuple[nbformat.NotebookNode, int, tuple[Any, Any]], ...] = ()
    reply: dict[str, Any] | None = None
    reply_at: float = 0.0
    idle: bool = False

    def cells(self) -> list[tuple[nbformat.NotebookNode, int, tuple[Any, Any]]]:
        """Return every cell of the request with its number and what it held before."""
        return [(self.cell, self.count, self.before), *self.merged]


@dataclass(eq=False)
class RegionRun:
    """One notebook sent to a :class:`WarmKernel`: its namespace reset and its code cells, by message id."""

    nb: nbformat.NotebookNode
    reset_id: str
    cells: dict[str, CellRequest]
    submitted: float
    reset_status: str | None = None
    error: BaseException | None = None
    finished: bool = False


class WarmKernel:
    """One kernel that executes notebook after notebook, with the namespace reset in between.

    A notebook is sent whole: :meth:`submit` sends the reset and every code cell without waiting, and the
    kernel runs them in order; :meth:`collect` then reads the outputs and replies, routed to their cells by the
    id of the request they answer, with nbclient's own output handling (``NotebookClient.process_message``).
    Several notebooks may be in flight. The semantics are nbclient's, cell by cell: a failing cell raises
    :class:`~nbclient.exceptions.CellExecutionError` and the kernel aborts the cells after it (``stop_on_error``;
    they keep what they held, as if never sent), a cell that runs longer than ``timeout`` raises
    :class:`~nbclient.exceptions.CellTimeoutError` and a dead kernel :class:`~nbclient.exceptions.DeadKernelError`.

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
                                     extra_arguments=[*KERNEL_ARGUMENTS, WARM_KERNEL_LOGGER])
        self._kc: Any = None
        self._routes: dict[str, tuple[RegionRun, CellRequest | None]] = {}
        self._waiting: deque[tuple[RegionRun, CellRequest]] = deque()  # unanswered cells, in kernel order
        self._head_since = 0.0
        self._output_target: tuple[Any, Any] = (None, None)
        self._alive_checked = 0.0

    def execute(self, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        """Reset the namespace, then execute every cell of ``nb`` in place and return it."""
        while True:
            try:
                return self.collect(self.submit(nb))
            except ResetAborted:  # a failure before it aborted the reset; the cells are as they were
                continue

    def submit(self, nb: nbformat.NotebookNode) -> RegionRun:
        """Send the namespace reset and every code cell of ``nb`` to the kernel, without waiting.

        Cells are numbered here, not by the kernel: no history is kept, and a reused kernel's counter would
        make the notebooks of one run depend on the order the regions were rendered in. Empty cells and cells
        tagged to be skipped are numbered but not sent, as nbclient does. Adjacent cells that only assign
        literals (papermill's parameters and injected cells) go in one request (:func:`request_groups`).
        """
        self._connect()
        now = time.monotonic()
        run = RegionRun(nb, self._send(self._RESET, silent=True), {}, now)
        self._routes[run.reset_id] = (run, None)
        cells, count = [], 0
        for position, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            if cell.source.strip() and self.client.skip_cells_with_tag not in cell.metadata.get("tags", []):
                cells.append((position, cell, count))
        for group in request_groups(cells):
            (position, cell, count), *others = group
            msg_id = self._send("\n".join(c.source for _, c, _ in group),
                                stop_on_error=not _allows_errors(self.client, cell))
            request = CellRequest(position, cell, count, now, _held(cell),
                                  tuple((c, n, _held(c)) for _, c, n in others))
            for sent, _, _ in request.cells():
                sent.outputs = []
            run.cells[msg_id] = request
            self._routes[msg_id] = (run, request)
            if not self._waiting:
                self._head_since = now
            self._waiting.append((run, request))
        return run

    def collect(self, run: RegionRun) -> nbformat.NotebookNode:
        """Wait until ``run`` has run to its end or to its first failure, and return its notebook.

        Raises
        ------
        CellExecutionError, CellTimeoutError, DeadKernelError
            As nbclient's ``execute_cell`` would for the failing cell.
        ResetAborted
            When the kernel aborted the region's reset; the cells are restored, the region must be sent again.
        """
        while not run.finished:
            self._read()
            self._settle(run)
        if run.error is not None:
            raise run.error
        return run.nb

    def is_alive(self) -> bool:
        """Return True while the kernel process runs."""
        return bool(run_sync(self.client.km.is_alive)()) if self.client.km is not None else False

    # --- Messages ------------------------------------------------------------------------------------------
    def _connect(self) -> None:
        """Use the client's sockets synchronously (shadows of the same sockets); forget a replaced kernel."""
        kc = self.client.kc
        if kc is self._kc:
            return
        self._kc = kc
        self._shell = zmq.Socket.shadow(kc.shell_channel.socket.underlying)
        self._iopub = zmq.Socket.shadow(kc.iopub_channel.socket.underlying)
        self._poller = zmq.Poller()
        self._poller.register(self._shell, zmq.POLLIN)
        self._poller.register(self._iopub, zmq.POLLIN)
        self._routes.clear()
        self._waiting.clear()
        self._output_target = (None, None)
        self._alive_checked = time.monotonic()

    def _send(self, code: str, silent: bool = False, stop_on_error: bool = True) -> str:
        """Send an ``execute_request`` as ``KernelClient.execute`` builds it, and return its message id."""
        content = {"code": code, "silent": silent, "store_history": False, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": stop_on_error}
        msg = self._kc.session.msg("execute_request", content)
        self._kc.session.send(self._shell, msg)
        return msg["header"]["msg_id"]

    def _read(self) -> None:
        """Wait for messages (at most until the next check is due), route them, then check the kernel.

        As in nbclient, a kernel is checked for being alive once a second and before a cell is declared timed
        out; a cell's time starts when the kernel can start it (the previous cell replied, or it was sent).
        """
        deadline = self._deadline()
        wait = ALIVE_CHECK_SECONDS if deadline is None else min(ALIVE_CHECK_SECONDS, deadline - time.monotonic())
        if self._poller.poll(max(0, int(wait * 1000))):
            self._drain(self._iopub, self._on_output)
            self._drain(self._shell, self._on_reply)
        now = time.monotonic()
        timed_out = deadline is not None and now >= deadline and bool(self._waiting)
        if timed_out or now - self._alive_checked >= ALIVE_CHECK_SECONDS:
            self._alive_checked = now
            if not self.is_alive():
                for run in dict.fromkeys(run for run, _ in self._routes.values()):
                    self._finish(run, DeadKernelError("Kernel died"), _first_unanswered(run) + 1)
                return
        if timed_out:
            run, request = self._waiting[0]
            error = CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", self.client.timeout,
                                                                 request.cell)
            self._finish(run, error, _first_unanswered(run) + 1)

    def _deadline(self) -> float | None:
        timeout = self.client.timeout
        if not self._waiting or not timeout or timeout < 0:
            return None
        return max(self._waiting[0][1].sent_at, self._head_since) + timeout

    def _drain(self, socket: Any, handle: Any) -> None:
        session = self._kc.session
        for _ in range(MESSAGES_PER_READ):
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            _, frames = session.feed_identities(frames)
            handle(session.deserialize(frames))

    def _on_output(self, msg: dict[str, Any]) -> None:
        """Hand an IOPub message to nbclient's output handling for the cell it belongs to."""
        run, request = self._routes.get(msg["parent_header"].get("msg_id"), (None, None))
        if request is None:
            return  # the reset's status messages, or a cell already given up
        if self._output_target[0] is not run:  # one notebook's outputs end before the next one's begin
            self.client.nb = run.nb
            self.client.reset_execution_trackers()
        if self._output_target[1] is not request:
            self.client.clear_before_next_output = False
            self._output_target = (run, request)
        try:
            self.client.process_message(msg, request.cell, request.position)
        except CellExecutionComplete:
            request.idle = True
            _number_when_done(request)

    def _on_reply(self, msg: dict[str, Any]) -> None:
        run, request = self._routes.get(msg["parent_header"].get("msg_id"), (None, None))
        if run is None:
            return
        if request is None:
            run.reset_status = msg["content"]["status"]
            return
        request.reply, request.reply_at = msg, time.monotonic()
        _number_when_done(request)
        while self._waiting and self._waiting[0][1].reply is not None:
            self._waiting.popleft()
            self._head_since = request.reply_at

    def _settle(self, run: RegionRun) -> None:
        """Finish ``run`` once its cells are done, at its first failure, or when its reset was aborted."""
        if run.finished or run.reset_status is None:
            return
        if run.reset_status == "aborted":  # a reset that ran is not checked further, as before
            if _first_unanswered(run) == len(run.cells):  # nothing of it is left in the kernel
                self._finish(run, ResetAborted(run.reset_status), 0)
            return
        for index, request in enumerate(run.cells.values()):
            if request.reply is None:
                return
            if not request.idle:
                if time.monotonic() - request.reply_at < self.client.iopub_timeout:
                    return
                if self.client.raise_on_iopub_timeout:
                    self._finish(run, CellTimeoutError.error_from_timeout_and_cell(
                        "Timeout waiting for IOPub output", self.client.iopub_timeout, request.cell), index + 1)
                    return
                self.client.log.warning("Timeout waiting for IOPub output")
                request.idle = True
                _number_when_done(request)
            content = request.reply["content"]
            if content["status"] == "error" and not _allows_errors(self.client, request.cell, content.get("ename")):
                self._finish(run, CellExecutionError.from_cell_and_msg(request.cell, content), index + 1)
                return
        self._finish(run, None, len(run.cells))

    def _finish(self, run: RegionRun, error: BaseException | None, restore_from: int) -> None:
        """Close ``run``: cells from ``restore_from`` get back what they held, and its messages are dropped."""
        for request in list(run.cells.values())[restore_from:]:
            for cell, _, before in request.cells():
                cell["outputs"], cell["execution_count"] = before
        for msg_id in (run.reset_id, *run.cells):
            self._routes.pop(msg_id, None)
        head = self._waiting[0] if self._waiting else None
        self._waiting = deque(entry for entry in self._waiting if entry[0] is not run)
        if self._waiting and self._waiting[0] is not head:
            self._head_since = time.monotonic()
        if self._output_target[0] is run:
            self._output_target = (None, None)
        run.error, run.finished = error, True


def _first_unanswered(run: RegionRun) -> int:
    """Return the position (among the cells sent) of the first cell of ``run`` without a reply."""
    return next((i for i, r in enumerate(run.cells.values()) if r.reply is None), len(run.cells))


def _number_when_done(request: CellRequest) -> None:
    """Give a request's cells their numbers once its reply and all its outputs are in, as nbclient does."""
    if request.reply is not None and request.idle:
        for cell, count, _ in request.cells():
            cell["execution_count"] = count


def _held(cell: nbformat.NotebookNode) -> tuple[Any, Any]:
    return cell.get("outputs"), cell.get("execution_count")


def request_groups(cells: Sequence[tuple[int, nbformat.NotebookNode, int]]) -> list[list[tuple[int, Any, int]]]:
    """Group the cells to send into requests: one per cell, but adjacent literal-only cells in one.

    A cell that only assigns literals to names (:func:`assigns_literals_only`) prints nothing, displays
    nothing and cannot fail, so running two of them in one request leaves the same notebook and namespace
    as running them one after the other; the kernel is spared a request (status messages, flushes) per region.
    """
    groups: list[list[tuple[int, Any, int]]] = []
    for entry in cells:
        if groups and assigns_literals_only(entry[1].source) and all(
                assigns_literals_only(c.source) for _, c, _ in groups[-1]):
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


@functools.lru_cache(maxsize=256)
def assigns_literals_only(source: str) -> bool:
    """Return True when ``source`` is Python that only assigns literals to plain names (``x = "3273"``)."""
    try:
        statements = ast.parse(source).body
    except (SyntaxError, ValueError):
        return False
    for statement in statements:
        if not (isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets)):
            return False
        try:
            ast.literal_eval(statement.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
    return bool(statements)


def _allows_errors(client: NotebookClient, cell: nbformat.NotebookNode, ename: str | None = None) -> bool:
    """Whether a failing ``cell`` is allowed to fail, by nbclient's rules (``allow_errors``, its tags)."""
    if client.force_raise_errors:
        return False
    return (client.allow_errors or "raises-exception" in cell.metadata.get("tags", [])
            or (ename is not None and ename in client.allow_error_names))


def report_outputs(reports_dir: str | Path, region_code: str) -> tuple[Path, Path]:
    """Return where a region's executed notebook and HTML page go (the code is validated first)."""
    code = normalise_region_code(region_code)
    folder = Path(reports_dir)
    return folder / "notebooks" / f"05_region_report_{code}.ipynb", folder / "html" / f"{code}.html"


def render_region(kernel: WarmKernel, template: nbformat.NotebookNode, exporter: Any, region_code: str,
                  language: str, processed_dir: str, framework_file: str = ""
                  ) -> tuple[nbformat.NotebookNode, str | None, str | None]:
    """Execute the report notebook for one region on a warm kernel and convert it to HTML.

    ``framework_file`` is the framework the report labels indicators from (empty: the project's).

    Returns
    -------
    notebook, html, error : NotebookNode, str or None, str or None
        The executed (normalised) notebook; its page, or None and the error message when a cell failed.
    """
    nb, error = execute_region(kernel, template, region_code, language, processed_dir, framework_file)
    return export_region(nb, error, exporter, region_code, language)


def parameterize_region(template: nbformat.NotebookNode, region_code: str, language: str,
                        processed_dir: str, framework_file: str = "") -> nbformat.NotebookNode:
    """Return a copy of the report notebook, parameterised by papermill for one region.

    ``framework_file`` is the framework the report labels indicators from (empty: the project's).
    """
    from papermill.parameterize import parameterize_notebook

    # papermill parameterises the notebook it is given in place (a v4 notebook is not copied): copy the
    # template, or every region would share (and overwrite) its cells.
    return parameterize_notebook(
        copy.deepcopy(template), {"region_code": region_code, "language": language, "processed_dir": processed_dir,
                                  "framework_file": framework_file},
        kernel_name=KERNEL_NAME, language="python")


def execute_region(kernel: WarmKernel, template: nbformat.NotebookNode, region_code: str, language: str,
                   processed_dir: str, framework_file: str = "") -> tuple[nbformat.NotebookNode, str | None]:
    """Parameterise the report notebook for one region and execute it on a warm kernel.

    Returns
    -------
    notebook, error : NotebookNode, str or None
        The executed notebook (not yet normalised); the error message when a cell failed.
    """
    nb = parameterize_region(template, region_code, language, processed_dir, framework_file)
    try:
        kernel.execute(nb)
    except REGION_ERRORS as exc:
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


def warm_report_workers(workers: int) -> threading.Thread | None:
    """Start the region reports' worker processes, and their imports, in a background thread.

    joblib's default (loky) backend keeps its worker processes between calls, so workers started while the
    stage notebooks run (one core mostly idle during stages 01, 02 and 06) are the ones
    :func:`render_reports` then uses: their start and imports (about 1.5 s of CPU each) leave the reports'
    busy time. Nothing is started under another backend (Dask: the cluster has its own workers). Join the
    thread before rendering.

    Parameters
    ----------
    workers : int
        The reports' workers (:func:`render_reports`'s ``workers``).

    Returns
    -------
    threading.Thread or None
        The thread starting them; None when the active backend is not loky.
    """
    backend, _ = joblib.parallel.get_active_backend()
    if not isinstance(backend, joblib.parallel.BACKENDS["loky"]):
        return None

    def warm() -> None:
        joblib.Parallel(n_jobs=workers)(joblib.delayed(_import_report_stack)() for _ in range(workers))

    thread = threading.Thread(target=warm, name="warm-report-workers", daemon=True)
    thread.start()
    return thread


def _import_report_stack() -> int:
    # Unpickling this function imports this module in the worker; render_chunk's own imports come next.
    from papermill.iorw import load_notebook_node  # noqa: F401

    from smartcity_analysis.reports.html import make_exporter

    make_exporter()
    return 0


def render_chunk(notebook: str, processed_dir: str, reports_dir: str, region_codes: Sequence[str],
                 language: str, framework_file: str = "") -> list[tuple[str, str | None, float]]:
    """Render the reports of ``region_codes`` on one warm kernel (one joblib task).

    ``framework_file`` is the framework the reports label indicators from (empty: the project's).

    Returns
    -------
    list of (region_code, error message or None, seconds)
        One entry per region. A failing region does not stop the chunk; if the kernel dies, a new one is
        started for the remaining regions; if no kernel starts (:func:`kernel_session`), they fail with the
        reason.
    """
    from papermill.iorw import load_notebook_node

    from smartcity_analysis.reports.html import PageExporter, make_exporter

    template = load_notebook_node(notebook)  # papermill's reader adds the metadata it expects (tags)
    exporter = PageExporter(make_exporter())
    kernel = WarmKernel(Path(notebook).parent)
    pending = deque(region_codes)
    # While the kernel runs one region, a thread exports and writes the previous one: the main thread only
    # waits on the kernel's sockets then, so the export costs no wall time. One thread, so the exporter is
    # never shared; pages are written in the order the regions finish.
    with ThreadPoolExecutor(max_workers=1) as writer:
        finished = []
        while pending:
            try:
                with kernel_session(kernel):
                    for nb, error, code, started in run_regions(kernel, template, pending, language,
                                                                processed_dir, framework_file):
                        finished.append(writer.submit(_write_region, nb, error, exporter, code, language,
                                                      report_outputs(reports_dir, code), started))
            except KernelStartError as exc:  # the chunk's other regions fail with the reason; the run goes on
                outcomes = [future.result() for future in finished]
                return outcomes + [(code, str(exc), 0.0) for code in pending]
        return [future.result() for future in finished]


class KernelStartError(RuntimeError):
    """A report kernel did not start in :data:`KERNEL_START_ATTEMPTS` attempts."""


@contextmanager
def kernel_session(kernel: WarmKernel, attempts: int = KERNEL_START_ATTEMPTS) -> Iterator[None]:
    """Start ``kernel``'s kernel (nbclient's ``setup_kernel``) for the block, and shut it down after.

    What is left of a kernel that fails to start is stopped and its manager dropped (``_forget_kernel``), so
    the next attempt starts a new kernel on new ports.

    Raises
    ------
    KernelStartError
        When ``attempts`` starts all failed; it names the last error.
    """
    with ExitStack() as stack:
        for attempt in range(1, attempts + 1):
            try:
                stack.enter_context(kernel.client.setup_kernel(cwd=kernel.cwd))
                break
            except Exception as exc:  # noqa: BLE001 - whatever stopped the start, a new kernel is tried
                _forget_kernel(kernel.client)
                if attempt == attempts:
                    raise KernelStartError(f"the report kernel did not start ({attempts} attempts): "
                                           f"{_short_error(exc)}") from exc
        yield


def _forget_kernel(client: NotebookClient) -> None:
    """Stop what is left of a kernel that failed to start, and drop its manager: the next one gets new ports."""
    km = client.km
    if km is not None:
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
            run_sync(km.cleanup_resources)()
        except Exception:  # noqa: BLE001 - a kernel already gone leaves nothing to stop
            _LOG.debug("a kernel that failed to start could not be stopped", exc_info=True)
    client.km, client.kc = None, None


def run_regions(kernel: WarmKernel, template: nbformat.NotebookNode, pending: deque[str], language: str,
                processed_dir: str, framework_file: str = ""
                ) -> Iterator[tuple[nbformat.NotebookNode, str | None, str, float]]:
    """Execute the regions of ``pending`` on a started kernel, :data:`REGIONS_IN_FLIGHT` at a time.

    The next region is sent while the kernel still runs the current one, so the kernel goes from one region
    to the next without waiting for the client. After a failure the kernel aborts what was sent after the
    failing cell, which may include the next region's reset: such a region goes back to ``pending``, and
    nothing new is sent until the kernel's queue is empty.

    Yields
    ------
    notebook, error, region_code, started
        Each region once it is done: its executed notebook, the error message or None, its code and the
        ``time.perf_counter()`` at which the kernel could start it. When the kernel dies, the regions in
        flight go back to ``pending`` and the iteration stops (the caller starts a new kernel).
    """
    in_flight: deque[tuple[str, RegionRun, float]] = deque()
    settling = False
    last_done = time.perf_counter()
    while pending or in_flight:
        while pending and len(in_flight) < (1 if settling else REGIONS_IN_FLIGHT):
            code = pending.popleft()
            run = kernel.submit(parameterize_region(template, code, language, processed_dir, framework_file))
            in_flight.append((code, run, time.perf_counter()))
        code, run, submitted = in_flight.popleft()
        error = None
        try:
            kernel.collect(run)
        except ResetAborted:
            pending.appendleft(code)
            settling = bool(in_flight)
            continue
        except REGION_ERRORS as exc:
            error = _short_error(exc)
        started, last_done = max(submitted, last_done), time.perf_counter()
        yield run.nb, error, code, started
        if error is not None and not kernel.is_alive():
            pending.extendleft(code for code, _, _ in reversed(in_flight))
            return
        settling = error is not None or (settling and bool(in_flight))


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
                   chunk_size: int | None = None, progress: bool = True,
                   framework_file: str | Path | None = None) -> ReportBatch:
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
    framework_file : str or Path, optional
        The framework the reports label indicators from (the report notebook's ``framework_file``); defaults to
        the project's ``config/framework.yaml``.

    Returns
    -------
    ReportBatch
        The regions rendered, the failures (sorted by code) and the seconds each region took.
    """
    language = validate_language(language)
    notebook = Path(notebook) if notebook is not None else paths.NOTEBOOKS_DIR / REPORT_NOTEBOOK
    check_parameters(notebook, {"region_code": "", "language": "", "processed_dir": "", "framework_file": ""})
    framework_file = str(Path(framework_file or paths.FRAMEWORK_FILE).resolve())
    codes, invalid = _split_codes(region_codes)
    reports_dir = Path(reports_dir)
    (reports_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    (reports_dir / "html").mkdir(parents=True, exist_ok=True)
    workers = max(1, workers or joblib.cpu_count())
    chunks = _chunks(codes, workers, chunk_size)
    tasks = (joblib.delayed(render_chunk)(str(notebook.resolve()), str(Path(processed_dir).resolve()),
                                          str(reports_dir.resolve()), chunk, language, framework_file)
             for chunk in chunks)
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
              assessment_year: int | None = None, stage_kernels: StageKernels | None = None,
              invitations_file: str | Path | None = None, framework_file: str | Path | None = None) -> RunResult:
    """Run a whole assessment round: stages 01-04 (03 and 04 at the same time), then 06 beside one report per region.

    Parameters
    ----------
    submissions_dir, processed_dir, reports_dir : str or Path, optional
        The round's submissions (read-only), the processed folder and the reports folder; default to the
        bundled sample round, ``data/processed`` and ``reports``.
    workers : int, optional
        Parallel workers for the region reports and the processes of stage 04's analysis of what it takes
        (its ``n_jobs``); defaults to the number of cores.
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
    stage_kernels : StageKernels, optional
        The stage kernels, already entered, for ``run_stages(notebooks_dir)`` (``smartcity run`` starts the
        first one before it imports this module); by default the run starts its own.
    invitations_file : str or Path, optional
        The round's invitation list (stage 01's ``invitations_file``); default: ``invitations-<year>.csv`` beside
        the submissions folder, ``<year>`` the round's year as its submissions give it.
    framework_file : str or Path, optional
        The framework file every stage and report reads (their ``framework_file``), recorded with its sha256 in
        the manifest; defaults to the project's ``config/framework.yaml``.

    Returns
    -------
    RunResult
        What was written and what failed; ``exit_code`` is non-zero when anything failed.

    Raises
    ------
    FileNotFoundError
        When there is no framework file at ``framework_file``.
    smartcity_analysis.config.FrameworkError
        When the framework file has problems (every one listed); nothing has been written then.
    """
    from smartcity_analysis.config import load_framework
    from smartcity_analysis.reports.html import make_exporter, notebook_to_html

    language = validate_language(language)
    submissions_dir = Path(submissions_dir or paths.SAMPLE_SUBMISSIONS_DIR)
    processed_dir = Path(processed_dir or paths.PROCESSED_DIR)
    reports_dir = Path(reports_dir or paths.REPORTS_DIR)
    notebooks_dir = Path(notebooks_dir or paths.NOTEBOOKS_DIR)
    framework_file = Path(framework_file or paths.FRAMEWORK_FILE).resolve()
    load_framework(framework_file)  # a broken framework stops the run before any folder is created or cleaned
    for folder in (processed_dir, reports_dir / "notebooks", reports_dir / "html"):
        folder.mkdir(parents=True, exist_ok=True)
    for folder in (processed_dir, reports_dir):  # left by a run killed mid-write; outputs are renamed in whole
        remove_stale_temporaries(folder)
    pool = {"submissions_dir": str(submissions_dir), "processed_dir": str(processed_dir),
            "reports_dir": str(reports_dir), "quota": int(quota), "language": language,
            "assessment_year": int(assessment_year or 0), "n_jobs": max(1, workers or joblib.cpu_count()),
            "invitations_file": str(invitations_file) if invitations_file else "",
            "framework_file": str(framework_file)}
    timings: dict[str, float] = {}
    failures: list[Failure] = []
    executed: dict[str, nbformat.NotebookNode] = {}
    stages = run_stages(notebooks_dir)
    *pipeline, summary = stages  # the round summary comes last, and runs beside the region reports
    warming = warm_report_workers(max(1, workers or joblib.cpu_count()))
    batch = ReportBatch((), (), {})
    with tqdm(total=len(stages), desc="stages", unit="stage", disable=not progress) as bar, \
            (stage_kernels if stage_kernels is not None else StageKernels(stages)) as kernels:
        for wave in stage_waves(pipeline, concurrent=CONCURRENT_STAGES if FOLDER_LOCKS else frozenset()):
            bar.set_postfix_str(" + ".join(notebook.stem for notebook in wave))
            outcomes = _run_wave(wave, reports_dir, pool, [kernels.take() for _ in wave])
            for notebook, outcome in zip(wave, outcomes, strict=True):
                _record_stage(notebook, outcome, timings, failures, executed, bar)
            if any(failure is not None for _, _, failure in outcomes):  # a failed stage ends the run
                break
        else:  # stages 01-04 done: the summary (06) and the reports read only what they wrote
            bar.set_postfix_str(summary.stem)
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="summary") as thread:
                summary_run = thread.submit(_run_stage, summary, reports_dir, pool, kernels.take())
                if warming is not None:
                    warming.join()
                started = time.perf_counter()
                batch = render_reports(processed_dir, reports_dir, accepted_regions(processed_dir), workers,
                                       language, notebooks_dir / REPORT_NOTEBOOK, progress=progress,
                                       framework_file=framework_file)
                timings["05_region_report"] = round(time.perf_counter() - started, 3)
                _record_stage(summary, summary_run.result(), timings, failures, executed, bar)
            failures.extend(batch.failures)  # a failed summary does not hold the reports back
    exporter = make_exporter()
    for name, nb in executed.items():
        page = notebook_to_html(nb, exporter, page_title(nb, Path(name).stem), language)
        write_text(reports_dir / "html" / f"{Path(name).stem}.html", page)
    index_path = write_index(reports_dir, processed_dir, batch.rendered, language, failures, list(executed))
    manifest_path = write_manifest(reports_dir, submissions_dir, processed_dir, pool, timings, batch, failures,
                                   framework_file)
    return RunResult(reports_dir, index_path, manifest_path, batch.rendered, tuple(failures), timings)


def stage_waves(stages: Sequence[Path], concurrent: frozenset[str] = CONCURRENT_STAGES) -> list[list[Path]]:
    """Group a run's stage notebooks into waves: adjacent stages named in ``concurrent`` share one wave.

    The stages of a wave run at the same time, each on its own kernel; a wave starts when the previous one has
    ended, so a stage still finds every output of the waves before it.

    Parameters
    ----------
    stages : sequence of Path
        The stage notebooks, in the order they run.
    concurrent : frozenset of str
        File names of stages that may run together (:data:`CONCURRENT_STAGES`); empty: one stage per wave.

    Returns
    -------
    list of list of Path
        The waves, in order; together they hold every stage once, in the given order.
    """
    waves: list[list[Path]] = []
    for notebook in stages:
        if waves and notebook.name in concurrent and all(n.name in concurrent for n in waves[-1]):
            waves[-1].append(notebook)
        else:
            waves.append([notebook])
    return waves


def _run_wave(wave: Sequence[Path], reports_dir: Path, pool: Mapping[str, Any], kernels: Sequence[Any]
              ) -> list[tuple[nbformat.NotebookNode | None, float, Failure | None]]:
    """Run the stages of one wave, each on its kernel, at the same time; outcomes in the wave's order."""
    if len(wave) == 1:
        return [_run_stage(wave[0], reports_dir, pool, kernels[0])]
    with ThreadPoolExecutor(max_workers=len(wave), thread_name_prefix="stage") as threads:
        futures = [threads.submit(_run_stage, notebook, reports_dir, pool, km)
                   for notebook, km in zip(wave, kernels, strict=True)]
        return [future.result() for future in futures]


def _record_stage(notebook: Path, outcome: tuple[nbformat.NotebookNode | None, float, Failure | None],
                  timings: dict[str, float], failures: list[Failure], executed: dict[str, nbformat.NotebookNode],
                  bar: Any) -> None:
    nb, seconds, failure = outcome
    timings[notebook.stem] = seconds
    if failure is not None:
        failures.append(failure)
    else:
        executed[notebook.name] = nb
        bar.update()


def _run_stage(notebook: Path, reports_dir: Path, pool: Mapping[str, Any], km: Any = None
               ) -> tuple[nbformat.NotebookNode | None, float, Failure | None]:
    """Run one stage notebook; return it executed (or None), its seconds, and its failure (or None)."""
    started = time.perf_counter()
    try:
        parameters = select_parameters(pool, declared_parameters(notebook))
        nb = execute_stage(notebook, reports_dir / "notebooks" / notebook.name, parameters, km=km)
        return nb, round(time.perf_counter() - started, 3), None
    except Exception as exc:  # a stage failure ends the run, but the run still writes its manifest
        failure = Failure(notebook.stem, notebook.stem, _short_error(exc))
        return None, round(time.perf_counter() - started, 3), failure
    finally:
        stop_stage_kernel(km)


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
                   timings: Mapping[str, float], batch: ReportBatch, failures: Iterable[Failure],
                   framework_file: str | Path | None = None) -> Path:
    """Write ``manifest.json``: inputs with sha256, parameters, versions, timings and failures.

    The framework is the file the run used (default: the project's ``config/framework.yaml``): ``inputs.framework``
    holds its name and sha256, and ``parameters.framework_file`` its absolute path. Timings are the one part that
    differs between two runs on the same inputs; they live only here.
    """
    framework_file = Path(framework_file or paths.FRAMEWORK_FILE).resolve()
    manifest = {
        "inputs": {"submissions": file_hashes(submissions_dir), "processed": file_hashes(processed_dir),
                   "framework": file_hashes(framework_file)},
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
