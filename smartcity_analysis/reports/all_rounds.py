"""Run several rounds one after the other, then their history: the workbook's rounds in context.

``run_rounds`` runs each round with :func:`~smartcity_analysis.reports.runner.run_round` into its own folders
(``<processed_root>/<year>/``, ``<reports_root>/<year>/``), then executes the history notebook
(``07_history``) on all of them, which writes ``history.csv`` into the latest round's processed folder. The
latest round's summary and region reports are rendered again afterwards, so that they show each region's
earlier standing and the round's largest movers (the earlier rounds have nothing before them). A landing page,
``<reports_root>/index.html``, links every round's index and the history.

This module only uses the runner's public functions; it leaves ``smartcity run``'s single-round layout as it is.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smartcity_analysis import paths
from smartcity_analysis.outputs import write_text
from smartcity_analysis.reports.language import template_environment, validate_language
from smartcity_analysis.reports.runner import (
    REPORT_NOTEBOOK,
    STAGE_NOTEBOOKS,
    SUMMARY_NOTEBOOK,
    Failure,
    RunResult,
    accepted_regions,
    declared_parameters,
    execute_stage,
    page_title,
    render_reports,
    run_round,
    select_parameters,
    write_index,
)

HISTORY_NOTEBOOK = "07_history.ipynb"
_BUNDLED = re.compile(r"sample-(\d{4})")


@dataclass(frozen=True)
class RoundsRun:
    """The outcome of :func:`run_rounds`.

    Attributes
    ----------
    rounds : tuple of (int, RunResult)
        Each round's year and run.
    history_page : Path or None
        The history notebook's page (None when it could not run).
    index_path : Path
        The landing page linking the rounds and the history.
    failures : tuple of Failure
        What failed after the rounds' own runs (the history, the latest round's second rendering).
    timings : Mapping of str to float
        Seconds of the history and of the second rendering.
    """

    rounds: tuple[tuple[int, RunResult], ...]
    history_page: Path | None
    index_path: Path
    failures: tuple[Failure, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when every round, the history and every page were produced, 1 otherwise."""
        return 0 if not self.failures and all(r.ok for _, r in self.rounds) else 1


def bundled_rounds(submissions_root: str | Path | None = None) -> tuple[tuple[int, Path], ...]:
    """Return the bundled rounds (``sample-<year>`` folders of ``data/raw/submissions``), oldest first."""
    root = Path(submissions_root) if submissions_root is not None else paths.RAW_DIR / "submissions"
    found = [(int(m[1]), p) for p in root.iterdir() if p.is_dir() and (m := _BUNDLED.fullmatch(p.name))]
    return tuple(sorted(found))


def run_rounds(rounds: Sequence[tuple[int, str | Path]], processed_root: str | Path, reports_root: str | Path,
               workers: int | None = None, quota: int = 50, language: str = "id",
               notebooks_dir: str | Path | None = None, progress: bool = True,
               framework_file: str | Path | None = None) -> RoundsRun:
    """Run every round, then the history, then the latest round's summary and reports again.

    Parameters
    ----------
    rounds : sequence of (int, str or Path)
        Each round's year and submissions folder (see :func:`bundled_rounds`).
    processed_root, reports_root : str or Path
        Each round is written under ``<root>/<year>/``; the history's notebook and page under
        ``<reports_root>/notebooks`` and ``<reports_root>/html``, the landing page at ``<reports_root>/index.html``.
    workers, quota, language, notebooks_dir, progress, framework_file
        As :func:`~smartcity_analysis.reports.runner.run_round` takes them (the same quota and framework for every
        round).

    Returns
    -------
    RoundsRun
    """
    language = validate_language(language)
    processed_root, reports_root = Path(processed_root), Path(reports_root)
    notebooks_dir = Path(notebooks_dir or paths.NOTEBOOKS_DIR)
    results = tuple((int(year), run_round(folder, processed_root / str(year), reports_root / str(year), workers,
                                          quota, language, notebooks_dir, progress, framework_file=framework_file))
                    for year, folder in rounds)
    complete = [year for year, r in results if not any(f.stage in _STAGE_STEMS for f in r.failures)]
    failures: list[Failure] = []
    timings: dict[str, float] = {}
    history_page = None
    if len(complete) >= 2:
        history_page = _run_history(notebooks_dir, [processed_root / str(y) for y in complete], reports_root,
                                    language, failures, timings)
        if history_page is not None:
            latest = complete[-1]
            _render_again(processed_root / str(latest), reports_root / str(latest), notebooks_dir, quota, language,
                          workers, progress, failures, timings, framework_file)
    index = _write_landing(reports_root, [y for y, _ in results], history_page, failures, language)
    return RoundsRun(results, history_page, index, tuple(failures), timings)


