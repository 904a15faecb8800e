"""A region's standing across rounds, and the round's largest movers, from the history stage's files.

The history stage (:mod:`smartcity_analysis.history`) writes ``history.csv`` and ``history_summary.json``, by
default into the latest round's processed folder. A page uses them only when they are about this very round:
the summary records the sha256 of each round's ``ranking.csv``, and the folder's own ``ranking.csv`` must be
one of them (so a history left over from an earlier run of the round is never shown).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from smartcity_analysis.reports.language import NumberFormat, as_text, validate_language

HISTORY_FILE, HISTORY_SUMMARY_FILE = "history.csv", "history_summary.json"
_AXIS = {"id": "Peringkat", "en": "Rank"}


@dataclass(frozen=True)
class RoundStanding:
    """A region's standing in one round."""

    year: int
    rank: int
    n_regions: int
    index: float
    selected: bool
    comparable_rank: int


@dataclass(frozen=True)
class Trajectory:
    """A region's rounds, oldest first (the last is the round of the page), and what changed.

    Attributes
    ----------
    rounds : tuple of RoundStanding
        Every round of the history the region took part in, up to the page's round.
    basis : str
        ``"published"`` or ``"shared_indicators"`` (the frameworks differ: ranks compared on shared indicators).
    previous_year : int or None
        The region's previous round (None: the page's round is its first in the history).
    rank_change : int or None
        Places moved up since then (negative: down), on the comparison's basis.
    selected_before : bool
        Selected in an earlier round.
    first_selected_year : int or None
        The first round it was selected in.
    may_be_selected : bool
        Whether it may be selected again (the history's ``allow_reselection``).
    chart_svg : str
        A small inline SVG of its rank in each round (empty with a single round).
    """

    rounds: tuple[RoundStanding, ...]
    basis: str
    previous_year: int | None
    rank_change: int | None
    selected_before: bool
    first_selected_year: int | None
    may_be_selected: bool
    chart_svg: str = ""


@dataclass(frozen=True)
class RoundMovers:
    """The round against the previous ones: who came back, who is new, who moved most.

    ``up`` and ``down`` hold ``region_code``, ``name``, ``previous_year``, ``previous_rank``, ``rank``,
    ``change`` (places, on the comparison's basis).
    """

    year: int
    years: tuple[int, ...]
    basis: str
    left_out: Mapping[str, tuple[str, ...]]
    returning: int
    new: int
    selected_before: int
    allow_reselection: bool
    up: tuple[Mapping[str, Any], ...]
    down: tuple[Mapping[str, Any], ...]


def history_of_round(processed_dir: str | Path) -> tuple[pd.DataFrame, Mapping[str, Any], int] | None:
    """Return the history table, its summary and the year of this round; None when there is none for it.

    The files are parsed once per version (cached under their paths, sizes and modification times), as the
    other processed tables are, so the reports of a round rendered in one warm kernel read them once.
    """
    folder = Path(processed_dir).resolve()
    paths = folder / HISTORY_FILE, folder / HISTORY_SUMMARY_FILE, folder / "ranking.csv"
    if not all(p.is_file() for p in paths):
        return None
    versions = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    found = _history_of_round(versions)
    return None if found is None else (found[0].copy(deep=False), MappingProxyType(found[1]), found[2])


@functools.lru_cache(maxsize=2)
def _history_of_round(versions: tuple[tuple[str, int, int], ...]
                      ) -> tuple[pd.DataFrame, dict[str, Any], int] | None:
    # Keyed by every file's (path, size, mtime): a rewritten file is a new key. Holds round files only.
    history_path, summary_path, ranking_path = (Path(v[0]) for v in versions)
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    own = hashlib.sha256(ranking_path.read_bytes()).hexdigest()
    years = [int(y) for y, sha in (summary.get("ranking_sha256") or {}).items() if sha == own]
    if len(years) != 1:
        return None
    return pd.read_csv(history_path, dtype={"region_code": str}, encoding="utf-8"), summary, years[0]


