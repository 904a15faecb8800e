"""What a report says about the cut-off: the margin of a selected region, the paths of one outside.

Reads the gap analysis of stage 04 (``selection_gap.csv``, ``selection_paths.csv``; :mod:`smartcity_analysis.
selection.gap`) and the panel-adjusted selection (``panel_adjusted.csv``; :mod:`smartcity_analysis.selection.
adjusted`), both optional: a processed folder without them renders, and the section says the analysis is not
available. Every value is turned into text in the page's language here, in the units a regional office uses
(rupiah in miliar, percentages, whole applications, the words of a yes/no or ordinal field).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from smartcity_analysis.config import Framework
from smartcity_analysis.reports.labels import FrameworkKey, framework_labels
from smartcity_analysis.reports.language import NumberFormat, as_flag, as_text
from smartcity_analysis.reports.tables import RegionRecords, region_records, row_positions

# A report names at most this many single-indicator paths, then the best aspect path.
MAX_INDICATOR_PATHS = 2
GAP_REQUIRED = {"region_code", "status", "readiness_index", "cutoff_index", "gap_points", "margin_points"}
PATH_REQUIRED = {"region_code", "path_rank", "kind", "code", "from_value", "to_value", "field", "field_from",
                 "field_to", "p_selected_after", "rank_after"}
_BOOLEAN_WORDS = {"id": ("belum", "ada"), "en": ("no", "yes")}
_MONEY = {"id": ("Rp {} miliar", 1e9), "en": ("IDR {} billion", 1e9)}


@dataclass(frozen=True)
class PathText:
    """One path into the selection, ready to show.

    Attributes
    ----------
    kind : str
        ``"indicator"`` or ``"aspect"``.
    code, label : str
        The indicator or aspect and its label.
    from_text, to_text : str
        Its value now and the value that would select the region, in its own units.
    field_text : str
        For an indicator computed from a field (a ratio), the same change in the field's units; else empty.
    p_selected : float
        Share of the Monte Carlo draws selecting the region after the change (NaN: not computed).
    rank_after : int
        The region's rank after the change.
    recommendation : str
        The framework's recommendation for the indicator (or its aspect), empty when there is none.
    """

    kind: str
    code: str
    label: str
    from_text: str
    to_text: str
    field_text: str
    p_selected: float
    rank_after: int
    recommendation: str


@dataclass(frozen=True)
class WhatItTakes:
    """The region against the cut-off.

    Attributes
    ----------
    status : str
        ``selected``, ``secured`` (selected whatever its index, by a minimum), ``has_path``, ``no_path``,
        ``ineligible`` or ``unavailable`` (no gap analysis in the processed folder).
    index, cutoff_index : float
        The region's index and that of the last selected region.
    gap_points, margin_points : float
        Index points missing to enter (outside) or to spare before leaving (selected); NaN otherwise.
    paths : tuple of PathText
        The most practical paths: up to :data:`MAX_INDICATOR_PATHS` single indicators, then the best aspect.
    n_paths : int
        How many single indicators could each do it alone.
    """

    status: str
    index: float = math.nan
    cutoff_index: float = math.nan
    gap_points: float = math.nan
    margin_points: float = math.nan
    paths: tuple[PathText, ...] = ()
    n_paths: int = 0


@dataclass(frozen=True)
class GapLookups:
    """The gap analysis of a round by region, prepared once per version of its files.

    Attributes
    ----------
    gap_rows : Mapping or None
        Region code -> positions of its rows in ``selection_gap.csv``; None without a gap analysis.
    paths : RegionRecords or None
        The rows of ``selection_paths.csv`` by region, in ``path_rank`` order; None without them.
    """

    gap_rows: Mapping[str, tuple[int, ...]] | None
    paths: RegionRecords | None


def gap_lookups(tables: Mapping[str, pd.DataFrame]) -> GapLookups:
    """Prepare the :class:`GapLookups` of a round from its processed tables (``selection_gap``, ``selection_paths``)."""
    regions, paths = tables.get("selection_gap"), tables.get("selection_paths")
    has_gap = regions is not None and GAP_REQUIRED <= set(regions.columns)
    has_paths = paths is not None and PATH_REQUIRED <= set(paths.columns)
    return GapLookups(
        gap_rows=MappingProxyType(row_positions(regions["region_code"])) if has_gap else None,
        paths=region_records(paths, "path_rank") if has_paths else None,
    )


def what_it_takes(tables: Mapping[str, pd.DataFrame], region_code: str, framework: Framework,
                  language: str, lookups: GapLookups | None = None) -> WhatItTakes:
    """Build the region's :class:`WhatItTakes` from the processed tables (``selection_gap``, ``selection_paths``).

    Parameters
    ----------
    tables : Mapping
        :func:`smartcity_analysis.reports.tables.read_processed_tables`.
    region_code : str
        The region.
    framework : Framework
        Labels, field types and units, recommendations.
    language : {"id", "en"}
        The page's language.
    lookups : GapLookups, optional
        :func:`gap_lookups` of the same tables, prepared once per round; prepared here without it.
    """
    lookups = lookups if lookups is not None else gap_lookups(tables)
    if lookups.gap_rows is None:
        return WhatItTakes("unavailable")
    found = lookups.gap_rows.get(region_code, ())
    if not found:
        return WhatItTakes("unavailable")
    record = tables["selection_gap"].iloc[found[0]]
    mine = lookups.paths.of(region_code) if lookups.paths is not None else []
    single = [r for r in mine if r["kind"] == "indicator"]
    chosen = single[:MAX_INDICATOR_PATHS] + [r for r in mine if r["kind"] == "aspect"][:1]
    fmt = NumberFormat(language)
    return WhatItTakes(
        status=as_text(record["status"]), index=float(record["readiness_index"]),
        cutoff_index=float(record["cutoff_index"]), gap_points=float(record["gap_points"]),
        margin_points=float(record["margin_points"]),
        paths=tuple(path_text(r, framework, fmt) for r in chosen), n_paths=len(single),
    )


def path_text(row: Mapping[str, Any], framework: Framework, fmt: NumberFormat) -> PathText:
    """Turn one row of ``selection_paths.csv`` into text in ``fmt``'s language."""
    language = fmt.language
    labelled = framework_labels(framework, language)
    labels, recommendations = labelled.indicators, labelled.recommendations
    code = as_text(row["code"])
    key = code if code in recommendations else labelled.indicator_aspects.get(code, "")
    if row["kind"] == "aspect":
        from_text, to_text, field_text = (f"{fmt.number(row['from_value'], 1)} / 100",
                                          f"{fmt.number(row['to_value'], 1)} / 100", "")
    else:
        from_text = indicator_text(code, row["from_value"], framework, fmt)
        to_text = indicator_text(code, row["to_value"], framework, fmt)
        field_text = ratio_field_text(code, row, framework, fmt)
    return PathText(kind=as_text(row["kind"]), code=code, label=labels.get(code, code), from_text=from_text,
                    to_text=to_text, field_text=field_text, p_selected=float(row["p_selected_after"]),
                    rank_after=int(row["rank_after"]), recommendation=recommendations.get(key, ""))


