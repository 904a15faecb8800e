"""The context of one region's report: who it is, its standing, profile, peers, recommendations, data notes.

A report notebook makes one call, :func:`report_context`, which gathers everything the report says about one
region from the processed folder and the framework file into a frozen :class:`ReportContext`; each section is
then rendered by :func:`smartcity_analysis.reports.sections.render_section`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.reports.labels import (
    field_labels,
    framework_indicator_aspects,
    indicator_labels,
    recommendation_table,
    score_labels,
)
from smartcity_analysis.reports.language import (
    NUMERIC_TEXT,
    NumberFormat,
    as_flag,
    as_text,
    code_text,
    humanise,
    normalise_region_code,
    phrase,
    phrases,
    validate_language,
)
from smartcity_analysis.reports.map import position_map
from smartcity_analysis.reports.tables import (
    aggregate_columns,
    default_framework,
    indicator_columns,
    read_processed_tables,
    resolve_processed_dir,
)
from smartcity_analysis.reports.trajectory import Trajectory, history_of_round, trajectory
from smartcity_analysis.reports.what_it_takes import WhatItTakes, what_it_takes

# Bands of the share of Monte Carlo draws in which a region is selected (``p_selected``): at or above
# ROBUST_SHARE the decision is robust; between 1 - ROBUST_SHARE and ROBUST_SHARE it could go either way.
ROBUST_SHARE = 0.9


# A region's score differs from its peers' median by at least this many points (0-100) to count as a
# strength or a weakness; at most MAX_PEER_ITEMS of each are named.
PEER_GAP_POINTS = 5.0


MAX_PEER_ITEMS = 3


_WHOLE_FLOAT_TEXT = re.compile(r"(-?\d+)\.0+")


# Field types whose values are names, codes, dates or categories: shown as written, never as numbers
# (a year 2021 written "2.021" reads as a number with a separator in Indonesian).
_VERBATIM_TYPES = frozenset({"text", "region_code", "datetime", "ordinal", "free_text"})


@dataclass(frozen=True)
class Region:
    """Who the region is."""

    code: str
    name: str
    province: str
    region_type: str
    assessment_class: str
    assessment_year: Any


@dataclass(frozen=True)
class Standing:
    """The region's index, rank, its 5-95 % interval and the selection decision."""

    index: float
    rank: int
    n_regions: int
    rank_p05: Any
    rank_p95: Any
    rank_median: Any
    selected: bool
    p_selected: float
    borderline: bool
    eligible: bool
    decision_reason: str
    robustness: str


@dataclass(frozen=True)
class Profile:
    """The readiness profile the region belongs to and what it means."""

    profile_id: int
    name: str
    n_regions: int
    strongest: str
    weakest: str


@dataclass(frozen=True)
class ChartData:
    """Aspect and dimension scores of the region, its profile's centroid and the national median."""

    codes: tuple[str, ...]
    labels: tuple[str, ...]
    region: tuple[float, ...]
    centroid: tuple[float, ...]
    national: tuple[float, ...]


@dataclass(frozen=True)
class PeerComparison:
    """One indicator of the region against the median of its peers (same profile)."""

    code: str
    label: str
    score: float
    peer_median: float
    gap: float


@dataclass(frozen=True)
class Recommendation:
    """What to do about a weakness, keyed by indicator or aspect code."""

    code: str
    label: str
    text: str


