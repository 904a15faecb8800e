"""The history stage: several rounds' outputs in one long table, compared like for like.

``run_history`` reads top to bottom as load, process, save:

1. read each round's processed folder under its own year (:mod:`~smartcity_analysis.history.rounds`);
2. decide the basis of comparison: the published index when every round used the same framework file and the
   same indicators, else a comparable index on the indicators every round shares (the mean of their
   normalised 0-100 scores, equal weights), ranked within each round; the history says which and why;
3. one row per region and round: index, rank, selection, profile, the comparable index and rank, the change
   since the region's previous round, and whether it was selected in an earlier round;
4. write ``history.csv``, ``history_rounds.csv`` and ``history_summary.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from smartcity_analysis import __version__, outputs
from smartcity_analysis.history.rounds import RoundOutputs, read_rounds
from smartcity_analysis.notes import NotApplicable, Note, run_optional

HISTORY_COLUMNS = ["region_code", "official_name", "year", "readiness_index", "rank", "n_regions", "selected",
                   "profile_id", "profile_name_id", "profile_name_en", "comparable_index", "comparable_rank",
                   "previous_year", "rank_change", "index_change", "selected_before", "first_selected_year",
                   "may_be_selected"]
ROUND_COLUMNS = ["year", "folder", "n_regions", "n_selected", "n_indicators", "framework_sha256",
                 "ranking_sha256"]
OUTPUT_FILES = {"history": "history.csv", "rounds": "history_rounds.csv", "summary": "history_summary.json"}
BASES = ("published", "shared_indicators")


@dataclass(frozen=True)
class HistoryParameters:
    """How the history is read.

    Attributes
    ----------
    allow_reselection : bool
        Whether a region selected in an earlier round may be selected again (``may_be_selected``); the
        programme's own rule is not published, so it is a parameter.
    n_movers : int
        How many regions the summary names among the largest movers up and down.
    """

    allow_reselection: bool = True
    n_movers: int = 5

    def __post_init__(self) -> None:
        if self.n_movers < 0:
            raise ValueError(f"n_movers must be 0 or more, got {self.n_movers}")


@dataclass(frozen=True)
class Comparison:
    """On what the rounds are compared.

    Attributes
    ----------
    basis : str
        ``"published"`` (same framework file and indicators in every round: the published index and rank) or
        ``"shared_indicators"`` (a comparable index on the indicators all rounds share).
    frameworks_differ : bool
        The framework files (their sha256) or the indicator sets differ between rounds.
    shared_indicators : tuple of str
        Indicators every round has, in the first round's order.
    only_in : Mapping of int to tuple of str
        Per year, the indicators of that round left out of the comparison.
    """

    basis: str
    frameworks_differ: bool
    shared_indicators: tuple[str, ...]
    only_in: Mapping[int, tuple[str, ...]]


@dataclass(frozen=True)
class HistoryResult:
    """What the history stage produced: the long table, the rounds, the comparison, the summary, the files."""

    table: pd.DataFrame
    rounds: pd.DataFrame
    comparison: Comparison
    summary: dict[str, Any]
    paths: Mapping[str, Path] = field(default_factory=dict)


def compare_frameworks(rounds: tuple[RoundOutputs, ...]) -> Comparison:
    """Decide the basis of comparison from the rounds' framework hashes and indicator sets.

    A round without a recorded framework hash counts as different (it cannot be shown to be the same).
    """
    shared = tuple(c for c in rounds[0].indicators if all(c in r.indicators for r in rounds[1:]))
    hashes = {r.framework_sha256 for r in rounds}
    differ = len(hashes) > 1 or "" in hashes or any(set(r.indicators) != set(shared) for r in rounds)
    if not shared:
        raise ValueError("the rounds share no indicator: they cannot be compared")
    return Comparison("shared_indicators" if differ else "published", differ, shared,
                      {r.year: tuple(c for c in r.indicators if c not in shared) for r in rounds})


def round_rows(outputs: RoundOutputs, comparison: Comparison) -> pd.DataFrame:
    """Return one round's rows of the history (before the changes between rounds)."""
    ranking = outputs.ranking
    profiles = outputs.profiles.reindex(columns=["region_code", "profile_id", "profile_name_id",
                                                 "profile_name_en"])
    table = pd.DataFrame({
        "region_code": ranking["region_code"].astype(str), "official_name": ranking["official_name"],
        "year": outputs.year, "readiness_index": ranking["readiness_index"].astype(float),
        "rank": ranking["rank"].astype("int64"), "n_regions": len(ranking),
        "selected": ranking["selected"].map(_flag),
    }).merge(profiles, on="region_code", how="left")
    if comparison.basis == "published":
        comparable = table.set_index("region_code")["readiness_index"]
    else:
        scores = outputs.scores.set_index("region_code")[list(comparison.shared_indicators)]
        comparable = scores.astype(float).mean(axis=1, skipna=True)
    table["comparable_index"] = table["region_code"].map(comparable).astype(float)
    table["comparable_rank"] = _rank(table, "comparable_index") if comparison.basis != "published" else table["rank"]
    return table


