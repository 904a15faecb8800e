"""The smart-city readiness indicators of the framework file, derived from the cleaned submissions.

The framework file's ``indicators`` and ``aggregates`` sections define two trees over the same indicators:
the *aspects* view (Struktur, Infrastruktur, Suprastruktur -> the readiness index) and the *dimensions* view
(the six smart-city dimensions). This module turns them into the engine's framework tables and turns cleaned
submission fields into indicator values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from smartcity_analysis.config import Framework

View = Literal["aspects", "dimensions"]


_VIEW_PARENT = {"aspects": "aspect", "dimensions": "dimension"}
# Optional method columns of the framework file, handed to the engine when the file has them.
INDICATOR_METHOD_COLUMNS = ("transform", "normalise", "goalpost_lower", "goalpost_upper")
AGGREGATE_METHOD_COLUMNS = ("aggregate",)


def indicator_table(framework: Framework) -> pd.DataFrame:
    """Return the framework's indicators as a table indexed by code, in framework order."""
    table = framework.indicators.copy()
    for column in ("aspect", "dimension"):
        if column not in table:
            table[column] = None
    return table.set_index("code", drop=False).rename_axis(None)


def indicator_codes(framework: Framework, view: View | None = None) -> list[str]:
    """Return indicator codes in framework order, optionally only those in one view."""
    table = indicator_table(framework)
    if view is not None:
        table = table[table[_VIEW_PARENT[view]].notna()]
    return list(table.index)


def framework_table(framework: Framework, view: View = "aspects", data: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one view of the framework as the engine's table, optionally the part a round's data can score.

    Parameters
    ----------
    framework : Framework
        The loaded framework file.
    view : {"aspects", "dimensions"}
        Which tree: the readiness index over the aspects, or the six dimensions.
    data : pandas.DataFrame, optional
        The round's indicator values (one column per indicator code). When given, the table is screened
        (:func:`screen_framework`): indicators without data or without variation are left out, and so are
        aggregates left without a child.

    Returns
    -------
    pandas.DataFrame
        Columns ``code``, ``level``, ``parent``, ``weight``, ``direction``, ``label_id``, ``label_en``, and
        the engine's method columns the framework file sets (``transform``, ``normalise``, ``goalpost_lower``,
        ``goalpost_upper`` on indicators; ``aggregate`` on aggregates).
    """
    table = _full_framework_table(framework, view)
    return table if data is None else screen_framework(table, data).table


@dataclass(frozen=True)
class ScreenedFramework:
    """The part of a framework tree a round's data can score, and what was left out.

    Attributes
    ----------
    table : pandas.DataFrame
        The engine's table without the codes left out.
    left_out : pandas.DataFrame
        ``code``, ``level``, ``reason`` (``"no_data"``, ``"no_variation"`` or ``"no_child"``), in tree order.
    """

    table: pd.DataFrame
    left_out: pd.DataFrame


def screen_framework(table: pd.DataFrame, data: pd.DataFrame) -> ScreenedFramework:
    """Leave out the indicators a round cannot score, and the aggregates that lose every child.

    An indicator with no value in any region, or the same value in every region that has one, carries no
    information about the ranking: it is left out and its siblings' weights rescale (the engine's weighted
    mean runs over the children present). An aggregate whose children are all left out drops out of its
    parent the same way.

    Parameters
    ----------
    table : pandas.DataFrame
        The engine's framework table (:func:`framework_table`).
    data : pandas.DataFrame
        Indicator values, one column per indicator code (missing columns count as no data).

    Returns
    -------
    ScreenedFramework
    """
    leaves = table[table["level"] == 1]
    present = data.reindex(columns=leaves["code"])
    distinct = present.nunique(dropna=True)
    reasons = {code: ("no_data" if distinct[code] == 0 else "no_variation")
               for code in leaves["code"] if distinct[code] <= 1}
    kept = table[~table["code"].isin(list(reasons))]
    for level in sorted(table.loc[table["level"] > 1, "level"].unique()):
        parents = set(kept.loc[kept["level"] < level, "parent"].dropna())
        orphans = kept.loc[(kept["level"] == level) & ~kept["code"].isin(parents), "code"].tolist()
        reasons.update(dict.fromkeys(orphans, "no_child"))
        kept = kept[~kept["code"].isin(orphans)]
    left = table[table["code"].isin(list(reasons))]
    left_out = pd.DataFrame({"code": left["code"], "level": left["level"],
                             "reason": left["code"].map(reasons)}).reset_index(drop=True)
    return ScreenedFramework(kept.reset_index(drop=True), left_out)


def _full_framework_table(framework: Framework, view: View) -> pd.DataFrame:
    indicators = indicator_table(framework)
    indicators = indicators[indicators[_VIEW_PARENT[view]].notna()]
    leaves = pd.DataFrame({
        "code": indicators["code"],
        "level": 1,
        "parent": indicators[_VIEW_PARENT[view]],
        "weight": indicators["weight"].astype(float),
        "direction": indicators["direction"].astype(float),
        "label_id": indicators["label_id"],
        "label_en": indicators["label_en"],
    })
    aggregates = framework.aggregates[framework.aggregates["view"] == view]
    nodes = pd.DataFrame({
        "code": aggregates["code"],
        "level": aggregates["level"].astype(int),
        "parent": aggregates["parent"].where(aggregates["parent"].notna(), None),
        "weight": aggregates["weight"].astype(float),
        "direction": np.nan,
        "label_id": aggregates["label_id"],
        "label_en": aggregates["label_en"],
    })
    for frame, source, columns in ((leaves, indicators, INDICATOR_METHOD_COLUMNS),
                                   (nodes, aggregates, AGGREGATE_METHOD_COLUMNS)):
        for column in columns:
            if column in source:
                frame[column] = source[column].to_numpy()
    return pd.concat([leaves, nodes], ignore_index=True)


def derive_indicators(clean: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Compute each indicator from the cleaned submission fields.

    Parameters
    ----------
    clean : pandas.DataFrame
        ``submissions_clean`` (one row per accepted region).
    framework : Framework
        The framework; each indicator's ``derive`` says how it is computed.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``region_code``; one float column per indicator, missing where an input is missing or a
        denominator is zero.
    """
    values = {
        code: _derive_one(clean, spec["derive"], framework)
        for code, spec in indicator_table(framework).iterrows()
    }
    table = pd.DataFrame(values, index=clean.index)
    table.index = pd.Index(clean["region_code"].astype(str), name="region_code")
    return table.sort_index(kind="stable")


def _derive_one(clean: pd.DataFrame, derive: dict, framework: Framework) -> pd.Series:
    kind = derive["kind"]
    if kind == "value":
        return pd.to_numeric(clean[derive["field"]], errors="coerce").astype(float)
    if kind == "ratio":
        numerator = pd.to_numeric(clean[derive["numerator"]], errors="coerce").astype(float)
        denominator = pd.to_numeric(clean[derive["denominator"]], errors="coerce").astype(float)
        return numerator / denominator.where(denominator > 0) * float(derive.get("scale", 1))
    if kind == "boolean":
        return clean[derive["field"]].map({True: 1.0, False: 0.0, "true": 1.0, "false": 0.0}).astype(float)
    if kind == "ordinal":
        allowed = list(framework.fields.loc[derive["field"], "allowed"])
        levels = {word: float(position) for position, word in enumerate(allowed)}
        return clean[derive["field"]].map(levels).astype(float)
    raise ValueError(f"indicator derive kind {kind!r} is unknown; use value, ratio, boolean or ordinal")

