"""Narrative of the region reports and the round summary: number formatting, Jinja2 sentences, contexts.

A report notebook makes one call, :func:`report_context`, which gathers everything the report says about one
region from the processed folder and the framework file into a frozen :class:`ReportContext`; each section is
then rendered by :func:`render_section` from the language's template in ``smartcity_analysis/templates/``
(``report_id.html.j2``, ``report_en.html.j2``), headings included, so a report is in one language only.
Templates autoescape, so free text typed by a region (its notes, which may hold ``<script>`` or spreadsheet
formulas) is shown as text and never interpreted. Codes the data notes show (cleaning rules, quarantine
reasons, imputation methods, treatments) are phrased from ``templates/phrases.yaml``.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml

from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.paths import FRAMEWORK_FILE, PROCESSED_DIR

LANGUAGES = ("id", "en")
REGION_CODE_PATTERN = re.compile(r"^\d{4}$")
# The sections of a region report, in reading order; the chart (:func:`render_chart`) follows "profile".
REPORT_SECTIONS = ("identity", "standing", "profile", "peers", "recommendations", "data_notes", "notes")
# The sections of the round summary; its chart (:func:`render_summary_chart`) follows "distribution".
SUMMARY_SECTIONS = ("title", "participation", "distribution", "profiles", "selection", "panel")
# The processed files a report reads; the optional ones may be absent in a folder from an older round.
REPORT_TABLES = ("submissions_clean", "scores", "ranking", "profiles", "profile_centroids", "cleaning_log",
                 "index_imputed", "index_treated")
OPTIONAL_TABLES = ("quarantine", "superseded")
# Bands of the share of Monte Carlo draws in which a region is selected (``p_selected``): at or above
# ROBUST_SHARE the decision is robust; between 1 - ROBUST_SHARE and ROBUST_SHARE it could go either way.
ROBUST_SHARE = 0.9
# A region's score differs from its peers' median by at least this many points (0-100) to count as a
# strength or a weakness; at most MAX_PEER_ITEMS of each are named.
PEER_GAP_POINTS = 5.0
MAX_PEER_ITEMS = 3
_CODE_DTYPES = {"region_code": str, "profile_id": "Int64", "original_value": str}
_NUMERIC_TEXT = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_WHOLE_FLOAT_TEXT = re.compile(r"(-?\d+)\.0+")
# Field types whose values are names, codes, dates or categories: shown as written, never as numbers
# (a year 2021 written "2.021" reads as a number with a separator in Indonesian).
_VERBATIM_TYPES = frozenset({"text", "region_code", "datetime", "ordinal", "free_text"})


# --- Validation and formatting ---------------------------------------------------------------------------
def normalise_region_code(value: Any) -> str:
    """Return a region code as the 4-digit string of the contracts, or raise.

    Parameters
    ----------
    value : str or int
        ``"3273"`` or ``3273`` (``papermill -p region_code 3273`` passes an int).

    Returns
    -------
    str
        The 4-digit code.

    Raises
    ------
    ValueError
        When the value is not exactly four digits; it never reaches a file name then.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"region_code must be 4 digits (e.g. '3273'), got {value!r}")
    code = str(value)
    if not REGION_CODE_PATTERN.fullmatch(code):
        raise ValueError(f"region_code must be 4 digits (e.g. '3273'), got {value!r}")
    return code