def trajectory(history: tuple[pd.DataFrame, Mapping[str, Any], int] | None, region_code: str,
               language: str = "id") -> Trajectory | None:
    """Return a region's trajectory up to this round, or None without a history for the round."""
    if history is None:
        return None
    table, summary, year = history
    rows = table[(table["region_code"] == str(region_code)) & (table["year"] <= year)].sort_values("year")
    if rows.empty or int(rows["year"].iloc[-1]) != year:
        return None
    last = rows.iloc[-1]
    standings = tuple(RoundStanding(int(r["year"]), int(r["rank"]), int(r["n_regions"]), float(r["readiness_index"]),
                                    _flag(r["selected"]), int(r["comparable_rank"])) for _, r in rows.iterrows())
    return Trajectory(
        rounds=standings, basis=str(summary.get("basis", "published")),
        previous_year=_optional_int(last["previous_year"]), rank_change=_optional_int(last["rank_change"]),
        selected_before=_flag(last["selected_before"]), first_selected_year=_optional_int(last["first_selected_year"]),
        may_be_selected=_flag(last["may_be_selected"]),
        chart_svg=rank_chart_svg(standings, language) if len(standings) > 1 else "",
    )


def round_movers(history: tuple[pd.DataFrame, Mapping[str, Any], int] | None, n: int = 5) -> RoundMovers | None:
    """Return this round against the earlier ones (largest movers up and down), or None without a history."""
    if history is None:
        return None
    table, summary, year = history
    this = table[table["year"] == year]
    earlier = table[table["year"] < year]
    if earlier.empty:
        return None
    previous_rank = earlier.sort_values("year").groupby("region_code")["comparable_rank"].last()
    moved = this[this["rank_change"].notna()].assign(change=lambda t: t["rank_change"].astype(int))

    def entries(frame: pd.DataFrame) -> tuple[Mapping[str, Any], ...]:
        return tuple({"region_code": r["region_code"], "name": as_text(r["official_name"]),
                      "previous_year": int(r["previous_year"]), "previous_rank": int(previous_rank[r["region_code"]]),
                      "rank": int(r["comparable_rank"]), "change": int(r["change"])} for _, r in frame.iterrows())

    up = moved[moved["change"] > 0].sort_values(["change", "region_code"], ascending=[False, True]).head(n)
    down = moved[moved["change"] < 0].sort_values(["change", "region_code"], ascending=[True, True]).head(n)
    return RoundMovers(
        year=year, years=tuple(sorted({int(y) for y in table["year"] if y <= year})),
        basis=str(summary.get("basis", "published")),
        left_out={str(y): tuple(c) for y, c in (summary.get("indicators_left_out") or {}).items() if c},
        returning=int(this["previous_year"].notna().sum()), new=int(this["previous_year"].isna().sum()),
        selected_before=int(this["selected_before"].map(_flag).sum()),
        allow_reselection=bool(summary.get("allow_reselection", True)), up=entries(up), down=entries(down))


def rank_chart_svg(rounds: tuple[RoundStanding, ...], language: str = "id") -> str:
    """Draw a region's rank in each round as a small inline SVG (rank 1 at the top; selected rounds filled)."""
    language = validate_language(language)
    fmt = NumberFormat(language)
    width, height, left, right, top, bottom = 360.0, 150.0, 56.0, 24.0, 22.0, 30.0
    worst = max(r.n_regions for r in rounds)
    step = (width - left - right) / max(1, len(rounds) - 1)
    points = [(left + k * step, top + (r.rank - 1) / max(1, worst - 1) * (height - top - bottom))
              for k, r in enumerate(rounds)]
    path = " ".join(f"{'M' if k == 0 else 'L'}{x:.1f},{y:.1f}" for k, (x, y) in enumerate(points))
    marks = []
    for (x, y), r in zip(points, rounds, strict=True):
        fill = "#1f6f8b" if r.selected else "#ffffff"
        marks.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}" stroke="#1f6f8b" stroke-width="2"/>'
                     f'<text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle" font-size="12">{r.rank}</text>'
                     f'<text x="{x:.1f}" y="{height - 8:.1f}" text-anchor="middle" font-size="12">{r.year}</text>')
    axis = (f'<text x="8" y="{top + 4:.1f}" font-size="11">1</text>'
            f'<text x="8" y="{height - bottom + 4:.1f}" font-size="11">{fmt.integer(worst)}</text>'
            f'<text x="8" y="{(height - bottom + top) / 2 + 4:.1f}" font-size="11">{escape(_AXIS[language])}</text>')
    return (f'<svg class="sc-trajectory" viewBox="0 0 {width:g} {height:g}" width="{width:g}" role="img" '
            f'aria-label="{escape(_AXIS[language])}" font-family="sans-serif">'
            f'<line x1="{left - 10:g}" y1="{top:g}" x2="{left - 10:g}" y2="{height - bottom:g}" stroke="#c8ced3"/>'
            f'<path d="{path}" fill="none" stroke="#1f6f8b" stroke-width="2"/>' + axis + "".join(marks) + "</svg>")


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1")


def _optional_int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