def _rank(table: pd.DataFrame, column: str) -> pd.Series:
    """Rank 1 = highest; ties by region code, so a rank is never shared."""
    order = table.assign(_neg=-table[column]).sort_values(["_neg", "region_code"], kind="stable").index
    return pd.Series(range(1, len(order) + 1), index=order).reindex(table.index).astype("int64")


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "ya", "yes")


def add_changes(table: pd.DataFrame, parameters: HistoryParameters) -> pd.DataFrame:
    """Add the change since each region's previous round and the earlier-selection flags.

    ``rank_change`` is positive when the region moved up (previous comparable rank minus this one);
    ``previous_year`` is the last earlier round the region took part in, so a round it missed is skipped.
    ``selected_before`` is True when the region was selected in an earlier round; ``may_be_selected`` is
    False for those when :attr:`HistoryParameters.allow_reselection` is False.
    """
    out = table.sort_values(["region_code", "year"], kind="stable").reset_index(drop=True)
    grouped = out.groupby("region_code", sort=False)
    out["previous_year"] = grouped["year"].shift(1).astype("Int64")
    out["rank_change"] = (grouped["comparable_rank"].shift(1) - out["comparable_rank"]).astype("Int64")
    out["index_change"] = out["comparable_index"] - grouped["comparable_index"].shift(1)
    earlier = grouped["selected"].transform(lambda s: s.astype(bool).cummax().shift(1, fill_value=False))
    out["selected_before"] = earlier.astype(bool)
    # The first round, up to and including this one, in which the region was selected.
    selected_years = out["year"].where(out["selected"].astype(bool)).groupby(out["region_code"]).cummin()
    out["first_selected_year"] = selected_years.groupby(out["region_code"]).ffill().astype("Int64")
    out["may_be_selected"] = parameters.allow_reselection | ~out["selected_before"]
    return out.sort_values(["year", "rank", "region_code"], kind="stable").reset_index(drop=True)[HISTORY_COLUMNS]


