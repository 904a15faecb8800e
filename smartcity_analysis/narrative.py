"""Narrative of the region reports and the round summary: number formatting, Jinja2 sentences, contexts.

A report notebook makes one call, :func:`report_context`, which gathers everything the report says about one
region from the processed folder and the framework file into a frozen :class:`ReportContext`; each section is
then rendered by :func:`render_section` from the language's template in ``smartcity_analysis/templates/``
(``report_id.html.j2``, ``report_en.html.j2``). Templates autoescape, so free text typed by a region (its
notes, which may hold ``<script>`` or spreadsheet formulas) is shown as text and never interpreted.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from smartcity_analysis.config import Framework, load_framework
from smartcity_analysis.paths import FRAMEWORK_FILE, PROCESSED_DIR

LANGUAGES = ("id", "en")
REGION_CODE_PATTERN = re.compile(r"^\d{4}$")
REPORT_SECTIONS = ("identity", "standing", "profile", "chart_caption", "peers", "recommendations",
                   "data_notes", "notes")
SUMMARY_SECTIONS = ("participation", "distribution", "profiles", "selection", "panel")
# Bands of the share of Monte Carlo draws in which a region is selected (``p_selected``): at or above
# ROBUST_SHARE the decision is robust; between 1 - ROBUST_SHARE and ROBUST_SHARE it could go either way.
ROBUST_SHARE = 0.9
# A region's score differs from its peers' median by at least this many points (0-100) to count as a
# strength or a weakness; at most MAX_PEER_ITEMS of each are named.
PEER_GAP_POINTS = 5.0
MAX_PEER_ITEMS = 3
_CODE_DTYPES = {"region_code": str, "profile_id": "Int64", "original_value": str}
_NUMERIC_TEXT = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


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
    """What cleaning and the index engine changed for the region, and what was missing."""

    cleaning: tuple[Mapping[str, Any], ...]
    imputed: tuple[Mapping[str, Any], ...]
    treated: tuple[Mapping[str, Any], ...]
    missing_fields: tuple[str, ...]


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

    Parameters
    ----------
    processed_dir : str or Path or None
        The processed folder (see :func:`resolve_processed_dir`).

    Returns
    -------
    dict of str to DataFrame
        Keyed by file stem: ``submissions_clean``, ``scores``, ``ranking``, ``profiles``,
        ``profile_centroids``, ``cleaning_log``, ``index_imputed``, ``index_treated``.
    """
    folder = resolve_processed_dir(processed_dir)
    names = ("submissions_clean", "scores", "ranking", "profiles", "profile_centroids", "cleaning_log",
             "index_imputed", "index_treated")
    tables = {}
    for name in names:
        path = folder / f"{name}.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run the stages 01-04 first (smartcity run)")
        tables[name] = pd.read_csv(path, dtype=_CODE_DTYPES, keep_default_na=True, encoding="utf-8")
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
    label_column = f"label_{language}"
    labels: dict[str, str] = {}
    for table in (framework.fields, framework.indicators, framework.aggregates):
        key = _code_column(table)
        if key is None or label_column not in table.columns:
            continue
        for code, label in zip(table[key], table[label_column], strict=True):
            if isinstance(label, str) and label:
                labels[str(code)] = label
    return {c: labels.get(c) or _humanise(c) for c in columns if c != "region_code"}


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
    """Collect the cleaning log, imputations, treatments and missing fields (labelled) of one region."""
    def rows(name: str, columns: list[str]) -> tuple[Mapping[str, Any], ...]:
        table = tables[name]
        mine = table.loc[table["region_code"] == region_code].reindex(columns=columns)
        mine = mine.sort_values(columns[:2], kind="stable")
        return tuple(mine.to_dict("records"))

    submission = tables["submissions_clean"].set_index("region_code").loc[region_code]
    assessed = framework.fields.index[~framework.fields["group"].isin(["meta"])]
    labels = framework.fields[f"label_{language}"]
    missing = tuple(labels[f] for f in assessed if f in submission.index and pd.isna(submission[f]))
    return DataNotes(
        cleaning=rows("cleaning_log", ["field", "original_value", "cleaned_value", "rule"]),
        imputed=rows("index_imputed", ["indicator", "imputed_value", "method"]),
        treated=rows("index_treated", ["indicator", "original_value", "treated_value", "treatment"]),
        missing_fields=missing,
    )


def render_section(context: ReportContext, section: str) -> str:
    """Render one section of a region report as HTML (escaped; see :data:`REPORT_SECTIONS`)."""
    return _render_macro(f"report_{context.language}.html.j2", section, REPORT_SECTIONS, context)


def _render_macro(template: str, section: str, known: tuple[str, ...], context: Any) -> str:
    if section not in known:
        raise ValueError(f"unknown section {section!r}; known: {known}")
    module = template_environment().get_template(template).module
    return str(getattr(module, section)(context, context.fmt))


def _row_of(table: pd.DataFrame, value: Any, name: str, key: str = "region_code") -> pd.Series:
    match = table.loc[table[key] == value]
    if match.empty:
        raise ValueError(f"{key} {value} is not in {name}.csv: it was not accepted in this round "
                         "(see quarantine.csv), or the processed folder is from another round")
    return match.iloc[0]


def _region(row: pd.Series) -> Region:
    return Region(str(row["region_code"]), _text(row.get("official_name")), _text(row.get("province_name")),
                  _text(row.get("region_type")), _text(row.get("assessment_class")),
                  _text(row.get("assessment_year")))


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
    panel_details: tuple[tuple[str, str], ...]

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
    panel_sentence, panel_details = panel_effect_text(folder / "panel_effect.json", language)
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
        panel_sentence=panel_sentence, panel_details=panel_details,
    )


def panel_effect_text(path: Path, language: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Read ``panel_effect.json`` defensively: its sentence in ``language`` and its scalar entries.

    Returns
    -------
    sentence, details : str, tuple of (key, text)
        ``summary_<language>`` if present (else empty), and every other scalar entry sorted by key.
    """
    if not path.exists():
        return "", ()
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "", ()
    if not isinstance(payload, dict):
        return "", ()
    sentence = _text(payload.get(f"summary_{language}"))
    fmt = NumberFormat(language)
    details = tuple(
        (str(k), fmt.number(v, 4) if isinstance(v, float) else str(v))
        for k, v in sorted(payload.items())
        if not str(k).startswith("summary_") and isinstance(v, (str, int, float, bool)))
    return sentence, details


def render_summary_section(context: SummaryContext, section: str) -> str:
    """Render one section of the round summary as HTML (see :data:`SUMMARY_SECTIONS`)."""
    return _render_macro(f"summary_{context.language}.html.j2", section, SUMMARY_SECTIONS, context)


def _counts(values: pd.Series) -> tuple[tuple[str, int], ...]:
    counts = values.fillna("").astype(str).value_counts()
    return tuple(sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0])))
