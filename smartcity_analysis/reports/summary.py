"""The round summary's context: participation, the index distribution, profiles, selection and panel effect."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from smartcity_analysis.reports.language import NumberFormat, as_flag, as_text, validate_language
from smartcity_analysis.reports.map import round_map_from_tables
from smartcity_analysis.reports.participation import Participation, participation_summary
from smartcity_analysis.reports.region import robustness
from smartcity_analysis.reports.tables import read_processed_tables, resolve_processed_dir
from smartcity_analysis.reports.trajectory import RoundMovers, history_of_round, round_movers
from smartcity_analysis.reports.what_it_takes import PanelAdjustedSummary, panel_adjusted_summary


@dataclass(frozen=True)
class SummaryContext:
    """What the executive summary of a round says (built by :func:`summary_context`)."""

    language: str
    n_regions: int
    by_province: tuple[tuple[str, int], ...]
    by_class: tuple[tuple[str, int], ...]
    by_type: tuple[tuple[str, int], ...]
    index_values: tuple[float, ...]
    index_quantiles: Mapping[str, float]
    profiles: tuple[Mapping[str, Any], ...]
    n_selected: int
    robustness_counts: Mapping[str, int]
    fragile: tuple[Mapping[str, Any], ...]
    panel_sentence: str
    panel_effects: tuple[tuple[str, str, str, int], ...]
    # Invited, took part, accepted and who to call (None: the round has no invitation list), and the dot map.
    participation: Participation | None = None
    map_svg: str = ""
    # The round against earlier ones (None: no history for this round): returning, new, largest movers.
    movers: RoundMovers | None = None
    # The selection with the panel effect removed, beside the nominal one (selection.adjusted).
    panel_adjusted: PanelAdjustedSummary = PanelAdjustedSummary("unavailable")
    # What the run skipped or did differently (run_notes.csv): stage, region (empty for the round), message.
    run_notes: tuple[Mapping[str, str], ...] = ()

    @property
    def fmt(self) -> NumberFormat:
        """The number format of the summary's language."""
        return NumberFormat(self.language)


def summary_context(processed_dir: str | Path | None, language: str = "id") -> SummaryContext:
    """Gather what the round summary says: participation, the index, profiles, selection, panel effect.

    Parameters
    ----------
    processed_dir : str or Path or None
        The processed folder (empty or None: the project's ``data/processed``).
    language : {"id", "en"}
        Language of the summary.

    Returns
    -------
    SummaryContext
        The frozen context of :func:`render_summary_section`.
    """
    language = validate_language(language)
    folder = resolve_processed_dir(processed_dir)
    tables = read_processed_tables(folder)
    submissions, ranking = tables["submissions_clean"], tables["ranking"]
    ranking = ranking.merge(submissions[["region_code", "province_name"]], on="region_code", how="left")
    states = [robustness(as_flag(s), float(p), as_flag(e)) for s, p, e in
              zip(ranking["selected"], ranking.get("p_selected", pd.Series(float("nan"), ranking.index)),
                  ranking.get("eligible", pd.Series(True, ranking.index)), strict=True)]
    fragile = ranking.assign(state=states).query("state in ['fragile_in', 'fragile_out']")
    index = tables["scores"]["readiness_index"].astype(float).dropna()  # a round of one region has no index
    centroids = tables["profile_centroids"].sort_values("profile_id", kind="stable")
    panel_sentence, panel_effects = panel_effect_text(folder / "panel_effect.json", language)
    return SummaryContext(
        language=language, n_regions=len(submissions),
        by_province=_counts(submissions["province_name"]), by_class=_counts(submissions["assessment_class"]),
        by_type=_counts(submissions["region_type"]),
        index_values=tuple(sorted(index.tolist())),
        index_quantiles={q: float(index.quantile(v)) for q, v in
                         (("min", 0), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("max", 1))},
        profiles=tuple({"profile_id": int(r["profile_id"]), "name": as_text(r[f"profile_name_{language}"]),
                        "n_regions": int(r["n_regions"])} for _, r in centroids.iterrows()),
        n_selected=int(sum(as_flag(v) for v in ranking["selected"])),
        robustness_counts={s: states.count(s) for s in sorted(set(states))},
        fragile=tuple({"region_code": r["region_code"], "name": as_text(r["official_name"]), "rank": int(r["rank"]),
                       "p_selected": float(r["p_selected"]), "selected": as_flag(r["selected"])}
                      for _, r in fragile.sort_values(["rank", "region_code"]).iterrows()),
        panel_sentence=panel_sentence, panel_effects=panel_effects,
        participation=participation_summary(tables["participation"], tables["invitations_quarantine"], language),
        map_svg=round_map_from_tables(tables, language),
        movers=round_movers(history_of_round(folder)),
        panel_adjusted=panel_adjusted_summary(tables.get("panel_adjusted"), folder, language),
        run_notes=round_run_notes(tables.get("run_notes"), language),
    )


def round_run_notes(notes: pd.DataFrame | None, language: str) -> tuple[Mapping[str, str], ...]:
    """Return every note of ``run_notes.csv`` as ``stage``, ``region`` and ``message`` in ``language``."""
    if notes is None or notes.empty or "stage" not in notes.columns:
        return ()
    column = "message_en" if language == "en" else "message_id"
    return tuple({"stage": as_text(r["stage"]), "region": as_text(r.get("region_code")), "message": as_text(r[column])}
                 for r in notes.to_dict("records"))


def panel_effect_text(path: Path, language: str) -> tuple[str, tuple[tuple[str, str, str, int], ...]]:
    """Read ``panel_effect.json`` defensively: its sentence in ``language`` and the effect of each class.

    Returns
    -------
    sentence : str
        ``summary_<language>`` if present, else empty.
    effects : tuple of (class, effect, 95 % interval, regions)
        Per assessment class, its adjusted difference from the mean of the classes (points on the 1-5 scale)
        and its confidence interval, formatted in ``language``; empty when the file has no ``effects``.
    """
    if not path.exists():
        return "", ()
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "", ()
    if not isinstance(payload, dict):
        return "", ()
    fmt = NumberFormat(language)
    effects = tuple(
        (str(e["assessment_class"]), _signed(fmt, e["effect"]),
         f"{_signed(fmt, e['ci_low'])} … {_signed(fmt, e['ci_high'])}", int(e["n_regions"]))
        for e in payload.get("effects") or ()
        if isinstance(e, dict) and {"assessment_class", "effect", "ci_low", "ci_high", "n_regions"} <= set(e))
    return as_text(payload.get(f"summary_{language}")), effects


def _signed(fmt: NumberFormat, value: float) -> str:
    """Format a difference with an explicit sign (typographic minus), two decimals."""
    rounded = round(float(value), 2)
    sign = "+" if rounded > 0 else "\u2212" if rounded < 0 else ""
    return sign + fmt.number(abs(rounded), 2)


def _counts(values: pd.Series) -> tuple[tuple[str, int], ...]:
    counts = values.fillna("").astype(str).value_counts()
    return tuple(sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0])))

