"""The ``smartcity`` command: ``sample``, ``clean`` and ``run``.

``smartcity run`` with no arguments runs the whole job on the bundled sample round.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from smartcity_analysis.paths import PROCESSED_DIR, REPORTS_DIR, SAMPLE_SUBMISSIONS_DIR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smartcity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="generate the bundled sample round (byte-identical per seed)")
    sample.add_argument("--seed", type=int, default=2021, help="random seed (default 2021)")
    sample.add_argument("--out", type=Path, default=SAMPLE_SUBMISSIONS_DIR, help="folder to write")

    clean = commands.add_parser("clean", help="clean a folder of submissions into the processed folder")
    clean.add_argument("--submissions", type=Path, default=SAMPLE_SUBMISSIONS_DIR, help="submissions folder")
    clean.add_argument("--processed", type=Path, default=PROCESSED_DIR, help="processed folder to write")

    run = commands.add_parser("run", help="run every stage, then one report per region")
    run.add_argument("--submissions", type=Path, default=SAMPLE_SUBMISSIONS_DIR, help="submissions folder")
    run.add_argument("--processed", type=Path, default=PROCESSED_DIR, help="processed folder to write")
    run.add_argument("--reports", type=Path, default=REPORTS_DIR, help="reports folder to write")
    run.add_argument("--workers", type=int, default=None, help="parallel report workers (default: cores)")
    run.add_argument("--quota", type=int, default=50, help="number of regions to select (default 50)")
    run.add_argument("--language", choices=("id", "en"), default="id", help="report language (default id)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bars and no summary line (for schedulers); failures still go to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``smartcity`` command and return its exit status.

    A missing or unusable input folder is reported in one line (exit status 2), not as a traceback.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except (FileNotFoundError, NotADirectoryError) as error:
        parser.exit(2, f"smartcity {args.command}: {error}\n")


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "sample":
        from smartcity_analysis.synthetic.sample_round import generate_sample_round

        summary = generate_sample_round(args.out, seed=args.seed)
        print(summary)
        return 0
    if args.command == "clean":
        from smartcity_analysis.cleaning.stage import run_cleaning

        result = run_cleaning(args.submissions, args.processed)
        summary = result.summary
        print(
            f"read {summary['rows_read']} rows from {len(summary['files_read'])} sheet(s): "
            f"{summary['rows_accepted']} accepted, {summary['rows_superseded']} superseded, "
            f"{summary['rows_quarantined']} quarantined; {len(summary['files_rejected'])} file(s) rejected"
        )
        return 0
    from smartcity_analysis.reports.runner import run_round

    if not args.submissions.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {args.submissions}")
    result = run_round(args.submissions, args.processed, args.reports, workers=args.workers,
                       quota=args.quota, language=args.language, progress=not args.quiet)
    if not args.quiet:
        print(f"{len(result.rendered)} region report(s) in {result.reports_dir}; open {result.index_path}")
    for failure in result.failures:
        print(f"failed: {failure.stage} {failure.item}: {failure.message}", file=sys.stderr)
    if result.failures:
        print(f"{len(result.failures)} failure(s); see {result.manifest_path}", file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