@dataclass(frozen=True)
class DataNotes:
    """What cleaning and the index engine changed for the region, and what was missing, ready to show.

    Every value is already text in the report's language: fields and indicators by their label, rules and
    methods as short phrases, numbers in the language's format, years and codes as written.

    Attributes
    ----------
    source : Mapping
        ``source_file`` and ``source_row`` of the accepted submission, the one the report describes.
    cleaning : tuple of Mapping
        ``field``, ``original_value``, ``cleaned_value``, ``rule`` of each change to the accepted row only.
    imputed, treated : tuple of Mapping
        ``indicator``, ``imputed_value``, ``method``; ``indicator``, ``original_value``, ``treated_value``,
        ``treatment``.
    missing_fields : tuple of str
        Labels of the assessed fields left empty.
    superseded : tuple of Mapping
        ``source_file``, ``source_row`` of earlier submissions the accepted one replaced.
    quarantined : tuple of Mapping
        ``source_file``, ``source_row``, ``reason`` of rows naming the region that were set aside.
    """

    source: Mapping[str, str]
    cleaning: tuple[Mapping[str, str], ...]
    imputed: tuple[Mapping[str, str], ...]
    treated: tuple[Mapping[str, str], ...]
    missing_fields: tuple[str, ...]
    superseded: tuple[Mapping[str, str], ...] = ()
    quarantined: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class ReportContext:
    """Everything the report of one region says, in one language (built by :func:`report_context`)."""

    language: str
    region: Region
    standing: Standing
    profile: Profile | None  # None: the round had too few regions for profiles
    chart: ChartData
    strengths: tuple[PeerComparison, ...]
    weaknesses: tuple[PeerComparison, ...]
    recommendations: tuple[Recommendation, ...]
    data_notes: DataNotes
    notes: str
    # The region's place among the 514 kab/kota (inline SVG; empty when the reference has no points).
    position_svg: str = ""
    # Its standing in each round of the history (None: no history for this round, see reports/trajectory.py).
    trajectory: Trajectory | None = None
    # Its distance to the cut-off: the margin if selected, the most practical paths in if not (selection.gap).
    what_it_takes: WhatItTakes = WhatItTakes("unavailable")
    # What the run substituted or skipped that concerns this region (run_notes.csv), as sentences.
    run_notes: tuple[str, ...] = ()

    @property
    def fmt(self) -> NumberFormat:
        """The number format of the report's language."""
        return NumberFormat(self.language)


def report_context(processed_dir: str | Path | None, region_code: str | int, language: str = "id",
                   framework: Framework | None = None) -> ReportContext:
    """Gather what the report of one region says.

    Parameters
    ----------
    processed_dir : str or Path or None
        The processed folder of the round; empty or None means the project's ``data/processed``.
    region_code : str or int
        The 4-digit region code (an int from ``papermill -p`` is accepted).
    language : {"id", "en"}
        Language of labels, profile names and recommendations.
    framework : Framework, optional
        The framework; defaults to the project's ``config/framework.yaml``.

    Returns
    -------
    ReportContext
        The frozen context the report's sections and charts are rendered from.

    Raises
    ------
    ValueError
        When the code or language is invalid, or the region is not among the accepted regions.
    """
    code = normalise_region_code(region_code)
    language = validate_language(language)
    tables = read_processed_tables(processed_dir)
    framework = framework if framework is not None else default_framework()
    labels = score_labels(framework, tables["scores"].columns, language)
    row = {name: row_of(table, code, name) for name, table in tables.items()
           if name in ("submissions_clean", "scores", "ranking")}
    aggregates = [c for c in aggregate_columns(tables["scores"].columns) if tables["scores"][c].notna().any()]
    national = tables["scores"][aggregates].median()
    has_profile = code in set(tables["profiles"]["region_code"])
    if has_profile:  # peers are the region's profile; without profiles (a small round), the whole round
        profile_id = row_of(tables["profiles"], code, "profiles")["profile_id"]
        peers = tables["profiles"].loc[tables["profiles"]["profile_id"] == profile_id, "region_code"]
        centroid = row_of(tables["profile_centroids"].astype({"profile_id": "Int64"}), profile_id,
                          "profile_centroids", key="profile_id")
    else:
        peers, centroid = tables["scores"]["region_code"], national * float("nan")
    strengths, weaknesses = compare_with_peers(tables["scores"], code, peers, labels)
    return ReportContext(
        language=language,
        region=_region(row["submissions_clean"]),
        standing=_standing(row["ranking"], len(tables["ranking"])),
        profile=_profile(centroid, national, labels, language) if has_profile else None,
        chart=ChartData(tuple(aggregates), tuple(labels[c] for c in aggregates),
                        *(tuple(float(s[c]) for c in aggregates) for s in (row["scores"], centroid, national))),
        strengths=strengths,
        weaknesses=weaknesses,
        recommendations=recommend(weaknesses, _weak_aspects(row["scores"], centroid, national, labels),
                                  framework, framework_indicator_aspects(framework), labels, language),
        data_notes=data_notes(tables, code, framework, language),
        notes=as_text(row["submissions_clean"].get("notes")),
        position_svg=position_map(code, language),
        trajectory=trajectory(history_of_round(resolve_processed_dir(processed_dir)), code, language),
        what_it_takes=what_it_takes(tables, code, framework, language),
        run_notes=region_run_notes(tables.get("run_notes"), code, language),
    )


