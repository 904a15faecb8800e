"""The ``smartcity`` command: ``sample``, ``clean`` and ``run``.

``smartcity run`` with no arguments runs the whole job on the bundled sample round.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from smartcity_analysis.paths import FRAMEWORK_FILE, PROCESSED_DIR, REPORTS_DIR, SAMPLE_SUBMISSIONS_DIR

if TYPE_CHECKING:
    from smartcity_analysis.config import Framework

INVITATIONS_HELP = ("the round's invitation list (.csv/.xlsx); default: invitations-YEAR.csv (or .xlsx) beside the "
                    "submissions folder, YEAR the round's year as its submissions give it")
FRAMEWORK_HELP = ("the framework file (fields, indicators, weights, methods, labels) every stage and report reads; "
                  "checked before anything is written (default: config/framework.yaml of the project)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smartcity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="generate the bundled sample round (byte-identical per seed)")
    sample.add_argument("--seed", type=int, default=2021, help="random seed (default 2021)")
    sample.add_argument("--out", type=Path, default=SAMPLE_SUBMISSIONS_DIR, help="folder to write")

    clean = commands.add_parser("clean", help="clean a folder of submissions into the processed folder")
    clean.add_argument("--submissions", type=Path, default=SAMPLE_SUBMISSIONS_DIR, help="submissions folder")
    clean.add_argument("--processed", type=Path, default=PROCESSED_DIR, help="processed folder to write")
    clean.add_argument("--year", type=int, default=None,
                       help="the round's assessment year (default: the latest year present)")
    clean.add_argument("--invitations", type=Path, default=None, metavar="FILE", help=INVITATIONS_HELP)
    clean.add_argument("--framework", type=Path, default=FRAMEWORK_FILE, metavar="FILE", help=FRAMEWORK_HELP)

    run = commands.add_parser("run", help="run every stage, then one report per region")
    run.add_argument("--submissions", type=Path, default=SAMPLE_SUBMISSIONS_DIR, help="submissions folder")
    run.add_argument("--processed", type=Path, default=PROCESSED_DIR, help="processed folder to write")
    run.add_argument("--reports", type=Path, default=REPORTS_DIR, help="reports folder to write")
    run.add_argument("--workers", type=int, default=None, help="parallel report workers (default: cores)")
    run.add_argument("--quota", type=int, default=50, help="number of regions to select (default 50)")
    run.add_argument("--language", choices=("id", "en"), default="id", help="report language (default id)")
    run.add_argument("--year", type=int, default=None,
                     help="the round's assessment year; rows of other years are set aside (default: latest present)")
    run.add_argument("--invitations", type=Path, default=None, metavar="FILE", help=INVITATIONS_HELP)
    run.add_argument("--framework", type=Path, default=FRAMEWORK_FILE, metavar="FILE", help=FRAMEWORK_HELP)
    run.add_argument("--quiet", action="store_true",
                     help="no progress bars and no summary line (for schedulers); failures still go to stderr")
    run.add_argument("--all-rounds", action="store_true",
                     help="run every bundled round (data/raw/submissions/sample-YEAR) into PROCESSED/YEAR and "
                          "REPORTS/YEAR, then their history (--submissions is then ignored)")

    history = commands.add_parser("history", help="compare several rounds' processed folders, like for like")
    history.add_argument("rounds", nargs="+", metavar="ROUND_DIR",
                         help="a round's processed folder, a folder of them, or YEAR=FOLDER")
    history.add_argument("--out", type=Path, default=None,
                         help="folder to write history.csv into (default: the latest round's processed folder)")
    history.add_argument("--no-reselection", action="store_true",
                         help="regions selected in an earlier round may not be selected again")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``smartcity`` command and return its exit status.

    A missing or unusable input folder is reported in one line, and a framework file with problems with every
    problem on a line of its own (exit status 2), not as a traceback.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    from smartcity_analysis.config import FrameworkError  # after parsing, so that --help imports nothing
    if args.command == "run" and args.all_rounds and args.invitations is not None:
        parser.error("--invitations names one round's list and cannot be used with --all-rounds")
    try:
        return _dispatch(args)
    except (FileNotFoundError, NotADirectoryError) as error:
        parser.exit(2, f"smartcity {args.command}: {error}\n")
    except FrameworkError as error:
        problems = "".join(f"- {problem}\n" for problem in error.problems)
        parser.exit(2, f"smartcity {args.command}: {error.path}: the framework file has {len(error.problems)} "
                       f"problem(s); nothing was written. Fix them and run again:\n{problems}")


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "sample":
        from smartcity_analysis.synthetic.sample_round import generate_sample_round

        summary = generate_sample_round(args.out, seed=args.seed)
        print(summary)
        return 0
    if args.command == "clean":
        return _clean(args)
    if args.command == "history":
        from smartcity_analysis.history import HistoryParameters, run_history

        try:
            result = run_history(args.rounds, args.out, HistoryParameters(allow_reselection=not args.no_reselection))
        except ValueError as error:  # two rounds of one year, one round only: one line, like a missing folder
            print(f"smartcity history: {error}", file=sys.stderr)
            return 2
        latest = result.summary["latest"]
        print(f"history of {', '.join(map(str, result.summary['years']))} ({result.comparison.basis}): "
              f"{latest['returning']} returning and {latest['new']} new region(s) in {result.summary['latest_year']}, "
              f"{latest['moved_up']} up, {latest['moved_down']} down; wrote {result.paths['history']}")
        return 0
    # Folders given on the command line are relative to where the command runs; the notebooks resolve a
    # relative folder parameter against the project root, so pass absolute paths.
    args.submissions, args.processed, args.reports = (p.resolve() for p in
                                                      (args.submissions, args.processed, args.reports))
    framework = _checked_framework(args.framework).path
    if args.all_rounds:
        return _run_all_rounds(args, framework)
    if not args.submissions.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {args.submissions}")
    invitations = _named_invitations(args.invitations)
    from smartcity_analysis.paths import NOTEBOOKS_DIR
    from smartcity_analysis.reports.kernels import StageKernels, run_stages

    with StageKernels(run_stages(NOTEBOOKS_DIR)) as kernels:  # the first stage's kernel boots while the runner imports
        from smartcity_analysis.reports.runner import run_round

        result = run_round(args.submissions, args.processed, args.reports, workers=args.workers,
                           assessment_year=args.year, quota=args.quota, language=args.language,
                           progress=not args.quiet, stage_kernels=kernels, invitations_file=invitations,
                           framework_file=framework)
    if not args.quiet:
        print(f"{len(result.rendered)} region report(s) in {result.reports_dir}; open {result.index_path}")
    for failure in result.failures:
        print(f"failed: {failure.stage} {failure.item}: {failure.message}", file=sys.stderr)
    if result.failures:
        print(f"{len(result.failures)} failure(s); see {result.manifest_path}", file=sys.stderr)
    return result.exit_code


def _checked_framework(path: Path) -> Framework:
    """Read the framework file (its path made absolute) before anything is written.

    Raises
    ------
    FileNotFoundError
        When the file is not there.
    smartcity_analysis.config.FrameworkError
        When it has problems (every one listed); the command then stops before anything is written.
    """
    from smartcity_analysis.config import load_framework

    if not path.is_file():
        raise FileNotFoundError(f"framework file not found: {path}")
    return load_framework(path.resolve())


def _named_invitations(path: Path | None) -> Path | None:
    """Return a named invitation list as an absolute path; a named list that is not there stops the command."""
    if path is None:
        return None
    if not path.is_file():
        raise FileNotFoundError(f"invitation list not found: {path}")
    return path.resolve()


def _clean(args: argparse.Namespace) -> int:
    """Run stage 01 as the notebook does: clean the submissions, then set them against the invitation list."""
    from smartcity_analysis.cleaning.invitations import invitations_with_notes, round_invitations_file
    from smartcity_analysis.cleaning.stage import run_cleaning

    framework = _checked_framework(args.framework)
    named = _named_invitations(args.invitations)
    if not args.submissions.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {args.submissions}")
    result = run_cleaning(args.submissions, args.processed, framework=framework, assessment_year=args.year)
    summary = result.summary
    print(
        f"read {summary['rows_read']} rows from {len(summary['files_read'])} sheet(s): "
        f"{summary['rows_accepted']} accepted, {summary['rows_superseded']} superseded, "
        f"{summary['rows_quarantined']} quarantined; {len(summary['files_rejected'])} file(s) rejected"
    )
    invitations, notes = invitations_with_notes(round_invitations_file(named, args.submissions, summary),
                                                args.processed, framework)
    if invitations is None:
        print("; ".join(note.message_en for note in notes))
        return 0
    counts = invitations.summary
    print(f"invitation list {counts['source_file']}: {counts['invited']} invited, {counts['took_part']} took part, "
          f"{counts['absent']} absent, {counts['not_invited']} accepted without an invitation")
    return 0


def _run_all_rounds(args: argparse.Namespace, framework: Path) -> int:
    from smartcity_analysis.reports.all_rounds import bundled_rounds, run_rounds

    result = run_rounds(bundled_rounds(), args.processed, args.reports, workers=args.workers, quota=args.quota,
                        language=args.language, progress=not args.quiet, framework_file=framework)
    if not args.quiet:
        print(f"{len(result.rounds)} round(s) in {args.reports}; open {result.index_path}")
    failures = [f for _, r in result.rounds for f in r.failures] + list(result.failures)
    for failure in failures:
        print(f"failed: {failure.stage} {failure.item}: {failure.message}", file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
