"""The rounds a history reads: each round's processed folder, under its own year.

A round is a processed folder written by stages 01-04 (``ranking.csv``, ``scores.csv``, ``profiles.csv``,
``submissions_clean.csv``, ``cleaning_summary.json``). Its year is the assessment year of its accepted
submissions (the most common one), or one given explicitly (``2021=path``); its framework is recognised by the
framework file's sha256 recorded by the cleaning stage and by the indicators its ``scores.csv`` holds.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROUND_FILES = ("ranking.csv", "scores.csv", "profiles.csv", "submissions_clean.csv")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_NOT_INDICATORS = frozenset({"region_code", "readiness_index", "readiness_rank"})


@dataclass(frozen=True)
class RoundOutputs:
    """One round's processed outputs, as the history needs them.

    Attributes
    ----------
    year : int
        The round's year.
    folder : pathlib.Path
        Its processed folder.
    ranking, scores, profiles : pandas.DataFrame
        ``ranking.csv``, ``scores.csv``, ``profiles.csv`` (``region_code`` as text).
    framework_sha256 : str
        The framework file's sha256 recorded by the cleaning stage (empty when not recorded).
    indicators : tuple of str
        The normalised indicator columns of ``scores.csv``, in file order.
    ranking_sha256 : str
        The sha256 of ``ranking.csv``: a report checks it to know the history is about this very round.
    """

    year: int
    folder: Path
    ranking: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    profiles: pd.DataFrame = field(repr=False)
    framework_sha256: str
    indicators: tuple[str, ...]
    ranking_sha256: str


def is_round_folder(folder: Path) -> bool:
    """Return True when ``folder`` holds a round's processed outputs (:data:`ROUND_FILES`)."""
    return all((folder / name).is_file() for name in ROUND_FILES)


def expand_round_dirs(locations: Iterable[str | Path]) -> list[tuple[int | None, Path]]:
    """Turn the command line's locations into round folders, each with its year when given.

    A location is a processed folder, a folder of rounds (its sub-folders that are processed folders, by
    name), or ``YEAR=FOLDER`` to name the year.

    Raises
    ------
    FileNotFoundError
        When a location is neither a processed folder nor a folder holding any.
    """
    rounds: list[tuple[int | None, Path]] = []
    for location in locations:
        text = str(location)
        year, _, path_text = text.partition("=") if re.fullmatch(r"\d{4}=.+", text) else ("", "", text)
        folder = Path(path_text)
        if is_round_folder(folder):
            rounds.append((int(year) if year else None, folder))
            continue
        inside = sorted(p for p in folder.iterdir() if p.is_dir() and is_round_folder(p)) if folder.is_dir() else []
        if not inside:
            raise FileNotFoundError(f"{folder} is not a processed folder (it needs {', '.join(ROUND_FILES)}) "
                                    "and holds none; run the stages 01-04 of that round first")
        rounds.extend((None, p) for p in inside)
    return rounds


def round_year(folder: Path, submissions: pd.DataFrame) -> int:
    """Return a round's year: its submissions' most common assessment year, else the year in the folder's name.

    Raises
    ------
    ValueError
        When neither gives a year.
    """
    years = pd.to_numeric(submissions.get("assessment_year"), errors="coerce").dropna().astype(int)
    if len(years):
        return int(years.value_counts().sort_index(ascending=False).idxmax())
    found = _YEAR.findall(folder.name)
    if found:
        return int(found[-1])
    raise ValueError(f"{folder}: no assessment year in submissions_clean.csv and none in the folder's name; "
                     "name it as YEAR=FOLDER")


def read_round(folder: str | Path, year: int | None = None) -> RoundOutputs:
    """Read one round's processed folder.

    Parameters
    ----------
    folder : str or Path
        The processed folder.
    year : int, optional
        The round's year; found by :func:`round_year` when not given.

    Returns
    -------
    RoundOutputs
    """
    folder = Path(folder)
    read = {name: pd.read_csv(folder / name, dtype={"region_code": str}, encoding="utf-8")
            for name in ROUND_FILES}
    summary_path = folder / "cleaning_summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    provenance = summary.get("provenance") if isinstance(summary, Mapping) else None
    scores = read["scores.csv"]
    indicators = tuple(c for c in scores.columns
                       if c not in _NOT_INDICATORS and not c.startswith(("aspect_", "dimension_")))
    return RoundOutputs(
        year=int(year) if year is not None else round_year(folder, read["submissions_clean.csv"]),
        folder=folder, ranking=read["ranking.csv"], scores=scores, profiles=read["profiles.csv"],
        framework_sha256=str((provenance or {}).get("framework_sha256") or ""),
        indicators=indicators,
        ranking_sha256=hashlib.sha256((folder / "ranking.csv").read_bytes()).hexdigest(),
    )


def read_rounds(locations: Iterable[str | Path] | Mapping[int, str | Path]) -> tuple[RoundOutputs, ...]:
    """Read several rounds, oldest first.

    Parameters
    ----------
    locations : iterable of str or Path, or Mapping of int to str or Path
        As :func:`expand_round_dirs` takes them, or ``{year: folder}``.

    Raises
    ------
    ValueError
        When two folders are the same year, or fewer than two rounds are given.
    """
    pairs = (list(locations.items()) if isinstance(locations, Mapping)
             else expand_round_dirs(locations))
    rounds = sorted((read_round(folder, year) for year, folder in pairs), key=lambda r: r.year)
    years = [r.year for r in rounds]
    twice = sorted({y for y in years if years.count(y) > 1})
    if twice:
        folders = "; ".join(str(r.folder) for r in rounds if r.year in twice)
        raise ValueError(f"two rounds have the year {twice[0]} ({folders}); name each as YEAR=FOLDER")
    if len(rounds) < 2:
        raise ValueError("a history needs at least two rounds")
    return tuple(rounds)


def resolve_location(location: str | Path) -> str:
    """Resolve a location of the notebook's ``round_dirs`` against the project root, keeping ``YEAR=``."""
    from smartcity_analysis.paths import resolve_dir

    text = str(location)
    year, _, path_text = text.partition("=") if re.fullmatch(r"\d{4}=.+", text) else ("", "", text)
    resolved = str(resolve_dir(path_text))
    return f"{year}={resolved}" if year else resolved