def region_run_notes(notes: pd.DataFrame | None, region_code: str, language: str) -> tuple[str, ...]:
    """Return, in ``language``, the notes of ``run_notes.csv`` that concern one region, in stage order."""
    if notes is None or notes.empty or "region_code" not in notes.columns:
        return ()
    column = "message_en" if language == "en" else "message_id"
    mine = notes[notes["region_code"].astype(str) == region_code]
    return tuple(as_text(m) for m in mine[column])


def compare_with_peers(scores: pd.DataFrame, region_code: str, peer_codes: pd.Series,
                       labels: Mapping[str, str]) -> tuple[tuple[PeerComparison, ...], tuple[PeerComparison, ...]]:
    """Name the indicators where a region is clearly above or below the median of its peers.

    Parameters
    ----------
    scores : DataFrame
        ``scores.csv``.
    region_code : str
        The region.
    peer_codes : Series
        The codes of its peers (its profile; the region itself included).
    labels : Mapping
        Labels of the indicators.

    Returns
    -------
    strengths, weaknesses : tuple of PeerComparison
        At most :data:`MAX_PEER_ITEMS` each, the largest gaps first (ties by code), each at least
        :data:`PEER_GAP_POINTS` away from the peers' median.
    """
    indicators = indicator_columns(scores.columns)
    own = scores.loc[scores["region_code"] == region_code, indicators].iloc[0]
    medians = scores.loc[scores["region_code"].isin(peer_codes), indicators].median()
    gaps = (own - medians).dropna()
    items = [PeerComparison(c, labels[c], float(own[c]), float(medians[c]), float(gaps[c])) for c in gaps.index]
    strengths = sorted((i for i in items if i.gap >= PEER_GAP_POINTS), key=lambda i: (-i.gap, i.code))
    weaknesses = sorted((i for i in items if i.gap <= -PEER_GAP_POINTS), key=lambda i: (i.gap, i.code))
    return tuple(strengths[:MAX_PEER_ITEMS]), tuple(weaknesses[:MAX_PEER_ITEMS])


def recommend(weaknesses: tuple[PeerComparison, ...], weak_aspects: tuple[str, ...], framework: Framework,
              indicator_aspects: Mapping[str, str], labels: Mapping[str, str],
              language: str) -> tuple[Recommendation, ...]:
    """Pick the framework's recommendations for the weak indicators, then for the weak aspects.

    An indicator with no recommendation of its own falls back to its aspect's. Each code appears once.
    """
    table = recommendation_table(framework, language)
    chosen: dict[str, Recommendation] = {}
    wanted = [w.code for w in weaknesses] + list(weak_aspects)
    for code in wanted:
        key = code if code in table else indicator_aspects.get(code)
        if key in table and key not in chosen:
            chosen[key] = Recommendation(key, labels.get(key, humanise(key)), table[key])
    return tuple(chosen.values())