_STAGE_STEMS = frozenset(Path(n).stem for n in STAGE_NOTEBOOKS)


def _run_history(notebooks_dir: Path, processed: list[Path], reports_root: Path, language: str,
                 failures: list[Failure], timings: dict[str, float]) -> Path | None:
    from smartcity_analysis.reports.html import make_exporter, notebook_to_html

    started = time.perf_counter()
    notebook = notebooks_dir / HISTORY_NOTEBOOK
    try:
        nb = execute_stage(notebook, reports_root / "notebooks" / HISTORY_NOTEBOOK,
                           {"round_dirs": [str(p.resolve()) for p in processed]})
        page = reports_root / "html" / "07_history.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        write_text(page, notebook_to_html(nb, make_exporter(), page_title(nb, notebook.stem), language))
        if not (processed[-1] / "history.csv").is_file():
            raise RuntimeError("the history notebook ran but wrote no history.csv (see its notes)")
        return page
    except Exception as exc:  # the rounds' own pages stand without the history
        failures.append(Failure(notebook.stem, notebook.stem, f"{type(exc).__name__}: {exc}"))
        return None
    finally:
        timings[notebook.stem] = round(time.perf_counter() - started, 3)


def _render_again(processed: Path, reports: Path, notebooks_dir: Path, quota: int, language: str,
                  workers: int | None, progress: bool, failures: list[Failure], timings: dict[str, float],
                  framework_file: str | Path | None = None) -> None:
    """Render the latest round's summary and reports again, now that its history exists."""
    from smartcity_analysis.reports.html import make_exporter, notebook_to_html

    started = time.perf_counter()
    summary = notebooks_dir / SUMMARY_NOTEBOOK
    framework_file = Path(framework_file or paths.FRAMEWORK_FILE).resolve()
    pool = {"processed_dir": str(processed), "reports_dir": str(reports), "quota": int(quota), "language": language,
            "framework_file": str(framework_file)}
    try:
        nb = execute_stage(summary, reports / "notebooks" / SUMMARY_NOTEBOOK,
                           select_parameters(pool, declared_parameters(summary)))
        write_text(reports / "html" / f"{summary.stem}.html",
                   notebook_to_html(nb, make_exporter(), page_title(nb, summary.stem), language))
    except Exception as exc:  # noqa: BLE001 - the failure is listed on the landing page
        failures.append(Failure(summary.stem, summary.stem, f"{type(exc).__name__}: {exc}"))
    batch = render_reports(processed, reports, accepted_regions(processed), workers, language,
                           notebooks_dir / REPORT_NOTEBOOK, progress=progress, framework_file=framework_file)
    failures.extend(batch.failures)
    write_index(reports, processed, batch.rendered, language, batch.failures, (*STAGE_NOTEBOOKS, SUMMARY_NOTEBOOK))
    timings["rendered_again"] = round(time.perf_counter() - started, 3)


def _write_landing(reports_root: Path, years: list[int], history_page: Path | None, failures: list[Failure],
                   language: str) -> Path:
    page = template_environment().get_template("rounds.html.j2").render(
        language=language, years=years, history_href="html/07_history.html" if history_page else None,
        failures=sorted(failures, key=lambda f: (f.stage, f.item)))
    path = reports_root / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, page)