def validate_language(language: str) -> str:
    """Return ``language`` if it is ``"id"`` or ``"en"``, else raise ``ValueError``."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


@dataclass(frozen=True)
class NumberFormat:
    """How a language writes numbers: ``72,45`` and ``1.234`` in Indonesian, ``72.45`` and ``1,234`` in English.

    Attributes
    ----------
    language : str
        ``"id"`` or ``"en"``.
    """

    language: str

    def number(self, value: Any, decimals: int = 2) -> str:
        """Format a number with ``decimals`` decimals and thousands separators; missing gives an en dash."""
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return "–"
        text = f"{float(value):,.{decimals}f}"
        if self.language == "id":
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return text

    def value(self, value: Any) -> str:
        """Format a logged value: numbers (or numeric text) as numbers, whole ones without decimals."""
        if isinstance(value, str):
            if not _NUMERIC_TEXT.fullmatch(value.strip()):
                return value
            value = float(value)
        if value is None or isinstance(value, bool) or pd.isna(value):
            return "–" if value is None or pd.isna(value) else str(value)
        return self.number(value, 0 if float(value).is_integer() else 2)

    def integer(self, value: Any) -> str:
        """Format a whole number with thousands separators."""
        return self.number(value, decimals=0)

    def percent(self, share: Any, decimals: int = 0) -> str:
        """Format a share (0-1) as a percentage, ``75%``."""
        if share is None or (isinstance(share, float) and math.isnan(share)):
            return "–"
        return f"{self.number(float(share) * 100, decimals)}%"


def format_number(value: Any, language: str, decimals: int = 2) -> str:
    """Format ``value`` the way ``language`` writes it (see :class:`NumberFormat`)."""
    return NumberFormat(validate_language(language)).number(value, decimals)


@functools.cache
def template_environment() -> jinja2.Environment:
    """Return the Jinja2 environment of the package templates (autoescaping, strict undefined)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("smartcity_analysis", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.cache
def phrases() -> Mapping[str, Any]:
    """Return ``templates/phrases.yaml``: short phrases per language for the codes the data notes show."""
    environment = template_environment()
    source, _, _ = environment.loader.get_source(environment, "phrases.yaml")
    return yaml.safe_load(source)


def phrase(group: str, code: Any, language: str) -> str:
    """Return the phrase of ``code`` in ``group`` of ``phrases.yaml`` in ``language``, else the code itself."""
    entry = phrases().get(group, {}).get(str(code))
    return str(entry[language]) if isinstance(entry, Mapping) and language in entry else str(code)


# --- The report context ----------------------------------------------------------------------------------
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
    profile: Profile
    chart: ChartData
    strengths: tuple[PeerComparison, ...]
    weaknesses: tuple[PeerComparison, ...]
    recommendations: tuple[Recommendation, ...]
    data_notes: DataNotes
    notes: str

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
    row = {name: _row_of(table, code, name) for name, table in tables.items()
           if name in ("submissions_clean", "scores", "ranking", "profiles")}
    peers = tables["profiles"].loc[tables["profiles"]["profile_id"] == row["profiles"]["profile_id"],
                                   "region_code"]
    aggregates = aggregate_columns(tables["scores"].columns)
    centroid = _row_of(tables["profile_centroids"].astype({"profile_id": "Int64"}),
                       row["profiles"]["profile_id"], "profile_centroids", key="profile_id")
    national = tables["scores"][aggregates].median()
    strengths, weaknesses = compare_with_peers(tables["scores"], code, peers, labels)
    return ReportContext(
        language=language,
        region=_region(row["submissions_clean"]),
        standing=_standing(row["ranking"], len(tables["ranking"])),
        profile=_profile(centroid, national, labels, language),
        chart=ChartData(tuple(aggregates), tuple(labels[c] for c in aggregates),
                        *(tuple(float(s[c]) for c in aggregates) for s in (row["scores"], centroid, national))),
        strengths=strengths,
        weaknesses=weaknesses,
        recommendations=recommend(weaknesses, _weak_aspects(row["scores"], centroid, national, labels),
                                  framework, framework_indicator_aspects(framework), labels, language),
        data_notes=data_notes(tables, code, framework, language),
        notes=_text(row["submissions_clean"].get("notes")),
    )


def resolve_processed_dir(processed_dir: str | Path | None) -> Path:
    """Return the processed folder (empty or None: the project's ``data/processed``)."""
    return Path(processed_dir) if processed_dir not in (None, "") else PROCESSED_DIR


def read_processed_tables(processed_dir: str | Path | None) -> dict[str, pd.DataFrame]:
    """Read the processed files a report needs, with ``region_code`` as strings.

    The files are parsed once per version: the parsed tables are cached under the folder and each file's
    size and modification time, so the reports of one round rendered one after another in a warm kernel
    read them once, and a file that changes is read again. Callers get shallow copies (pandas copies on
    write), so nothing a report does to a table reaches the cache or the next report.

    Parameters
    ----------
    processed_dir : str or Path or None
        The processed folder (see :func:`resolve_processed_dir`).

    Returns
    -------
    dict of str to DataFrame
        Keyed by file stem: the :data:`REPORT_TABLES`, then the :data:`OPTIONAL_TABLES` (empty when absent).

    Raises
    ------
    FileNotFoundError
        When one of the :data:`REPORT_TABLES` is missing.
    """
    folder = resolve_processed_dir(processed_dir).resolve()
    versions = tuple(_file_version(folder / f"{name}.csv", required=name in REPORT_TABLES)
                     for name in REPORT_TABLES + OPTIONAL_TABLES)
    return {name: table.copy(deep=False) for name, table in _read_tables(str(folder), versions).items()}


def _file_version(path: Path, required: bool) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        if required:
            raise FileNotFoundError(f"{path} is missing: run the stages 01-04 first (smartcity run)") from None
        return (path.name, -1, -1)
    return (path.name, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _read_tables(folder: str, versions: tuple[tuple[str, int, int], ...]) -> dict[str, pd.DataFrame]:
    # Keyed by the folder and every file's (name, size, mtime): a rewritten file is a new key. The cache holds
    # a round's input files, never anything computed for one region (tests/test_runner.py renders A, B, A in
    # one kernel and compares A's two pages byte for byte).
    tables = {}
    for name, size, _ in versions:
        stem = name.removesuffix(".csv")
        if size < 0:
            tables[stem] = pd.DataFrame(columns=["source_file", "source_row", "region_code"])
            continue
        tables[stem] = pd.read_csv(Path(folder) / name, dtype=_CODE_DTYPES, keep_default_na=True,
                                   encoding="utf-8")
    return tables


def default_framework() -> Framework:
    """Return the project's framework, parsed once per file version (keyed by path, size and mtime)."""
    stat = FRAMEWORK_FILE.stat()
    return _framework_for(str(FRAMEWORK_FILE), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _framework_for(path: str, size: int, mtime_ns: int) -> Framework:
    # The cache only holds the parsed configuration file, never region data, so reports rendered one after
    # another in a reused kernel cannot see each other (tests/test_runner.py renders A, B, A to prove it).
    return load_framework(path)


def aggregate_columns(columns: pd.Index) -> list[str]:
    """Return the aspect then dimension columns of ``scores.csv``, in file order."""
    aspects = [c for c in columns if c.startswith("aspect_")]
    dimensions = [c for c in columns if c.startswith("dimension_")]
    return aspects + dimensions


def indicator_columns(columns: pd.Index) -> list[str]:
    """Return the normalised indicator columns of ``scores.csv`` (neither aggregates nor the index)."""
    skip = {"region_code", "readiness_index", "readiness_rank"}
    return [c for c in columns if c not in skip and not c.startswith(("aspect_", "dimension_"))]


def score_labels(framework: Framework, columns: pd.Index, language: str) -> dict[str, str]:
    """Label each column of ``scores.csv`` in ``language`` from the framework, else from its code.

    Indicators are looked up in the framework's ``indicators`` then ``fields`` sections, aspects and
    dimensions in ``aggregates``; a code found nowhere is shown humanised (``aspect_struktur``: Struktur).
    """
    labels = indicator_labels(framework, language)
    return {c: labels.get(c) or _humanise(c) for c in columns if c != "region_code"}


def indicator_labels(framework: Framework, language: str) -> dict[str, str]:
    """Map every indicator, aggregate and field code of the framework to its label in ``language``.

    Where a code is both a field and an indicator, the indicator's label wins.
    """
    label_column = f"label_{language}"
    labels: dict[str, str] = {}
    for table in (framework.fields, framework.indicators, framework.aggregates):
        key = _code_column(table)
        codes = table.index if key is None else table[key]
        if label_column not in table.columns:
            continue
        for code, label in zip(codes, table[label_column], strict=True):
            if isinstance(label, str) and label:
                labels[str(code)] = label
    return labels


def field_labels(framework: Framework, language: str) -> dict[str, str]:
    """Map every template field id to its label in ``language`` (``label_id`` / ``label_en``)."""
    column = framework.fields[f"label_{language}"]
    return {str(f): str(label) for f, label in column.items() if isinstance(label, str) and label}


def framework_indicator_aspects(framework: Framework) -> dict[str, str]:
    """Map each indicator code to its aspect code (``aspect_*``) as the framework states it."""
    table = framework.indicators
    key = _code_column(table)
    if key is None or "aspect" not in table.columns:
        return {}
    return {str(code): (a if str(a).startswith("aspect_") else f"aspect_{a}")
            for code, a in zip(table[key], table["aspect"], strict=True) if isinstance(a, str) and a}


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
            chosen[key] = Recommendation(key, labels.get(key, _humanise(key)), table[key])
    return tuple(chosen.values())


def recommendation_table(framework: Framework, language: str) -> dict[str, str]:
    """Return ``{code: text}`` of the framework's ``recommendations`` section in ``language``."""
    table = framework.recommendations
    column = f"text_{language}"
    if table.empty or "code" not in table.columns or column not in table.columns:
        return {}
    return {str(c): str(t) for c, t in zip(table["code"], table[column], strict=True) if isinstance(t, str)}


def data_notes(tables: Mapping[str, pd.DataFrame], region_code: str, framework: Framework,
               language: str) -> DataNotes:
    """Collect, as text in ``language``, what cleaning and the index engine changed for one region.

    Only the changes to the accepted submission (its ``source_file`` and ``source_row`` in
    ``submissions_clean.csv``) are listed; submissions it superseded and rows naming the region that were
    quarantined are summarised, not itemised.
    """
    submission = _row_of(tables["submissions_clean"], region_code, "submissions_clean")
    fields = field_labels(framework, language)
    indicators = indicator_labels(framework, language)
    fmt = NumberFormat(language)
    assessed = framework.fields.index[~framework.fields["group"].isin(["meta"])]
    missing = tuple(fields.get(f, f) for f in assessed if f in submission.index and pd.isna(submission[f]))
    changes = accepted_row_changes(tables["cleaning_log"], submission)
    order = {f: position for position, f in enumerate(framework.fields.index)}
    changes = changes.assign(_order=changes["field"].map(order)).sort_values("_order", kind="stable")
    return DataNotes(
        source={"source_file": _text(submission.get("source_file")),
                "source_row": _code_text(submission.get("source_row"))},
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
        superseded=tuple({"source_file": _text(r["source_file"]), "source_row": _code_text(r["source_row"])}
                         for r in _rows_of(tables.get("superseded", pd.DataFrame()), region_code,
                                           "source_file")),
        quarantined=tuple({"source_file": _text(r["source_file"]), "source_row": _code_text(r["source_row"]),
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
    if group == "meta" or field_type in _VERBATIM_TYPES or not _NUMERIC_TEXT.fullmatch(text):
        whole = _WHOLE_FLOAT_TEXT.fullmatch(text)
        return whole.group(1) if whole else text
    if field_type == "money":
        return f"Rp {fmt.integer(round(float(text)))}"
    return fmt.value(text)


def rule_phrase(rule: Any, framework: Framework, fields: Mapping[str, str], language: str) -> str:
    """Phrase a cleaning rule id for a reader: ``phrases.yaml``, consistency rules from the framework."""
    rule = _text(rule)
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
    field = _text(row["field"])
    spec = framework.fields.loc[field] if field in framework.fields.index else {}
    field_type, group = spec.get("type"), spec.get("group")
    original = row["original_value"]
    return {
        "field": fields.get(field, field),
        "original_value": (phrase("values", "hidden", fmt.language) if field_type == "pii"
                           else _text(original) or phrase("values", "empty", fmt.language)),
        "cleaned_value": format_field_value(row["cleaned_value"], field_type, group, fmt),
        "rule": rule_phrase(row["rule"], framework, fields, fmt.language),
    }


def _rows_of(table: pd.DataFrame, region_code: str, sort_by: str) -> list[dict[str, Any]]:
    if table.empty or "region_code" not in table.columns:
        return []
    mine = table.loc[table["region_code"] == region_code]
    return mine.sort_values([sort_by], kind="stable").to_dict("records")


def render_section(context: ReportContext, section: str) -> str:
    """Render one section of a region report as HTML, its heading included (see :data:`REPORT_SECTIONS`)."""
    return _render_macro(f"report_{context.language}.html.j2", section, REPORT_SECTIONS, context)


def render_sections(context: ReportContext, sections: Iterable[str]) -> str:
    """Render several sections of a region report, in the order given, as one piece of HTML."""
    return "\n".join(render_section(context, s) for s in sections)


def render_chart(context: ReportContext, svg: str) -> str:
    """Render the chart section of a region report: heading, the chart (``svg``) with alt text, caption.

    The chart is embedded as a ``data:`` image, so the page fetches nothing and the alt text is in the
    report's language.
    """
    return _render_macro(f"report_{context.language}.html.j2", "chart", ("chart",), context,
                         svg_data_uri(svg))


def svg_data_uri(svg: str) -> str:
    """Return SVG text as a ``data:image/svg+xml;base64,...`` URI (the page's CSP allows ``data:`` images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _render_macro(template: str, section: str, known: tuple[str, ...], context: Any, *extra: Any) -> str:
    if section not in known:
        raise ValueError(f"unknown section {section!r}; known: {known}")
    module = template_environment().get_template(template).module
    return str(getattr(module, section)(context, context.fmt, *extra))


def _row_of(table: pd.DataFrame, value: Any, name: str, key: str = "region_code") -> pd.Series:
    match = table.loc[table[key] == value]
    if match.empty:
        raise ValueError(f"{key} {value} is not in {name}.csv: it was not accepted in this round "
                         "(see quarantine.csv), or the processed folder is from another round")
    return match.iloc[0]


def _region(row: pd.Series) -> Region:
    return Region(str(row["region_code"]), _text(row.get("official_name")), _text(row.get("province_name")),
                  _text(row.get("region_type")), _text(row.get("assessment_class")),
                  _code_text(row.get("assessment_year")))


def _standing(row: pd.Series, n_regions: int) -> Standing:
    selected = _flag(row.get("selected"))
    eligible = _flag(row.get("eligible", True))
    p_selected = float(row.get("p_selected", float("nan")))
    return Standing(
        index=float(row["readiness_index"]), rank=int(row["rank"]), n_regions=n_regions,
        rank_p05=row.get("rank_p05"), rank_p95=row.get("rank_p95"), rank_median=row.get("rank_median"),
        selected=selected, p_selected=p_selected, borderline=_flag(row.get("borderline")), eligible=eligible,
        decision_reason=_text(row.get("decision_reason")),
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
    return Profile(int(centroid["profile_id"]), _text(centroid[f"profile_name_{language}"]),
                   int(centroid["n_regions"]), labels[gaps.idxmax()], labels[gaps.idxmin()])


def _weak_aspects(own: pd.Series, centroid: pd.Series, national: pd.Series,
                  labels: Mapping[str, str]) -> tuple[str, ...]:
    aspects = [c for c in national.index if c.startswith("aspect_")]
    return tuple(c for c in aspects if float(own[c]) < min(float(centroid[c]), float(national[c])))


def _code_column(table: pd.DataFrame) -> str | None:
    return next((c for c in ("code", "id") if c in table.columns), None)


def _humanise(code: str) -> str:
    return code.removeprefix("aspect_").removeprefix("dimension_").replace("_", " ").capitalize()


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "ya", "yes"}
    return bool(value) if not pd.isna(value) else False


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _code_text(value: Any) -> str:
    """Write a year, row number or code as written: ``2021`` whether it was read as 2021 or 2021.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text(value)


# --- The round summary -----------------------------------------------------------------------------------
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
    states = [robustness(_flag(s), float(p), _flag(e)) for s, p, e in
              zip(ranking["selected"], ranking.get("p_selected", pd.Series(float("nan"), ranking.index)),
                  ranking.get("eligible", pd.Series(True, ranking.index)), strict=True)]
    fragile = ranking.assign(state=states).query("state in ['fragile_in', 'fragile_out']")
    index = tables["scores"]["readiness_index"].astype(float)
    centroids = tables["profile_centroids"].sort_values("profile_id", kind="stable")
    panel_sentence, panel_effects = panel_effect_text(folder / "panel_effect.json", language)
    return SummaryContext(
        language=language, n_regions=len(submissions),
        by_province=_counts(submissions["province_name"]), by_class=_counts(submissions["assessment_class"]),
        by_type=_counts(submissions["region_type"]),
        index_values=tuple(sorted(index.tolist())),
        index_quantiles={q: float(index.quantile(v)) for q, v in
                         (("min", 0), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("max", 1))},
        profiles=tuple({"profile_id": int(r["profile_id"]), "name": _text(r[f"profile_name_{language}"]),
                        "n_regions": int(r["n_regions"])} for _, r in centroids.iterrows()),
        n_selected=int(sum(_flag(v) for v in ranking["selected"])),
        robustness_counts={s: states.count(s) for s in sorted(set(states))},
        fragile=tuple({"region_code": r["region_code"], "name": _text(r["official_name"]), "rank": int(r["rank"]),
                       "p_selected": float(r["p_selected"]), "selected": _flag(r["selected"])}
                      for _, r in fragile.sort_values(["rank", "region_code"]).iterrows()),
        panel_sentence=panel_sentence, panel_effects=panel_effects,
    )


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
    return _text(payload.get(f"summary_{language}")), effects


def _signed(fmt: NumberFormat, value: float) -> str:
    """Format a difference with an explicit sign (typographic minus), two decimals."""
    rounded = round(float(value), 2)
    sign = "+" if rounded > 0 else "\u2212" if rounded < 0 else ""
    return sign + fmt.number(abs(rounded), 2)


def render_summary_section(context: SummaryContext, section: str) -> str:
    """Render one section of the round summary as HTML, its heading included (see :data:`SUMMARY_SECTIONS`)."""
    return _render_macro(f"summary_{context.language}.html.j2", section, SUMMARY_SECTIONS, context)


def render_summary_sections(context: SummaryContext, sections: Iterable[str]) -> str:
    """Render several sections of the round summary, in the order given, as one piece of HTML."""
    return "\n".join(render_summary_section(context, s) for s in sections)


def render_summary_chart(context: SummaryContext, svg: str) -> str:
    """Render the distribution chart of the round summary (``svg``) with alt text in its language."""
    return _render_macro(f"summary_{context.language}.html.j2", "chart", ("chart",), context,
                         svg_data_uri(svg))


def _counts(values: pd.Series) -> tuple[tuple[str, int], ...]:
    counts = values.fillna("").astype(str).value_counts()
    return tuple(sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0])))