def data_notes(tables: Mapping[str, pd.DataFrame], region_code: str, framework: Framework,
               language: str) -> DataNotes:
    """Collect, as text in ``language``, what cleaning and the index engine changed for one region.

    Only the changes to the accepted submission (its ``source_file`` and ``source_row`` in
    ``submissions_clean.csv``) are listed; submissions it superseded and rows naming the region that were
    quarantined are summarised, not itemised.
    """
    submission = row_of(tables["submissions_clean"], region_code, "submissions_clean")
    fields = field_labels(framework, language)
    indicators = indicator_labels(framework, language)
    fmt = NumberFormat(language)
    assessed = framework.fields.index[~framework.fields["group"].isin(["meta"])]
    missing = tuple(fields.get(f, f) for f in assessed if f in submission.index and pd.isna(submission[f]))
    changes = accepted_row_changes(tables["cleaning_log"], submission)
    order = {f: position for position, f in enumerate(framework.fields.index)}
    changes = changes.assign(_order=changes["field"].map(order)).sort_values("_order", kind="stable")
    return DataNotes(
        source={"source_file": as_text(submission.get("source_file")),
                "source_row": code_text(submission.get("source_row"))},
        cleaning=tuple(_cleaning_note(r, framework, fields, fmt) for r in changes.to_dict("records")),
        imputed=tuple({"indicator": indicators.get(str(r["indicator"]), str(r["indicator"])),
                       "imputed_value": fmt.value(r["imputed_value"]),
                       "method": phrase("imputation_methods", r["method"], language)}
                      for r in _rows_of(tables["index_imputed"], region_code, "indicator")),
        treated=tuple({"indicator": indicators.get(str(r["indicator"]), str(r["indicator"])),
                       "original_value": fmt.value(r["original_value"]),
                       "treated_value": fmt.value(r["treated_value"]),
                       "treatment": phrase("treatments", r["treatment"], language)}
                      for r in _rows_of(tables["index_treated"], region_code, "indicator")),
        missing_fields=missing,
        superseded=tuple({"source_file": as_text(r["source_file"]), "source_row": code_text(r["source_row"])}
                         for r in _rows_of(tables.get("superseded", pd.DataFrame()), region_code,
                                           "source_file")),
        quarantined=tuple({"source_file": as_text(r["source_file"]), "source_row": code_text(r["source_row"]),
                           "reason": phrase("quarantine_reasons", r.get("reason_code"), language)}
                          for r in _rows_of(tables.get("quarantine", pd.DataFrame()), region_code,
                                            "source_file")),
    )


def accepted_row_changes(cleaning_log: pd.DataFrame, submission: pd.Series) -> pd.DataFrame:
    """Return the rows of ``cleaning_log.csv`` that belong to the accepted submission ``submission``.

    A region that resubmitted has log rows for each of its submissions; only those of the accepted one
    (same ``source_file`` and ``source_row``) describe the values the report is built on. Without source
    columns (an older processed folder) the rows are matched by region code.
    """
    log = cleaning_log
    if {"source_file", "source_row"} <= set(log.columns) and pd.notna(submission.get("source_file")):
        rows = pd.to_numeric(log["source_row"], errors="coerce")
        mask = (log["source_file"] == submission["source_file"]) & (rows == float(submission["source_row"]))
    else:
        mask = log["region_code"] == submission["region_code"]
    return log.loc[mask]


def format_field_value(value: Any, field_type: Any, group: Any, fmt: NumberFormat) -> str:
    """Format a logged value of a template field for a reader, by the field's type in the framework.

    Years, codes, dates and categories are shown as written (``2021``, never ``2.021``), yes/no in words,
    money in rupiah with separators, other numbers in the language's format; personal data is not shown.
    """
    language = fmt.language
    if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == "":
        return phrase("values", "empty", language)
    text = str(value).strip()
    if field_type == "pii":
        return phrase("values", "hidden", language)
    if field_type == "boolean" and text.lower() in ("true", "false"):
        return phrase("values", text.lower(), language)
    if group == "meta" or field_type in _VERBATIM_TYPES or not NUMERIC_TEXT.fullmatch(text):
        whole = _WHOLE_FLOAT_TEXT.fullmatch(text)
        return whole.group(1) if whole else text
    if field_type == "money":
        return f"Rp {fmt.integer(round(float(text)))}"
    return fmt.value(text)


def rule_phrase(rule: Any, framework: Framework, fields: Mapping[str, str], language: str) -> str:
    """Phrase a cleaning rule id for a reader: ``phrases.yaml``, consistency rules from the framework."""
    rule = as_text(rule)
    known = phrases().get("cleaning_rules", {})
    if rule in known:
        return phrase("cleaning_rules", rule, language)
    consistency = next((r for r in framework.rules if f"rule_{r.id}" == rule), None)
    if consistency is not None:
        return phrase("cleaning_rules", "consistency_rule", language).format(
            field=fields.get(consistency.field, consistency.field),
            not_above=fields.get(consistency.not_above, consistency.not_above))
    return rule


