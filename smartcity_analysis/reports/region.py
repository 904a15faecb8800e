"""The context of one region's report: who it is, its standing, profile, peers, recommendations, data notes.

A report notebook makes one call, :func:`report_context`, which gathers everything the report says about one
region from the processed folder and the framework file into a frozen :class:`ReportContext`; each section is
then rendered by :func:`smartcity_analysis.reports.sections.render_section`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.reports.labels import (
    FrameworkKey,
    framework_labels,
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
    ProcessedVersion,
    RegionRecords,
    aggregate_columns,
    default_framework,
    indicator_columns,
    processed_version,
    region_records,
    resolve_processed_dir,
    row_positions,
    tables_of_version,
)
from smartcity_analysis.reports.trajectory import Trajectory, history_of_round, trajectory
from smartcity_analysis.reports.what_it_takes import GapLookups, WhatItTakes, gap_lookups, what_it_takes

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
    lookups = round_lookups(processed_version(processed_dir))
    tables = lookups.tables  # the round's tables, shared read-only by its reports (nothing here changes them)
    framework = framework if framework is not None else default_framework()
    labels = score_labels(framework, tables["scores"].columns, language)
    row = {name: row_of(tables[name], code, name, positions=lookups.rows[name])
           for name in ("submissions_clean", "scores", "ranking")}
    aggregates, national = lookups.aggregates, lookups.national
    has_profile = code in lookups.rows["profiles"]
    if has_profile:  # peers are the region's profile; without profiles (a small round), the whole round
        profile_id = row_of(tables["profiles"], code, "profiles", positions=lookups.rows["profiles"])["profile_id"]
        centroid = row_of(lookups.centroids, profile_id, "profile_centroids", key="profile_id",
                          positions=lookups.centroid_rows)
        medians = lookups.peer_medians[profile_id]
    else:
        centroid, medians = lookups.no_centroid, lookups.round_medians
    own = lookups.indicator_scores.iloc[lookups.rows["scores"][code][0]]
    strengths, weaknesses = peer_gaps(own, medians, labels)
    labelled = framework_labels(framework, language)
    return ReportContext(
        language=language,
        region=_region(row["submissions_clean"]),
        standing=_standing(row["ranking"], len(tables["ranking"])),
        profile=_profile(centroid, lookups.national_by_code, labels, language) if has_profile else None,
        chart=ChartData(aggregates, tuple(labels[c] for c in aggregates),
                        *(tuple(float(s[c]) for c in aggregates) for s in (row["scores"], centroid, national))),
        strengths=strengths,
        weaknesses=weaknesses,
        recommendations=recommend(weaknesses, _weak_aspects(row["scores"], centroid, national, labels),
                                  framework, labelled.indicator_aspects, labels, language),
        data_notes=data_notes(tables, code, framework, language, lookups),
        notes=as_text(row["submissions_clean"].get("notes")),
        position_svg=position_map(code, language),
        trajectory=trajectory(history_of_round(resolve_processed_dir(processed_dir)), code, language),
        what_it_takes=what_it_takes(tables, code, framework, language, lookups.gap),
        run_notes=region_run_notes(tables.get("run_notes"), code, language, lookups.run_notes),
    )


# ------------------------------------------------------------------ what every report of a round looks up


# The tables a report picks the region's row of, by region code.
ROW_TABLES = ("submissions_clean", "scores", "ranking", "profiles")


@dataclass(frozen=True)
class CleaningLogIndex:
    """``cleaning_log.csv`` as read-only records, with the positions of each submission's and region's rows.

    Attributes
    ----------
    records : tuple of Mapping
        Every row of the log, in file order.
    by_submission : Mapping or None
        ``(source_file, float(source_row))`` -> positions of the rows of that submission; None when the log has
        no source columns (an older processed folder).
    by_region : Mapping
        Region code -> positions of its rows.
    """

    records: tuple[Mapping[str, Any], ...]
    by_submission: Mapping[tuple[Any, float], tuple[int, ...]] | None
    by_region: Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class RoundLookups:
    """What every report of one round looks up in its processed tables, prepared once per version of them.

    Built by :func:`prepare_round` from the tables alone (no framework, no language, nothing of one report), and
    cached by :func:`round_lookups` under the folder's :class:`~smartcity_analysis.reports.tables.
    ProcessedVersion`. Read-only: every report of the round shares it.

    Attributes
    ----------
    tables : Mapping
        The processed tables it was prepared from (:func:`smartcity_analysis.reports.tables.read_processed_tables`).
    rows : Mapping
        For each of :data:`ROW_TABLES`: region code -> positions of its rows.
    aggregates : tuple of str
        The aspect and dimension columns of ``scores.csv`` with at least one value, in file order.
    national : Series
        Their national medians.
    national_by_code : Series
        The same, in the order of the codes (a profile's strongest and weakest aggregates are found in it).
    no_centroid : Series
        The same index, all NaN: the centre of a region without a profile.
    indicator_scores : DataFrame
        The indicator columns of ``scores.csv``.
    centroids : DataFrame
        ``profile_centroids.csv`` with ``profile_id`` as Int64.
    centroid_rows : Mapping
        Profile id -> positions of its rows in ``centroids``.
    peer_medians : Mapping
        Profile id -> the indicator medians of the profile's regions.
    round_medians : Series
        The indicator medians of every region of the round (the peers when the round has no profiles).
    cleaning_log : CleaningLogIndex
        The cleaning log by submission and by region.
    imputed, treated, superseded, quarantined : RegionRecords or None
        The rows of ``index_imputed`` and ``index_treated`` by region (sorted by indicator), of ``superseded``
        and ``quarantine`` (sorted by source file); None for a table without those columns.
    gap : GapLookups
        The gap analysis by region (:func:`smartcity_analysis.reports.what_it_takes.gap_lookups`).
    run_notes : Mapping or None
        Region code (as text) -> positions of its rows in ``run_notes.csv``; None without a ``region_code``.
    """

    tables: Mapping[str, pd.DataFrame]
    rows: Mapping[str, Mapping[str, tuple[int, ...]]]
    aggregates: tuple[str, ...]
    national: pd.Series
    national_by_code: pd.Series
    no_centroid: pd.Series
    indicator_scores: pd.DataFrame
    centroids: pd.DataFrame
    centroid_rows: Mapping[Any, tuple[int, ...]]
    peer_medians: Mapping[Any, pd.Series]
    round_medians: pd.Series
    cleaning_log: CleaningLogIndex
    imputed: RegionRecords | None
    treated: RegionRecords | None
    superseded: RegionRecords | None
    quarantined: RegionRecords | None
    gap: GapLookups
    run_notes: Mapping[str, tuple[int, ...]] | None


def round_lookups(version: ProcessedVersion) -> RoundLookups:
    """Return the :class:`RoundLookups` of one version of a processed folder, prepared once per version.

    Parameters
    ----------
    version : ProcessedVersion
        :func:`smartcity_analysis.reports.tables.processed_version` of the folder: a rewritten file is a new
        version, so lookups of an older version are never returned for it.
    """
    return _round_lookups(version)


@functools.lru_cache(maxsize=2)
def _round_lookups(version: ProcessedVersion) -> RoundLookups:
    # Keyed like the tables it is built from (tables._read_tables): a round's input files, looked up by region,
    # never anything computed for one report, so reports rendered one after another cannot see each other.
    return prepare_round(tables_of_version(version))


def prepare_round(tables: Mapping[str, pd.DataFrame]) -> RoundLookups:
    """Prepare the :class:`RoundLookups` of a round from its processed tables.

    Parameters
    ----------
    tables : Mapping
        :func:`smartcity_analysis.reports.tables.read_processed_tables`.

    Returns
    -------
    RoundLookups
        Each lookup gives what the report computed from the whole table for every region before: the same
        rows in the same order, medians by the same pandas calls.
    """
    scores, profiles = tables["scores"], tables["profiles"]
    aggregates = tuple(c for c in aggregate_columns(scores.columns) if scores[c].notna().any())
    national = scores[list(aggregates)].median()
    indicators = indicator_columns(scores.columns)
    centroids = tables["profile_centroids"].astype({"profile_id": "Int64"})
    members = row_positions(profiles["profile_id"])
    empty = pd.DataFrame()
    run_notes = tables.get("run_notes")
    return RoundLookups(
        tables=MappingProxyType(dict(tables)),
        rows=MappingProxyType({name: MappingProxyType(row_positions(tables[name]["region_code"]))
                               for name in ROW_TABLES}),
        aggregates=aggregates,
        national=national,
        national_by_code=national.sort_index(kind="stable"),
        no_centroid=national * float("nan"),
        indicator_scores=scores[indicators],
        centroids=centroids,
        centroid_rows=MappingProxyType(row_positions(centroids["profile_id"])),
        peer_medians=MappingProxyType({
            profile_id: median_scores(scores, profiles["region_code"].iloc[list(positions)])
            for profile_id, positions in members.items()}),
        round_medians=median_scores(scores, scores["region_code"]),
        cleaning_log=index_cleaning_log(tables["cleaning_log"]),
        imputed=region_records(tables["index_imputed"], "indicator"),
        treated=region_records(tables["index_treated"], "indicator"),
        superseded=region_records(tables.get("superseded", empty), "source_file"),
        quarantined=region_records(tables.get("quarantine", empty), "source_file"),
        gap=gap_lookups(tables),
        run_notes=(None if run_notes is None or "region_code" not in run_notes.columns
                   else MappingProxyType(row_positions(run_notes["region_code"].astype(str)))),
    )


def index_cleaning_log(log: pd.DataFrame) -> CleaningLogIndex:
    """Index ``cleaning_log.csv`` by submission (source file and row) and by region code.

    A submission's key is matched as :func:`accepted_row_changes` matches it: the source file as written, the
    source row as a number (``"250"``, ``250`` and ``250.0`` are one row); rows with either missing match none.
    """
    has_sources = {"source_file", "source_row"} <= set(log.columns)
    return CleaningLogIndex(
        records=tuple(MappingProxyType(r) for r in log.to_dict("records")),
        by_submission=MappingProxyType(row_positions(_submission_keys(log))) if has_sources else None,
        by_region=MappingProxyType(row_positions(log["region_code"])),
    )


def _submission_keys(log: pd.DataFrame) -> list[tuple[Any, float] | None]:
    # (source_file, source_row as a float) of each row, None where either is missing (row_positions skips it).
    rows = pd.to_numeric(log["source_row"], errors="coerce")
    return [None if pd.isna(source_file) or pd.isna(source_row) else (source_file, float(source_row))
            for source_file, source_row in zip(log["source_file"], rows, strict=True)]


def accepted_changes(log: CleaningLogIndex, submission: pd.Series) -> list[Mapping[str, Any]]:
    """Return the records of the cleaning log that belong to the accepted submission, as :func:`accepted_row_changes`.

    Parameters
    ----------
    log : CleaningLogIndex
        :func:`index_cleaning_log` of ``cleaning_log.csv``.
    submission : Series
        The region's row of ``submissions_clean.csv``.

    Returns
    -------
    list of Mapping
        The log's rows of that submission (of the region, without source columns), in file order.
    """
    if log.by_submission is not None and pd.notna(submission.get("source_file")):
        found = log.by_submission.get((submission["source_file"], float(submission["source_row"])), ())
    else:
        found = log.by_region.get(submission["region_code"], ())
    return [log.records[p] for p in found]


def region_run_notes(notes: pd.DataFrame | None, region_code: str, language: str,
                     positions: Mapping[str, tuple[int, ...]] | None = None) -> tuple[str, ...]:
    """Return, in ``language``, the notes of ``run_notes.csv`` that concern one region, in stage order.

    ``positions`` (region code as text -> row positions, :attr:`RoundLookups.run_notes`) saves comparing the
    whole column for each region.
    """
    if notes is None or notes.empty or "region_code" not in notes.columns:
        return ()
    column = "message_en" if language == "en" else "message_id"
    if positions is None:
        positions = row_positions(notes["region_code"].astype(str))
    messages = notes[column].tolist()
    return tuple(as_text(messages[p]) for p in positions.get(region_code, ()))


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
    own = scores.loc[scores["region_code"] == region_code, indicator_columns(scores.columns)].iloc[0]
    return peer_gaps(own, median_scores(scores, peer_codes), labels)


def median_scores(scores: pd.DataFrame, region_codes: Iterable[str]) -> pd.Series:
    """Return the median of each indicator column of ``scores.csv`` over the regions ``region_codes``."""
    return scores.loc[scores["region_code"].isin(region_codes), indicator_columns(scores.columns)].median()


def peer_gaps(own: pd.Series, medians: pd.Series, labels: Mapping[str, str]
              ) -> tuple[tuple[PeerComparison, ...], tuple[PeerComparison, ...]]:
    """Name the indicators where a region's scores ``own`` are clearly above or below its peers' ``medians``.

    Returns
    -------
    strengths, weaknesses : tuple of PeerComparison
        As :func:`compare_with_peers`.
    """
    gaps = (own - medians).dropna()
    own_scores, peer_scores = own.to_dict(), medians.to_dict()
    items = [PeerComparison(c, labels[c], float(own_scores[c]), float(peer_scores[c]), float(gap))
             for c, gap in gaps.items()]
    strengths = sorted((i for i in items if i.gap >= PEER_GAP_POINTS), key=lambda i: (-i.gap, i.code))
    weaknesses = sorted((i for i in items if i.gap <= -PEER_GAP_POINTS), key=lambda i: (i.gap, i.code))
    return tuple(strengths[:MAX_PEER_ITEMS]), tuple(weaknesses[:MAX_PEER_ITEMS])


def recommend(weaknesses: tuple[PeerComparison, ...], weak_aspects: tuple[str, ...], framework: Framework,
              indicator_aspects: Mapping[str, str], labels: Mapping[str, str],
              language: str) -> tuple[Recommendation, ...]:
    """Pick the framework's recommendations for the weak indicators, then for the weak aspects.

    An indicator with no recommendation of its own falls back to its aspect's. Each code appears once.
    """
    table = framework_labels(framework, language).recommendations
    chosen: dict[str, Recommendation] = {}
    wanted = [w.code for w in weaknesses] + list(weak_aspects)
    for code in wanted:
        key = code if code in table else indicator_aspects.get(code)
        if key in table and key not in chosen:
            chosen[key] = Recommendation(key, labels.get(key, humanise(key)), table[key])
    return tuple(chosen.values())


def data_notes(tables: Mapping[str, pd.DataFrame], region_code: str, framework: Framework,
               language: str, lookups: RoundLookups | None = None) -> DataNotes:
    """Collect, as text in ``language``, what cleaning and the index engine changed for one region.

    Only the changes to the accepted submission (its ``source_file`` and ``source_row`` in
    ``submissions_clean.csv``) are listed; submissions it superseded and rows naming the region that were
    quarantined are summarised, not itemised. ``lookups`` (:func:`round_lookups` of the same tables) saves
    preparing them for this one region.
    """
    lookups = lookups if lookups is not None else prepare_round(tables)
    submission = row_of(tables["submissions_clean"], region_code, "submissions_clean",
                        positions=lookups.rows["submissions_clean"])
    labels = framework_labels(framework, language)
    fields, indicators = labels.fields, labels.indicators
    facts = field_facts(framework)
    fmt = NumberFormat(language)
    blank = dict(zip(submission.index, submission.isna().tolist(), strict=True))
    missing = tuple(fields.get(f, f) for f in facts.assessed if blank.get(f, False))
    changes = sorted(accepted_changes(lookups.cleaning_log, submission),
                     key=lambda r: _template_order(facts.order.get(r["field"])))
    return DataNotes(
        source={"source_file": as_text(submission.get("source_file")),
                "source_row": code_text(submission.get("source_row"))},
        cleaning=tuple(_cleaning_note(r, framework, facts, fields, fmt) for r in changes),
        imputed=tuple({"indicator": indicators.get(str(r["indicator"]), str(r["indicator"])),
                       "imputed_value": fmt.value(r["imputed_value"]),
                       "method": phrase("imputation_methods", r["method"], language)}
                      for r in _region_rows(tables, "index_imputed", lookups.imputed, region_code, "indicator")),
        treated=tuple({"indicator": indicators.get(str(r["indicator"]), str(r["indicator"])),
                       "original_value": fmt.value(r["original_value"]),
                       "treated_value": fmt.value(r["treated_value"]),
                       "treatment": phrase("treatments", r["treatment"], language)}
                      for r in _region_rows(tables, "index_treated", lookups.treated, region_code, "indicator")),
        missing_fields=missing,
        superseded=tuple({"source_file": as_text(r["source_file"]), "source_row": code_text(r["source_row"])}
                         for r in _region_rows(tables, "superseded", lookups.superseded, region_code,
                                               "source_file")),
        quarantined=tuple({"source_file": as_text(r["source_file"]), "source_row": code_text(r["source_row"]),
                           "reason": phrase("quarantine_reasons", r.get("reason_code"), language)}
                          for r in _region_rows(tables, "quarantine", lookups.quarantined, region_code,
                                                "source_file")),
    )


@dataclass(frozen=True)
class FieldFacts:
    """What the data notes look up about the template's fields, gathered once per framework.

    Attributes
    ----------
    assessed : tuple of str
        The fields outside the ``meta`` group, in template order.
    order : Mapping
        Field id -> its position in the template.
    specs : Mapping
        Field id -> its ``(type, group)``.
    """

    assessed: tuple[str, ...]
    order: Mapping[str, int]
    specs: Mapping[str, tuple[Any, Any]]


def field_facts(framework: Framework) -> FieldFacts:
    """Return the :class:`FieldFacts` of ``framework``, gathered once per framework object."""
    return _field_facts(FrameworkKey(framework))


@functools.lru_cache(maxsize=4)
def _field_facts(key: FrameworkKey) -> FieldFacts:
    # The framework's own fields only, never round or region data.
    fields = key.framework.fields
    specs = {}
    for field in fields.index:
        spec = fields.loc[field]
        specs[field] = (spec.get("type"), spec.get("group"))
    return FieldFacts(assessed=tuple(fields.index[~fields["group"].isin(["meta"])]),
                      order=MappingProxyType({f: position for position, f in enumerate(fields.index)}),
                      specs=MappingProxyType(specs))


def _template_order(position: int | None) -> tuple[bool, int]:
    # Sort key of a logged field by its place in the template; fields the template lacks come last, as written.
    return (position is None, 0 if position is None else position)


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


def _cleaning_note(row: Mapping[str, Any], framework: Framework, facts: FieldFacts, fields: Mapping[str, str],
                   fmt: NumberFormat) -> dict[str, str]:
    field = as_text(row["field"])
    field_type, group = facts.specs.get(field, (None, None))
    original = row["original_value"]
    return {
        "field": fields.get(field, field),
        "original_value": (phrase("values", "hidden", fmt.language) if field_type == "pii"
                           else as_text(original) or phrase("values", "empty", fmt.language)),
        "cleaned_value": format_field_value(row["cleaned_value"], field_type, group, fmt),
        "rule": rule_phrase(row["rule"], framework, fields, fmt.language),
    }


def _region_rows(tables: Mapping[str, pd.DataFrame], name: str, records: RegionRecords | None, region_code: str,
                 sort_by: str) -> list[Mapping[str, Any]]:
    # The region's rows of table ``name`` from the records prepared for the round; from the table itself when
    # none could be prepared (a table without the columns), which finds nothing or fails as it always did.
    if records is not None:
        return records.of(region_code)
    return _rows_of(tables[name] if name in tables else pd.DataFrame(), region_code, sort_by)


def _rows_of(table: pd.DataFrame, region_code: str, sort_by: str) -> list[dict[str, Any]]:
    if table.empty or "region_code" not in table.columns:
        return []
    mine = table.loc[table["region_code"] == region_code]
    return mine.sort_values([sort_by], kind="stable").to_dict("records")


def row_of(table: pd.DataFrame, value: Any, name: str, key: str = "region_code",
           positions: Mapping[Any, tuple[int, ...]] | None = None) -> pd.Series:
    """Return the first row of ``table`` whose ``key`` is ``value``; raise a plain ``ValueError`` naming the file.

    Parameters
    ----------
    table : DataFrame
        A processed table.
    value : Any
        The value looked for.
    name : str
        The table's file stem, for the message.
    key : str, default "region_code"
        The column holding ``value``.
    positions : Mapping, optional
        :func:`~smartcity_analysis.reports.tables.row_positions` of ``table[key]``, prepared once per round;
        without it the column is compared with ``value``.
    """
    if positions is not None:
        found = positions.get(value, ())
        if found:
            return table.iloc[found[0]]
    else:
        match = table.loc[table[key] == value]
        if not match.empty:
            return match.iloc[0]
    raise ValueError(f"{key} {value} is not in {name}.csv: it was not accepted in this round "
                     "(see quarantine.csv), or the processed folder is from another round")


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
    # Aggregates compared in code order, so that ties go to the first code; sorting an already sorted
    # ``national`` (RoundLookups.national_by_code) is only a quick check.
    gaps = (centroid[national.index].astype(float) - national).sort_index(kind="stable")
    return Profile(int(centroid["profile_id"]), as_text(centroid[f"profile_name_{language}"]),
                   int(centroid["n_regions"]), labels[gaps.idxmax()], labels[gaps.idxmin()])


def _weak_aspects(own: pd.Series, centroid: pd.Series, national: pd.Series,
                  labels: Mapping[str, str]) -> tuple[str, ...]:
    aspects = [c for c in national.index if c.startswith("aspect_")]
    # Without a profile (a small round) the centre is missing, and the national median is the only yardstick.
    return tuple(c for c in aspects if float(own[c]) < min(v for v in (float(centroid[c]), float(national[c]))
                                                           if v == v or v == float(national[c])))

