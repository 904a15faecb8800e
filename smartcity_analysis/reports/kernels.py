"""The kernels of a run's stage notebooks, started ahead of the stage that uses them.

Each stage notebook runs on a fresh kernel, as papermill would start it; :class:`StageKernels` starts the next
stage's kernel while the previous stage runs. This module imports nothing heavier than ``jupyter_client``, so
``smartcity run`` starts the first stage's kernel before it imports the runner (nbformat, nbclient, pandas,
nbconvert): the kernel boots on one core while the command imports on the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_core.utils import run_sync

# The stage notebooks, in execution order (the what-if notebook 04b is interactive and not part of a run).
STAGE_NOTEBOOKS = (
    "01_clean_submissions.ipynb",
    "02_readiness_index.ipynb",
    "03_readiness_profiles.ipynb",
    "04_rank_and_select.ipynb",
)
SUMMARY_NOTEBOOK = "06_round_summary.ipynb"
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


def run_stages(notebooks_dir: str | Path) -> list[Path]:
    """Return the notebooks a run executes as stages, in order: :data:`STAGE_NOTEBOOKS`, then the summary."""
    return [Path(notebooks_dir) / name for name in (*STAGE_NOTEBOOKS, SUMMARY_NOTEBOOK)]


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