def _cleaning_note(row: Mapping[str, Any], framework: Framework, fields: Mapping[str, str],
                   fmt: NumberFormat) -> dict[str, str]:
    field = as_text(row["field"])
    spec = framework.fields.loc[field] if field in framework.fields.index else {}
    field_type, group = spec.get("type"), spec.get("group")
    original = row["original_value"]
    return {
        "field": fields.get(field, field),
        "original_value": (phrase("values", "hidden", fmt.language) if field_type == "pii"
                           else as_text(original) or phrase("values", "empty", fmt.language)),
        "cleaned_value": format_field_value(row["cleaned_value"], field_type, group, fmt),
        "rule": rule_phrase(row["rule"], framework, fields, fmt.language),
    }


def _rows_of(table: pd.DataFrame, region_code: str, sort_by: str) -> list[dict[str, Any]]:
    if table.empty or "region_code" not in table.columns:
        return []
    mine = table.loc[table["region_code"] == region_code]
    return mine.sort_values([sort_by], kind="stable").to_dict("records")


def row_of(table: pd.DataFrame, value: Any, name: str, key: str = "region_code") -> pd.Series:
    """Return the row of ``table`` whose ``key`` is ``value``; raise a plain ``ValueError`` naming the file."""
    match = table.loc[table[key] == value]
    if match.empty:
        raise ValueError(f"{key} {value} is not in {name}.csv: it was not accepted in this round "
                         "(see quarantine.csv), or the processed folder is from another round")
    return match.iloc[0]


def _region(row: pd.Series) -> Region:
    return Region(str(row["region_code"]), as_text(row.get("official_name")), as_text(row.get("province_name")),
                  as_text(row.get("region_type")), as_text(row.get("assessment_class")),
                  code_text(row.get("assessment_year")))


def _standing(row: pd.Series, n_regions: int) -> Standing:
    selected = as_flag(row.get("selected"))
    eligible = as_flag(row.get("eligible", True))
    p_selected = float(row.get("p_selected", float("nan")))
    return Standing(
        index=float(row["readiness_index"]), rank=int(row["rank"]), n_regions=n_regions,
        rank_p05=row.get("rank_p05"), rank_p95=row.get("rank_p95"), rank_median=row.get("rank_median"),
        selected=selected, p_selected=p_selected, borderline=as_flag(row.get("borderline")), eligible=eligible,
        decision_reason=as_text(row.get("decision_reason")),
        robustness=robustness(selected, p_selected, eligible),
    )


def robustness(selected: bool, p_selected: float, eligible: bool = True) -> str:
    """Classify how robust a selection decision is.

    Returns
    -------
    str
        ``"ineligible"``, ``"robust_in"`` / ``"fragile_in"`` (selected, in at least / fewer than
        :data:`ROBUST_SHARE` of the draws), ``"robust_out"`` / ``"fragile_out"`` likewise, or ``"unknown"``
        when no uncertainty analysis was recorded.
    """
    if not eligible:
        return "ineligible"
    if math.isnan(p_selected):
        return "unknown"
    if selected:
        return "robust_in" if p_selected >= ROBUST_SHARE else "fragile_in"
    return "robust_out" if p_selected <= 1 - ROBUST_SHARE else "fragile_out"


def _profile(centroid: pd.Series, national: pd.Series, labels: Mapping[str, str], language: str) -> Profile:
    gaps = (centroid[national.index].astype(float) - national).sort_index(kind="stable")
    return Profile(int(centroid["profile_id"]), as_text(centroid[f"profile_name_{language}"]),
                   int(centroid["n_regions"]), labels[gaps.idxmax()], labels[gaps.idxmin()])


def _weak_aspects(own: pd.Series, centroid: pd.Series, national: pd.Series,
                  labels: Mapping[str, str]) -> tuple[str, ...]:
    aspects = [c for c in national.index if c.startswith("aspect_")]
    # Without a profile (a small round) the centre is missing, and the national median is the only yardstick.
    return tuple(c for c in aspects if float(own[c]) < min(v for v in (float(centroid[c]), float(national[c]))
                                                           if v == v or v == float(national[c])))