def indicator_text(code: str, value: Any, framework: Framework, fmt: NumberFormat) -> str:
    """Write an indicator's value in its own units: words for yes/no and ordinal fields, else a number."""
    if value is None or pd.isna(value):
        return "tidak dilaporkan" if fmt.language == "id" else "not reported"
    derive = _derive(code, framework)
    kind = derive.get("kind")
    if kind == "boolean":
        return _BOOLEAN_WORDS[fmt.language][int(round(float(value)))]
    if kind == "ordinal":
        allowed = list(framework.fields.loc[derive["field"], "allowed"])
        return allowed[int(round(float(value)))] if 0 <= float(value) < len(allowed) else fmt.value(value)
    if kind == "value":
        return field_value_text(derive["field"], float(value), framework, fmt)
    return fmt.number(float(value), 2)


def field_value_text(field: str, value: float, framework: Framework, fmt: NumberFormat) -> str:
    """Write a field's value by its type: rupiah in miliar, a percentage, a whole count, a 1-5 score."""
    kind = as_text(framework.fields.loc[field, "type"]) if field in framework.fields.index else ""
    if kind == "money":
        pattern, scale = _MONEY[fmt.language]
        return pattern.format(fmt.number(value / scale, 1))
    if kind == "percent":
        return f"{fmt.number(value, 1)} %"
    if kind in ("integer", "likert") and float(value).is_integer():
        return fmt.integer(value)
    return fmt.number(value, 2)