def movers(table: pd.DataFrame, year: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the ``n`` regions that moved up most and down most into ``year`` (ties by code)."""
    moved = table[(table["year"] == year) & table["rank_change"].notna()]
    up = moved[moved["rank_change"] > 0].sort_values(["rank_change", "region_code"], ascending=[False, True])
    down = moved[moved["rank_change"] < 0].sort_values(["rank_change", "region_code"], ascending=[True, True])
    return up.head(n).reset_index(drop=True), down.head(n).reset_index(drop=True)


def round_table(rounds: tuple[RoundOutputs, ...], table: pd.DataFrame) -> pd.DataFrame:
    """Return ``history_rounds.csv``: one row per round.

    Folders are named without their path, so the file does not depend on where the rounds were run.
    """
    return pd.DataFrame([{
        "year": r.year, "folder": r.folder.name, "n_regions": len(r.ranking),
        "n_selected": int(table.loc[table["year"] == r.year, "selected"].sum()), "n_indicators": len(r.indicators),
        "framework_sha256": r.framework_sha256, "ranking_sha256": r.ranking_sha256} for r in rounds],
        columns=ROUND_COLUMNS)


def build_summary(rounds: tuple[RoundOutputs, ...], table: pd.DataFrame, comparison: Comparison,
                  parameters: HistoryParameters) -> dict[str, Any]:
    """Return ``history_summary.json``: the basis and why, the counts per round, the movers of the latest."""
    latest = rounds[-1].year
    up, down = movers(table, latest, parameters.n_movers)
    this = table[table["year"] == latest]
    return {
        "years": [r.year for r in rounds], "latest_year": latest, "basis": comparison.basis,
        "frameworks_differ": comparison.frameworks_differ,
        "framework_sha256": {str(r.year): r.framework_sha256 for r in rounds},
        "shared_indicators": list(comparison.shared_indicators),
        "indicators_left_out": {str(y): list(c) for y, c in comparison.only_in.items()},
        "ranking_sha256": {str(r.year): r.ranking_sha256 for r in rounds},
        "allow_reselection": parameters.allow_reselection, "n_movers": parameters.n_movers,
        "latest": {"regions": len(this), "returning": int(this["previous_year"].notna().sum()),
                   "new": int(this["previous_year"].isna().sum()),
                   "selected_before": int(this["selected_before"].sum()),
                   "moved_up": int((this["rank_change"] > 0).sum()),
                   "moved_down": int((this["rank_change"] < 0).sum())},
        "movers_up": up["region_code"].tolist(), "movers_down": down["region_code"].tolist(),
        "package_version": __version__,
    }


def run_history(locations: Iterable[str | Path] | Mapping[int, str | Path], out_dir: str | Path | None = None,
                parameters: HistoryParameters | None = None) -> HistoryResult:
    """Read several rounds and write their history.

    Parameters
    ----------
    locations : iterable of str or Path, or Mapping of int to str or Path
        Processed folders of the rounds, folders of such folders, ``YEAR=FOLDER`` strings, or
        ``{year: folder}`` (see :func:`smartcity_analysis.history.rounds.expand_round_dirs`).
    out_dir : str or Path, optional
        Where to write ``history.csv``, ``history_rounds.csv`` and ``history_summary.json``; defaults to the
        latest round's processed folder, where that round's reports read them.
    parameters : HistoryParameters, optional
        Defaults to :class:`HistoryParameters` ().

    Returns
    -------
    HistoryResult
    """
    parameters = parameters if parameters is not None else HistoryParameters()
    rounds = read_rounds(locations)
    comparison = compare_frameworks(rounds)
    table = add_changes(pd.concat([round_rows(r, comparison) for r in rounds], ignore_index=True), parameters)
    result = HistoryResult(table, round_table(rounds, table), comparison,
                           build_summary(rounds, table, comparison, parameters))
    paths = write_outputs(result, Path(out_dir) if out_dir is not None else rounds[-1].folder)
    return HistoryResult(result.table, result.rounds, result.comparison, result.summary, paths)


def write_outputs(result: HistoryResult, out_dir: Path) -> dict[str, Path]:
    """Write the history's files into ``out_dir`` (created) and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {key: out_dir / name for key, name in OUTPUT_FILES.items()}
    outputs.write_csv(paths["history"], result.table)  # atomic: a killed run leaves the previous file whole
    outputs.write_csv(paths["rounds"], result.rounds)
    outputs.write_json(paths["summary"], result.summary)
    return paths


def trajectory_of(table: pd.DataFrame, region_code: str) -> pd.DataFrame:
    """Return one region's rows of the history, oldest first (empty when it never took part)."""
    return table[table["region_code"] == str(region_code)].sort_values("year", kind="stable").reset_index(drop=True)


# --- What the notebook shows --------------------------------------------------------------------------------

STAGE = "07_history"


def history_with_notes(locations: Iterable[str | Path] | Mapping[int, str | Path], out_dir: str | Path | None = None,
                       parameters: HistoryParameters | None = None) -> tuple[HistoryResult | None, tuple[Note, ...]]:
    """Run :func:`run_history`; when fewer than two rounds can be read, return None and a note saying why."""
    def attempt() -> HistoryResult:
        try:
            return run_history(locations, out_dir, parameters)
        except (FileNotFoundError, ValueError) as error:
            raise NotApplicable("too_few_rounds",
                                f"Riwayat antarputaran tidak dibuat: {error}",
                                f"The history across rounds was not built: {error}") from error

    return run_optional(STAGE, "history", attempt)


def rounds_overview(result: HistoryResult | None) -> pd.DataFrame:
    """Return the rounds read (one row per year); empty without a history."""
    return result.rounds.drop(columns=["ranking_sha256"]) if result is not None else pd.DataFrame(
        columns=[c for c in ROUND_COLUMNS if c != "ranking_sha256"])


def comparison_overview(result: HistoryResult | None) -> pd.DataFrame:
    """Return, per year, the basis of comparison and the indicators left out of it; empty without a history."""
    if result is None:
        return pd.DataFrame(columns=["year", "basis", "shared_indicators", "indicators_left_out"])
    comparison = result.comparison
    return pd.DataFrame([{"year": year, "basis": comparison.basis,
                          "shared_indicators": len(comparison.shared_indicators),
                          "indicators_left_out": ", ".join(left) or "-"} for year, left in comparison.only_in.items()])


def movers_overview(result: HistoryResult | None, direction: str = "up") -> pd.DataFrame:
    """Return the latest round's largest movers ``"up"`` or ``"down"``; empty without a history."""
    columns = ["region_code", "official_name", "previous_year", "comparable_rank", "rank_change"]
    if result is None:
        return pd.DataFrame(columns=columns)
    up, down = movers(result.table, result.summary["latest_year"], result.summary.get("n_movers", 5))
    return (up if direction == "up" else down)[columns]


def reselection_overview(result: HistoryResult | None) -> pd.DataFrame:
    """Return the latest round's regions selected in an earlier round, and whether they may be selected again."""
    columns = ["region_code", "official_name", "first_selected_year", "rank", "selected", "may_be_selected"]
    if result is None:
        return pd.DataFrame(columns=columns)
    table = result.table
    latest = table[(table["year"] == result.summary["latest_year"]) & table["selected_before"]]
    return latest[columns].reset_index(drop=True)