def ratio_field_text(code: str, row: Mapping[str, Any], framework: Framework, fmt: NumberFormat) -> str:
    """For a ratio indicator, the same change in its numerator field: ``"Jumlah Aplikasi: 40 → 52 (+12)"``."""
    derive = _derive(code, framework)
    if derive.get("kind") != "ratio" or pd.isna(row.get("field_to")):
        return ""
    field = derive["numerator"]
    label = as_text(framework.fields.loc[field, f"label_{fmt.language}"]) or field
    start, end = row.get("field_from"), float(row["field_to"])
    if start is None or pd.isna(start):
        return f"{label}: {field_value_text(field, end, framework, fmt)}"
    change = end - float(start)
    sign = "+" if change >= 0 else "\u2212"
    before, after, step = (field_value_text(field, v, framework, fmt) for v in (float(start), end, abs(change)))
    return f"{label}: {before} \u2192 {after} ({sign}{step})"


def _derive(code: str, framework: Framework) -> Mapping[str, Any]:
    # The ``derive`` entry of the framework's first indicator ``code``; {} for a code it does not list.
    return _derive_entries(FrameworkKey(framework)).get(code, {})


@functools.lru_cache(maxsize=4)
def _derive_entries(key: FrameworkKey) -> Mapping[str, Any]:
    # Code -> the ``derive`` entry of its first row in the framework's indicators, gathered once per framework.
    table = key.framework.indicators
    if "code" not in table.columns:
        return {}
    entries: dict[str, Any] = {}
    for code, derive in zip(table["code"], table["derive"], strict=True):
        entries.setdefault(code, derive)
    return MappingProxyType(entries)


# ---------------------------------------------------------------------------------------------- the summary


@dataclass(frozen=True)
class PanelAdjustedSummary:
    """The panel-adjusted selection beside the nominal one, for the round summary.

    Attributes
    ----------
    status : str
        ``applied`` (class effects removed), ``not_detected`` (no effect detected: the same list), ``skipped``
        (the panel test did not run; ``message`` says why) or ``unavailable`` (not computed).
    entered, left : tuple of Mapping
        ``region_code``, ``name``, ``assessment_class``, ``rank``, ``rank_adjusted``, ``index``,
        ``index_adjusted``, ``class_effect`` of the regions the adjustment would bring in or take out.
    n_selected : int
        Regions selected (the same in both lists).
    max_rank_change : int
        The largest rank change of any region.
    message : str
        The note of a skipped analysis, in the summary's language.
    """

    status: str
    entered: tuple[Mapping[str, Any], ...] = ()
    left: tuple[Mapping[str, Any], ...] = ()
    n_selected: int = 0
    max_rank_change: int = 0
    message: str = ""


ADJUSTED_REQUIRED = {"region_code", "official_name", "assessment_class", "class_effect", "readiness_index",
                     "readiness_index_adjusted", "rank", "rank_adjusted", "rank_change", "selected",
                     "selected_adjusted", "change", "adjustment_applied"}


def panel_adjusted_summary(table: pd.DataFrame | None, processed_dir: str | Path, language: str
                           ) -> PanelAdjustedSummary:
    """Summarise ``panel_adjusted.csv`` (or the stage's note when the analysis was skipped)."""
    if table is None or not ADJUSTED_REQUIRED <= set(table.columns) or table.empty:
        message = _skip_message(processed_dir, language)
        return PanelAdjustedSummary("skipped" if message else "unavailable", message=message)
    applied = any(as_flag(v) for v in table["adjustment_applied"])

    def rows(change: str) -> tuple[Mapping[str, Any], ...]:
        picked = table[table["change"] == change].sort_values(["rank_adjusted", "region_code"], kind="stable")
        return tuple({"region_code": r["region_code"], "name": as_text(r["official_name"]),
                      "assessment_class": as_text(r["assessment_class"]), "rank": int(r["rank"]),
                      "rank_adjusted": int(r["rank_adjusted"]), "index": float(r["readiness_index"]),
                      "index_adjusted": float(r["readiness_index_adjusted"]),
                      "class_effect": float(r["class_effect"])} for _, r in picked.iterrows())

    return PanelAdjustedSummary(
        status="applied" if applied else "not_detected", entered=rows("entered"), left=rows("left"),
        n_selected=int(sum(as_flag(v) for v in table["selected"])),
        max_rank_change=int(pd.to_numeric(table["rank_change"], errors="coerce").abs().max() or 0),
    )


def _skip_message(processed_dir: str | Path, language: str) -> str:
    from smartcity_analysis.notes import read_notes

    notes = read_notes(processed_dir)
    mine = notes[(notes["stage"] == "04_rank_and_select") & (notes["analysis"] == "panel_adjusted")]
    return as_text(mine.iloc[0][f"message_{'en' if language == 'en' else 'id'}"]) if len(mine) else ""
